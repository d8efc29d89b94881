package identity

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

var t0 = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

const (
	testIss = "https://linepulse.test"
	testAud = "linepulse-api"
	testTTL = 15 * time.Minute
)

func newKeyring(t *testing.T) (*Keyring, string, ed25519.PrivateKey) {
	t.Helper()
	kid, priv := GenerateKey()
	kr := NewKeyring()
	if err := kr.Add(kid, priv); err != nil {
		t.Fatal(err)
	}
	return kr, kid, priv
}

func newIssuer(t *testing.T, kr *Keyring, clk *clock, mod func(*IssuerConfig)) *Issuer {
	t.Helper()
	cfg := IssuerConfig{Issuer: testIss, Audience: testAud, TTL: testTTL, Leeway: 5 * time.Second, Now: clk.Now}
	if mod != nil {
		mod(&cfg)
	}
	iss, err := NewIssuer(cfg, kr)
	if err != nil {
		t.Fatal(err)
	}
	return iss
}

func userClaims() Claims {
	return Claims{
		RegisteredClaims: jwt.RegisteredClaims{Subject: "42"},
		Tenant:           7, TenantSlug: "acme", Role: "supervisor", SessionID: "s-1",
	}
}

// forged returns valid-looking claims for hand-signed tokens.
func forged(now time.Time) *Claims {
	c := userClaims()
	c.Issuer = testIss
	c.Audience = jwt.ClaimStrings{testAud}
	c.IssuedAt = jwt.NewNumericDate(now)
	c.ExpiresAt = jwt.NewNumericDate(now.Add(time.Minute))
	return &c
}

func sign(t *testing.T, m jwt.SigningMethod, key any, kid string, c jwt.Claims) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("sign %s: %v", m.Alg(), err)
	}
	return s
}

func TestIssueVerifyValid(t *testing.T) {
	kr, kid, _ := newKeyring(t)
	clk := &clock{t: t0}
	iss := newIssuer(t, kr, clk, nil)
	tok, exp, err := iss.Issue(userClaims())
	if err != nil {
		t.Fatal(err)
	}
	if want := t0.Add(testTTL); !exp.Equal(want) {
		t.Fatalf("exp = %v, want %v", exp, want)
	}
	hdr := decodeSegment(t, tok, 0)
	if hdr["alg"] != "EdDSA" || hdr["kid"] != kid {
		t.Fatalf("header = %v", hdr)
	}
	clk.Advance(testTTL - time.Second)
	c, err := iss.Verify(tok)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if c.Subject != "42" || c.Tenant != 7 || c.TenantSlug != "acme" || c.Role != "supervisor" || c.SessionID != "s-1" {
		t.Fatalf("claims = %+v", c)
	}
	if c.Issuer != testIss || len(c.Audience) != 1 || c.Audience[0] != testAud || c.ID == "" {
		t.Fatalf("registered claims = %+v", c.RegisteredClaims)
	}
	payload := decodeSegment(t, tok, 1)
	for _, k := range []string{"tid", "ten", "role", "sid", "sub", "exp", "iat", "jti"} {
		if _, ok := payload[k]; !ok {
			t.Errorf("payload lacks %q: %v", k, payload)
		}
	}
}

func decodeSegment(t *testing.T, tok string, i int) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[i])
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestVerifyRejects(t *testing.T) {
	kr, kid, priv := newKeyring(t)
	pub := priv.Public().(ed25519.PublicKey)
	clk := &clock{t: t0}
	iss := newIssuer(t, kr, clk, nil)
	_, otherPriv, _ := ed25519.GenerateKey(nil)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	good, _, err := iss.Issue(userClaims())
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name  string
		tok   func(t *testing.T) string
		at    time.Duration // verification time after t0
		cause error         // jwt error expected inside ErrInvalidToken; nil = any
	}{
		{"alg none", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, kid, forged(t0))
		}, 0, jwt.ErrTokenSignatureInvalid},
		{"alg none handmade", func(t *testing.T) string {
			h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","kid":"` + kid + `","typ":"JWT"}`))
			return h + "." + strings.Split(good, ".")[1] + "."
		}, 0, jwt.ErrTokenSignatureInvalid},
		{"HS256 with public key as secret", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, []byte(pub), kid, forged(t0))
		}, 0, jwt.ErrTokenSignatureInvalid},
		{"RS256", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodRS256, rsaKey, kid, forged(t0))
		}, 0, jwt.ErrTokenSignatureInvalid},
		{"other key same kid", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodEdDSA, otherPriv, kid, forged(t0))
		}, 0, jwt.ErrTokenSignatureInvalid},
		{"unknown kid", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodEdDSA, otherPriv, "nope", forged(t0))
		}, 0, jwt.ErrTokenUnverifiable},
		{"missing kid", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodEdDSA, priv, "", forged(t0))
		}, 0, jwt.ErrTokenUnverifiable},
		{"expired", func(*testing.T) string { return good }, testTTL + 6*time.Second, jwt.ErrTokenExpired},
		{"missing exp", func(t *testing.T) string {
			c := forged(t0)
			c.ExpiresAt = nil
			return sign(t, jwt.SigningMethodEdDSA, priv, kid, c)
		}, 0, jwt.ErrTokenRequiredClaimMissing},
		{"issued in the future", func(t *testing.T) string {
			c := forged(t0.Add(time.Minute))
			return sign(t, jwt.SigningMethodEdDSA, priv, kid, c)
		}, 0, jwt.ErrTokenUsedBeforeIssued},
		{"not yet valid", func(t *testing.T) string {
			c := forged(t0)
			c.NotBefore = jwt.NewNumericDate(t0.Add(time.Minute))
			return sign(t, jwt.SigningMethodEdDSA, priv, kid, c)
		}, 0, jwt.ErrTokenNotValidYet},
		{"wrong audience", func(t *testing.T) string {
			c := forged(t0)
			c.Audience = jwt.ClaimStrings{"other-service"}
			return sign(t, jwt.SigningMethodEdDSA, priv, kid, c)
		}, 0, jwt.ErrTokenInvalidAudience},
		{"missing audience", func(t *testing.T) string {
			c := forged(t0)
			c.Audience = nil
			return sign(t, jwt.SigningMethodEdDSA, priv, kid, c)
		}, 0, jwt.ErrTokenRequiredClaimMissing},
		{"wrong issuer", func(t *testing.T) string {
			c := forged(t0)
			c.Issuer = "https://evil.test"
			return sign(t, jwt.SigningMethodEdDSA, priv, kid, c)
		}, 0, jwt.ErrTokenInvalidIssuer},
		{"missing subject", func(t *testing.T) string {
			c := forged(t0)
			c.Subject = ""
			return sign(t, jwt.SigningMethodEdDSA, priv, kid, c)
		}, 0, nil}, // our own subject check
		{"tampered payload", func(t *testing.T) string {
			parts := strings.Split(good, ".")
			p := decodeSegment(t, good, 1)
			p["role"] = "admin"
			p["tid"] = 1
			b, _ := json.Marshal(p)
			parts[1] = base64.RawURLEncoding.EncodeToString(b)
			return strings.Join(parts, ".")
		}, 0, jwt.ErrTokenSignatureInvalid},
		{"tampered header kid", func(t *testing.T) string {
			parts := strings.Split(good, ".")
			parts[0] = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"EdDSA","kid":"x","typ":"JWT"}`))
			return strings.Join(parts, ".")
		}, 0, jwt.ErrTokenUnverifiable},
		{"signature removed", func(*testing.T) string { return good[:strings.LastIndexByte(good, '.')+1] }, 0, jwt.ErrTokenSignatureInvalid},
		{"flipped signature bit", func(*testing.T) string {
			b := []byte(good)
			i := strings.LastIndexByte(good, '.') + 5
			if b[i] == 'A' { // stay within base64url, change the bits
				b[i] = 'B'
			} else {
				b[i] = 'A'
			}
			return string(b)
		}, 0, jwt.ErrTokenSignatureInvalid},
		{"padded segment", func(*testing.T) string { return good + "=" }, 0, jwt.ErrTokenMalformed},
		{"empty", func(*testing.T) string { return "" }, 0, jwt.ErrTokenMalformed},
		{"garbage", func(*testing.T) string { return "a.b.c" }, 0, jwt.ErrTokenMalformed},
		{"too long", func(*testing.T) string { return good + strings.Repeat("A", maxTokenLen) }, 0, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok := tc.tok(t)
			clk.t = t0.Add(tc.at)
			c, err := iss.Verify(tok)
			if !errors.Is(err, ErrInvalidToken) || c != nil {
				t.Fatalf("Verify = %v, %v; want nil, ErrInvalidToken", c, err)
			}
			if tc.cause != nil && !errors.Is(err, tc.cause) {
				t.Fatalf("err = %v, want cause %v", err, tc.cause)
			}
		})
	}
	// Control: the untouched token is accepted at t0 and within leeway.
	for _, at := range []time.Duration{0, testTTL + 4*time.Second} {
		clk.t = t0.Add(at)
		if _, err := iss.Verify(good); err != nil {
			t.Fatalf("valid token refused at t0+%v: %v", at, err)
		}
	}
}

func TestKeyRotation(t *testing.T) {
	kr, oldKID, _ := newKeyring(t)
	clk := &clock{t: t0}
	iss := newIssuer(t, kr, clk, nil)
	oldTok, _, err := iss.Issue(userClaims())
	if err != nil {
		t.Fatal(err)
	}

	newKID, newPriv := GenerateKey()
	if err := kr.Add(newKID, newPriv); err != nil {
		t.Fatal(err)
	}
	if kr.Active() != oldKID {
		t.Fatal("adding a key must not change the active key")
	}
	if err := kr.SetActive(newKID); err != nil {
		t.Fatal(err)
	}
	newTok, _, err := iss.Issue(userClaims())
	if err != nil {
		t.Fatal(err)
	}
	if got := decodeSegment(t, newTok, 0)["kid"]; got != newKID {
		t.Fatalf("new token kid = %v, want %v", got, newKID)
	}
	for name, tok := range map[string]string{"old": oldTok, "new": newTok} {
		if _, err := iss.Verify(tok); err != nil {
			t.Fatalf("%s token refused while both keys present: %v", name, err)
		}
	}
	if err := kr.Remove(newKID); err == nil {
		t.Fatal("removing the active key must fail")
	}
	if err := kr.Remove(oldKID); err != nil {
		t.Fatal(err)
	}
	if _, err := iss.Verify(oldTok); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("old token after removal: err = %v, want ErrInvalidToken", err)
	}
	if _, err := iss.Verify(newTok); err != nil {
		t.Fatalf("new token refused after old key removal: %v", err)
	}
}

func TestIssueErrors(t *testing.T) {
	clk := &clock{t: t0}
	kr, _, _ := newKeyring(t)
	iss := newIssuer(t, kr, clk, nil)
	if _, _, err := iss.Issue(Claims{}); err == nil {
		t.Fatal("Issue without subject succeeded")
	}
	empty := newIssuer(t, NewKeyring(), clk, nil)
	if _, _, err := empty.Issue(userClaims()); err == nil {
		t.Fatal("Issue with empty keyring succeeded")
	}
}

func TestIssueOverridesRegisteredClaims(t *testing.T) {
	clk := &clock{t: t0}
	kr, _, _ := newKeyring(t)
	iss := newIssuer(t, kr, clk, nil)
	c := userClaims()
	c.ExpiresAt = jwt.NewNumericDate(t0.Add(24 * 365 * time.Hour))
	c.Issuer = "someone-else"
	tok, exp, err := iss.Issue(c)
	if err != nil {
		t.Fatal(err)
	}
	if !exp.Equal(t0.Add(testTTL)) {
		t.Fatalf("caller extended exp to %v", exp)
	}
	got, err := iss.Verify(tok)
	if err != nil || got.Issuer != testIss {
		t.Fatalf("Verify = %+v, %v", got, err)
	}
}

func TestNewIssuerConfig(t *testing.T) {
	kr := NewKeyring()
	tests := []struct {
		name string
		cfg  IssuerConfig
		kr   *Keyring
	}{
		{"no issuer", IssuerConfig{Audience: "a"}, kr},
		{"no audience", IssuerConfig{Issuer: "i"}, kr},
		{"nil keyring", IssuerConfig{Issuer: "i", Audience: "a"}, nil},
		{"negative ttl", IssuerConfig{Issuer: "i", Audience: "a", TTL: -1}, kr},
		{"negative leeway", IssuerConfig{Issuer: "i", Audience: "a", Leeway: -1}, kr},
	}
	for _, tc := range tests {
		if _, err := NewIssuer(tc.cfg, tc.kr); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: err = %v, want ErrInvalidConfig", tc.name, err)
		}
	}
	iss, err := NewIssuer(IssuerConfig{Issuer: "i", Audience: "a"}, kr)
	if err != nil {
		t.Fatal(err)
	}
	if iss.cfg.TTL != 15*time.Minute || iss.cfg.Leeway != 30*time.Second || iss.cfg.Now == nil {
		t.Fatalf("defaults not applied: %+v", iss.cfg)
	}
}

func TestIssuerConcurrentRotation(t *testing.T) {
	kr, _, _ := newKeyring(t)
	iss := newIssuer(t, kr, &clock{t: t0}, nil)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 50 {
				tok, _, err := iss.Issue(userClaims())
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := iss.Verify(tok); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			kid, priv := GenerateKey()
			if err := kr.Add(kid, priv); err != nil {
				t.Error(err)
			}
			if err := kr.SetActive(kid); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Wait()
}
