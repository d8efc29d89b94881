package identity

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/linepulse/linepulse/bus"
	"github.com/linepulse/linepulse/store"
)

// SecretBytes is the entropy of a device secret. 256 random bits cannot be guessed, so
// the secret is stored as a plain SHA-256 (no slow password hash needed) and checked
// in constant time.
const SecretBytes = 32

// GenerateDeviceSecret returns a new random secret (URL-safe base64, 43 characters: usable
// as a NATS password in a URL or on a command line) and the hash to store.
func GenerateDeviceSecret() (secret, hash string, err error) {
	b := make([]byte, SecretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("identity: cannot generate device secret: %w", err)
	}
	secret = base64.RawURLEncoding.EncodeToString(b)
	return secret, HashDeviceSecret(secret), nil
}

// HashDeviceSecret is the stored form of a secret: lower-case hex SHA-256.
func HashDeviceSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// Credentials is what an edge node needs to connect, as Devices.Create issues them to
// `linepulse device create` and POST /api/v1/devices: the secret appears here once.
type Credentials struct {
	User        string   `json:"user"`         // NATS user: <tenant>.<device>
	Password    string   `json:"password"`     // the secret; shown once
	URL         string   `json:"url"`          // where to connect (a hint; the operator knows the real address)
	InboxPrefix string   `json:"inbox_prefix"` // nats.CustomInboxPrefix / nats --inbox-prefix: required for the acknowledgements
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
	// A request (not a plain publish) so the acknowledgement is printed.
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
