-- The instant of each rollup row's first detection, as milliseconds into its minute, so
-- history finds where a range's data begins exactly (unmonitored time, docs/OEE.md).
-- Rows written before this column read 0: the minute's start.

-- +goose Up
ALTER TABLE `production_minute` ADD COLUMN `first_ms` INT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE `production_minute` DROP COLUMN `first_ms`;
