package auth

import (
	"encoding/hex"
	"errors"
	"slices"
	"testing"
	"time"
)

func buildChain(n int) []AuditEntry {
	var prev []byte
	out := make([]AuditEntry, n)
	for i := range out {
		f := AuditFields{
			TenantID: 7, Seq: int64(i + 1), At: t0.Add(time.Duration(i) * time.Second),
			UserID: 42, Action: "line.update", IP: "192.0.2.1",
			Details: []byte(`{"line":` + string(rune('0'+i%10)) + `}`),
		}
		h := ChainHash(prev, f)
		out[i] = AuditEntry{AuditFields: f, PrevHash: prev, Hash: h}
		prev = h
	}
	return out
}

func TestChainHashKnownAnswer(t *testing.T) {
	// Pinned (and cross-checked with an independent implementation of the
	// documented encoding) so a silent encoding change cannot pass: stored
	// chains would stop verifying.
	f := AuditFields{TenantID: 1, Seq: 1, At: time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC),
		UserID: 2, Action: "login", IP: "192.0.2.1", Details: []byte(`{"ok":true}`)}
	got := hex.EncodeToString(ChainHash(nil, f))
	const want = "0b3aeea0e256db385cb661cc9c8a3ddb264e8423cbe4125026a35bdddf6a7ef2"
	if got != want {
		t.Fatalf("ChainHash = %s, want %s", got, want)
	}
}

func TestChainHashUnambiguous(t *testing.T) {
	base := AuditFields{TenantID: 1, Seq: 1, At: t0, UserID: 2, Action: "ab", IP: "c", Details: []byte("{}")}
	variants := map[string]func(f *AuditFields){
		"shift action/ip":  func(f *AuditFields) { f.Action, f.IP = "a", "bc" },
		"shift ip/details": func(f *AuditFields) { f.IP, f.Details = "c{", []byte("}") },
		"tenant":           func(f *AuditFields) { f.TenantID = 2 },
		"seq":              func(f *AuditFields) { f.Seq = 2 },
		"user":             func(f *AuditFields) { f.UserID = 3 },
		"at +1µs":          func(f *AuditFields) { f.At = f.At.Add(time.Microsecond) },
		"details nil":      func(f *AuditFields) { f.Details = nil },
	}
	h0 := ChainHash(nil, base)
	for name, mod := range variants {
		f := base
		mod(&f)
		if slices.Equal(ChainHash(nil, f), h0) {
			t.Errorf("%s: same hash", name)
		}
	}
	if slices.Equal(ChainHash([]byte{1}, base), h0) {
		t.Error("prev hash not bound")
	}
	// Sub-microsecond and zone differences are not stored, so not hashed.
	f := base
	f.At = base.At.Add(999 * time.Nanosecond).In(time.FixedZone("X", 3600))
	if !slices.Equal(ChainHash(nil, f), h0) {
		t.Error("hash depends on sub-microsecond time or zone")
	}
}

func TestVerifyChain(t *testing.T) {
	tests := []struct {
		name string
		mod  func(c []AuditEntry) []AuditEntry
		bad  int
	}{
		{"intact", func(c []AuditEntry) []AuditEntry { return c }, -1},
		{"empty", func([]AuditEntry) []AuditEntry { return nil }, -1},
		{"segment from the middle", func(c []AuditEntry) []AuditEntry { return c[3:] }, -1},
		{"edit action", func(c []AuditEntry) []AuditEntry { c[2].Action = "user.delete"; return c }, 2},
		{"edit details", func(c []AuditEntry) []AuditEntry { c[4].Details = []byte(`{"line":9}`); return c }, 4},
		{"edit ip", func(c []AuditEntry) []AuditEntry { c[0].IP = "198.51.100.1"; return c }, 0},
		{"edit user", func(c []AuditEntry) []AuditEntry { c[5].UserID = 1; return c }, 5},
		{"edit time", func(c []AuditEntry) []AuditEntry { c[1].At = c[1].At.Add(time.Second); return c }, 1},
		{"edit tenant", func(c []AuditEntry) []AuditEntry { c[3].TenantID = 8; return c }, 3},
		{"edit last hash", func(c []AuditEntry) []AuditEntry { c[7].Hash[0] ^= 1; return c }, 7},
		{"edit and rehash", func(c []AuditEntry) []AuditEntry {
			c[2].Action = "x"
			c[2].Hash = ChainHash(c[2].PrevHash, c[2].AuditFields)
			return c // entry 3 still links to the old hash
		}, 3},
		{"delete middle", func(c []AuditEntry) []AuditEntry { return slices.Delete(c, 4, 5) }, 4},
		{"delete first", func(c []AuditEntry) []AuditEntry {
			c = c[1:]
			c[0].Seq, c[0].PrevHash = 1, nil // disguise as genesis
			return c
		}, 0},
		{"genesis with prev hash", func(c []AuditEntry) []AuditEntry { c[0].PrevHash = []byte{0}; return c }, 0},
		{"seq zero", func(c []AuditEntry) []AuditEntry { c[0].Seq = 0; return c }, 0},
		{"swap", func(c []AuditEntry) []AuditEntry { c[3], c[4] = c[4], c[3]; return c }, 3},
		{"insert forged", func(c []AuditEntry) []AuditEntry {
			f := c[2].AuditFields
			f.Seq, f.Action = 4, "forged"
			e := AuditEntry{AuditFields: f, PrevHash: c[2].Hash, Hash: ChainHash(c[2].Hash, f)}
			return slices.Insert(c, 3, e) // the real seq 4 now repeats
		}, 4},
		{"insert and renumber", func(c []AuditEntry) []AuditEntry {
			f := c[2].AuditFields
			f.Seq, f.Action = 4, "forged"
			e := AuditEntry{AuditFields: f, PrevHash: c[2].Hash, Hash: ChainHash(c[2].Hash, f)}
			c = slices.Insert(c, 3, e)
			for i := 4; i < len(c); i++ {
				c[i].Seq++
			}
			return c
		}, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.mod(buildChain(10))
			bad, err := VerifyChain(c)
			if bad != tc.bad {
				t.Fatalf("firstBad = %d, want %d (err %v)", bad, tc.bad, err)
			}
			if (tc.bad < 0) != (err == nil) || (err != nil && !errors.Is(err, ErrAuditChain)) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}
