-- A user's own choice of interface language ("" = none: the tenant's language setting, else
-- the browser's Accept-Language, applies). The tenant's setting lives in
-- tenant.config_tenant ("language"), which needs no column.

-- +goose Up
ALTER TABLE `user` ADD COLUMN `language` VARCHAR(8) NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE `user` DROP COLUMN `language`;
