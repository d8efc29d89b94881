package identity

import (
	"errors"
	"regexp"
	"strings"
	"testing"
)

// fastParams keep tests quick; bounds still apply.
var fastParams = Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 16, SaltLen: 8}

func mustHash(t *testing.T, pw string, p Params) string {
	t.Helper()
	s, err := HashPassword(pw, p)
	if err != nil {
		t.Fatalf("HashPassword: %v", err)
	}
	return s
}

func TestDefaultParamsOWASP(t *testing.T) {
	want := Params{Memory: 19456, Time: 2, Threads: 1, KeyLen: 32, SaltLen: 16}
	if got := DefaultParams(); got != want {
		t.Fatalf("DefaultParams() = %+v, want %+v", got, want)
	}
}

func TestHashPasswordDefaultFormat(t *testing.T) {
	h := Hasher{Params: DefaultParams()}
	s, err := h.Hash("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	if !re.MatchString(s) {
		t.Fatalf("unexpected encoding %q", s)
	}
	ok, rehash, err := h.Verify(s, "correct horse battery staple")
	if !ok || rehash || err != nil {
		t.Fatalf("Verify = %v, %v, %v; want true, false, nil", ok, rehash, err)
	}
}

func TestHashSaltsDiffer(t *testing.T) {
	a, b := mustHash(t, "pw", fastParams), mustHash(t, "pw", fastParams)
	if a == b {
		t.Fatal("two hashes of the same password are equal: salt not random")
	}
}

func TestVerify(t *testing.T) {
	h := Hasher{Params: fastParams}
	long := strings.Repeat("x", MaxPasswordLen)
	for _, pw := range []string{"", "hunter2", "pässwörd 🔑", long} {
		enc := mustHash(t, pw, fastParams)
		tries := []string{pw, pw + "!", strings.ToUpper(pw), "x" + pw}
		if pw != "" {
			tries = append(tries, pw[:len(pw)-1])
		}
		for _, try := range tries {
			if len(try) > MaxPasswordLen {
				continue
			}
			want := try == pw
			ok, rehash, err := h.Verify(enc, try)
			if err != nil || ok != want || rehash {
				t.Errorf("pw len %d, try len %d: Verify = %v, %v, %v; want %v, false, nil", len(pw), len(try), ok, rehash, err, want)
			}
		}
	}
}

func TestNeedsRehash(t *testing.T) {
	cur := Params{Memory: 128, Time: 2, Threads: 2, KeyLen: 32, SaltLen: 16}
	tests := []struct {
		name   string
		stored func(p *Params)
		want   bool
	}{
		{"equal", func(*Params) {}, false},
		{"stronger", func(p *Params) { p.Memory, p.Time = 256, 3 }, false},
		{"less memory", func(p *Params) { p.Memory = 64 }, true},
		{"fewer passes", func(p *Params) { p.Time = 1 }, true},
		{"fewer threads", func(p *Params) { p.Threads = 1 }, true},
		{"shorter key", func(p *Params) { p.KeyLen = 16 }, true},
		{"shorter salt", func(p *Params) { p.SaltLen = 8 }, true},
	}
	h := Hasher{Params: cur}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := cur
			tc.stored(&p)
			enc := mustHash(t, "pw", p)
			ok, rehash, err := h.Verify(enc, "pw")
			if !ok || err != nil || rehash != tc.want {
				t.Fatalf("Verify = %v, %v, %v; want true, %v, nil", ok, rehash, err, tc.want)
			}
			// A wrong password never asks for a rehash.
			if _, rehash, _ := h.Verify(enc, "nope"); rehash {
				t.Fatal("needsRehash true on wrong password")
			}
		})
	}
}

func TestPasswordTooLong(t *testing.T) {
	pw := strings.Repeat("a", MaxPasswordLen+1)
	if _, err := HashPassword(pw, fastParams); !errors.Is(err, ErrPasswordTooLong) {
		t.Fatalf("HashPassword err = %v, want ErrPasswordTooLong", err)
	}
	enc := mustHash(t, "a", fastParams)
	ok, _, err := Hasher{Params: fastParams}.Verify(enc, pw)
	if ok || !errors.Is(err, ErrPasswordTooLong) {
		t.Fatalf("Verify = %v, %v; want false, ErrPasswordTooLong", ok, err)
	}
}

func TestHashPasswordInvalidParams(t *testing.T) {
	tests := []struct {
		name string
		mod  func(p *Params)
	}{
		{"zero", func(p *Params) { *p = Params{} }},
		{"no threads", func(p *Params) { p.Threads = 0 }},
		{"too many threads", func(p *Params) { p.Threads = 65 }},
		{"zero time", func(p *Params) { p.Time = 0 }},
		{"time 101", func(p *Params) { p.Time = 101 }},
		{"memory below 8*p", func(p *Params) { p.Threads, p.Memory = 4, 31 }},
		{"memory over 1GiB", func(p *Params) { p.Memory = 1<<20 + 1 }},
		{"too much work", func(p *Params) { p.Memory, p.Time = 1<<20, 5 }},
		{"short key", func(p *Params) { p.KeyLen = 15 }},
		{"long key", func(p *Params) { p.KeyLen = 129 }},
		{"short salt", func(p *Params) { p.SaltLen = 7 }},
		{"long salt", func(p *Params) { p.SaltLen = 65 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := fastParams
			tc.mod(&p)
			if _, err := HashPassword("pw", p); !errors.Is(err, ErrInvalidParams) {
				t.Fatalf("err = %v, want ErrInvalidParams", err)
			}
		})
	}
}

func TestVerifyMalformed(t *testing.T) {
	good := mustHash(t, "pw", fastParams) // $argon2id$v=19$m=64,t=1,p=1$<11>$<22>
	parts := strings.Split(good, "$")
	salt, key := parts[4], parts[5]
	with := func(params string) string { return "$argon2id$v=19$" + params + "$" + salt + "$" + key }
	tests := []struct{ name, enc string }{
		{"empty", ""},
		{"bcrypt", "$2a$10$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyzabcd"},
		{"argon2i", strings.Replace(good, "argon2id", "argon2i", 1)},
		{"version 16", strings.Replace(good, "v=19", "v=16", 1)},
		{"no leading $", good[1:]},
		{"trailing $", good + "$"},
		{"missing hash", strings.Join(parts[:5], "$")},
		{"params reordered", with("t=1,m=64,p=1")},
		{"params missing", with("m=64,t=1")},
		{"params extra", with("m=64,t=1,p=1,x=1")},
		{"leading zero", with("m=064,t=1,p=1")},
		{"plus sign", with("m=+64,t=1,p=1")},
		{"negative", with("m=-64,t=1,p=1")},
		{"space", with("m=64, t=1,p=1")},
		{"empty value", with("m=,t=1,p=1")},
		{"uint32 overflow", with("m=4294967296,t=1,p=1")},
		{"memory 4GiB", with("m=4194304,t=1,p=1")},
		{"memory 1GiB+1", with("m=1048577,t=1,p=1")},
		{"time 101", with("m=64,t=101,p=1")},
		{"time 0", with("m=64,t=0,p=1")},
		{"1GiB x 100 passes", with("m=1048576,t=100,p=1")},
		{"threads 0", with("m=64,t=1,p=0")},
		{"threads 255", with("m=4096,t=1,p=255")},
		{"threads 256", with("m=64,t=1,p=256")},
		{"memory below 8p", with("m=8,t=1,p=2")},
		{"salt padded", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "=$" + key},
		{"salt CRLF", "$argon2id$v=19$m=64,t=1,p=1$" + salt[:4] + "\r\n" + salt[4:] + "$" + key},
		{"salt urlsafe", "$argon2id$v=19$m=64,t=1,p=1$-_-_-_-_-_-$" + key},
		{"salt too short", "$argon2id$v=19$m=64,t=1,p=1$AAAAAAA$" + key},
		{"salt trailing bits", "$argon2id$v=19$m=64,t=1,p=1$AAAAAAAAAAB$" + key},
		{"key too short", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$AAAAAAAAAAAAAAAAAAAA"},
		{"key too long", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + strings.Repeat("A", 175)},
		{"huge input", good + strings.Repeat("A", 1000)},
	}
	h := Hasher{Params: fastParams}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok, rehash, err := h.Verify(tc.enc, "pw")
			if ok || rehash || !errors.Is(err, ErrMalformedHash) {
				t.Fatalf("Verify = %v, %v, %v; want false, false, ErrMalformedHash", ok, rehash, err)
			}
			if strings.Contains(err.Error(), salt) || strings.Contains(err.Error(), key) {
				t.Fatalf("error leaks hash material: %v", err)
			}
		})
	}
}

func TestDummyVerify(t *testing.T) {
	// Must not panic for any policy, including an unusable zero one.
	Hasher{Params: fastParams}.DummyVerify("pw")
	Hasher{}.DummyVerify("pw")
	Hasher{Params: fastParams}.DummyVerify(strings.Repeat("a", MaxPasswordLen+1))
}

func FuzzDecodeHash(f *testing.F) {
	f.Add("$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g")
	f.Add("$argon2id$v=19$m=64,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA")
	f.Add("$argon2id$v=19$m=4294967295,t=4294967295,p=255$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA")
	f.Add("$argon2id$v=19$m=1048576,t=100,p=64$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA")
	f.Add("$argon2i$v=19$m=64,t=1,p=1$$")
	f.Add("$$$$$")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		p, salt, key, err := decodeHash(s)
		if err != nil {
			if !errors.Is(err, ErrMalformedHash) {
				t.Fatalf("error %v does not wrap ErrMalformedHash", err)
			}
			return
		}
		if verr := p.validate(); verr != nil {
			t.Fatalf("accepted out-of-bounds params %+v: %v", p, verr)
		}
		if p.Memory > maxMemoryKiB || p.Time > maxTime || int(p.KeyLen) != len(key) || int(p.SaltLen) != len(salt) {
			t.Fatalf("inconsistent decode %+v", p)
		}
		// Strict parsing: exactly one accepted spelling per hash.
		if enc := encodeHash(p, salt, key); enc != s {
			t.Fatalf("round trip changed encoding:\n in  %q\n out %q", s, enc)
		}
	})
}
