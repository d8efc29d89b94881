package identity

import (
	"context"
	"fmt"

	"github.com/linepulse/linepulse/store"
)

// Disconnector closes the live NATS connections of device <tenant>.<device> and says
// how many it closed; *bus.Bus is one.
type Disconnector interface {
	Disconnect(tenant, device string) int
}

// Devices issues and revokes the NATS credentials of edge devices. It is the one way to
// do either: the REST API (POST and DELETE /api/v1/devices) and the CLI (`linepulse
// device create|revoke`) both call it. The SQL is the store's (store/devices.go).
type Devices struct {
	// Store holds the devices. Required.
	Store *store.Store
	// Bus closes the live connections of a revoked device. Nil in a process without the
	// NATS server (the CLI): the device is then refused from its next connection attempt
	// and keeps a live connection until then.
	Bus Disconnector
	// Auth, when set, is the authenticator of this process's NATS server; Revoke drops its
	// outage fallback for the device.
	Auth *DeviceAuth
}

// NewDevice is what Create is asked for.
type NewDevice struct {
	// Name is the device name [A-Za-z0-9_-]{1,64}, unique in its tenant even after a
	// revocation; the NATS user is <tenant>.<Name>.
	Name string
	// Lines the device may publish detections for (they must exist); empty = every line of
	// the tenant.
	Lines []int64
	// NATSURL is the address the device connects to, shown in the credentials and their
	// examples (the caller knows it; LinePulse cannot).
	NATSURL string
}

// Create generates a secret, stores a new device of tenantID with the secret's hash and
// returns the stored device and its credentials. The secret is in the credentials only:
// it is never stored, logged or shown again. Invalid names and lines are
// *store.ValidationError, a taken name store.ErrConflict, an unknown tenant
// store.ErrNotFound.
func (d Devices) Create(ctx context.Context, tenantID int64, nd NewDevice) (store.Device, Credentials, error) {
	ten, err := d.Store.GetTenant(ctx, tenantID)
	if err != nil {
		return store.Device{}, Credentials{}, err
	}
	secret, hash, err := GenerateDeviceSecret()
	if err != nil {
		return store.Device{}, Credentials{}, err
	}
	dev := store.Device{TenantID: tenantID, Name: nd.Name, SecretHash: hash, Lines: nd.Lines}
	if err := d.Store.CreateDevice(ctx, &dev); err != nil {
		return store.Device{}, Credentials{}, err
	}
	return dev, DeviceCredentials(ten.Slug, dev, secret, nd.NATSURL), nil
}

// Revoke revokes device id of tenantID: from now on it cannot authenticate, and with a
// Bus its live connections are closed at once. It returns the device as stored after the
// revocation and how many connections were closed. Revoking a revoked device changes
// nothing but still closes connections; a device of another tenant is store.ErrNotFound.
func (d Devices) Revoke(ctx context.Context, tenantID, id int64) (store.Device, int, error) {
	ten, err := d.Store.GetTenant(ctx, tenantID)
	if err != nil {
		return store.Device{}, 0, err
	}
	dev, err := d.Store.GetDevice(ctx, tenantID, id)
	if err != nil {
		return store.Device{}, 0, err
	}
	if err := d.Store.RevokeDevice(ctx, tenantID, id); err != nil {
		return store.Device{}, 0, err
	}
	// The store refuses the device from here on; now what still trusts it goes: the
	// outage fallback, then the live connections.
	if d.Auth != nil {
		d.Auth.Forget(ten.Slug, dev.Name)
	}
	n := 0
	if d.Bus != nil {
		n = d.Bus.Disconnect(ten.Slug, dev.Name)
	}
	if dev, err = d.Store.GetDevice(ctx, tenantID, id); err != nil {
		return store.Device{}, n, fmt.Errorf("identity: device %d revoked, cannot read it back: %w", id, err)
	}
	return dev, n, nil
}
