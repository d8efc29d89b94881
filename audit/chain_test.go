package audit

import (
	"encoding/hex"
	"errors"
	"slices"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

func buildChain(n int) []Entry {
	var prev []byte
	out := make([]Entry, n)
	for i := range out {
		f := Fields{
			TenantID: 7, Seq: int64(i + 1), At: t0.Add(time.Duration(i) * time.Second),
			UserID: 42, Action: "line.update", IP: "192.0.2.1",
			Details: []byte(`{"line":` + string(rune('0'+i%10)) + `}`),
		}
		h := ChainHash(prev, f)
		out[i] = Entry{Fields: f, PrevHash: prev, Hash: h}
		prev = h
	}
	return out
}

func TestChainHashKnownAnswer(t *testing.T) {
	// Pinned (and cross-checked with an independent implementation of the
	// documented encoding) so a silent encoding change cannot pass: stored
	// chains would stop verifying.
	f := Fields{TenantID: 1, Seq: 1, At: time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC),
		UserID: 2, Action: "login", IP: "192.0.2.1", Details: []byte(`{"ok":true}`)}
	got := hex.EncodeToString(ChainHash(nil, f))
	const want = "0b3aeea0e256db385cb661cc9c8a3ddb264e8423cbe4125026a35bdddf6a7ef2"
	if got != want {
		t.Fatalf("ChainHash = %s, want %s", got, want)
	}
}

func TestChainHashUnambiguous(t *testing.T) {
	base := Fields{TenantID: 1, Seq: 1, At: t0, UserID: 2, Action: "ab", IP: "c", Details: []byte("{}")}
	variants := map[string]func(f *Fields){
		"shift action/ip":  func(f *Fields) { f.Action, f.IP = "a", "bc" },
		"shift ip/details": func(f *Fields) { f.IP, f.Details = "c{", []byte("}") },
		"tenant":           func(f *Fields) { f.TenantID = 2 },
		"seq":              func(f *Fields) { f.Seq = 2 },
		"user":             func(f *Fields) { f.UserID = 3 },
		"at +1µs":          func(f *Fields) { f.At = f.At.Add(time.Microsecond) },
		"details nil":      func(f *Fields) { f.Details = nil },
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
		mod  func(c []Entry) []Entry
		bad  int
	}{
		{"intact", func(c []Entry) []Entry { return c }, -1},
		{"empty", func([]Entry) []Entry { return nil }, -1},
		{"segment from the middle", func(c []Entry) []Entry { return c[3:] }, -1},
		{"edit action", func(c []Entry) []Entry { c[2].Action = "user.delete"; return c }, 2},
		{"edit details", func(c []Entry) []Entry { c[4].Details = []byte(`{"line":9}`); return c }, 4},
		{"edit ip", func(c []Entry) []Entry { c[0].IP = "198.51.100.1"; return c }, 0},
		{"edit user", func(c []Entry) []Entry { c[5].UserID = 1; return c }, 5},
		{"edit time", func(c []Entry) []Entry { c[1].At = c[1].At.Add(time.Second); return c }, 1},
		{"edit tenant", func(c []Entry) []Entry { c[3].TenantID = 8; return c }, 3},
		{"edit last hash", func(c []Entry) []Entry { c[7].Hash[0] ^= 1; return c }, 7},
		{"edit and rehash", func(c []Entry) []Entry {
			c[2].Action = "x"
			c[2].Hash = ChainHash(c[2].PrevHash, c[2].Fields)
			return c // entry 3 still links to the old hash
		}, 3},
		{"delete middle", func(c []Entry) []Entry { return slices.Delete(c, 4, 5) }, 4},
		{"delete first", func(c []Entry) []Entry {
			c = c[1:]
			c[0].Seq, c[0].PrevHash = 1, nil // disguise as genesis
			return c
		}, 0},
		{"genesis with prev hash", func(c []Entry) []Entry { c[0].PrevHash = []byte{0}; return c }, 0},
		{"seq zero", func(c []Entry) []Entry { c[0].Seq = 0; return c }, 0},
		{"swap", func(c []Entry) []Entry { c[3], c[4] = c[4], c[3]; return c }, 3},
		{"insert forged", func(c []Entry) []Entry {
			f := c[2].Fields
			f.Seq, f.Action = 4, "forged"
			e := Entry{Fields: f, PrevHash: c[2].Hash, Hash: ChainHash(c[2].Hash, f)}
			return slices.Insert(c, 3, e) // the real seq 4 now repeats
		}, 4},
		{"insert and renumber", func(c []Entry) []Entry {
			f := c[2].Fields
			f.Seq, f.Action = 4, "forged"
			e := Entry{Fields: f, PrevHash: c[2].Hash, Hash: ChainHash(c[2].Hash, f)}
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
			if (tc.bad < 0) != (err == nil) || (err != nil && !errors.Is(err, ErrChainBroken)) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}
