-- Edge devices (vision nodes) and their NATS credentials. A device authenticates as
-- user "<tenant slug>.<name>" with a random 32-byte secret; only the SHA-256 of the secret
-- is stored (a high-entropy secret needs no slow password hash). lines is a JSON array of
-- line ids the device may publish for; [] = every line of the tenant. A revoked device
-- keeps its row (and its name) for the record.

-- +goose Up
CREATE TABLE `device` (
  `id`          BIGINT       NOT NULL AUTO_INCREMENT,
  `tenant_id`   BIGINT       NOT NULL,
  `name`        VARCHAR(64)  NOT NULL,
  `secret_hash` CHAR(64)     NOT NULL,
  `lines`       JSON         NOT NULL,
  `created_at`  DATETIME(3)  NOT NULL,
  `revoked_at`  DATETIME(3)  NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `uq_device_tenant_name` (`tenant_id`, `name`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- +goose Down
DROP TABLE `device`;
