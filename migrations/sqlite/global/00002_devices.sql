-- Edge devices (vision nodes) and their NATS credentials. A device authenticates as
-- user "<tenant slug>.<name>" with a random 32-byte secret; only the SHA-256 of the secret
-- is stored (a high-entropy secret needs no slow password hash). lines is a JSON array of
-- line ids the device may publish for; [] = every line of the tenant. A revoked device
-- keeps its row (and its name) for the record.

-- +goose Up
CREATE TABLE `device` (
  `id`          INTEGER PRIMARY KEY AUTOINCREMENT,
  `tenant_id`   BIGINT       NOT NULL,
  `name`        VARCHAR(64)  NOT NULL,
  `secret_hash` CHAR(64)     NOT NULL,
  `lines`       TEXT         NOT NULL,
  `created_at`  DATETIME     NOT NULL,
  `revoked_at`  DATETIME     NULL,
  UNIQUE (`tenant_id`, `name`)
);

-- +goose Down
DROP TABLE `device`;
