-- Alerting: channels and rules (configuration), alerts (one row per occurrence of a rule's
-- condition), the outbox of notifications (written before anything is sent) and the log of
-- every delivery attempt. Durations are milliseconds.

-- +goose Up
CREATE TABLE `alert_channel` (
  `id`         BIGINT       NOT NULL AUTO_INCREMENT,
  `name`       VARCHAR(200) NOT NULL,
  `kind`       VARCHAR(16)  NOT NULL,
  `config`     JSON         NOT NULL,
  `failing`    TINYINT(1)   NOT NULL DEFAULT 0,
  `last_error` TEXT         NOT NULL,
  `created_at` DATETIME(3)  NOT NULL,
  `updated_at` DATETIME(3)  NOT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE `alert_rule` (
  `id`                BIGINT       NOT NULL AUTO_INCREMENT,
  `name`              VARCHAR(200) NOT NULL,
  `kind`              VARCHAR(32)  NOT NULL,
  `severity`          VARCHAR(16)  NOT NULL,
  `lines`             JSON         NOT NULL,
  `after_ms`          BIGINT       NOT NULL DEFAULT 0,
  `threshold`         DOUBLE       NOT NULL DEFAULT 0,
  `metric`            VARCHAR(16)  NOT NULL DEFAULT '',
  `channels`          JSON         NOT NULL,
  `escalate_after_ms` BIGINT       NOT NULL DEFAULT 0,
  `escalate_channels` JSON         NOT NULL,
  `active`            TINYINT(1)   NOT NULL DEFAULT 1,
  `created_at`        DATETIME(3)  NOT NULL,
  `updated_at`        DATETIME(3)  NOT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- (rule_id, occurrence) is unique: every instance that sees the same condition writes the
-- same key, so an occurrence fires once however many instances evaluate it.
CREATE TABLE `alert` (
  `id`           BIGINT       NOT NULL AUTO_INCREMENT,
  `rule_id`      BIGINT       NOT NULL,
  `line_id`      BIGINT       NOT NULL DEFAULT 0,
  `occurrence`   VARCHAR(128) NOT NULL,
  `kind`         VARCHAR(32)  NOT NULL,
  `severity`     VARCHAR(16)  NOT NULL,
  `state`        VARCHAR(16)  NOT NULL,
  `value`        DOUBLE       NOT NULL DEFAULT 0,
  `subject`      VARCHAR(200) NOT NULL DEFAULT '',
  `started_at`   DATETIME(3)  NOT NULL,
  `fired_at`     DATETIME(3)  NOT NULL,
  `resolved_at`  DATETIME(3)  NULL,
  `acked_at`     DATETIME(3)  NULL,
  `acked_by`     BIGINT       NOT NULL DEFAULT 0,
  `ack_comment`  TEXT         NOT NULL,
  `escalated_at` DATETIME(3)  NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `ux_alert_occurrence` (`rule_id`, `occurrence`),
  KEY `ix_alert_state` (`state`, `id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The outbox: one row per (alert, channel, event), claimed by one instance at a time.
CREATE TABLE `alert_notification` (
  `id`              BIGINT       NOT NULL AUTO_INCREMENT,
  `alert_id`        BIGINT       NOT NULL,
  `channel_id`      BIGINT       NOT NULL,
  `event`           VARCHAR(16)  NOT NULL,
  `state`           VARCHAR(16)  NOT NULL,
  `attempts`        INT          NOT NULL DEFAULT 0,
  `next_attempt_at` DATETIME(3)  NOT NULL,
  `claimed_by`      VARCHAR(64)  NOT NULL DEFAULT '',
  `claim_until`     DATETIME(3)  NULL,
  `idempotency_key` VARCHAR(64)  NOT NULL,
  `last_error`      TEXT         NOT NULL,
  `created_at`      DATETIME(3)  NOT NULL,
  `sent_at`         DATETIME(3)  NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `ux_alert_notification` (`alert_id`, `channel_id`, `event`),
  KEY `ix_alert_notification_due` (`state`, `next_attempt_at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE `alert_delivery` (
  `id`              BIGINT       NOT NULL AUTO_INCREMENT,
  `notification_id` BIGINT       NOT NULL,
  `alert_id`        BIGINT       NOT NULL,
  `channel_id`      BIGINT       NOT NULL,
  `event`           VARCHAR(16)  NOT NULL,
  `attempt`         INT          NOT NULL,
  `at`              DATETIME(3)  NOT NULL,
  `ok`              TINYINT(1)   NOT NULL,
  `status_code`     INT          NOT NULL DEFAULT 0,
  `error`           TEXT         NOT NULL,
  `duration_ms`     BIGINT       NOT NULL DEFAULT 0,
  PRIMARY KEY (`id`),
  KEY `ix_alert_delivery_alert` (`alert_id`, `id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- +goose Down
DROP TABLE `alert_delivery`;
DROP TABLE `alert_notification`;
DROP TABLE `alert`;
DROP TABLE `alert_rule`;
DROP TABLE `alert_channel`;
