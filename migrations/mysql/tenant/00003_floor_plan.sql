-- The plant map's floor plan: one image per tenant (PNG, JPEG or sanitised SVG), drawn
-- under the areas at their coordinates; width and height are its size in map units.

-- +goose Up
CREATE TABLE `floor_plan` (
  `id`           BIGINT       NOT NULL,
  `content_type` VARCHAR(32)  NOT NULL,
  `width`        DOUBLE       NOT NULL,
  `height`       DOUBLE       NOT NULL,
  `data`         MEDIUMBLOB   NOT NULL,
  `updated_at`   DATETIME(3)  NOT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- +goose Down
DROP TABLE `floor_plan`;
