package sim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/linepulse/linepulse/internal/testkit"
)

// fakeFuture is a PubAckFuture resolved (or not) up front.
type fakeFuture struct {
	ok  chan *jetstream.PubAck
	err chan error
	msg *nats.Msg
}

func (f *fakeFuture) Ok() <-chan *jetstream.PubAck { return f.ok }
func (f *fakeFuture) Err() <-chan error            { return f.err }
func (f *fakeFuture) Msg() *nats.Msg               { return f.msg }

// scriptedJS fakes the one JetStream method the simulator uses. answer decides, per
// message id and attempt (1-based), what the "server" does.
type scriptedJS struct {
	jetstream.JetStream // nil: any other method panics
	answer              func(id string, attempt int) (ack *jetstream.PubAck, ackErr, syncErr error)

	mu       sync.Mutex
	attempts map[string]int
	order    []string
}

func (f *scriptedJS) PublishMsgAsync(m *nats.Msg, _ ...jetstream.PublishOpt) (jetstream.PubAckFuture, error) {
	id := m.Header.Get(jetstream.MsgIDHeader)
	f.mu.Lock()
	f.attempts[id]++
	n := f.attempts[id]
	f.order = append(f.order, id)
	f.mu.Unlock()
	ack, ackErr, syncErr := f.answer(id, n)
	if syncErr != nil {
		return nil, syncErr
	}
	fut := &fakeFuture{ok: make(chan *jetstream.PubAck, 1), err: make(chan error, 1), msg: m}
	switch {
	case ack != nil:
		fut.ok <- ack
	case ackErr != nil:
		fut.err <- ackErr
	} // neither: the acknowledgement never comes
	return fut, nil
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func noSleep(ctx context.Context, _ time.Duration) error { return ctx.Err() }

// TestResendUntilAcknowledged drives the re-send logic through every way a publish can
// fail: an error acknowledgement, no acknowledgement at all (timeout), a synchronous
// publish error, and an acknowledgement saying the stream had the message already.
func TestResendUntilAcknowledged(t *testing.T) {
	js := &scriptedJS{attempts: map[string]int{}}
	js.answer = func(id string, attempt int) (*jetstream.PubAck, error, error) {
		ok := &jetstream.PubAck{Stream: "LP_DET"}
		switch {
		case id == "acme-4-105-5" && attempt == 1:
			return nil, errors.New("nats: disconnected"), nil
		case id == "acme-4-110-5" && attempt == 1:
			return nil, nil, nil // lost: times out
		case id == "acme-4-115-5" && attempt <= 2:
			return nil, nil, nats.ErrReconnectBufExceeded
		case id == "acme-4-110-5" && attempt == 2:
			return &jetstream.PubAck{Stream: "LP_DET", Duplicate: true}, nil, nil
		}
		return ok, nil, nil
	}
	var mu sync.Mutex
	published := map[uint64]int{}
	s, err := New(Config{
		Tenant: "acme", Lines: []LineSpec{{Line: 4, Rate: 1000}}, Batch: 5, Count: 22, FirstID: 100,
		AckTimeout: 50 * time.Millisecond, Window: 3, Sleep: noSleep, Logger: quietLog(),
		OnPublish: func(line int64, first uint64, n int, _ time.Time) {
			mu.Lock()
			published[first] += n
			mu.Unlock()
		},
	}, js)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.Run(ctx); err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	want := Stats{Published: 22, Acked: 22, Messages: 5, AckedMessages: 5, Resent: 4, Duplicates: 1}
	if st != want {
		t.Fatalf("Stats() = %+v, want %+v (attempts %v order %v)", st, want, js.attempts, js.order)
	}
	wantAttempts := map[string]int{"acme-4-100-5": 1, "acme-4-105-5": 2, "acme-4-110-5": 2, "acme-4-115-5": 3, "acme-4-120-2": 1}
	for id, n := range wantAttempts {
		if js.attempts[id] != n {
			t.Errorf("message %s sent %d times, want %d (all attempts: %v)", id, js.attempts[id], n, js.attempts)
		}
	}
	if len(js.attempts) != len(wantAttempts) {
		t.Errorf("unexpected message ids: %v", js.attempts)
	}
	if published[100] != 5 || published[120] != 2 || len(published) != 5 {
		t.Errorf("OnPublish saw %v: want each message once, the last one partial", published)
	}
}

// TestRunStopsWhenNeverAcknowledged: with ctx done and nothing ever acknowledged, Run
// gives up after Drain and says how much is unacknowledged.
func TestRunStopsWhenNeverAcknowledged(t *testing.T) {
	js := &scriptedJS{attempts: map[string]int{}}
	js.answer = func(string, int) (*jetstream.PubAck, error, error) { return nil, errors.New("no stream"), nil }
	s, err := New(Config{Tenant: "acme", Lines: []LineSpec{{Line: 1, Rate: 100}}, Window: 2,
		Drain: 200 * time.Millisecond, Sleep: noSleep, Logger: quietLog()}, js)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	testkit.CheckFor(t, time.Minute, 10*time.Millisecond, func() error {
		n := s.Stats().Resent
		return testkit.Unless(n >= 5, "%d of 5 re-sends", n)
	})
	cancel()
	select {
	case err := <-done:
		if err == nil || s.Stats().Acked != 0 {
			t.Fatalf("Run() = %v with %+v, want an unacknowledged error", err, s.Stats())
		}
		t.Log(err)
	case <-time.After(time.Minute):
		t.Fatal("Run did not return after ctx ended and the drain period passed")
	}
}

func TestNewRejects(t *testing.T) {
	js := &scriptedJS{}
	line := []LineSpec{{Line: 1, Rate: 1}}
	tests := []struct {
		name string
		cfg  Config
	}{
		{"tenant", Config{Tenant: "Acme!", Lines: line}},
		{"no lines", Config{Tenant: "acme"}},
		{"duplicate line", Config{Tenant: "acme", Lines: append(line, line...)}},
		{"bad line", Config{Tenant: "acme", Lines: []LineSpec{{Line: 1}}}},
		{"batch", Config{Tenant: "acme", Lines: line, Batch: 1001}},
		{"count", Config{Tenant: "acme", Lines: line, Count: -1}},
	}
	for _, tt := range tests {
		if _, err := New(tt.cfg, js); err == nil {
			t.Errorf("%s: New accepted %+v", tt.name, tt.cfg)
		}
	}
	if _, err := New(Config{Tenant: "acme", Lines: line}, nil); err == nil {
		t.Error("New accepted a nil JetStream")
	}
}

// TestPartialBatchAfterMaxDelay: a slow line does not hold detections back longer than
// MaxDelay waiting for a full batch.
func TestPartialBatchAfterMaxDelay(t *testing.T) {
	js := &scriptedJS{attempts: map[string]int{}}
	js.answer = func(string, int) (*jetstream.PubAck, error, error) {
		return &jetstream.PubAck{Stream: "LP_DET"}, nil, nil
	}
	s, err := New(Config{Tenant: "acme", Lines: []LineSpec{{Line: 2, Rate: 1}}, Batch: 5, MaxDelay: 2500 * time.Millisecond,
		Count: 7, FirstID: 1, Sleep: noSleep, Logger: quietLog()}, js)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Detections 1 s apart: the first batch must go 2.5 s after its first detection,
	// with 3 detections; then 3 more; then the last one at the end.
	want := []string{"acme-2-1-3", "acme-2-4-3", "acme-2-7-1"}
	if fmt.Sprint(js.order) != fmt.Sprint(want) {
		t.Fatalf("messages %v, want %v", js.order, want)
	}
}
