-- Product runs: each product's ideal cycle time (0 = the line's), the run starts an
-- operator sets by hand (runs the cameras see are derived from the detections), and the
-- instant of each rollup row's last detection (milliseconds into its minute; NULL for rows
-- written before: unknown), so the products at the edges of a stop come from the rollups.

-- +goose Up
ALTER TABLE `product` ADD COLUMN `ideal_cycle_ms` BIGINT NOT NULL DEFAULT 0;
ALTER TABLE `production_minute` ADD COLUMN `last_ms` INT NULL;

CREATE TABLE `product_run` (
  `id`         BIGINT      NOT NULL AUTO_INCREMENT,
  `line_id`    BIGINT      NOT NULL,
  `product_id` BIGINT      NOT NULL,
  `start_time` DATETIME(3) NOT NULL,
  `set_by`     BIGINT      NOT NULL DEFAULT 0,
  `created_at` DATETIME(3) NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `ux_product_run_line_start` (`line_id`, `start_time`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- +goose Down
ALTER TABLE `production_minute` DROP COLUMN `last_ms`;
DROP TABLE `product_run`;
ALTER TABLE `product` DROP COLUMN `ideal_cycle_ms`;
