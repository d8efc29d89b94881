package ingest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/linepulse/linepulse/bus"
	"github.com/linepulse/linepulse/store"
)

// SecretBytes is the entropy of a device secret. 256 random bits cannot be guessed, so
// the secret is stored as a plain SHA-256 (no slow password hash needed) and checked
// in constant time.
const SecretBytes = 32

// maxSecretLen bounds a presented password: generated secrets have 43 characters.
const maxSecretLen = 256

// ErrDeviceRefused is returned by DeviceAuth for every refused authentication (unknown
// tenant or device, wrong secret, revoked device, inactive tenant). The wrapped message
// says which, for the server log; the device only ever sees "Authorization Violation".
var ErrDeviceRefused = errors.New("ingest: device refused")

// GenerateDeviceSecret returns a new random secret (URL-safe base64, 43 characters: usable
// as a NATS password in a URL or on a command line) and the hash to store.
func GenerateDeviceSecret() (secret, hash string, err error) {
	b := make([]byte, SecretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("ingest: cannot generate device secret: %w", err)
	}
	secret = base64.RawURLEncoding.EncodeToString(b)
	return secret, HashDeviceSecret(secret), nil
}

// HashDeviceSecret is the stored form of a secret: lower-case hex SHA-256.
func HashDeviceSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// CreateDevice generates a secret and stores a new device of tenantID. The secret is
// returned once and never stored.
func CreateDevice(ctx context.Context, st *store.Store, tenantID int64, name string, lines []int64) (store.Device, string, error) {
	secret, hash, err := GenerateDeviceSecret()
	if err != nil {
		return store.Device{}, "", err
	}
	d := store.Device{TenantID: tenantID, Name: name, SecretHash: hash, Lines: lines}
	if err := st.CreateDevice(ctx, &d); err != nil {
		return store.Device{}, "", err
	}
	return d, secret, nil
}

// Credentials is what an edge node needs to connect, as printed by `linepulse device
// create` (and returned by the API): the secret appears here once.
type Credentials struct {
	User        string   `json:"user"`         // NATS user: <tenant>.<device>
	Password    string   `json:"password"`     // the secret; shown once
	URL         string   `json:"url"`          // where to connect (a hint; the operator knows the real address)
	InboxPrefix string   `json:"inbox_prefix"` // nats.CustomInboxPrefix / nats --inbox-prefix: required for PubAcks
	Publish     []string `json:"publish"`      // subjects the device may publish to
	Subscribe   []string `json:"subscribe"`    // subjects the device may subscribe to (its replies)
	NatsCLI     string   `json:"nats_cli"`     // copy-paste example with the nats CLI
	NatsGo      string   `json:"nats_go"`      // copy-paste example with nats.go
}

// DeviceCredentials describes device d of tenant slug tenant with its secret; url is the
// NATS address devices use (e.g. nats://linepulse.example:4222).
func DeviceCredentials(tenant string, d store.Device, secret, url string) Credentials {
	user := bus.DeviceUser(tenant, d.Name)
	inbox := bus.DeviceInboxPrefix(tenant, d.Name)
	var pub []string
	example := bus.DetSubject(tenant, 1)
	if len(d.Lines) == 0 {
		pub = append(pub, "lp."+tenant+".line.*.det")
	} else {
		for _, l := range d.Lines {
			pub = append(pub, bus.DetSubject(tenant, l))
		}
		example = bus.DetSubject(tenant, d.Lines[0])
	}
	pub = append(pub, bus.TelemetrySubject(tenant, d.Name))
	// A request (not a plain publish) so the JetStream PubAck is printed.
	body := `"{\"id\":1,\"at\":\"$(date -u +%Y-%m-%dT%H:%M:%S.000Z)\",\"area\":1,\"product\":1,\"ok\":true}"`
	cli := fmt.Sprintf("nats req --server %s --user %s --password=%s --inbox-prefix %s %s %s",
		url, user, shellQuote(secret), inbox, example, body)
	goEx := strings.Join([]string{
		`nc, err := nats.Connect(` + strconv.Quote(url) + `,`,
		`	nats.UserInfo(` + strconv.Quote(user) + `, os.Getenv("LINEPULSE_DEVICE_SECRET")),`,
		`	nats.CustomInboxPrefix(` + strconv.Quote(inbox) + `))`,
		`js, err := jetstream.New(nc)`,
		`// one detection, or a JSON array of up to 1000; Nats-Msg-Id makes re-sends harmless`,
		`ack, err := js.Publish(ctx, ` + strconv.Quote(example) + `, body, jetstream.WithMsgID("` + d.Name + `-1"))`,
	}, "\n")
	return Credentials{
		User: user, Password: secret, URL: url, InboxPrefix: inbox,
		Publish: pub, Subscribe: []string{inbox + ".>"}, NatsCLI: cli, NatsGo: goEx,
	}
}

// shellQuote quotes s for a POSIX shell unless it needs none (a generated secret never does).
func shellQuote(s string) string {
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
		}
	}
	return s
}

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

// Forget drops the outage fallback of a device; call it when revoking (the API does).
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
		a.cfg.Logger.Warn("ingest: device admitted on its last successful check: database unreachable", "user", user, "checked_at", g.at, "err", err)
		return g.device, nil
	}
	return bus.Device{}, fmt.Errorf("ingest: cannot check device %s: %w", user, err)
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
