-- Global database: identity, routing, audit and UI configuration shared by all tenants.
-- Times are UTC, millisecond precision. JSON columns hold flexible configuration (the seed's
-- "schema evolution without migrations").

-- +goose Up
CREATE TABLE `tenant` (
  `id`            BIGINT       NOT NULL AUTO_INCREMENT,
  `slug`          VARCHAR(32)  NOT NULL,
  `name`          VARCHAR(200) NOT NULL,
  `config_tenant` JSON         NOT NULL,
  `active`        TINYINT(1)   NOT NULL DEFAULT 1,
  `created_at`    DATETIME(3)  NOT NULL,
  `updated_at`    DATETIME(3)  NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `uq_tenant_slug` (`slug`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- tenant_id 0 = platform scope (platform administrators).
CREATE TABLE `user` (
  `id`            BIGINT       NOT NULL AUTO_INCREMENT,
  `tenant_id`     BIGINT       NOT NULL,
  `email`         VARCHAR(254) NOT NULL,
  `name`          VARCHAR(200) NOT NULL DEFAULT '',
  `password_hash` VARCHAR(255) NOT NULL,
  `role`          VARCHAR(32)  NOT NULL,
  `permissions`   JSON         NOT NULL,
  `active`        TINYINT(1)   NOT NULL DEFAULT 1,
  `created_at`    DATETIME(3)  NOT NULL,
  `updated_at`    DATETIME(3)  NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `uq_user_tenant_email` (`tenant_id`, `email`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Append-only; each row's hash chains to the previous row of the same tenant.
CREATE TABLE `audit_log` (
  `id`          BIGINT       NOT NULL AUTO_INCREMENT,
  `tenant_id`   BIGINT       NOT NULL,
  `seq`         BIGINT       NOT NULL,
  `at`          DATETIME(3)  NOT NULL,
  `user_id`     BIGINT       NOT NULL DEFAULT 0,
  `action`      VARCHAR(64)  NOT NULL,
  `ip_address`  VARCHAR(45)  NOT NULL DEFAULT '',
  `details`     JSON         NOT NULL,
  `prev_hash`   VARBINARY(32) NOT NULL,
  `hash`        VARBINARY(32) NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `uq_audit_tenant_seq` (`tenant_id`, `seq`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE `user_login` (
  `id`          BIGINT       NOT NULL AUTO_INCREMENT,
  `user_id`     BIGINT       NOT NULL,
  `tenant_id`   BIGINT       NOT NULL,
  `session_id`  VARCHAR(64)  NOT NULL DEFAULT '',
  `login_at`    DATETIME(3)  NOT NULL,
  `logout_at`   DATETIME(3)  NULL,
  `ip_address`  VARCHAR(45)  NOT NULL DEFAULT '',
  `user_agent`  VARCHAR(512) NOT NULL DEFAULT '',
  PRIMARY KEY (`id`),
  KEY `ix_user_login_user` (`user_id`, `login_at`),
  KEY `ix_user_login_session` (`session_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Data-query audit: the exact filters a user asked for.
CREATE TABLE `user_query` (
  `id`            BIGINT       NOT NULL AUTO_INCREMENT,
  `tenant_id`     BIGINT       NOT NULL,
  `user_id`       BIGINT       NOT NULL,
  `sql_query`     TEXT         NOT NULL,
  `start_date`    DATETIME(3)  NULL,
  `end_date`      DATETIME(3)  NULL,
  `line`          BIGINT       NOT NULL DEFAULT 0,
  `interval_type` VARCHAR(16)  NOT NULL DEFAULT '',
  `filters`       JSON         NOT NULL,
  `created_at`    DATETIME(3)  NOT NULL,
  PRIMARY KEY (`id`),
  KEY `ix_user_query_tenant` (`tenant_id`, `created_at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- System metadata, read-only to tenants.
CREATE TABLE `widget_catalog` (
  `id`              BIGINT       NOT NULL AUTO_INCREMENT,
  `widget_type`     VARCHAR(64)  NOT NULL,
  `name`            VARCHAR(200) NOT NULL,
  `description`     TEXT         NOT NULL,
  `required_params` JSON         NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `uq_widget_type` (`widget_type`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE `dashboard_template` (
  `id`            BIGINT       NOT NULL AUTO_INCREMENT,
  `tenant_id`     BIGINT       NOT NULL,
  `name`          VARCHAR(200) NOT NULL,
  `role_access`   VARCHAR(32)  NOT NULL,
  `layout_config` JSON         NOT NULL,
  `created_at`    DATETIME(3)  NOT NULL,
  `updated_at`    DATETIME(3)  NOT NULL,
  PRIMARY KEY (`id`),
  KEY `ix_dashboard_tenant` (`tenant_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE `system_config` (
  `key`        VARCHAR(128) NOT NULL,
  `value`      JSON         NOT NULL,
  `updated_at` DATETIME(3)  NOT NULL,
  PRIMARY KEY (`key`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- +goose Down
DROP TABLE `system_config`;
DROP TABLE `dashboard_template`;
DROP TABLE `widget_catalog`;
DROP TABLE `user_query`;
DROP TABLE `user_login`;
DROP TABLE `audit_log`;
DROP TABLE `user`;
DROP TABLE `tenant`;
