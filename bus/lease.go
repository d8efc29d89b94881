package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/linepulse/linepulse/internal/clock"
)

// LeaseBucket is the JetStream KV bucket of leases: one key per singleton job (the KPI
// engine), holding the id of the instance that runs it.
const LeaseBucket = "LP_LEASE"

// LeaseConfig configures RunAsLeader.
type LeaseConfig struct {
	// Name is the job's key in LeaseBucket, e.g. "kpi-engine" ([A-Za-z0-9_-]).
	Name string
	// Holder identifies this instance in the lease (logged by the others).
	Holder string
	// TTL is how long a lease outlives its holder's last renewal: the longest a crashed
	// holder blocks the job. Renewals happen every TTL/3. Default 15s, at least 1s.
	TTL time.Duration
	// Logger. Default slog.Default().
	Logger *slog.Logger
	// Held, if set, is told when this instance starts (true) and stops (false) running
	// the job, e.g. for a metric.
	Held func(bool)
}

// RunAsLeader runs job only while this instance holds the lease cfg.Name, so that among
// several instances sharing one NATS exactly one runs it. Instances without the lease
// wait and try again every TTL/3; the holder renews it every TTL/3 and, when a renewal
// fails (NATS unreachable, or the lease was taken over after expiring), cancels job's
// context at once and competes again once job has returned. On ctx's end job is
// stopped and the lease released, so a standby takes over within TTL/3.
//
// It returns nil when ctx ends, or job's error when job fails while leading (the lease
// is released first).
func RunAsLeader(ctx context.Context, nc *nats.Conn, cfg LeaseConfig, job func(context.Context) error) error {
	if cfg.TTL <= 0 {
		cfg.TTL = 15 * time.Second
	}
	cfg.TTL = max(cfg.TTL, time.Second)
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	log := cfg.Logger.With("lease", cfg.Name, "holder", cfg.Holder)
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("bus: lease %s: %w", cfg.Name, err)
	}
	every := cfg.TTL / 3
	var kv jetstream.KeyValue
	standbyLogged := false
	for {
		if kv == nil {
			kv, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: LeaseBucket, Description: "LinePulse singleton jobs: who runs them", History: 1, TTL: cfg.TTL})
			if err != nil && ctx.Err() == nil {
				log.Warn("bus: cannot open the lease bucket; retrying", "err", err)
			}
		}
		if kv != nil {
			rev, holder, err := acquire(ctx, kv, cfg.Name, cfg.Holder)
			switch {
			case err == nil:
				log.Info("bus: lease acquired; running the job")
				standbyLogged = false
				held(cfg, true)
				err := lead(ctx, kv, cfg.Name, cfg.Holder, rev, every, log, job)
				held(cfg, false)
				if err != nil || ctx.Err() != nil {
					return err
				}
			case errors.Is(err, errLeaseHeld):
				if !standbyLogged {
					log.Info("bus: standing by: another instance holds the lease", "by", holder)
					standbyLogged = true
				}
			case ctx.Err() == nil:
				log.Warn("bus: cannot acquire the lease; retrying", "err", err)
			}
		}
		if !clock.Sleep(ctx, every) {
			return nil
		}
	}
}

var errLeaseHeld = errors.New("bus: lease held by another instance")

func held(cfg LeaseConfig, h bool) {
	if cfg.Held != nil {
		cfg.Held(h)
	}
}

// acquire takes the lease if nobody holds it, or if this holder still does (a renewal
// lost to a NATS outage that ended before the lease expired).
func acquire(ctx context.Context, kv jetstream.KeyValue, name, holder string) (rev uint64, by string, err error) {
	rev, err = kv.Create(ctx, name, []byte(holder))
	if err == nil || !errors.Is(err, jetstream.ErrKeyExists) {
		return rev, "", err
	}
	e, err := kv.Get(ctx, name)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return 0, "", errLeaseHeld // released or expired just now: next round
	}
	if err != nil {
		return 0, "", err
	}
	if string(e.Value()) != holder {
		return 0, string(e.Value()), errLeaseHeld
	}
	rev, err = kv.Update(ctx, name, []byte(holder), e.Revision())
	return rev, "", err
}

// lead runs job while renewing the lease. It returns job's error, or nil after job
// stopped because ctx ended or the lease was lost.
func lead(ctx context.Context, kv jetstream.KeyValue, name, holder string, rev uint64, every time.Duration, log *slog.Logger, job func(context.Context) error) error {
	jctx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- job(jctx) }()
	t := time.NewTicker(every)
	defer t.Stop()
	var jobErr error
	lost := false
loop:
	for {
		select {
		case jobErr = <-done:
			done = nil
			break loop
		case <-ctx.Done():
			break loop
		case <-t.C:
			rctx, cancel := context.WithTimeout(ctx, every)
			next, err := kv.Update(rctx, name, []byte(holder), rev)
			cancel()
			if err != nil {
				if ctx.Err() != nil {
					break loop
				}
				log.Warn("bus: lease lost; stopping the job", "err", err)
				lost = true
				break loop
			}
			rev = next
		}
	}
	stop()
	if done != nil {
		jobErr = <-done
	}
	if !lost {
		// Release at once, so that a standby need not wait for the TTL.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		if err := kv.Delete(rctx, name, jetstream.LastRevision(rev)); err != nil {
			log.Warn("bus: cannot release the lease; it expires by itself", "err", err)
		} else {
			log.Info("bus: lease released")
		}
		cancel()
	}
	if jobErr != nil {
		return fmt.Errorf("bus: job of lease %s: %w", name, jobErr)
	}
	return nil
}
