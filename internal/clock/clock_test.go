package clock

import (
	"context"
	"slices"
	"testing"
	"time"
)

func TestSleep(t *testing.T) {
	if !Sleep(context.Background(), time.Millisecond) {
		t.Fatal("a full sleep reported as cut short")
	}
	if !Sleep(context.Background(), 0) {
		t.Fatal("a zero sleep with a live context reported as cut short")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if Sleep(ctx, time.Hour) {
		t.Fatal("a sleep on an ended context reported as full")
	}
	if Sleep(ctx, 0) {
		t.Fatal("a zero sleep on an ended context reported as full")
	}
}

func TestRealTimers(t *testing.T) {
	c := Or(nil)
	if c != Real {
		t.Fatal("Or(nil) is not Real")
	}
	if _, ok := RecvWithin(c, time.Minute, closedChan()); !ok {
		t.Fatal("a closed channel not received")
	}
	if _, ok := RecvWithin(c, time.Millisecond, make(chan int)); ok {
		t.Fatal("a silent channel received")
	}
	done := make(chan struct{})
	c.AfterFunc(time.Millisecond, func() { close(done) })
	<-done
	tk := c.NewTicker(time.Millisecond)
	<-tk.C()
	tk.Stop()
	tm := c.NewTimer(time.Hour)
	if !tm.Stop() || tm.Reset(time.Millisecond) {
		t.Fatal("Stop/Reset of a set timer")
	}
	<-tm.C()
}

func closedChan() chan struct{} {
	ch := make(chan struct{})
	close(ch)
	return ch
}

var epoch = time.Date(2026, 3, 29, 0, 59, 0, 0, time.UTC)

// TestFakeFiresInOrder: timers, tickers and functions fire in deadline order, ties in the
// order they were set, each with Now at its own deadline.
func TestFakeFiresInOrder(t *testing.T) {
	f := NewFake(epoch)
	var got []string
	at := func(name string) func() {
		return func() { got = append(got, name+"@"+f.Now().Sub(epoch).String()) }
	}
	f.AfterFunc(3*time.Second, at("c"))
	f.AfterFunc(time.Second, at("a"))
	f.AfterFunc(time.Second, at("b"))
	stopped := f.AfterFunc(2*time.Second, at("never"))
	reset := f.AfterFunc(time.Hour, at("reset"))
	tk := f.NewTicker(1500 * time.Millisecond)
	tm := f.NewTimer(2500 * time.Millisecond)
	if !stopped.Stop() || stopped.Stop() {
		t.Fatal("Stop reports wrongly whether the timer was set")
	}
	if !reset.Reset(2 * time.Second) {
		t.Fatal("Reset of a set timer reports it unset")
	}
	if n := f.Waiters(); n != 6 {
		t.Fatalf("%d waiters, want 6", n)
	}
	f.Advance(3 * time.Second)
	if want := []string{"a@1s", "b@1s", "reset@2s", "c@3s"}; !slices.Equal(got, want) {
		t.Fatalf("fired %v, want %v", got, want)
	}
	if v := <-tm.C(); !v.Equal(epoch.Add(2500 * time.Millisecond)) {
		t.Fatalf("timer fired at %v", v)
	}
	// The ticker ticked at 1.5s and 3s; the second tick was dropped (the first not read).
	if v := <-tk.C(); !v.Equal(epoch.Add(1500 * time.Millisecond)) {
		t.Fatalf("first tick at %v", v)
	}
	select {
	case v := <-tk.C():
		t.Fatalf("a tick at %v was kept while the previous one was unread", v)
	default:
	}
	f.Advance(1500 * time.Millisecond)
	if v := <-tk.C(); !v.Equal(epoch.Add(4500 * time.Millisecond)) {
		t.Fatalf("next tick at %v", v)
	}
	tk.Stop()
	if f.Waiters() != 0 || !f.Now().Equal(epoch.Add(4500*time.Millisecond)) {
		t.Fatalf("%d waiters left at %v", f.Waiters(), f.Now())
	}
}

// TestFakeNoStaleTicks: after Stop or Reset no earlier tick is received, and a timer set
// in the past fires at once.
func TestFakeNoStaleTicks(t *testing.T) {
	f := NewFake(epoch)
	tm := f.NewTimer(time.Second)
	f.Advance(time.Second)
	if tm.Reset(time.Second) {
		t.Fatal("Reset of a fired timer reports it set")
	}
	select {
	case <-tm.C():
		t.Fatal("stale tick after Reset")
	default:
	}
	tm.Reset(0)
	if v := <-tm.C(); !v.Equal(f.Now()) {
		t.Fatalf("a due timer fired with %v", v)
	}
	done := make(chan struct{})
	f.AfterFunc(-time.Second, func() { close(done) })
	<-done
}

// TestFakeSleepAndBlockUntil: a test waits for the code to park on the clock, then moves
// it; a sleep also ends with its context.
func TestFakeSleepAndBlockUntil(t *testing.T) {
	f := NewFake(epoch)
	ctx := context.Background()
	res := make(chan bool)
	go func() { res <- f.Sleep(ctx, time.Minute) }()
	if err := f.BlockUntil(ctx, 1); err != nil {
		t.Fatal(err)
	}
	f.Advance(59 * time.Second)
	select {
	case <-res:
		t.Fatal("the sleep ended early")
	default:
	}
	f.Advance(time.Second)
	if !<-res {
		t.Fatal("a full sleep reported as cut short")
	}
	cctx, cancel := context.WithCancel(ctx)
	go func() { res <- f.Sleep(cctx, time.Minute) }()
	if err := f.BlockUntil(ctx, 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	if <-res {
		t.Fatal("a cancelled sleep reported as full")
	}
	if err := f.BlockUntil(cctx, 5); err == nil {
		t.Fatal("BlockUntil ignored its context")
	}
	go func() { _, ok := RecvWithin(f, time.Second, make(chan int)); res <- ok }()
	if err := f.BlockUntil(ctx, 1); err != nil {
		t.Fatal(err)
	}
	f.Advance(time.Second)
	if <-res {
		t.Fatal("RecvWithin received from a silent channel")
	}
}
