-- Global database: identity, routing, audit and UI configuration shared by all tenants.
-- Times are UTC, millisecond precision. JSON columns hold flexible configuration (the seed's
-- "schema evolution without migrations").

-- +goose Up
CREATE TABLE `tenant` (
  `id`            INTEGER PRIMARY KEY AUTOINCREMENT,
  `slug`          VARCHAR(32)  NOT NULL,
  `name`          VARCHAR(200) NOT NULL,
  `config_tenant` TEXT         NOT NULL,
  `active`        BOOLEAN   NOT NULL DEFAULT 1,
  `created_at`    DATETIME  NOT NULL,
  `updated_at`    DATETIME  NOT NULL,
  UNIQUE (`slug`)
);

-- tenant_id 0 = platform scope (platform administrators).
CREATE TABLE `user` (
  `id`            INTEGER PRIMARY KEY AUTOINCREMENT,
  `tenant_id`     BIGINT       NOT NULL,
  `email`         VARCHAR(254) NOT NULL,
  `name`          VARCHAR(200) NOT NULL DEFAULT '',
  `password_hash` VARCHAR(255) NOT NULL,
  `role`          VARCHAR(32)  NOT NULL,
  `permissions`   TEXT         NOT NULL,
  `active`        BOOLEAN   NOT NULL DEFAULT 1,
  `created_at`    DATETIME  NOT NULL,
  `updated_at`    DATETIME  NOT NULL,
  UNIQUE (`tenant_id`, `email`)
);

-- Append-only; each row's hash chains to the previous row of the same tenant.
CREATE TABLE `audit_log` (
  `id`          INTEGER PRIMARY KEY AUTOINCREMENT,
  `tenant_id`   BIGINT       NOT NULL,
  `seq`         BIGINT       NOT NULL,
  `at`          DATETIME  NOT NULL,
  `user_id`     BIGINT       NOT NULL DEFAULT 0,
  `action`      VARCHAR(64)  NOT NULL,
  `ip_address`  VARCHAR(45)  NOT NULL DEFAULT '',
  `details`     TEXT         NOT NULL,
  `prev_hash`   BLOB NOT NULL,
  `hash`        BLOB NOT NULL,
  UNIQUE (`tenant_id`, `seq`)
);

CREATE TABLE `user_login` (
  `id`          INTEGER PRIMARY KEY AUTOINCREMENT,
  `user_id`     BIGINT       NOT NULL,
  `tenant_id`   BIGINT       NOT NULL,
  `session_id`  VARCHAR(64)  NOT NULL DEFAULT '',
  `login_at`    DATETIME  NOT NULL,
  `logout_at`   DATETIME  NULL,
  `ip_address`  VARCHAR(45)  NOT NULL DEFAULT '',
  `user_agent`  VARCHAR(512) NOT NULL DEFAULT ''
);
CREATE INDEX `ix_user_login_user` ON `user_login` (`user_id`, `login_at`);
CREATE INDEX `ix_user_login_session` ON `user_login` (`session_id`);

-- Data-query audit: the exact filters a user asked for.
CREATE TABLE `user_query` (
  `id`            INTEGER PRIMARY KEY AUTOINCREMENT,
  `tenant_id`     BIGINT       NOT NULL,
  `user_id`       BIGINT       NOT NULL,
  `sql_query`     TEXT         NOT NULL,
  `start_date`    DATETIME  NULL,
  `end_date`      DATETIME  NULL,
  `line`          BIGINT       NOT NULL DEFAULT 0,
  `interval_type` VARCHAR(16)  NOT NULL DEFAULT '',
  `filters`       TEXT         NOT NULL,
  `created_at`    DATETIME  NOT NULL
);
CREATE INDEX `ix_user_query_tenant` ON `user_query` (`tenant_id`, `created_at`);

-- System metadata, read-only to tenants.
CREATE TABLE `widget_catalog` (
  `id`              INTEGER PRIMARY KEY AUTOINCREMENT,
  `widget_type`     VARCHAR(64)  NOT NULL,
  `name`            VARCHAR(200) NOT NULL,
  `description`     TEXT         NOT NULL,
  `required_params` TEXT         NOT NULL,
  UNIQUE (`widget_type`)
);

CREATE TABLE `dashboard_template` (
  `id`            INTEGER PRIMARY KEY AUTOINCREMENT,
  `tenant_id`     BIGINT       NOT NULL,
  `name`          VARCHAR(200) NOT NULL,
  `role_access`   VARCHAR(32)  NOT NULL,
  `layout_config` TEXT         NOT NULL,
  `created_at`    DATETIME  NOT NULL,
  `updated_at`    DATETIME  NOT NULL
);
CREATE INDEX `ix_dashboard_tenant` ON `dashboard_template` (`tenant_id`);

CREATE TABLE `system_config` (
  `key`        VARCHAR(128) NOT NULL,
  `value`      TEXT         NOT NULL,
  `updated_at` DATETIME  NOT NULL,
  PRIMARY KEY (`key`)
);

-- +goose Down
DROP TABLE `system_config`;
DROP TABLE `dashboard_template`;
DROP TABLE `widget_catalog`;
DROP TABLE `user_query`;
DROP TABLE `user_login`;
DROP TABLE `audit_log`;
DROP TABLE `user`;
DROP TABLE `tenant`;
