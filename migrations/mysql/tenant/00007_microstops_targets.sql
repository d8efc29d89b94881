-- Micro-stops per line and minute (booked by the stream engine's fold, so history reports
-- them), and production targets: the planned quantity of good units per shift instance of
-- a line's shift.

-- +goose Up
CREATE TABLE `micro_stop` (
  `line_id`     BIGINT NOT NULL,
  `minute`      BIGINT NOT NULL,
  `count`       BIGINT NOT NULL,
  `duration_ms` BIGINT NOT NULL,
  PRIMARY KEY (`line_id`, `minute`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE `production_target` (
  `line_id`    BIGINT      NOT NULL,
  `shift_id`   BIGINT      NOT NULL,
  `quantity`   BIGINT      NOT NULL,
  `updated_at` DATETIME(3) NOT NULL,
  PRIMARY KEY (`line_id`, `shift_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- +goose Down
DROP TABLE `production_target`;
DROP TABLE `micro_stop`;
