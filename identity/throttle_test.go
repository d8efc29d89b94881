package identity

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

func newThrottle(t *testing.T, clk *clock, mod func(*ThrottleConfig)) *Throttle {
	t.Helper()
	cfg := ThrottleConfig{
		PerIPRate: rate.Inf, AccountFailures: 5, Window: time.Minute,
		BaseLockout: time.Minute, MaxLockout: time.Hour, MaxEntries: 1000, Now: clk.Now,
	}
	if mod != nil {
		mod(&cfg)
	}
	th, err := NewThrottle(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return th
}

// login mimics the handler's use of the throttle.
func login(th *Throttle, ip, account string, correct bool) string {
	if !th.AllowIP(ip) {
		return "ip-limited"
	}
	if _, locked := th.AccountLocked(account); locked {
		return "locked"
	}
	if correct {
		th.Succeed(account)
		return "ok"
	}
	th.Fail(account)
	return "wrong"
}

func TestSixthAttemptRefusedFromAnyIP(t *testing.T) {
	clk := &clock{t: t0}
	th := newThrottle(t, clk, nil)
	for i := range 5 {
		if got := login(th, fmt.Sprintf("10.0.0.%d", i), "7:ana@acme.test", false); got != "wrong" {
			t.Fatalf("attempt %d = %s, want wrong", i+1, got)
		}
		clk.Advance(5 * time.Second)
	}
	for _, ip := range []string{"10.0.0.1", "192.0.2.99", "2001:db8::1"} {
		if got := login(th, ip, "7:ana@acme.test", true); got != "locked" {
			t.Fatalf("6th attempt from %s = %s, want locked (even with the right password)", ip, got)
		}
	}
	if got := login(th, "10.0.0.1", "7:bob@acme.test", true); got != "ok" {
		t.Fatalf("other account = %s, want ok", got)
	}
	until, locked := th.AccountLocked("7:ana@acme.test")
	if !locked || !until.Equal(t0.Add(20*time.Second+time.Minute)) {
		t.Fatalf("AccountLocked = %v, %v", until, locked)
	}
	clk.t = until.Add(-time.Nanosecond)
	if _, locked := th.AccountLocked("7:ana@acme.test"); !locked {
		t.Fatal("unlocked before until")
	}
	clk.t = until
	if got := login(th, "10.0.0.1", "7:ana@acme.test", true); got != "ok" {
		t.Fatalf("after lock-out = %s, want ok", got)
	}
}

func TestFailReturnsLock(t *testing.T) {
	clk := &clock{t: t0}
	th := newThrottle(t, clk, nil)
	for i := 1; i <= 4; i++ {
		if locked, _ := th.Fail("a"); locked {
			t.Fatalf("locked after %d failures", i)
		}
	}
	locked, until := th.Fail("a")
	if !locked || !until.Equal(t0.Add(time.Minute)) {
		t.Fatalf("5th Fail = %v, %v", locked, until)
	}
	// Failing while locked neither extends nor counts.
	clk.Advance(30 * time.Second)
	locked, until2 := th.Fail("a")
	if !locked || !until2.Equal(until) {
		t.Fatalf("Fail while locked = %v, %v; want true, %v", locked, until2, until)
	}
	// Succeed while locked does not lift the lock.
	th.Succeed("a")
	if _, locked := th.AccountLocked("a"); !locked {
		t.Fatal("Succeed lifted a lock")
	}
}

func TestSlidingWindow(t *testing.T) {
	clk := &clock{t: t0}
	th := newThrottle(t, clk, nil)
	at := func(d time.Duration) bool {
		clk.t = t0.Add(d)
		locked, _ := th.Fail("a")
		return locked
	}
	for _, d := range []time.Duration{0, 10 * time.Second, 20 * time.Second, 30 * time.Second} {
		if at(d) {
			t.Fatalf("locked at %v", d)
		}
	}
	// The failure at 0 left the window: 10,20,30,60 are four.
	if at(60 * time.Second) {
		t.Fatal("locked with four failures inside the window")
	}
	if !at(61 * time.Second) {
		t.Fatal("five failures within a minute did not lock")
	}
}

func TestLockoutGrows(t *testing.T) {
	clk := &clock{t: t0}
	th := newThrottle(t, clk, nil)
	want := []time.Duration{1, 2, 4, 8, 16, 32, 60, 60, 60}
	for i, w := range want {
		var locked bool
		var until time.Time
		for range 5 {
			locked, until = th.Fail("a")
		}
		if !locked {
			t.Fatalf("lock %d: not locked", i+1)
		}
		if got := until.Sub(clk.Now()); got != w*time.Minute {
			t.Fatalf("lock %d lasts %v, want %v", i+1, got, w*time.Minute)
		}
		clk.t = until // lock expires; the next burst locks longer
	}
	// Success resets the growth.
	th.Succeed("a")
	for range 5 {
		th.Fail("a")
	}
	if until, _ := th.AccountLocked("a"); until.Sub(clk.Now()) != time.Minute {
		t.Fatalf("after success lock = %v, want 1m", until.Sub(clk.Now()))
	}
}

func TestLockoutForgivenAfterQuietPeriod(t *testing.T) {
	clk := &clock{t: t0}
	th := newThrottle(t, clk, nil)
	for range 5 {
		th.Fail("a")
	}
	until, _ := th.AccountLocked("a")
	clk.t = until.Add(time.Hour - time.Second) // not yet quiet for MaxLockout
	for range 5 {
		th.Fail("a")
	}
	until, _ = th.AccountLocked("a")
	if d := until.Sub(clk.Now()); d != 2*time.Minute {
		t.Fatalf("second lock = %v, want 2m", d)
	}
	clk.t = until.Add(time.Hour)
	for range 5 {
		th.Fail("a")
	}
	until, _ = th.AccountLocked("a")
	if d := until.Sub(clk.Now()); d != time.Minute {
		t.Fatalf("lock after a quiet hour = %v, want 1m", d)
	}
}

func TestLockoutNoOverflow(t *testing.T) {
	clk := &clock{t: t0}
	th := newThrottle(t, clk, func(c *ThrottleConfig) {
		c.BaseLockout, c.MaxLockout = time.Hour, time.Duration(1<<62)
	})
	for level := 1; level < 200; level++ {
		if d := th.lockout(level); d <= 0 || d > th.cfg.MaxLockout {
			t.Fatalf("lockout(%d) = %v", level, d)
		}
	}
}

func TestAllowIP(t *testing.T) {
	clk := &clock{t: t0}
	th := newThrottle(t, clk, func(c *ThrottleConfig) { c.PerIPRate, c.PerIPBurst = 1, 3 })
	tests := []struct {
		name  string
		ip    string
		after time.Duration
		want  bool
	}{
		{"burst 1", "192.0.2.1", 0, true},
		{"burst 2", "192.0.2.1", 0, true},
		{"burst 3", "192.0.2.1", 0, true},
		{"exhausted", "192.0.2.1", 0, false},
		{"mapped form shares bucket", "::ffff:192.0.2.1", 0, false},
		{"other ip", "192.0.2.2", 0, true},
		{"refilled", "192.0.2.1", time.Second, true},
		{"empty again", "192.0.2.1", 0, false},
		{"v6 a", "2001:db8:1:1::1", 0, true},
		{"v6 b", "2001:db8:1:1::2", 0, true},
		{"v6 c same /64", "2001:db8:1:1:ffff::3", 0, true},
		{"v6 same /64 exhausted", "2001:db8:1:1::4", 0, false},
		{"v6 other /64", "2001:db8:1:2::1", 0, true},
		{"unparsable key still limited", "not-an-ip", 0, true},
	}
	for _, tc := range tests {
		clk.Advance(tc.after)
		if got := th.AllowIP(tc.ip); got != tc.want {
			t.Errorf("%s: AllowIP(%s) = %v, want %v", tc.name, tc.ip, got, tc.want)
		}
	}
}

func TestThrottleMemoryBounded(t *testing.T) {
	const maxEntries = 1000
	clk := &clock{t: t0}
	th := newThrottle(t, clk, func(c *ThrottleConfig) { c.MaxEntries = maxEntries; c.PerIPRate = 1 })
	// A locked account must survive a flood of new names.
	for range 5 {
		th.Fail("victim")
	}
	for i := range maxEntries + 1000 {
		clk.Advance(time.Millisecond)
		th.Fail(fmt.Sprintf("acct-%d", i))
		th.AllowIP(fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255))
		if ips, accts := th.Len(); ips > maxEntries || accts > maxEntries {
			t.Fatalf("after %d inserts: %d ips, %d accounts; bound %d", i+1, ips, accts, maxEntries)
		}
	}
	if ips, accts := th.Len(); ips != maxEntries || accts != maxEntries {
		t.Fatalf("tables not full: %d ips, %d accounts", ips, accts)
	}
	if _, locked := th.AccountLocked("victim"); !locked {
		t.Fatal("flooding evicted a locked account")
	}
}

func TestNewThrottleConfig(t *testing.T) {
	bad := []ThrottleConfig{
		{PerIPRate: -1},
		{PerIPBurst: -1},
		{AccountFailures: -1},
		{Window: -time.Second},
		{BaseLockout: -time.Second},
		{MaxEntries: -1},
		{BaseLockout: 2 * time.Hour}, // above the default MaxLockout
	}
	for i, cfg := range bad {
		if _, err := NewThrottle(cfg); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("case %d: err = %v, want ErrInvalidConfig", i, err)
		}
	}
	th, err := NewThrottle(ThrottleConfig{})
	if err != nil {
		t.Fatal(err)
	}
	c := th.cfg
	if c.PerIPRate != 1 || c.PerIPBurst != 10 || c.AccountFailures != 5 || c.Window != time.Minute ||
		c.BaseLockout != time.Minute || c.MaxLockout != time.Hour || c.MaxEntries != 100_000 || c.Now == nil {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestThrottleConcurrent(t *testing.T) {
	clk := &clock{t: t0}
	th := newThrottle(t, clk, func(c *ThrottleConfig) { c.MaxEntries = 50 })
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				acct := fmt.Sprintf("a%d", (g*31+i)%100)
				login(th, fmt.Sprintf("10.0.%d.%d", g, i%100), acct, i%7 == 0)
				clk.Advance(time.Millisecond)
			}
		})
	}
	wg.Wait()
	if ips, accts := th.Len(); ips > 50 || accts > 50 {
		t.Fatalf("bound exceeded: %d, %d", ips, accts)
	}
}
