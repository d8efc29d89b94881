-- Reason tree: a failure may sit under a parent (category → reason, at most three levels)
-- and is either unplanned (an availability loss) or planned (its stops leave planned time).

-- +goose Up
ALTER TABLE `failure`
  ADD COLUMN `parent_id` BIGINT      NOT NULL DEFAULT 0,
  ADD COLUMN `kind`      VARCHAR(16) NOT NULL DEFAULT 'unplanned';

-- +goose Down
ALTER TABLE `failure` DROP COLUMN `kind`, DROP COLUMN `parent_id`;
