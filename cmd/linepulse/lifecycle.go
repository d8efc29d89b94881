package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// component is one part of the serve process. start runs synchronously in start order
// (so a later component can rely on an earlier one being ready); run, if set, blocks until
// its context ends; stop, if set, releases what start took. Components stop in reverse
// start order, each under its own deadline: first stop is called (it may be what ends run,
// as http.Server.Shutdown ends Serve, so it must be safe while run runs), then run's
// context is cancelled and run awaited. A component is fully stopped before the one
// started before it is touched.
type component struct {
	name  string
	start func(ctx context.Context) error
	run   func(ctx context.Context) error
	stop  func(ctx context.Context) error
}

type supervisor struct {
	log         *slog.Logger
	stopTimeout time.Duration
	started     []*running
}

type running struct {
	c      component
	cancel context.CancelFunc
	done   chan error
}

// runAll starts the components in order and runs until ctx ends or one of them fails;
// then it stops the started ones in reverse order. It returns the first failure.
func (s *supervisor) runAll(ctx context.Context, comps []component) error {
	failed := make(chan error, len(comps))
	var firstErr error
	for _, c := range comps {
		if c.start != nil {
			if err := c.start(ctx); err != nil {
				s.log.Debug("start failed", "component", c.name)
				firstErr = err
				break
			}
		}
		r := &running{c: c, done: make(chan error, 1)}
		if c.run != nil {
			rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
			r.cancel = cancel
			go func() {
				err := c.run(rctx)
				if err != nil && rctx.Err() == nil {
					failed <- fmt.Errorf("%s: %w", c.name, err)
				}
				r.done <- err
			}()
		} else {
			r.done <- nil
		}
		s.started = append(s.started, r)
		s.log.Debug("started", "component", c.name)
	}
	if firstErr == nil {
		select {
		case <-ctx.Done():
			s.log.Info("shutting down")
		case firstErr = <-failed:
			s.log.Error("component failed, shutting down", "err", firstErr)
		}
	}
	return errors.Join(firstErr, s.stopAll())
}

func (s *supervisor) stopAll() error {
	var errs []error
	for i := len(s.started) - 1; i >= 0; i-- {
		r := s.started[i]
		ctx, cancel := context.WithTimeout(context.Background(), s.stopTimeout)
		// stop first: it may be what makes run return (http.Server.Shutdown ends Serve).
		// Cancelling run at the same time would race it, and "stop, then run ends" is the
		// order every component can rely on.
		if r.c.stop != nil {
			if err := r.c.stop(ctx); err != nil {
				errs = append(errs, fmt.Errorf("stopping %s: %w", r.c.name, err))
			}
		}
		if r.cancel != nil {
			r.cancel()
		}
		select {
		case <-r.done:
		case <-ctx.Done():
			errs = append(errs, fmt.Errorf("%s did not stop within %s", r.c.name, s.stopTimeout))
		}
		cancel()
		s.log.Debug("stopped", "component", r.c.name)
	}
	s.started = nil
	return errors.Join(errs...)
}
