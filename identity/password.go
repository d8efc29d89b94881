package identity

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// MaxPasswordLen bounds password length in bytes so hashing cost stays
// predictable.
const MaxPasswordLen = 1024

// Bounds applied to every parameter set, both when hashing and when decoding
// a stored hash: a hash planted in the database must not be able to make a
// login allocate gigabytes or spin for minutes.
const (
	maxMemoryKiB = 1 << 20 // 1 GiB
	maxTime      = 100
	maxThreads   = 64
	minSaltLen   = 8
	maxSaltLen   = 64
	minKeyLen    = 16
	maxKeyLen    = 128
	// Memory×Time cap (KiB·passes, = 4 GiB touched): bounds total work even
	// when each parameter alone is within range.
	maxWork = 1 << 22
	// Longest well-formed encoding within the bounds above, with slack.
	maxEncodedLen = 512
)

// Params are argon2id cost parameters.
type Params struct {
	Memory  uint32 // KiB; 8×Threads .. 1 GiB
	Time    uint32 // passes; 1..100, and Memory×Time ≤ 4 GiB
	Threads uint8  // lanes; 1..64
	KeyLen  uint32 // bytes of derived key; 16..128
	SaltLen uint32 // bytes of random salt; 8..64
}

// DefaultParams returns the OWASP minimum for argon2id: m=19456 KiB (19 MiB),
// t=2, p=1, 32-byte key, 16-byte salt.
func DefaultParams() Params {
	return Params{Memory: 19456, Time: 2, Threads: 1, KeyLen: 32, SaltLen: 16}
}

func (p Params) validate() error {
	switch {
	case p.Threads < 1 || p.Threads > maxThreads:
		return fmt.Errorf("%w: threads %d not in [1, %d]", ErrInvalidParams, p.Threads, maxThreads)
	case p.Time < 1 || p.Time > maxTime:
		return fmt.Errorf("%w: time %d not in [1, %d]", ErrInvalidParams, p.Time, maxTime)
	case p.Memory < 8*uint32(p.Threads) || p.Memory > maxMemoryKiB:
		return fmt.Errorf("%w: memory %d KiB not in [%d, %d]", ErrInvalidParams, p.Memory, 8*uint32(p.Threads), maxMemoryKiB)
	case uint64(p.Memory)*uint64(p.Time) > maxWork:
		return fmt.Errorf("%w: memory×time %d KiB exceeds %d", ErrInvalidParams, uint64(p.Memory)*uint64(p.Time), maxWork)
	case p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen:
		return fmt.Errorf("%w: key length %d not in [%d, %d]", ErrInvalidParams, p.KeyLen, minKeyLen, maxKeyLen)
	case p.SaltLen < minSaltLen || p.SaltLen > maxSaltLen:
		return fmt.Errorf("%w: salt length %d not in [%d, %d]", ErrInvalidParams, p.SaltLen, minSaltLen, maxSaltLen)
	}
	return nil
}

// weakerThan reports whether any cost parameter of p is below cur's.
func (p Params) weakerThan(cur Params) bool {
	return p.Memory < cur.Memory || p.Time < cur.Time || p.Threads < cur.Threads ||
		p.KeyLen < cur.KeyLen || p.SaltLen < cur.SaltLen
}

// HashPassword hashes pw with a fresh random salt and returns the PHC string
// $argon2id$v=19$m=<KiB>,t=<n>,p=<n>$<salt>$<hash> (unpadded standard base64).
func HashPassword(pw string, p Params) (string, error) {
	if len(pw) > MaxPasswordLen {
		return "", ErrPasswordTooLong
	}
	if err := p.validate(); err != nil {
		return "", err
	}
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("identity: cannot read random salt: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return encodeHash(p, salt, key), nil
}

func encodeHash(p Params, salt, key []byte) string {
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// decodeHash parses a PHC argon2id string strictly: exactly one encoding is
// accepted per (params, salt, key), so decode∘encode is the identity.
func decodeHash(s string) (p Params, salt, key []byte, err error) {
	bad := func(why string) (Params, []byte, []byte, error) {
		return Params{}, nil, nil, fmt.Errorf("%w: %s", ErrMalformedHash, why)
	}
	if len(s) > maxEncodedLen {
		return bad("too long")
	}
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" {
		return bad("wrong number of fields")
	}
	if parts[1] != "argon2id" {
		return bad("not argon2id")
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return bad("unsupported version")
	}
	kv := strings.Split(parts[3], ",")
	if len(kv) != 3 {
		return bad("wrong parameter list")
	}
	m, ok1 := parseParam(kv[0], "m=", 32)
	t, ok2 := parseParam(kv[1], "t=", 32)
	th, ok3 := parseParam(kv[2], "p=", 8)
	if !ok1 || !ok2 || !ok3 {
		return bad("bad parameter")
	}
	if salt, ok1 = decodeB64(parts[4]); !ok1 {
		return bad("bad salt encoding")
	}
	if key, ok2 = decodeB64(parts[5]); !ok2 {
		return bad("bad hash encoding")
	}
	p = Params{Memory: uint32(m), Time: uint32(t), Threads: uint8(th),
		KeyLen: uint32(len(key)), SaltLen: uint32(len(salt))}
	if err := p.validate(); err != nil {
		return Params{}, nil, nil, fmt.Errorf("%w: %w", ErrMalformedHash, err)
	}
	return p, salt, key, nil
}

// parseParam parses "<prefix><decimal>" without sign or leading zeros.
func parseParam(s, prefix string, bits int) (uint64, bool) {
	d, ok := strings.CutPrefix(s, prefix)
	if !ok || d == "" || len(d) > 10 || (d[0] == '0' && len(d) > 1) {
		return 0, false
	}
	for i := 0; i < len(d); i++ {
		if d[i] < '0' || d[i] > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseUint(d, 10, bits)
	return v, err == nil
}

// decodeB64 decodes unpadded standard base64, refusing the CR/LF that the
// stdlib decoder silently skips and non-zero trailing bits.
func decodeB64(s string) ([]byte, bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/') {
			return nil, false
		}
	}
	b, err := base64.RawStdEncoding.Strict().DecodeString(s)
	return b, err == nil
}

// Hasher applies a password policy: Params are used for new hashes and are
// the bar below which Verify reports needsRehash.
type Hasher struct {
	Params Params
}

// Hash hashes pw with h.Params.
func (h Hasher) Hash(pw string) (string, error) { return HashPassword(pw, h.Params) }

// Verify checks pw against an encoded hash in constant time. needsRehash is
// true only when ok and the stored parameters are weaker than h.Params, so
// the caller can upgrade the stored hash on successful login. A malformed or
// out-of-bounds encoding returns an error wrapping ErrMalformedHash.
func (h Hasher) Verify(encoded, pw string) (ok, needsRehash bool, err error) {
	if len(pw) > MaxPasswordLen {
		return false, false, ErrPasswordTooLong
	}
	p, salt, want, err := decodeHash(encoded)
	if err != nil {
		return false, false, err
	}
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return false, false, nil
	}
	return true, p.weakerThan(h.Params), nil
}

// DummyVerify does the work of Verify with h.Params and discards the result.
// Call it when the account does not exist so that response time does not
// reveal which accounts exist.
func (h Hasher) DummyVerify(pw string) {
	if len(pw) > MaxPasswordLen {
		return // Verify rejects these before hashing too
	}
	p := h.Params
	if p.validate() != nil {
		p = DefaultParams()
	}
	salt := make([]byte, p.SaltLen)
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	subtle.ConstantTimeCompare(key, salt) // mirrors Verify's compare
}
