package identity

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
)

// Keyring holds Ed25519 signing keys by key id (kid). One key is active and
// signs new tokens; every key in the ring verifies tokens carrying its kid.
//
// Rotation: Add the new key on every node, then SetActive it, then Remove the
// old key once tokens it signed have expired (after the access-token TTL).
// Safe for concurrent use.
type Keyring struct {
	mu     sync.RWMutex
	keys   map[string]ed25519.PrivateKey
	active string
}

// NewKeyring returns an empty keyring.
func NewKeyring() *Keyring {
	return &Keyring{keys: make(map[string]ed25519.PrivateKey)}
}

// GenerateKey creates a new Ed25519 key. Its kid is derived from the public
// key (first 96 bits of its SHA-256, base64url), so it is stable and unique.
func GenerateKey() (kid string, priv ed25519.PrivateKey) {
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		// crypto/rand never fails on supported platforms (Go ≥ 1.24).
		panic("identity: cannot generate ed25519 key: " + err.Error())
	}
	return kidFor(pub), priv
}

func kidFor(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}

func validKID(kid string) bool {
	if kid == "" || len(kid) > 64 {
		return false
	}
	for i := 0; i < len(kid); i++ {
		c := kid[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Add stores a copy of priv under kid ([A-Za-z0-9_-]{1,64}). The first key
// added becomes active. Re-adding the same key is a no-op; a different key
// under an existing kid is refused.
func (k *Keyring) Add(kid string, priv ed25519.PrivateKey) error {
	if !validKID(kid) {
		return fmt.Errorf("%w: kid must match [A-Za-z0-9_-]{1,64}", ErrInvalidKeyring)
	}
	if len(priv) != ed25519.PrivateKeySize {
		return fmt.Errorf("%w: key %s: wrong private key size", ErrInvalidKeyring, kid)
	}
	// The public half is stored in the key; make sure it matches the seed.
	canon := ed25519.NewKeyFromSeed(priv.Seed())
	if !bytes.Equal(canon, priv) {
		return fmt.Errorf("%w: key %s: inconsistent private key", ErrInvalidKeyring, kid)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if old, ok := k.keys[kid]; ok {
		if old.Equal(canon) {
			return nil
		}
		return fmt.Errorf("%w: kid %s already holds another key", ErrInvalidKeyring, kid)
	}
	k.keys[kid] = canon
	if k.active == "" {
		k.active = kid
	}
	return nil
}

// SetActive makes kid the signing key.
func (k *Keyring) SetActive(kid string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.keys[kid]; !ok {
		return fmt.Errorf("%w: unknown kid %s", ErrInvalidKeyring, kid)
	}
	k.active = kid
	return nil
}

// Remove deletes a non-active key; tokens signed with it stop verifying.
func (k *Keyring) Remove(kid string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.keys[kid]; !ok {
		return fmt.Errorf("%w: unknown kid %s", ErrInvalidKeyring, kid)
	}
	if kid == k.active {
		return fmt.Errorf("%w: cannot remove the active key %s", ErrInvalidKeyring, kid)
	}
	delete(k.keys, kid)
	return nil
}

// Active returns the kid of the signing key, "" if the keyring is empty.
func (k *Keyring) Active() string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.active
}

// KIDs returns the key ids in sorted order.
func (k *Keyring) KIDs() []string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	ids := make([]string, 0, len(k.keys))
	for id := range k.keys {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// PublicKey returns the verification key for kid.
func (k *Keyring) PublicKey(kid string) (ed25519.PublicKey, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	priv, ok := k.keys[kid]
	if !ok {
		return nil, false
	}
	return priv.Public().(ed25519.PublicKey), true
}

func (k *Keyring) signer() (string, ed25519.PrivateKey, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if k.active == "" {
		return "", nil, false
	}
	return k.active, k.keys[k.active], true
}

// keyringJSON is the persisted form. private_key is the 32-byte RFC 8032
// seed in standard base64.
type keyringJSON struct {
	Active string        `json:"active"`
	Keys   []keyringItem `json:"keys"`
}

type keyringItem struct {
	KID        string `json:"kid"`
	Alg        string `json:"alg"`
	PrivateKey string `json:"private_key"`
}

const maxKeyringJSON = 1 << 20

// MarshalKeyring serialises kr (private keys included: store it like a
// password, mode 0600). Keys are sorted by kid.
func MarshalKeyring(kr *Keyring) ([]byte, error) {
	kr.mu.RLock()
	defer kr.mu.RUnlock()
	if kr.active == "" {
		return nil, fmt.Errorf("%w: empty keyring", ErrInvalidKeyring)
	}
	out := keyringJSON{Active: kr.active}
	for kid, priv := range kr.keys {
		out.Keys = append(out.Keys, keyringItem{KID: kid, Alg: "EdDSA",
			PrivateKey: base64.StdEncoding.EncodeToString(priv.Seed())})
	}
	slices.SortFunc(out.Keys, func(a, b keyringItem) int {
		switch {
		case a.KID < b.KID:
			return -1
		case a.KID > b.KID:
			return 1
		}
		return 0
	})
	return json.MarshalIndent(out, "", "  ")
}

// ParseKeyring reads what MarshalKeyring wrote. Errors never quote the input.
func ParseKeyring(data []byte) (*Keyring, error) {
	if len(data) > maxKeyringJSON {
		return nil, fmt.Errorf("%w: file too large", ErrInvalidKeyring)
	}
	var in keyringJSON
	if err := json.Unmarshal(data, &in); err != nil {
		// json errors may quote input bytes; report only where it failed.
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("%w: malformed JSON at offset %d", ErrInvalidKeyring, se.Offset)
		}
		return nil, fmt.Errorf("%w: malformed JSON", ErrInvalidKeyring)
	}
	if len(in.Keys) == 0 {
		return nil, fmt.Errorf("%w: no keys", ErrInvalidKeyring)
	}
	kr := NewKeyring()
	for i, it := range in.Keys {
		if it.Alg != "EdDSA" {
			return nil, fmt.Errorf("%w: key %d: unsupported alg", ErrInvalidKeyring, i)
		}
		if _, dup := kr.keys[it.KID]; dup {
			return nil, fmt.Errorf("%w: duplicate kid %s", ErrInvalidKeyring, it.KID)
		}
		seed, err := base64.StdEncoding.Strict().DecodeString(it.PrivateKey)
		if err != nil || len(seed) != ed25519.SeedSize {
			return nil, fmt.Errorf("%w: key %d: private_key must be a base64 32-byte seed", ErrInvalidKeyring, i)
		}
		if err := kr.Add(it.KID, ed25519.NewKeyFromSeed(seed)); err != nil {
			return nil, err
		}
	}
	if err := kr.SetActive(in.Active); err != nil {
		return nil, fmt.Errorf("%w: active key not in keyring", ErrInvalidKeyring)
	}
	return kr, nil
}
