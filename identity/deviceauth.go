package identity

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/linepulse/linepulse/bus"
	"github.com/linepulse/linepulse/store"
)

// maxSecretLen bounds a presented password: generated secrets have 43 characters.
const maxSecretLen = 256

// DeviceAuthConfig configures NewDeviceAuth. The zero value is usable.
type DeviceAuthConfig struct {
	// OutageGrace is how long a device that authenticated successfully may keep
	// reconnecting on the strength of that success while the database is unreachable
	// (never for a device the database refused). Default 10m; negative disables it.
	OutageGrace time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger receives outage warnings. Default slog.Default().
	Logger *slog.Logger
}

// DeviceAuth checks edge devices against the device table (bus.DeviceAuth). Every
// connection attempt reads the database, so a revocation or a deactivated tenant takes
// effect at the next connection attempt; bus.Disconnect closes live connections.
//
// Only when the database cannot be reached does it fall back to the last successful
// check of the same user and secret, for at most OutageGrace: JetStream keeps taking
// detections during a database outage, and a device whose network blinked must be able
// to reconnect. A refusal by the database erases the fallback at once.
type DeviceAuth struct {
	st  *store.Store
	cfg DeviceAuthConfig

	mu   sync.Mutex
	good map[string]goodAuth // user -> last successful check
}

type goodAuth struct {
	hash   string
	device bus.Device
	at     time.Time
}

var _ bus.DeviceAuth = (*DeviceAuth)(nil)

// NewDeviceAuth returns the store-backed device authenticator for bus.Config.Devices.
func NewDeviceAuth(st *store.Store, cfg DeviceAuthConfig) *DeviceAuth {
	if cfg.OutageGrace == 0 {
		cfg.OutageGrace = 10 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &DeviceAuth{st: st, cfg: cfg, good: map[string]goodAuth{}}
}

// Forget drops the outage fallback of a device; Devices.Revoke calls it.
func (a *DeviceAuth) Forget(tenant, device string) {
	a.mu.Lock()
	delete(a.good, bus.DeviceUser(tenant, device))
	a.mu.Unlock()
}

// AuthenticateDevice implements bus.DeviceAuth.
func (a *DeviceAuth) AuthenticateDevice(ctx context.Context, user, password string) (bus.Device, error) {
	tenant, name, ok := bus.ParseDeviceUser(user)
	if !ok {
		return bus.Device{}, fmt.Errorf("%w: user name is not <tenant>.<device>", ErrDeviceRefused)
	}
	if len(password) > maxSecretLen {
		return bus.Device{}, fmt.Errorf("%w: password longer than %d bytes", ErrDeviceRefused, maxSecretLen)
	}
	presented := HashDeviceSecret(password)
	dev, err := a.check(ctx, tenant, name, presented)
	switch {
	case err == nil:
		a.mu.Lock()
		a.good[user] = goodAuth{hash: presented, device: dev, at: a.cfg.Now()}
		a.mu.Unlock()
		return dev, nil
	case errors.Is(err, ErrDeviceRefused):
		a.Forget(tenant, name)
		return bus.Device{}, err
	}
	// The database could not answer.
	a.mu.Lock()
	g, ok := a.good[user]
	a.mu.Unlock()
	if ok && a.cfg.OutageGrace > 0 && a.cfg.Now().Sub(g.at) <= a.cfg.OutageGrace &&
		subtle.ConstantTimeCompare([]byte(g.hash), []byte(presented)) == 1 {
		a.cfg.Logger.Warn("identity: device admitted on its last successful check: database unreachable", "user", user, "checked_at", g.at, "err", err)
		return g.device, nil
	}
	return bus.Device{}, fmt.Errorf("identity: cannot check device %s: %w", user, err)
}

// check returns the device or an error wrapping ErrDeviceRefused when the database says
// no; any other error means the database could not answer.
func (a *DeviceAuth) check(ctx context.Context, tenant, name, presented string) (bus.Device, error) {
	ten, err := a.st.TenantBySlug(ctx, tenant)
	if errors.Is(err, store.ErrNotFound) {
		dummyCompare(presented)
		return bus.Device{}, fmt.Errorf("%w: unknown tenant", ErrDeviceRefused)
	}
	if err != nil {
		return bus.Device{}, err
	}
	d, err := a.st.DeviceByName(ctx, ten.ID, name)
	if errors.Is(err, store.ErrNotFound) {
		dummyCompare(presented)
		return bus.Device{}, fmt.Errorf("%w: unknown device", ErrDeviceRefused)
	}
	if err != nil {
		return bus.Device{}, err
	}
	// Compare first, so every refusal costs the same.
	match := subtle.ConstantTimeCompare([]byte(d.SecretHash), []byte(presented)) == 1
	switch {
	case !match:
		return bus.Device{}, fmt.Errorf("%w: wrong secret", ErrDeviceRefused)
	case d.Revoked():
		return bus.Device{}, fmt.Errorf("%w: device revoked at %s", ErrDeviceRefused, d.RevokedAt.Format(time.RFC3339))
	case !ten.Active:
		return bus.Device{}, fmt.Errorf("%w: tenant is not active", ErrDeviceRefused)
	}
	return bus.Device{Tenant: ten.Slug, Name: d.Name, Lines: append([]int64(nil), d.Lines...)}, nil
}

var dummyHash = strings.Repeat("0", 64)

func dummyCompare(presented string) { subtle.ConstantTimeCompare([]byte(dummyHash), []byte(presented)) }
