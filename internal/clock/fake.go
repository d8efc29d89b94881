package clock

import (
	"container/heap"
	"context"
	"sync"
	"time"
)

// Fake is a Clock for tests that moves only when told. Advance and AdvanceTo fire what
// falls due one at a time, in deadline order (ties in the order they were set), with Now
// reading each one's deadline while it fires: a timer's tick is sent on its channel
// (dropped, as a real ticker's, when the previous one was not read), an AfterFunc's
// function runs in the advancing goroutine, and tickers fire once per period crossed.
// Something set to fire at or before Now fires at once, as on a real clock.
//
// Waiters and BlockUntil let a test wait until the code under test is parked on the clock
// before it advances it.
type Fake struct {
	adv sync.Mutex // one advance at a time: fires stay in order

	mu      sync.Mutex
	now     time.Time
	seq     uint64
	pending fakeHeap
	changed chan struct{} // closed (and replaced) whenever pending changes
}

// NewFake returns a Fake reading start.
func NewFake(start time.Time) *Fake {
	return &Fake{now: start, changed: make(chan struct{})}
}

// Now returns the fake time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// NewTimer implements Clock.
func (f *Fake) NewTimer(d time.Duration) Timer {
	t := &fakeTimer{f: f, c: make(chan time.Time, 1), index: -1}
	t.Reset(d)
	return t
}

// AfterFunc implements Clock.
func (f *Fake) AfterFunc(d time.Duration, fn func()) Timer {
	t := &fakeTimer{f: f, fn: fn, index: -1}
	t.Reset(d)
	return t
}

// NewTicker implements Clock.
func (f *Fake) NewTicker(d time.Duration) Ticker {
	if d <= 0 {
		panic("clock: non-positive interval for NewTicker")
	}
	t := &fakeTimer{f: f, c: make(chan time.Time, 1), period: d, index: -1}
	t.Reset(d)
	return fakeTicker{t}
}

// Sleep implements Clock: it returns when the fake time has advanced by d or ctx ended.
func (f *Fake) Sleep(ctx context.Context, d time.Duration) bool { return sleep(ctx, f, d) }

// Advance moves the time forward by d, firing what falls due.
func (f *Fake) Advance(d time.Duration) { f.AdvanceTo(f.Now().Add(d)) }

// AdvanceTo moves the time forward to t (never back), firing what falls due on the way.
func (f *Fake) AdvanceTo(t time.Time) {
	f.adv.Lock()
	defer f.adv.Unlock()
	for {
		f.mu.Lock()
		if len(f.pending) == 0 || f.pending[0].at.After(t) {
			if t.After(f.now) {
				f.now = t
			}
			f.mu.Unlock()
			return
		}
		w := f.pending[0]
		if w.at.After(f.now) {
			f.now = w.at
		}
		if w.period > 0 {
			w.at = w.at.Add(w.period)
			w.seq = f.nextSeq()
			heap.Fix(&f.pending, 0)
		} else {
			heap.Pop(&f.pending)
			f.notifyLocked()
		}
		if w.fn == nil {
			w.send(f.now) // under mu: a Stop or Reset that returns after this drains it
			f.mu.Unlock()
			continue
		}
		f.mu.Unlock()
		w.fn()
	}
}

// Waiters is how many timers, tickers and sleeps are set and not yet fired or stopped.
func (f *Fake) Waiters() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.pending)
}

// BlockUntil waits until at least n timers, tickers or sleeps are set (the code under
// test is parked on the clock), or ctx ends.
func (f *Fake) BlockUntil(ctx context.Context, n int) error {
	for {
		f.mu.Lock()
		if len(f.pending) >= n {
			f.mu.Unlock()
			return nil
		}
		ch := f.changed
		f.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (f *Fake) nextSeq() uint64 {
	f.seq++
	return f.seq
}

func (f *Fake) notifyLocked() {
	close(f.changed)
	f.changed = make(chan struct{})
}

type fakeTimer struct {
	f      *Fake
	c      chan time.Time // nil for AfterFunc
	fn     func()
	period time.Duration // tickers

	// Guarded by f.mu.
	at    time.Time
	seq   uint64
	index int // in f.pending; -1 when not set
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }

func (t *fakeTimer) Stop() bool {
	f := t.f
	f.mu.Lock()
	defer f.mu.Unlock()
	return t.stopLocked()
}

func (t *fakeTimer) stopLocked() bool {
	if t.c != nil {
		select { // no stale tick after Stop or Reset
		case <-t.c:
		default:
		}
	}
	if t.index < 0 {
		return false
	}
	heap.Remove(&t.f.pending, t.index)
	t.f.notifyLocked()
	return true
}

func (t *fakeTimer) Reset(d time.Duration) bool {
	f := t.f
	f.mu.Lock()
	was := t.stopLocked()
	if d <= 0 && t.period == 0 { // due already: fire at once, as a real timer does
		if t.fn != nil {
			go t.fn()
		} else {
			t.send(f.now)
		}
		f.mu.Unlock()
		return was
	}
	t.at, t.seq = f.now.Add(d), f.nextSeq()
	heap.Push(&f.pending, t)
	f.notifyLocked()
	f.mu.Unlock()
	return was
}

func (t *fakeTimer) send(now time.Time) {
	select {
	case t.c <- now:
	default: // the last tick was not read: dropped, as on a real ticker
	}
}

type fakeTicker struct{ t *fakeTimer }

func (k fakeTicker) C() <-chan time.Time { return k.t.c }
func (k fakeTicker) Stop()               { k.t.Stop() }

// fakeHeap orders the set timers by deadline, then by the order they were set.
type fakeHeap []*fakeTimer

func (h fakeHeap) Len() int { return len(h) }
func (h fakeHeap) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}
func (h fakeHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *fakeHeap) Push(x any) {
	t := x.(*fakeTimer)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *fakeHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	t.index = -1
	*h = old[:len(old)-1]
	return t
}
