package alert

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Links signs and checks the acknowledge links of e-mails: a token names the tenant, the
// alert, the channel it was sent to and an expiry, with an HMAC-SHA256 over them. Whoever
// holds a valid token may acknowledge that one alert, nothing else.
type Links struct{ key []byte }

// ErrBadLink: the token is malformed, forged or expired.
var ErrBadLink = errors.New("alert: invalid or expired acknowledge link")

// NewLinks builds a signer from a secret key (at least 32 bytes, the same on every instance).
func NewLinks(key []byte) (*Links, error) {
	if len(key) < 32 {
		return nil, errors.New("alert: the link key needs at least 32 bytes")
	}
	return &Links{key: append([]byte(nil), key...)}, nil
}

// Token signs an acknowledge link valid until exp.
func (l *Links) Token(tenantID, alertID, channelID int64, exp time.Time) string {
	body := fmt.Sprintf("%d.%d.%d.%d", tenantID, alertID, channelID, exp.Unix())
	return base64.RawURLEncoding.EncodeToString([]byte(body)) + "." + l.sig(body)
}

func (l *Links) sig(body string) string {
	m := hmac.New(sha256.New, l.key)
	m.Write([]byte("ack-link:" + body))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// LinkClaim is what a valid token says.
type LinkClaim struct {
	TenantID, AlertID, ChannelID int64
}

// Verify checks a token at now.
func (l *Links) Verify(token string, now time.Time) (LinkClaim, error) {
	enc, sig, ok := strings.Cut(token, ".")
	if !ok || len(token) > 300 {
		return LinkClaim{}, ErrBadLink
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(enc) // one spelling per token: no unused bits
	if err != nil {
		return LinkClaim{}, ErrBadLink
	}
	body := string(raw)
	if !hmac.Equal([]byte(sig), []byte(l.sig(body))) {
		return LinkClaim{}, ErrBadLink
	}
	parts := strings.Split(body, ".")
	if len(parts) != 4 {
		return LinkClaim{}, ErrBadLink
	}
	var n [4]int64
	for i, p := range parts {
		if n[i], err = strconv.ParseInt(p, 10, 64); err != nil {
			return LinkClaim{}, ErrBadLink
		}
	}
	if now.Unix() > n[3] {
		return LinkClaim{}, ErrBadLink
	}
	return LinkClaim{TenantID: n[0], AlertID: n[1], ChannelID: n[2]}, nil
}

// LoadOrCreateLinks reads the link key file at path, creating it (0600, 32 random bytes,
// hex) when missing. Every instance must use the same file.
func LoadOrCreateLinks(path string) (*Links, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		var k [32]byte
		if _, err := rand.Read(k[:]); err != nil {
			return nil, fmt.Errorf("alert: cannot make a link key: %w", err)
		}
		data = []byte(hex.EncodeToString(k[:]))
		if err := os.WriteFile(path, append(data, '\n'), 0o600); err != nil {
			return nil, fmt.Errorf("alert: cannot write the link key %s: %w", path, err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("alert: cannot read the link key %s: %w", path, err)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(data)))
	if err != nil {
		return nil, fmt.Errorf("alert: the link key %s is not hex: %w", path, err)
	}
	return NewLinks(key)
}
