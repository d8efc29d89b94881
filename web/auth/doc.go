// Package auth owns LinePulse's security primitives: argon2id password
// hashing, EdDSA-signed JWT access tokens with a rotating keyring, opaque
// refresh tokens, login throttling with growing lock-outs, and the audit-log
// hash chain.
//
// It is pure: no database, no HTTP, no package-level state. Time is injected
// wherever it matters. Error strings never contain passwords, tokens, hashes
// or key material.
package auth

import "errors"

// Sentinel errors. Callers test them with errors.Is; the wrapped cause (if
// any) is for logs and never contains secrets.
var (
	// ErrPasswordTooLong: the password exceeds MaxPasswordLen bytes.
	ErrPasswordTooLong = errors.New("auth: password too long")
	// ErrInvalidParams: argon2id parameters outside the accepted bounds.
	ErrInvalidParams = errors.New("auth: invalid argon2id parameters")
	// ErrMalformedHash: a stored password hash cannot be decoded or its
	// parameters are out of bounds.
	ErrMalformedHash = errors.New("auth: malformed password hash")
	// ErrInvalidToken: an access token failed any check (format, algorithm,
	// key, signature, claims, time).
	ErrInvalidToken = errors.New("auth: invalid token")
	// ErrInvalidKeyring: a keyring operation or serialised keyring is invalid.
	ErrInvalidKeyring = errors.New("auth: invalid keyring")
	// ErrInvalidConfig: a constructor was given an unusable configuration.
	ErrInvalidConfig = errors.New("auth: invalid config")
	// ErrAuditChain: the audit hash chain is broken.
	ErrAuditChain = errors.New("auth: audit chain broken")
)
