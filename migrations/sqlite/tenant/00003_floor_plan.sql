-- The plant map's floor plan: one image per tenant (PNG, JPEG or sanitised SVG), drawn
-- under the areas at their coordinates; width and height are its size in map units.

-- +goose Up
CREATE TABLE `floor_plan` (
  `id`           INTEGER      PRIMARY KEY,
  `content_type` VARCHAR(32)  NOT NULL,
  `width`        DOUBLE       NOT NULL,
  `height`       DOUBLE       NOT NULL,
  `data`         BLOB         NOT NULL,
  `updated_at`   DATETIME     NOT NULL
);

-- +goose Down
DROP TABLE `floor_plan`;
