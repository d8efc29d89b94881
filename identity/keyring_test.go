package identity

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestGenerateKey(t *testing.T) {
	kid, priv := GenerateKey()
	if !regexp.MustCompile(`^[A-Za-z0-9_-]{16}$`).MatchString(kid) {
		t.Fatalf("kid %q", kid)
	}
	if len(priv) != ed25519.PrivateKeySize {
		t.Fatalf("key size %d", len(priv))
	}
	if kid2, _ := GenerateKey(); kid2 == kid {
		t.Fatal("two generated keys share a kid")
	}
	if kidFor(priv.Public().(ed25519.PublicKey)) != kid {
		t.Fatal("kid not derived from public key")
	}
}

func TestKeyringAdd(t *testing.T) {
	kr := NewKeyring()
	kid, priv := GenerateKey()
	_, other := GenerateKey()
	bad := slices.Clone(priv)
	bad[40] ^= 1 // public half no longer matches the seed
	tests := []struct {
		name string
		kid  string
		key  ed25519.PrivateKey
		ok   bool
	}{
		{"first", kid, priv, true},
		{"same again", kid, priv, true},
		{"other key same kid", kid, other, false},
		{"empty kid", "", other, false},
		{"kid with slash", "a/b", other, false},
		{"kid too long", strings.Repeat("a", 65), other, false},
		{"short key", "k2", other[:32], false},
		{"inconsistent key", "k3", bad, false},
		{"second", "k4", other, true},
	}
	for _, tc := range tests {
		err := kr.Add(tc.kid, tc.key)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrInvalidKeyring)) {
			t.Errorf("%s: err = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
	if kr.Active() != kid {
		t.Fatalf("active = %q, want first key %q", kr.Active(), kid)
	}
	if got := kr.KIDs(); !slices.Equal(got, slices.Sorted(slices.Values([]string{kid, "k4"}))) {
		t.Fatalf("KIDs = %v", got)
	}
	if err := kr.SetActive("missing"); !errors.Is(err, ErrInvalidKeyring) {
		t.Fatalf("SetActive(missing) err = %v", err)
	}
	if err := kr.Remove("missing"); !errors.Is(err, ErrInvalidKeyring) {
		t.Fatalf("Remove(missing) err = %v", err)
	}
	// Mutating the caller's slice must not change the stored key.
	pub, _ := kr.PublicKey(kid)
	priv[0] ^= 1
	if pub2, _ := kr.PublicKey(kid); !pub2.Equal(pub) {
		t.Fatal("keyring aliases the caller's key")
	}
}

func TestKeyringMarshalRoundTrip(t *testing.T) {
	kr, _, _ := newKeyring(t)
	kid2, priv2 := GenerateKey()
	if err := kr.Add(kid2, priv2); err != nil {
		t.Fatal(err)
	}
	if err := kr.SetActive(kid2); err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: t0}
	tok, _, err := newIssuer(t, kr, clk, nil).Issue(userClaims())
	if err != nil {
		t.Fatal(err)
	}
	data, err := MarshalKeyring(kr)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), base64.StdEncoding.EncodeToString(priv2.Seed())) {
		t.Fatal("serialised keyring lacks the base64 seed")
	}
	kr2, err := ParseKeyring(data)
	if err != nil {
		t.Fatal(err)
	}
	if kr2.Active() != kid2 || !slices.Equal(kr2.KIDs(), kr.KIDs()) {
		t.Fatalf("round trip: active %q kids %v", kr2.Active(), kr2.KIDs())
	}
	if _, err := newIssuer(t, kr2, clk, nil).Verify(tok); err != nil {
		t.Fatalf("token from original keyring refused by parsed one: %v", err)
	}
	data2, _ := MarshalKeyring(kr2)
	if string(data2) != string(data) {
		t.Fatal("marshal not deterministic")
	}
	if _, err := MarshalKeyring(NewKeyring()); !errors.Is(err, ErrInvalidKeyring) {
		t.Fatalf("marshal empty: err = %v", err)
	}
}

func TestParseKeyringErrors(t *testing.T) {
	_, priv := GenerateKey()
	seed := base64.StdEncoding.EncodeToString(priv.Seed())
	item := func(kid, alg, key string) string {
		return `{"kid":"` + kid + `","alg":"` + alg + `","private_key":"` + key + `"}`
	}
	tests := []struct{ name, in string }{
		{"not json", `{"active": "k1", "keys": [` + seed},
		{"wrong type", `{"active": 1, "keys": []}`},
		{"no keys", `{"active":"k1","keys":[]}`},
		{"bad alg", `{"active":"k1","keys":[` + item("k1", "HS256", seed) + `]}`},
		{"bad base64", `{"active":"k1","keys":[` + item("k1", "EdDSA", "!!"+seed) + `]}`},
		{"short seed", `{"active":"k1","keys":[` + item("k1", "EdDSA", seed[:20]) + `]}`},
		{"bad kid", `{"active":"k 1","keys":[` + item("k 1", "EdDSA", seed) + `]}`},
		{"duplicate kid", `{"active":"k1","keys":[` + item("k1", "EdDSA", seed) + `,` + item("k1", "EdDSA", seed) + `]}`},
		{"active missing", `{"active":"k2","keys":[` + item("k1", "EdDSA", seed) + `]}`},
		{"too large", strings.Repeat(" ", maxKeyringJSON+1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseKeyring([]byte(tc.in))
			if !errors.Is(err, ErrInvalidKeyring) {
				t.Fatalf("err = %v, want ErrInvalidKeyring", err)
			}
			if strings.Contains(err.Error(), seed[:8]) {
				t.Fatalf("error leaks key material: %v", err)
			}
		})
	}
}
