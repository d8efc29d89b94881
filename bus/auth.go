package bus

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// DeviceAuth authenticates edge devices connecting to the embedded NATS server.
// It is implemented on the consuming side (the device registry in store/web) and
// called once per connection attempt, from the connection's own goroutine.
type DeviceAuth interface {
	// AuthenticateDevice checks user/password presented by an edge and returns its identity, or an error.
	// user is the NATS user name as presented ("<tenant>.<device>").
	AuthenticateDevice(ctx context.Context, user, password string) (Device, error)
}

// Device is the identity of an authenticated edge device.
type Device struct {
	Tenant string  // tenant slug; must equal the <tenant> part of the user name
	Name   string  // device (vision node) name; must equal the <device> part of the user name
	Lines  []int64 // lines it may publish detections for; empty = all lines of the tenant
}

// ErrDeviceMismatch is returned (and logged) when DeviceAuth returns an identity that
// does not match the user name the device presented.
var ErrDeviceMismatch = errors.New("bus: authenticated device does not match its user name")

const (
	authTimeout = 5 * time.Second // bound on one DeviceAuth call
)

// authenticator implements server.Authentication for the embedded server.
type authenticator struct {
	log          *slog.Logger
	devices      DeviceAuth
	internalUser string
	internalPass string
	sem          chan struct{} // bounds concurrent DeviceAuth calls (password hashing is CPU-bound)
	baseCtx      context.Context

	mu     sync.Mutex
	epochs map[string]uint64 // "<tenant>.<device>" -> revocation epoch, bumped by Disconnect

	accounts deviceAccounts
}

// setServer is called before the server accepts connections.
func (a *authenticator) setServer(srv *server.Server) {
	a.accounts.mu.Lock()
	a.accounts.srv = srv
	a.accounts.mu.Unlock()
}

func newAuthenticator(log *slog.Logger, devices DeviceAuth, baseCtx context.Context) (*authenticator, error) {
	user, err := randomHex(8)
	if err != nil {
		return nil, err
	}
	pass, err := randomHex(32)
	if err != nil {
		return nil, err
	}
	return &authenticator{
		log:          log,
		devices:      devices,
		internalUser: "lp-internal-" + user,
		internalPass: pass,
		sem:          make(chan struct{}, 2*runtime.GOMAXPROCS(0)),
		baseCtx:      baseCtx,
		epochs:       make(map[string]uint64),
	}, nil
}

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("bus: cannot generate internal credentials: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// Check implements server.Authentication. It runs while the server processes the
// client's CONNECT; returning false makes the server send "Authorization Violation"
// and close the connection.
func (a *authenticator) Check(c server.ClientAuthentication) bool {
	if c.Kind() != server.CLIENT {
		return false // no routes, gateways or leaf nodes are configured
	}
	opts := c.GetOpts()
	user, pass := opts.Username, opts.Password
	remote := "unknown"
	inProcess := false
	if addr := c.RemoteAddress(); addr != nil {
		remote = addr.String()
		inProcess = addr.Network() == "pipe" // server.InProcessConn uses net.Pipe
	}

	// Internal, fully privileged user: only in-process (never over TCP), random per process.
	if user == a.internalUser {
		if inProcess && subtle.ConstantTimeCompare([]byte(pass), []byte(a.internalPass)) == 1 {
			c.RegisterUser(&server.User{Username: user}) // nil Permissions = everything
			return true
		}
		a.refuse(c, user, remote, "internal user not allowed from here")
		return false
	}

	if opts.Token != "" || opts.Nkey != "" || opts.JWT != "" {
		a.refuse(c, user, remote, "only user/password authentication is accepted")
		return false
	}
	tenant, device, ok := ParseDeviceUser(user)
	if !ok {
		a.refuse(c, user, remote, "user name is not <tenant>.<device>")
		return false
	}
	if a.devices == nil {
		a.refuse(c, user, remote, "device authentication is not configured")
		return false
	}
	if pass == "" {
		a.refuse(c, user, remote, "no password")
		return false
	}

	key := DeviceUser(tenant, device)
	a.mu.Lock()
	epoch := a.epochs[key]
	a.mu.Unlock()

	ctx, cancel := context.WithTimeout(a.baseCtx, authTimeout)
	defer cancel()
	select {
	case a.sem <- struct{}{}:
	case <-ctx.Done():
		a.refuse(c, user, remote, "authentication busy")
		return false
	}
	dev, err := a.devices.AuthenticateDevice(ctx, user, pass)
	<-a.sem
	if err != nil {
		a.refuse(c, user, remote, err.Error())
		return false
	}
	if dev.Tenant != tenant || dev.Name != device {
		a.refuse(c, user, remote, ErrDeviceMismatch.Error())
		return false
	}
	for _, l := range dev.Lines {
		if l <= 0 {
			a.refuse(c, user, remote, "invalid line id "+strconv.FormatInt(l, 10))
			return false
		}
	}

	acc, err := a.accounts.account(tenant, device)
	if err != nil {
		a.refuse(c, user, remote, err.Error())
		return false
	}

	// Register under the lock so that a concurrent Disconnect either sees this
	// connection (it is registered under its user name before Disconnect looks) or
	// makes us refuse it (the epoch moved while we were checking the password).
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.epochs[key] != epoch {
		a.refuse(c, user, remote, "device was disconnected during authentication")
		return false
	}
	c.RegisterUser(&server.User{Username: key, Permissions: devicePermissions(dev), Account: acc})
	a.log.Debug("bus: device connected", "user", key, "remote", remote, "cid", c.GetID())
	return true
}

func (a *authenticator) refuse(c server.ClientAuthentication, user, remote, reason string) {
	// Never log the password.
	a.log.Info("bus: NATS authentication failed", "user", user, "remote", remote, "cid", c.GetID(), "reason", reason)
}

// revoke bumps the device's epoch so that in-flight authentications are refused.
func (a *authenticator) revoke(key string) {
	a.mu.Lock()
	a.epochs[key]++
	a.mu.Unlock()
}

// devicePermissions is the whole permission set of a device:
//
//	publish:   lp.<tenant>.line.<line>.det for each of its lines (lp.<tenant>.line.*.det if none)
//	           lp.<tenant>.node.<device>.telemetry
//	subscribe: _INBOX.<tenant>.<device>.>
//
// Everything else (other tenants, kpi/downtime/dlq, $JS.API.>, other inboxes) is denied.
func devicePermissions(d Device) *server.Permissions {
	var pub []string
	if len(d.Lines) == 0 {
		pub = append(pub, subjectRoot+"."+d.Tenant+".line.*."+KindDet)
	} else {
		seen := make(map[int64]bool, len(d.Lines))
		for _, l := range d.Lines {
			if !seen[l] {
				seen[l] = true
				pub = append(pub, DetSubject(d.Tenant, l))
			}
		}
	}
	pub = append(pub, TelemetrySubject(d.Tenant, d.Name))
	return &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: pub},
		Subscribe: &server.SubjectPermission{Allow: []string{DeviceInboxPrefix(d.Tenant, d.Name) + ".>"}},
	}
}
