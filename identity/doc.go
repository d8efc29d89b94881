// Package identity owns who may talk to LinePulse: the principal of every request,
// passwords, access and refresh tokens with their signing keyring, login throttling, and
// the credentials of edge devices with their authentication on the embedded NATS server.
// web (REST API, sessions) and hub (WebSockets) depend on it; neither depends on the
// other.
//
// The primitives (passwords, tokens, keyring, throttle) are pure: no database, no HTTP,
// no package-level state, time injected wherever it matters. The device side (Devices,
// DeviceAuth) reads and writes through store and disconnects through bus. Error strings
// never contain passwords, secrets, tokens, hashes or key material.
//
// # Principals and roles
//
// A Principal is who makes a request, established from a verified access token, a
// session cookie or a kiosk token, never from the request's own claims: its tenant is
// where every query and subject of the request is confined. TenantID 0 is the platform
// scope (platform administrators, who see no tenant's plant data). Role is one of
// store.Roles, most powerful first:
//
//	platform_admin  tenants, platform admins, system configuration, the platform audit log
//	tenant_admin    everything in its tenant: users, plant model, devices, kiosk tokens, audit log
//	supervisor      read plant and configuration, data and live view, code downtime, incidents, cameras
//	operator        read plant, data and live view, code downtime, report incidents
//	viewer          read only
//
// A user's permissions narrow the role: Lines limits every line-bound read and write
// (nil = every line of the tenant, see CanSeeLine), Deny removes actions. A kiosk token
// is a read-only, line-bound viewer (Kiosk, KioskID). Which action each role may take is
// the API's table (web/rbac.go).
//
// # Passwords
//
// Hasher stores argon2id in the PHC string format
// $argon2id$v=19$m=<KiB>,t=<n>,p=<n>$<salt>$<hash>, by default with the OWASP minimum
// (DefaultParams: 19 MiB, 2 passes, 1 lane, 16-byte salt, 32-byte key). Passwords are
// at most MaxPasswordLen (1024) bytes. Stored parameters are bounded when decoded, so a
// planted hash cannot make a login allocate gigabytes; a hash weaker than the current
// parameters is reported for rehashing at the next successful sign-in. DummyVerify costs
// what Verify costs, for unknown accounts.
//
// # Tokens
//
// An access token is a JWT signed with Ed25519 (EdDSA) by the active key of a Keyring
// (header kid = the key id) and carries sub (user id), tid (tenant id), ten (tenant
// slug), role, sid (session id), iss, aud, iat, nbf, exp and a random jti. It lives
// DefaultAccessTTL (15 min) unless configured otherwise; verification tolerates
// DefaultLeeway (30 s) of clock skew and accepts no other algorithm, no missing kid and
// no unknown key. Keys rotate without logging anyone out: Add the new key everywhere,
// SetActive it, Remove the old one once its tokens have expired. The keyring file
// (MarshalKeyring) holds private keys: keep it like a password (mode 0600).
//
// A refresh token (NewRefreshToken) is 32 random bytes in unpadded base64url; only its
// SHA-256 is stored (HashToken). It lives DefaultRefreshTTL (7 days) unless configured
// otherwise and is replaced at each use (DecideRotation): a replaced token that comes
// back was stolen or replayed, and its whole session (family) is revoked. Kiosk tokens
// have the same format.
//
// # Login throttling
//
// Throttle limits sign-in attempts per client IP (token bucket, default 1/s with a burst
// of 10) and per account (default 5 failures within 1 min lock it for 1 min, doubling
// with each lock-out up to 1 h), in bounded memory.
//
// # Edge devices
//
// Devices is the one way to issue and revoke device credentials: POST and DELETE
// /api/v1/devices and `linepulse device create|revoke` all call Devices.Create and
// Devices.Revoke. The credentials are shown once (Credentials): NATS user
// <tenant>.<device> (device name [A-Za-z0-9_-]{1,64}), a secret of 32 random bytes in
// unpadded base64url (43 characters; only its lower-case hex SHA-256 is stored, compared
// in constant time), the address to connect to, the inbox prefix _INBOX.<tenant>.<device>
// the device must use to receive its acknowledgements, and the subjects it may
// publish: lp.<tenant>.line.<line>.det for its lines (every line of its tenant when none
// were given) and lp.<tenant>.node.<device>.telemetry. The embedded NATS server enforces
// exactly these permissions (bus/doc.go).
//
// DeviceAuth is the authenticator of the embedded NATS server (bus.Config.Devices). It
// reads the device table at every connection attempt, so a revocation or a deactivated
// tenant refuses the next attempt. Only while the database cannot answer does it admit a
// device on its last successful check with the same secret, for at most
// DeviceAuthConfig.OutageGrace (10 min); a refusal by the database ends that at once.
//
// Devices.Revoke stamps the revocation in the store, then drops the device's outage
// fallback (Devices.Auth) and closes its live connections (Devices.Bus, bus.Disconnect).
// The CLI runs in another process without the server's bus: a device it revokes is
// refused from its next connection attempt and keeps a live connection until then.
package identity
