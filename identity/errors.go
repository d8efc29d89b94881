package identity

import "errors"

// Sentinel errors. Callers test them with errors.Is; the wrapped cause (if
// any) is for logs and never contains secrets.
var (
	// ErrPasswordTooLong: the password exceeds MaxPasswordLen bytes.
	ErrPasswordTooLong = errors.New("identity: password too long")
	// ErrInvalidParams: argon2id parameters outside the accepted bounds.
	ErrInvalidParams = errors.New("identity: invalid argon2id parameters")
	// ErrMalformedHash: a stored password hash cannot be decoded or its
	// parameters are out of bounds.
	ErrMalformedHash = errors.New("identity: malformed password hash")
	// ErrInvalidToken: an access token failed any check (format, algorithm,
	// key, signature, claims, time).
	ErrInvalidToken = errors.New("identity: invalid token")
	// ErrInvalidKeyring: a keyring operation or serialised keyring is invalid.
	ErrInvalidKeyring = errors.New("identity: invalid keyring")
	// ErrInvalidConfig: a constructor was given an unusable configuration.
	ErrInvalidConfig = errors.New("identity: invalid config")
	// ErrDeviceRefused is returned by DeviceAuth for every refused authentication
	// (unknown tenant or device, wrong secret, revoked device, inactive tenant). The
	// wrapped message says which, for the server log; the device only ever sees
	// "Authorization Violation".
	ErrDeviceRefused = errors.New("identity: device refused")
)
