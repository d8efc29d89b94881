package main

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/linepulse/linepulse/internal/testkit"
)

// recorder notes the order in which components start and stop.
type recorder struct {
	mu     sync.Mutex
	events []string
}

func (r *recorder) add(e string) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

func (r *recorder) component(name string) component {
	return component{
		name:  name,
		start: func(context.Context) error { r.add("start " + name); return nil },
		run: func(ctx context.Context) error {
			<-ctx.Done()
			r.add("run done " + name)
			return nil
		},
		stop: func(context.Context) error { r.add("stop " + name); return nil },
	}
}

func TestSupervisorStopsInReverseOrder(t *testing.T) {
	r := &recorder{}
	ctx, cancel := context.WithCancel(context.Background())
	sup := &supervisor{log: slog.New(slog.DiscardHandler), stopTimeout: 5 * time.Second}
	done := make(chan error)
	go func() { done <- sup.runAll(ctx, []component{r.component("a"), r.component("b"), r.component("c")}) }()
	testkit.CheckFor(t, time.Minute, time.Millisecond, func() error {
		r.mu.Lock()
		defer r.mu.Unlock()
		return testkit.Unless(len(r.events) == 3, "events %v, want the three starts", r.events)
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	want := []string{"start a", "start b", "start c", "stop c", "run done c", "stop b", "run done b", "stop a", "run done a"}
	if !slices.Equal(r.events, want) {
		t.Fatalf("order %v, want %v", r.events, want)
	}
}

func TestSupervisorFailedStartStopsWhatStarted(t *testing.T) {
	r := &recorder{}
	boom := component{name: "boom", start: func(context.Context) error { return errors.New("cannot listen") }}
	sup := &supervisor{log: slog.New(slog.DiscardHandler), stopTimeout: 5 * time.Second}
	err := sup.runAll(context.Background(), []component{r.component("a"), boom, r.component("never")})
	if err == nil || err.Error() != "cannot listen" {
		t.Fatalf("error %v", err)
	}
	want := []string{"start a", "stop a", "run done a"}
	if !slices.Equal(r.events, want) {
		t.Fatalf("order %v, want %v", r.events, want)
	}
}

func TestSupervisorStopDeadline(t *testing.T) {
	stuck := component{name: "stuck", run: func(context.Context) error { select {} }}
	sup := &supervisor{log: slog.New(slog.DiscardHandler), stopTimeout: 50 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := sup.runAll(ctx, []component{stuck}); err == nil {
		t.Fatal("a component that ignores its context must be reported")
	}
}
