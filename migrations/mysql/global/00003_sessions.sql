-- Sessions of people and screens. refresh_token rows form families (one family = one
-- login session, family_id = the session id carried in access tokens and USER_LOGIN): each
-- refresh rotates the presented token (rotated_at) and adds its successor; presenting a
-- rotated token again revokes the whole family. Only SHA-256 hashes of tokens are stored.
-- kiosk_token holds long-lived, read-only tokens for shop-floor screens, bound to lines
-- (JSON array; [] = every line) and optionally a dashboard template. audit_anchor keeps
-- the newest (seq, hash) of each tenant's audit chain, so deleting the newest audit
-- entries is detected too.

-- +goose Up
CREATE TABLE `refresh_token` (
  `id`          BIGINT        NOT NULL AUTO_INCREMENT,
  `family_id`   VARCHAR(64)   NOT NULL,
  `user_id`     BIGINT        NOT NULL,
  `tenant_id`   BIGINT        NOT NULL,
  `token_hash`  VARBINARY(32) NOT NULL,
  `created_at`  DATETIME(3)   NOT NULL,
  `expires_at`  DATETIME(3)   NOT NULL,
  `rotated_at`  DATETIME(3)   NULL,
  `revoked_at`  DATETIME(3)   NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `uq_refresh_token_hash` (`token_hash`),
  KEY `ix_refresh_token_family` (`family_id`),
  KEY `ix_refresh_token_user` (`tenant_id`, `user_id`),
  KEY `ix_refresh_token_expires` (`expires_at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE `kiosk_token` (
  `id`           BIGINT        NOT NULL AUTO_INCREMENT,
  `tenant_id`    BIGINT        NOT NULL,
  `name`         VARCHAR(100)  NOT NULL,
  `token_hash`   VARBINARY(32) NOT NULL,
  `lines`        JSON          NOT NULL,
  `dashboard_id` BIGINT        NOT NULL DEFAULT 0,
  `created_at`   DATETIME(3)   NOT NULL,
  `revoked_at`   DATETIME(3)   NULL,
  `last_used_at` DATETIME(3)   NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `uq_kiosk_token_hash` (`token_hash`),
  KEY `ix_kiosk_token_tenant` (`tenant_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE `audit_anchor` (
  `tenant_id`  BIGINT        NOT NULL,
  `seq`        BIGINT        NOT NULL,
  `hash`       VARBINARY(32) NOT NULL,
  `updated_at` DATETIME(3)   NOT NULL,
  PRIMARY KEY (`tenant_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- +goose Down
DROP TABLE `audit_anchor`;
DROP TABLE `kiosk_token`;
DROP TABLE `refresh_token`;
