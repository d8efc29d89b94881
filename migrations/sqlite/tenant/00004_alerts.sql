-- Alerting: channels and rules (configuration), alerts (one row per occurrence of a rule's
-- condition), the outbox of notifications (written before anything is sent) and the log of
-- every delivery attempt. Durations are milliseconds.

-- +goose Up
CREATE TABLE `alert_channel` (
  `id`         INTEGER PRIMARY KEY AUTOINCREMENT,
  `name`       VARCHAR(200) NOT NULL,
  `kind`       VARCHAR(16)  NOT NULL,
  `config`     TEXT         NOT NULL,
  `failing`    BOOLEAN   NOT NULL DEFAULT 0,
  `last_error` TEXT         NOT NULL,
  `created_at` DATETIME  NOT NULL,
  `updated_at` DATETIME  NOT NULL
);

CREATE TABLE `alert_rule` (
  `id`                INTEGER PRIMARY KEY AUTOINCREMENT,
  `name`              VARCHAR(200) NOT NULL,
  `kind`              VARCHAR(32)  NOT NULL,
  `severity`          VARCHAR(16)  NOT NULL,
  `lines`             TEXT         NOT NULL,
  `after_ms`          BIGINT       NOT NULL DEFAULT 0,
  `threshold`         DOUBLE       NOT NULL DEFAULT 0,
  `metric`            VARCHAR(16)  NOT NULL DEFAULT '',
  `channels`          TEXT         NOT NULL,
  `escalate_after_ms` BIGINT       NOT NULL DEFAULT 0,
  `escalate_channels` TEXT         NOT NULL,
  `active`            BOOLEAN   NOT NULL DEFAULT 1,
  `created_at`        DATETIME  NOT NULL,
  `updated_at`        DATETIME  NOT NULL
);

-- (rule_id, occurrence) is unique: every instance that sees the same condition writes the
-- same key, so an occurrence fires once however many instances evaluate it.
CREATE TABLE `alert` (
  `id`           INTEGER PRIMARY KEY AUTOINCREMENT,
  `rule_id`      BIGINT       NOT NULL,
  `line_id`      BIGINT       NOT NULL DEFAULT 0,
  `occurrence`   VARCHAR(128) NOT NULL,
  `kind`         VARCHAR(32)  NOT NULL,
  `severity`     VARCHAR(16)  NOT NULL,
  `state`        VARCHAR(16)  NOT NULL,
  `value`        DOUBLE       NOT NULL DEFAULT 0,
  `subject`      VARCHAR(200) NOT NULL DEFAULT '',
  `started_at`   DATETIME  NOT NULL,
  `fired_at`     DATETIME  NOT NULL,
  `resolved_at`  DATETIME  NULL,
  `acked_at`     DATETIME  NULL,
  `acked_by`     BIGINT       NOT NULL DEFAULT 0,
  `ack_comment`  TEXT         NOT NULL,
  `escalated_at` DATETIME  NULL
);
CREATE UNIQUE INDEX `ux_alert_occurrence` ON `alert` (`rule_id`, `occurrence`);
CREATE INDEX `ix_alert_state` ON `alert` (`state`, `id`);

-- The outbox: one row per (alert, channel, event), claimed by one instance at a time.
CREATE TABLE `alert_notification` (
  `id`              INTEGER PRIMARY KEY AUTOINCREMENT,
  `alert_id`        BIGINT       NOT NULL,
  `channel_id`      BIGINT       NOT NULL,
  `event`           VARCHAR(16)  NOT NULL,
  `state`           VARCHAR(16)  NOT NULL,
  `attempts`        INT          NOT NULL DEFAULT 0,
  `next_attempt_at` DATETIME  NOT NULL,
  `claimed_by`      VARCHAR(64)  NOT NULL DEFAULT '',
  `claim_until`     DATETIME  NULL,
  `idempotency_key` VARCHAR(64)  NOT NULL,
  `last_error`      TEXT         NOT NULL,
  `created_at`      DATETIME  NOT NULL,
  `sent_at`         DATETIME  NULL
);
CREATE UNIQUE INDEX `ux_alert_notification` ON `alert_notification` (`alert_id`, `channel_id`, `event`);
CREATE INDEX `ix_alert_notification_due` ON `alert_notification` (`state`, `next_attempt_at`);

CREATE TABLE `alert_delivery` (
  `id`              INTEGER PRIMARY KEY AUTOINCREMENT,
  `notification_id` BIGINT       NOT NULL,
  `alert_id`        BIGINT       NOT NULL,
  `channel_id`      BIGINT       NOT NULL,
  `event`           VARCHAR(16)  NOT NULL,
  `attempt`         INT          NOT NULL,
  `at`              DATETIME  NOT NULL,
  `ok`              BOOLEAN   NOT NULL,
  `status_code`     INT          NOT NULL DEFAULT 0,
  `error`           TEXT         NOT NULL,
  `duration_ms`     BIGINT       NOT NULL DEFAULT 0
);
CREATE INDEX `ix_alert_delivery_alert` ON `alert_delivery` (`alert_id`, `id`);

-- +goose Down
DROP TABLE `alert_delivery`;
DROP TABLE `alert_notification`;
DROP TABLE `alert`;
DROP TABLE `alert_rule`;
DROP TABLE `alert_channel`;
