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
  `id`          INTEGER PRIMARY KEY AUTOINCREMENT,
  `family_id`   VARCHAR(64)  NOT NULL,
  `user_id`     BIGINT       NOT NULL,
  `tenant_id`   BIGINT       NOT NULL,
  `token_hash`  BLOB         NOT NULL,
  `created_at`  DATETIME     NOT NULL,
  `expires_at`  DATETIME     NOT NULL,
  `rotated_at`  DATETIME     NULL,
  `revoked_at`  DATETIME     NULL,
  UNIQUE (`token_hash`)
);
CREATE INDEX `ix_refresh_token_family` ON `refresh_token` (`family_id`);
CREATE INDEX `ix_refresh_token_user` ON `refresh_token` (`tenant_id`, `user_id`);
CREATE INDEX `ix_refresh_token_expires` ON `refresh_token` (`expires_at`);

CREATE TABLE `kiosk_token` (
  `id`           INTEGER PRIMARY KEY AUTOINCREMENT,
  `tenant_id`    BIGINT       NOT NULL,
  `name`         VARCHAR(100) NOT NULL,
  `token_hash`   BLOB         NOT NULL,
  `lines`        TEXT         NOT NULL,
  `dashboard_id` BIGINT       NOT NULL DEFAULT 0,
  `created_at`   DATETIME     NOT NULL,
  `revoked_at`   DATETIME     NULL,
  `last_used_at` DATETIME     NULL,
  UNIQUE (`token_hash`)
);
CREATE INDEX `ix_kiosk_token_tenant` ON `kiosk_token` (`tenant_id`);

CREATE TABLE `audit_anchor` (
  `tenant_id`  BIGINT       NOT NULL PRIMARY KEY,
  `seq`        BIGINT       NOT NULL,
  `hash`       BLOB         NOT NULL,
  `updated_at` DATETIME     NOT NULL
);

-- +goose Down
DROP TABLE `audit_anchor`;
DROP TABLE `kiosk_token`;
DROP TABLE `refresh_token`;
