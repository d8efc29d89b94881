-- Saved views: a recorded data query (user_query) that its user named. History rows keep
-- the empty name.

-- +goose Up
ALTER TABLE `user_query` ADD COLUMN `name` VARCHAR(200) NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE `user_query` DROP COLUMN `name`;
