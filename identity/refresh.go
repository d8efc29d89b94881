package identity

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"time"
)

// refreshTokenBytes is the entropy of a refresh token.
const refreshTokenBytes = 32

// NewRefreshToken returns an opaque token (32 random bytes, unpadded
// base64url) for the client and the SHA-256 hash the server stores. The token
// itself is never stored.
func NewRefreshToken() (token string, hash []byte) {
	b := make([]byte, refreshTokenBytes)
	_, _ = rand.Read(b) // never fails (Go ≥ 1.24)
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token)
}

// HashToken returns SHA-256(token), the lookup key for a stored token. A
// plain hash suffices: the token has 256 bits of entropy, nothing to brute
// force.
func HashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// WellFormedRefreshToken reports whether token has the shape NewRefreshToken
// produces, so garbage can be refused before a database lookup.
func WellFormedRefreshToken(token string) bool {
	if len(token) != base64.RawURLEncoding.EncodedLen(refreshTokenBytes) {
		return false
	}
	for i := 0; i < len(token); i++ {
		c := token[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false // the decoder would silently skip CR/LF
		}
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(token)
	return err == nil && len(b) == refreshTokenBytes
}

// RefreshState is what the store knows about a presented refresh token.
type RefreshState struct {
	ExpiresAt time.Time // end of this token's validity
	Rotated   bool      // already exchanged for a successor
	Revoked   bool      // its family was revoked (logout, reuse, admin)
}

// RotationDecision is what to do with a presented refresh token.
type RotationDecision int

const (
	// RotateAllow: issue a successor, mark this one rotated.
	RotateAllow RotationDecision = iota + 1
	// RotateExpired: refuse.
	RotateExpired
	// RotateRevoked: refuse; the family is already dead.
	RotateRevoked
	// RotateReuse: a rotated token came back, so it was stolen or replayed:
	// refuse and revoke the whole family.
	RotateReuse
)

func (d RotationDecision) String() string {
	switch d {
	case RotateAllow:
		return "allow"
	case RotateExpired:
		return "expired"
	case RotateRevoked:
		return "revoked"
	case RotateReuse:
		return "reuse"
	}
	return "unknown"
}

// DecideRotation applies the refresh-token rotation policy. Reuse is checked
// before expiry so a replayed old token still kills its family.
func DecideRotation(s RefreshState, now time.Time) RotationDecision {
	switch {
	case s.Revoked:
		return RotateRevoked
	case s.Rotated:
		return RotateReuse
	case !now.Before(s.ExpiresAt):
		return RotateExpired
	}
	return RotateAllow
}
