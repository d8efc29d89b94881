// Package clock is time as LinePulse's long-running loops see it: the wall clock, the
// timers and tickers they wait on, and the one context-aware sleep of every retry and
// pacing loop. Code that schedules work takes a Clock (Real in production); tests hand it
// a Fake and move time forward themselves, so nothing waits for real time to pass and
// nothing depends on the time of day the suite runs at.
//
// I/O deadlines handed to libraries (context.WithTimeout around a database call, a NATS
// request timeout) stay on real time: the libraries measure them.
package clock

import (
	"context"
	"time"
)

// Clock is the source of "now" and of every timer a component waits on.
type Clock interface {
	Now() time.Time
	// NewTimer fires once, on C, after d.
	NewTimer(d time.Duration) Timer
	// AfterFunc calls f (in its own goroutine on Real) after d. The Timer's C is nil.
	AfterFunc(d time.Duration, f func()) Timer
	// NewTicker ticks on C every d (d > 0), dropping ticks a slow reader misses.
	NewTicker(d time.Duration) Ticker
	// Sleep waits d or until ctx ends; it reports whether the full time passed.
	Sleep(ctx context.Context, d time.Duration) bool
}

// Timer is a time.Timer of some Clock. Stop and Reset behave as time.Timer's (Go 1.23+):
// after either returns, no stale tick is received from C.
type Timer interface {
	C() <-chan time.Time
	Stop() bool
	Reset(d time.Duration) bool
}

// Ticker is a time.Ticker of some Clock.
type Ticker interface {
	C() <-chan time.Time
	Stop()
}

// Real is the system clock.
var Real Clock = realClock{}

// Or returns c, or Real when c is nil (for optional Clock fields of configurations).
func Or(c Clock) Clock {
	if c == nil {
		return Real
	}
	return c
}

// Sleep is Real.Sleep: it waits d or until ctx ends and reports whether the full time passed.
func Sleep(ctx context.Context, d time.Duration) bool { return Real.Sleep(ctx, d) }

// RecvWithin waits at most d on c for a value from ch (or its closing); ok is false when
// d passed first.
func RecvWithin[T any](c Clock, d time.Duration, ch <-chan T) (v T, ok bool) {
	t := c.NewTimer(d)
	defer t.Stop()
	select {
	case v = <-ch:
		return v, true
	case <-t.C():
		return v, false
	}
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

func (realClock) AfterFunc(d time.Duration, f func()) Timer {
	return realTimer{time.AfterFunc(d, f)}
}

func (realClock) NewTicker(d time.Duration) Ticker { return realTicker{time.NewTicker(d)} }

func (c realClock) Sleep(ctx context.Context, d time.Duration) bool { return sleep(ctx, c, d) }

// sleep is every Clock's Sleep: d on c's timer, or until ctx ends.
func sleep(ctx context.Context, c Clock, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := c.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C():
		return true
	}
}

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time        { return r.t.C }
func (r realTimer) Stop() bool                 { return r.t.Stop() }
func (r realTimer) Reset(d time.Duration) bool { return r.t.Reset(d) }

type realTicker struct{ t *time.Ticker }

func (r realTicker) C() <-chan time.Time { return r.t.C }
func (r realTicker) Stop()               { r.t.Stop() }
