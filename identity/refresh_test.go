package identity

import (
	"bytes"
	"crypto/sha256"
	"testing"
	"time"
)

func TestNewRefreshToken(t *testing.T) {
	seen := make(map[string]bool)
	for range 1000 {
		tok, hash := NewRefreshToken()
		if len(tok) != 43 || !WellFormedRefreshToken(tok) {
			t.Fatalf("token %q not 43 chars of base64url", tok)
		}
		want := sha256.Sum256([]byte(tok))
		if !bytes.Equal(hash, want[:]) || !bytes.Equal(HashToken(tok), hash) {
			t.Fatal("hash is not SHA-256 of the token")
		}
		if seen[tok] {
			t.Fatal("duplicate refresh token")
		}
		seen[tok] = true
	}
}

func TestWellFormedRefreshToken(t *testing.T) {
	tok, _ := NewRefreshToken()
	tests := []struct {
		in   string
		want bool
	}{
		{tok, true},
		{"", false},
		{tok[:42], false},
		{tok + "A", false},
		{tok[:42] + "=", false},
		{tok[:42] + "+", false},
		{tok[:21] + "\n" + tok[22:], false},
		{tok[:42] + "B", false}, // 'B' leaves non-zero trailing bits
	}
	for _, tc := range tests {
		if got := WellFormedRefreshToken(tc.in); got != tc.want {
			t.Errorf("WellFormedRefreshToken(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestDecideRotation(t *testing.T) {
	now := t0
	live := now.Add(time.Hour)
	tests := []struct {
		name string
		s    RefreshState
		want RotationDecision
	}{
		{"fresh", RefreshState{ExpiresAt: live}, RotateAllow},
		{"expired", RefreshState{ExpiresAt: now.Add(-time.Second)}, RotateExpired},
		{"expires now", RefreshState{ExpiresAt: now}, RotateExpired},
		{"reused", RefreshState{ExpiresAt: live, Rotated: true}, RotateReuse},
		{"reused after expiry", RefreshState{ExpiresAt: now.Add(-time.Hour), Rotated: true}, RotateReuse},
		{"revoked", RefreshState{ExpiresAt: live, Revoked: true}, RotateRevoked},
		{"revoked and reused", RefreshState{ExpiresAt: live, Revoked: true, Rotated: true}, RotateRevoked},
	}
	for _, tc := range tests {
		if got := DecideRotation(tc.s, now); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
	if RotateReuse.String() != "reuse" || RotationDecision(0).String() != "unknown" {
		t.Fatal("String()")
	}
}
