-- Tenant database: the plant model of one tenant. Per-line detection and downtime tables
-- are created by the application (store.CreateLine), not here. Durations are milliseconds.

-- +goose Up
CREATE TABLE `production_line` (
  `id`                 INTEGER PRIMARY KEY AUTOINCREMENT,
  `name`               VARCHAR(200) NOT NULL,
  `description`        TEXT         NOT NULL,
  `availability`       DOUBLE       NOT NULL DEFAULT 0.9,
  `performance`        DOUBLE       NOT NULL DEFAULT 0.95,
  `quality`            DOUBLE       NOT NULL DEFAULT 0.99,
  `downtime_threshold` BIGINT       NOT NULL,
  `ideal_cycle_time`   BIGINT       NOT NULL,
  `micro_stop_min`     BIGINT       NOT NULL DEFAULT 0,
  `active`             BOOLEAN   NOT NULL DEFAULT 1,
  `created_at`         DATETIME  NOT NULL,
  `updated_at`         DATETIME  NOT NULL
);

CREATE TABLE `area` (
  `id`         INTEGER PRIMARY KEY AUTOINCREMENT,
  `line_id`    BIGINT       NOT NULL,
  `name`       VARCHAR(200) NOT NULL,
  `coord_x1`   DOUBLE       NOT NULL DEFAULT 0,
  `coord_y1`   DOUBLE       NOT NULL DEFAULT 0,
  `coord_x2`   DOUBLE       NOT NULL DEFAULT 0,
  `coord_y2`   DOUBLE       NOT NULL DEFAULT 0,
  `created_at` DATETIME  NOT NULL,
  `updated_at` DATETIME  NOT NULL
);
CREATE INDEX `ix_area_line` ON `area` (`line_id`);

CREATE TABLE `product` (
  `id`             INTEGER PRIMARY KEY AUTOINCREMENT,
  `name`           VARCHAR(200) NOT NULL,
  `sku`            VARCHAR(64)  NOT NULL DEFAULT '',
  `product_weight` DOUBLE       NOT NULL DEFAULT 0,
  `product_color`  VARCHAR(16)  NOT NULL DEFAULT '',
  `created_at`     DATETIME  NOT NULL,
  `updated_at`     DATETIME  NOT NULL
);

-- line_id 0 = every line of the tenant. start_time/end_time are local "HH:MM".
CREATE TABLE `shift` (
  `id`               INTEGER PRIMARY KEY AUTOINCREMENT,
  `line_id`          BIGINT       NOT NULL DEFAULT 0,
  `name`             VARCHAR(100) NOT NULL,
  `start_time`       CHAR(5)      NOT NULL,
  `end_time`         CHAR(5)      NOT NULL,
  `is_overnight`     BOOLEAN   NOT NULL DEFAULT 0,
  `days_implemented` TEXT         NOT NULL,
  `breaks`           TEXT         NOT NULL,
  `active`           BOOLEAN   NOT NULL DEFAULT 1,
  `created_at`       DATETIME  NOT NULL,
  `updated_at`       DATETIME  NOT NULL
);

CREATE TABLE `filter` (
  `id`                INTEGER PRIMARY KEY AUTOINCREMENT,
  `name`              VARCHAR(100) NOT NULL,
  `filter_type`       VARCHAR(32)  NOT NULL,
  `field`             VARCHAR(64)  NOT NULL,
  `default_value`     TEXT         NOT NULL,
  `additional_filter` TEXT         NOT NULL,
  `position`          INT          NOT NULL DEFAULT 0,
  `created_at`        DATETIME  NOT NULL,
  `updated_at`        DATETIME  NOT NULL
);

-- Failure catalogue: reason codes for downtime.
CREATE TABLE `failure` (
  `id`           INTEGER PRIMARY KEY AUTOINCREMENT,
  `code`         VARCHAR(32)  NOT NULL,
  `name`         VARCHAR(200) NOT NULL,
  `type_failure` TEXT         NOT NULL,
  `description`  TEXT         NOT NULL,
  `created_at`   DATETIME  NOT NULL,
  `updated_at`   DATETIME  NOT NULL,
  UNIQUE (`code`)
);

-- downtime_event_id points into downtime_events_line_<line_id> (0 = none).
CREATE TABLE `incident` (
  `id`                INTEGER PRIMARY KEY AUTOINCREMENT,
  `line_id`           BIGINT       NOT NULL,
  `downtime_event_id` BIGINT       NOT NULL DEFAULT 0,
  `failure_id`        BIGINT       NOT NULL DEFAULT 0,
  `title`             VARCHAR(200) NOT NULL,
  `description`       TEXT         NOT NULL,
  `solution`          TEXT         NOT NULL,
  `has_solution`      BOOLEAN   NOT NULL DEFAULT 0,
  `reported_by`       BIGINT       NOT NULL DEFAULT 0,
  `occurred_at`       DATETIME  NOT NULL,
  `resolved_at`       DATETIME  NULL,
  `created_at`        DATETIME  NOT NULL,
  `updated_at`        DATETIME  NOT NULL
);
CREATE INDEX `ix_incident_line` ON `incident` (`line_id`, `occurred_at`);

-- Vision-node health (relaxed integrity: no foreign keys, insert speed first).
CREATE TABLE `system_monitor` (
  `id`                 INTEGER PRIMARY KEY AUTOINCREMENT,
  `node`               VARCHAR(64)  NOT NULL,
  `recorded_at`        DATETIME  NOT NULL,
  `cpu_usage`          DOUBLE       NOT NULL DEFAULT 0,
  `ram_usage`          DOUBLE       NOT NULL DEFAULT 0,
  `gpu_temp`           DOUBLE       NOT NULL DEFAULT 0,
  `gpu_mem_used_bytes` BIGINT       NOT NULL DEFAULT 0
);
CREATE INDEX `ix_system_monitor_node` ON `system_monitor` (`node`, `recorded_at`);

CREATE TABLE `camera` (
  `id`         INTEGER PRIMARY KEY AUTOINCREMENT,
  `name`       VARCHAR(64)  NOT NULL,
  `node`       VARCHAR(64)  NOT NULL DEFAULT '',
  `model`      VARCHAR(100) NOT NULL DEFAULT '',
  `created_at` DATETIME  NOT NULL,
  `updated_at` DATETIME  NOT NULL,
  UNIQUE (`name`)
);

-- Physical-to-logical mapping: which camera watches which area.
CREATE TABLE `camera_area` (
  `id`         INTEGER PRIMARY KEY AUTOINCREMENT,
  `camera_id`  BIGINT       NOT NULL,
  `area_id`    BIGINT       NOT NULL,
  `status`     VARCHAR(32)  NOT NULL DEFAULT 'active',
  `created_at` DATETIME  NOT NULL,
  `updated_at` DATETIME  NOT NULL,
  UNIQUE (`camera_id`, `area_id`)
);

CREATE TABLE `camera_control_event` (
  `id`          INTEGER PRIMARY KEY AUTOINCREMENT,
  `camera_id`   BIGINT       NOT NULL,
  `user_id`     BIGINT       NOT NULL DEFAULT 0,
  `action`      VARCHAR(64)  NOT NULL,
  `reason`      TEXT         NOT NULL,
  `gpu_usage`   DOUBLE       NOT NULL DEFAULT 0,
  `occurred_at` DATETIME  NOT NULL
);
CREATE INDEX `ix_camera_control_camera` ON `camera_control_event` (`camera_id`, `occurred_at`);

-- Minute rollups written in the same transaction as the detections they count.
-- minute = Unix time in minutes (UTC), so bucketing is integer arithmetic on both engines.
CREATE TABLE `production_minute` (
  `line_id`    BIGINT NOT NULL,
  `minute`     BIGINT NOT NULL,
  `area_id`    BIGINT NOT NULL,
  `product_id` BIGINT NOT NULL,
  `total`      BIGINT NOT NULL,
  `good`       BIGINT NOT NULL,
  `reject`     BIGINT NOT NULL,
  PRIMARY KEY (`line_id`, `minute`, `area_id`, `product_id`)
) WITHOUT ROWID;

-- +goose Down
DROP TABLE `production_minute`;
DROP TABLE `camera_control_event`;
DROP TABLE `camera_area`;
DROP TABLE `camera`;
DROP TABLE `system_monitor`;
DROP TABLE `incident`;
DROP TABLE `failure`;
DROP TABLE `filter`;
DROP TABLE `shift`;
DROP TABLE `product`;
DROP TABLE `area`;
DROP TABLE `production_line`;
