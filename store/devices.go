package store

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"
)

// Device is an edge device (vision node) allowed to publish detections over NATS as user
// "<tenant slug>.<Name>". Only the SHA-256 of its secret is kept: the secret is 32 random
// bytes, so a fast hash is as safe as a slow one and keeps authentication cheap.
type Device struct {
	ID       int64  `json:"id"`
	TenantID int64  `json:"tenant_id"`
	Name     string `json:"name"`
	// SecretHash is the lower-case hex SHA-256 of the secret (64 characters).
	SecretHash string `json:"-"`
	// Lines the device may publish detections for; empty = every line of the tenant.
	Lines     []int64    `json:"lines"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at"`
}

// Revoked reports whether the device's credentials were revoked.
func (d Device) Revoked() bool { return d.RevokedAt != nil }

// DeviceNamePattern is a device name: one NATS subject token, also the part after the dot
// of the NATS user name (bus.ValidDeviceName is the same rule).
var DeviceNamePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

var secretHashRe = regexp.MustCompile(`^[0-9a-f]{64}$`)

// MaxDeviceLines bounds the line list of one device (it becomes a NATS permission list).
const MaxDeviceLines = 1000

func (d *Device) validate() error {
	v := validator{entity: "device"}
	v.check(DeviceNamePattern.MatchString(d.Name), "name", "must match [A-Za-z0-9_-]{1,64}")
	v.check(secretHashRe.MatchString(d.SecretHash), "secret_hash", "must be a lower-case hex SHA-256")
	v.check(len(d.Lines) <= MaxDeviceLines, "lines", fmt.Sprintf("at most %d lines", MaxDeviceLines))
	ok := true
	for _, l := range d.Lines {
		ok = ok && l > 0
	}
	v.check(ok, "lines", "line ids must be positive")
	return v.err()
}

func (s *Store) deviceTable() *table[Device] {
	return newTable(s.d, "device", []string{"tenant_id", "name", "secret_hash", "lines", "created_at", "revoked_at"},
		func(d *Device) *int64 { return &d.ID },
		func(d *Device) []any {
			return []any{&d.TenantID, &d.Name, &d.SecretHash, asJSON(&d.Lines), &d.CreatedAt, &d.RevokedAt}
		})
}

// CreateDevice validates and inserts a device of d.TenantID. Its lines must exist in the
// tenant (sorted and de-duplicated here); the caller generates the secret and passes only
// its hash. A name already used in the tenant, even by a revoked device, is ErrConflict.
func (s *Store) CreateDevice(ctx context.Context, d *Device) error {
	if d.Lines == nil {
		d.Lines = []int64{}
	}
	slices.Sort(d.Lines)
	d.Lines = slices.Compact(d.Lines)
	if err := d.validate(); err != nil {
		return err
	}
	tdb, err := s.Tenant(ctx, d.TenantID)
	if err != nil {
		return err
	}
	if len(d.Lines) > 0 {
		lines, err := tdb.AllLines(ctx)
		if err != nil {
			return err
		}
		known := make(map[int64]bool, len(lines))
		for _, l := range lines {
			known[l.ID] = true
		}
		v := validator{entity: "device"}
		for _, id := range d.Lines {
			v.check(known[id], "lines", fmt.Sprintf("line %d does not exist in this tenant", id))
		}
		if err := v.err(); err != nil {
			return err
		}
	}
	d.CreatedAt = s.now()
	d.RevokedAt = nil
	if err := s.deviceTable().insert(ctx, s.global, d); err != nil {
		if errors.Is(err, ErrConflict) {
			return fmt.Errorf("store: device name %q is taken in this tenant (revoked devices keep their name): %w", d.Name, ErrConflict)
		}
		return err
	}
	return nil
}

// GetDevice reads a device of one tenant. A device of another tenant is ErrNotFound.
func (s *Store) GetDevice(ctx context.Context, tenantID, id int64) (Device, error) {
	d, err := s.deviceTable().get(ctx, s.global, id)
	if err == nil && d.TenantID != tenantID {
		return Device{}, fmt.Errorf("store: device %d: %w", id, ErrNotFound)
	}
	return d, err
}

// DeviceByName finds a device (revoked or not) by tenant and name; the NATS authenticator
// calls it once per connection attempt.
func (s *Store) DeviceByName(ctx context.Context, tenantID int64, name string) (Device, error) {
	list, err := s.deviceTable().list(ctx, s.global, "`tenant_id` = ? AND `name` = ?", []any{tenantID, name}, Page{Limit: 1})
	if err != nil {
		return Device{}, err
	}
	if len(list) == 0 {
		return Device{}, fmt.Errorf("store: device %q: %w", name, ErrNotFound)
	}
	return list[0], nil
}

// ListDevices pages through one tenant's devices, revoked ones included.
func (s *Store) ListDevices(ctx context.Context, tenantID int64, p Page) ([]Device, error) {
	return s.deviceTable().list(ctx, s.global, "`tenant_id` = ?", []any{tenantID}, p)
}

// AllDevices returns every device of tenantID, revoked or not, in id order.
func (s *Store) AllDevices(ctx context.Context, tenantID int64) ([]Device, error) {
	return s.deviceTable().all(ctx, s.global, "`tenant_id` = ?", tenantID)
}

// RevokeDevice stamps revoked_at on a device of tenantID; from then on it cannot
// authenticate. Revoking a revoked device changes nothing. Live NATS connections are
// the caller's business (bus.Disconnect).
func (s *Store) RevokeDevice(ctx context.Context, tenantID, id int64) error {
	if _, err := s.GetDevice(ctx, tenantID, id); err != nil {
		return err
	}
	_, err := s.global.ExecContext(ctx, "UPDATE `device` SET `revoked_at` = ? WHERE `id` = ? AND `tenant_id` = ? AND `revoked_at` IS NULL", s.now(), id, tenantID)
	if err != nil {
		return fmt.Errorf("store: cannot revoke device %d: %w", id, err)
	}
	return nil
}
