package identity

import (
	"fmt"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// ThrottleConfig configures login throttling. Zero fields take the default.
type ThrottleConfig struct {
	PerIPRate       rate.Limit       // login attempts per second per IP; default 1 (rate.Inf disables)
	PerIPBurst      int              // attempts an idle IP may make at once; default 10
	AccountFailures int              // failures within Window that lock an account; default 5
	Window          time.Duration    // failure-counting sliding window; default 1m
	BaseLockout     time.Duration    // first lock-out; doubles on each later one; default 1m
	MaxLockout      time.Duration    // lock-out cap; default 1h
	MaxEntries      int              // max tracked IPs and, separately, accounts; default 100000
	Now             func() time.Time // clock; default time.Now
}

// evictSample is how many random entries are inspected to pick an eviction
// victim once a table is full: O(1) work, near-LRU quality.
const evictSample = 8

// Throttle limits login attempts per client IP (token bucket) and per
// account (lock-out after AccountFailures failures within Window, doubling
// on each successive lock-out up to MaxLockout). Memory is bounded by
// MaxEntries per table. Safe for concurrent use.
//
// Account keys are opaque: callers should pass a normalised key such as
// "<tenant id>:<lower-cased email>", for both existing and unknown accounts.
type Throttle struct {
	cfg      ThrottleConfig
	mu       sync.Mutex
	ips      map[string]*rate.Limiter
	accounts map[string]*accountState
}

type accountState struct {
	fails       []time.Time // failures in the current window, oldest first
	level       int         // lock-outs so far; sets the next lock-out length
	lockedUntil time.Time
	lastSeen    time.Time
}

// NewThrottle validates cfg and applies defaults.
func NewThrottle(cfg ThrottleConfig) (*Throttle, error) {
	if cfg.PerIPRate < 0 || cfg.PerIPBurst < 0 || cfg.AccountFailures < 0 || cfg.Window < 0 ||
		cfg.BaseLockout < 0 || cfg.MaxLockout < 0 || cfg.MaxEntries < 0 {
		return nil, fmt.Errorf("%w: negative throttle setting", ErrInvalidConfig)
	}
	def := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	if cfg.PerIPRate == 0 {
		cfg.PerIPRate = 1
	}
	if cfg.PerIPBurst == 0 {
		cfg.PerIPBurst = 10
	}
	if cfg.AccountFailures == 0 {
		cfg.AccountFailures = 5
	}
	def(&cfg.Window, time.Minute)
	def(&cfg.BaseLockout, time.Minute)
	def(&cfg.MaxLockout, time.Hour)
	if cfg.MaxEntries == 0 {
		cfg.MaxEntries = 100_000
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxLockout < cfg.BaseLockout {
		return nil, fmt.Errorf("%w: MaxLockout below BaseLockout", ErrInvalidConfig)
	}
	return &Throttle{
		cfg:      cfg,
		ips:      make(map[string]*rate.Limiter),
		accounts: make(map[string]*accountState),
	}, nil
}

// ipKey groups IPv6 clients by /64, since one host usually owns a whole /64.
func ipKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}

// AllowIP consumes one attempt from ip's bucket and reports whether the
// attempt may proceed.
func (t *Throttle) AllowIP(ip string) bool {
	now := t.cfg.Now()
	k := ipKey(ip)
	t.mu.Lock()
	defer t.mu.Unlock()
	lim, ok := t.ips[k]
	if !ok {
		if len(t.ips) >= t.cfg.MaxEntries {
			t.evictIP(now)
		}
		lim = rate.NewLimiter(t.cfg.PerIPRate, t.cfg.PerIPBurst)
		t.ips[k] = lim
	}
	return lim.AllowN(now, 1)
}

// evictIP drops the sampled IP with the fullest bucket: forgetting it costs
// the least, as a new bucket starts full.
func (t *Throttle) evictIP(now time.Time) {
	var victim string
	best, n := -1.0, 0
	for k, lim := range t.ips {
		if tok := lim.TokensAt(now); tok > best {
			victim, best = k, tok
		}
		if n++; n == evictSample {
			break
		}
	}
	delete(t.ips, victim)
}

// AccountLocked reports whether account is locked out and until when.
// Check it before verifying a password, whatever the client IP.
func (t *Throttle) AccountLocked(account string) (until time.Time, locked bool) {
	now := t.cfg.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	st, ok := t.accounts[account]
	if !ok || !now.Before(st.lockedUntil) {
		return time.Time{}, false
	}
	return st.lockedUntil, true
}

// Fail records a failed login for account. When it is the AccountFailures-th
// failure within Window the account is locked: lockedNow is true and until
// is the end of the lock-out. Failures while locked are not counted.
func (t *Throttle) Fail(account string) (lockedNow bool, until time.Time) {
	now := t.cfg.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	st, ok := t.accounts[account]
	if !ok {
		if len(t.accounts) >= t.cfg.MaxEntries {
			t.evictAccount(now)
		}
		st = &accountState{fails: make([]time.Time, 0, t.cfg.AccountFailures)}
		t.accounts[account] = st
	}
	st.lastSeen = now
	if now.Before(st.lockedUntil) {
		return true, st.lockedUntil
	}
	// Forgive past lock-outs after a quiet MaxLockout.
	if st.level > 0 && !now.Before(st.lockedUntil.Add(t.cfg.MaxLockout)) {
		st.level = 0
	}
	cutoff := now.Add(-t.cfg.Window)
	keep := st.fails[:0]
	for _, f := range st.fails {
		if f.After(cutoff) {
			keep = append(keep, f)
		}
	}
	st.fails = append(keep, now)
	if len(st.fails) < t.cfg.AccountFailures {
		return false, time.Time{}
	}
	st.fails = st.fails[:0]
	st.level++
	st.lockedUntil = now.Add(t.lockout(st.level))
	return true, st.lockedUntil
}

// lockout is BaseLockout·2^(level-1), capped at MaxLockout without overflow.
func (t *Throttle) lockout(level int) time.Duration {
	d := t.cfg.BaseLockout
	for i := 1; i < level; i++ {
		if d > t.cfg.MaxLockout/2 {
			return t.cfg.MaxLockout
		}
		d *= 2
	}
	return min(d, t.cfg.MaxLockout)
}

// Succeed clears account's failure history after a successful login. It does
// nothing while the account is locked: a lock must run its course.
func (t *Throttle) Succeed(account string) {
	now := t.cfg.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if st, ok := t.accounts[account]; ok && !now.Before(st.lockedUntil) {
		delete(t.accounts, account)
	}
}

// evictAccount drops, among a random sample, the least recently seen
// unlocked account, or if all are locked the one whose lock ends first, so
// flooding the table with new names cannot cheaply lift a lock.
func (t *Throttle) evictAccount(now time.Time) {
	var victim string
	var vs *accountState
	n := 0
	for k, st := range t.accounts {
		if vs == nil || better(st, vs, now) {
			victim, vs = k, st
		}
		if n++; n == evictSample {
			break
		}
	}
	delete(t.accounts, victim)
}

// better reports whether a is a better eviction victim than b.
func better(a, b *accountState, now time.Time) bool {
	al, bl := now.Before(a.lockedUntil), now.Before(b.lockedUntil)
	switch {
	case al != bl:
		return !al
	case al:
		return a.lockedUntil.Before(b.lockedUntil)
	}
	return a.lastSeen.Before(b.lastSeen)
}

// Len returns the number of tracked IPs and accounts.
func (t *Throttle) Len() (ips, accounts int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.ips), len(t.accounts)
}
