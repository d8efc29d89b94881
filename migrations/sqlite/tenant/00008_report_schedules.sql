-- Scheduled report mail: what to send to whom and when (report_schedule), and one row per
-- occurrence to send (report_delivery), unique by (schedule, occurrence) so that however
-- many instances see an occurrence fall due, one row exists and one instance claims it.

-- +goose Up
CREATE TABLE `report_schedule` (
  `id`         INTEGER PRIMARY KEY AUTOINCREMENT,
  `name`       VARCHAR(200) NOT NULL,
  `kind`       VARCHAR(16)  NOT NULL,
  `channel_id` BIGINT       NOT NULL,
  `recipients` TEXT         NOT NULL,
  `lines`      TEXT         NOT NULL,
  `hour`       INT          NOT NULL DEFAULT 6,
  `language`   VARCHAR(8)   NOT NULL DEFAULT 'en',
  `active`     BOOLEAN      NOT NULL DEFAULT 1,
  `created_at` DATETIME     NOT NULL,
  `updated_at` DATETIME     NOT NULL
);

CREATE TABLE `report_delivery` (
  `id`          INTEGER PRIMARY KEY AUTOINCREMENT,
  `schedule_id` BIGINT       NOT NULL,
  `occurrence`  VARCHAR(64)  NOT NULL,
  `line_id`     BIGINT       NOT NULL DEFAULT 0,
  `subject`     VARCHAR(64)  NOT NULL,
  `due_at`      DATETIME     NOT NULL,
  `state`       VARCHAR(16)  NOT NULL,
  `attempts`    INT          NOT NULL DEFAULT 0,
  `next_at`     DATETIME     NOT NULL,
  `claimed_by`  VARCHAR(64)  NOT NULL DEFAULT '',
  `claim_until` DATETIME     NULL,
  `last_error`  TEXT         NOT NULL,
  `created_at`  DATETIME     NOT NULL,
  `sent_at`     DATETIME     NULL
);
CREATE UNIQUE INDEX `ux_report_delivery` ON `report_delivery` (`schedule_id`, `occurrence`);
CREATE INDEX `ix_report_delivery_due` ON `report_delivery` (`state`, `next_at`);

-- +goose Down
DROP TABLE `report_delivery`;
DROP TABLE `report_schedule`;
