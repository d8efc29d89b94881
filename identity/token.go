package identity

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Claims are the access-token claims. RegisteredClaims.Subject is the user id.
type Claims struct {
	jwt.RegisteredClaims
	Tenant     int64  `json:"tid"`
	TenantSlug string `json:"ten"`
	Role       string `json:"role"`
	SessionID  string `json:"sid"`
}

// Lifetimes of the credentials a sign-in yields, unless configured otherwise.
const (
	// DefaultAccessTTL is the lifetime of an access token.
	DefaultAccessTTL = 15 * time.Minute
	// DefaultRefreshTTL is the lifetime of a refresh token; each use replaces it, so a
	// session lives while it is refreshed at least this often.
	DefaultRefreshTTL = 7 * 24 * time.Hour
	// DefaultLeeway is the clock skew tolerated on exp, nbf and iat.
	DefaultLeeway = 30 * time.Second
)

// IssuerConfig configures access-token issuance and verification.
type IssuerConfig struct {
	Issuer   string           // iss claim; required
	Audience string           // aud claim; required
	TTL      time.Duration    // token lifetime; default DefaultAccessTTL (15m)
	Leeway   time.Duration    // clock skew tolerated on exp/nbf/iat; default DefaultLeeway (30s)
	Now      func() time.Time // clock; default time.Now
}

// Issuer signs and verifies EdDSA access tokens with a Keyring.
type Issuer struct {
	cfg    IssuerConfig
	kr     *Keyring
	parser *jwt.Parser
}

// maxTokenLen caps input to Verify so oversized headers cannot cost CPU.
const maxTokenLen = 8 << 10

// NewIssuer validates cfg, applies defaults and returns an Issuer using kr.
func NewIssuer(cfg IssuerConfig, kr *Keyring) (*Issuer, error) {
	if cfg.Issuer == "" || cfg.Audience == "" {
		return nil, fmt.Errorf("%w: issuer and audience are required", ErrInvalidConfig)
	}
	if kr == nil {
		return nil, fmt.Errorf("%w: nil keyring", ErrInvalidConfig)
	}
	if cfg.TTL < 0 || cfg.Leeway < 0 {
		return nil, fmt.Errorf("%w: negative TTL or leeway", ErrInvalidConfig)
	}
	if cfg.TTL == 0 {
		cfg.TTL = DefaultAccessTTL
	}
	if cfg.Leeway == 0 {
		cfg.Leeway = DefaultLeeway
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	p := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithIssuer(cfg.Issuer),
		jwt.WithAudience(cfg.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(cfg.Leeway),
		jwt.WithTimeFunc(cfg.Now),
		jwt.WithStrictDecoding(), // one encoding per token: no malleable variants
	)
	return &Issuer{cfg: cfg, kr: kr, parser: p}, nil
}

// Issue signs c with the active key. It sets iss, aud, iat, nbf, exp (now +
// TTL) and a random jti when empty, overriding whatever c held for the
// first five. c.Subject (the user id) is required.
func (i *Issuer) Issue(c Claims) (token string, exp time.Time, err error) {
	if c.Subject == "" {
		return "", time.Time{}, errors.New("identity: cannot issue token: empty subject")
	}
	kid, priv, ok := i.kr.signer()
	if !ok {
		return "", time.Time{}, errors.New("identity: cannot issue token: keyring has no active key")
	}
	now := i.cfg.Now()
	c.Issuer = i.cfg.Issuer
	c.Audience = jwt.ClaimStrings{i.cfg.Audience}
	c.IssuedAt = jwt.NewNumericDate(now)
	c.NotBefore = c.IssuedAt
	c.ExpiresAt = jwt.NewNumericDate(now.Add(i.cfg.TTL))
	if c.ID == "" {
		c.ID = randomID()
	}
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, &c)
	t.Header["kid"] = kid
	s, err := t.SignedString(priv)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("identity: cannot sign token: %w", err)
	}
	return s, c.ExpiresAt.Time, nil
}

// Verify parses and fully validates token. Every failure wraps
// ErrInvalidToken.
func (i *Issuer) Verify(token string) (*Claims, error) {
	if len(token) > maxTokenLen {
		return nil, fmt.Errorf("%w: too long", ErrInvalidToken)
	}
	c := &Claims{}
	if _, err := i.parser.ParseWithClaims(token, c, i.keyFor); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	if c.Subject == "" {
		return nil, fmt.Errorf("%w: missing subject", ErrInvalidToken)
	}
	return c, nil
}

func (i *Issuer) keyFor(t *jwt.Token) (any, error) {
	// WithValidMethods already checked alg; checking the concrete method
	// again keeps the key type and algorithm tied together here.
	if t.Method != jwt.SigningMethodEdDSA {
		return nil, errors.New("unexpected signing method")
	}
	kid, _ := t.Header["kid"].(string)
	if kid == "" {
		return nil, errors.New("missing kid")
	}
	pub, ok := i.kr.PublicKey(kid)
	if !ok {
		return nil, errors.New("unknown kid")
	}
	return pub, nil
}

func randomID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails (Go ≥ 1.24)
	return base64.RawURLEncoding.EncodeToString(b)
}
