-- Scheduled report mail: what to send to whom and when (report_schedule), and one row per
-- occurrence to send (report_delivery), unique by (schedule, occurrence) so that however
-- many instances see an occurrence fall due, one row exists and one instance claims it.

-- +goose Up
CREATE TABLE `report_schedule` (
  `id`         BIGINT       NOT NULL AUTO_INCREMENT,
  `name`       VARCHAR(200) NOT NULL,
  `kind`       VARCHAR(16)  NOT NULL,
  `channel_id` BIGINT       NOT NULL,
  `recipients` JSON         NOT NULL,
  `lines`      JSON         NOT NULL,
  `hour`       INT          NOT NULL DEFAULT 6,
  `language`   VARCHAR(8)   NOT NULL DEFAULT 'en',
  `active`     TINYINT(1)   NOT NULL DEFAULT 1,
  `created_at` DATETIME(3)  NOT NULL,
  `updated_at` DATETIME(3)  NOT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE `report_delivery` (
  `id`          BIGINT       NOT NULL AUTO_INCREMENT,
  `schedule_id` BIGINT       NOT NULL,
  `occurrence`  VARCHAR(64)  NOT NULL,
  `line_id`     BIGINT       NOT NULL DEFAULT 0,
  `subject`     VARCHAR(64)  NOT NULL,
  `due_at`      DATETIME(3)  NOT NULL,
  `state`       VARCHAR(16)  NOT NULL,
  `attempts`    INT          NOT NULL DEFAULT 0,
  `next_at`     DATETIME(3)  NOT NULL,
  `claimed_by`  VARCHAR(64)  NOT NULL DEFAULT '',
  `claim_until` DATETIME(3)  NULL,
  `last_error`  TEXT         NOT NULL,
  `created_at`  DATETIME(3)  NOT NULL,
  `sent_at`     DATETIME(3)  NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `ux_report_delivery` (`schedule_id`, `occurrence`),
  KEY `ix_report_delivery_due` (`state`, `next_at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- +goose Down
DROP TABLE `report_delivery`;
DROP TABLE `report_schedule`;
