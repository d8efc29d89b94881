// Package identity owns who may talk to LinePulse: principals, argon2id password
// hashing, EdDSA-signed JWT access tokens with a rotating keyring, opaque refresh
// tokens and login throttling.
//
// The primitives are pure: no database, no HTTP, no package-level state. Time is
// injected wherever it matters. Error strings never contain passwords, tokens, hashes
// or key material.
package identity
