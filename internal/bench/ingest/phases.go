package ingest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime/pprof"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/linepulse/linepulse/ingest/sim"
	"github.com/linepulse/linepulse/internal/clock"
)

// publish starts cfg.Publishers simulators, each on its own TCP connection with a
// share of the lines, publishing for d from when they are connected, and returns a
// function that waits for them.
func (r *benchRun) publish(ctx context.Context, d time.Duration, rate float64, firstID uint64, start time.Time, fast bool,
	onPublish func(int64, uint64, int, time.Time)) ([]*sim.Simulator, func() error, error) {
	var sims []*sim.Simulator
	var conns []*nats.Conn
	closeAll := func() {
		for _, nc := range conns {
			nc.Close()
		}
	}
	for p := range r.cfg.Publishers {
		opts, err := sim.DeviceOptions(r.user, r.secret, r.log)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		nc, err := nats.Connect(r.b.ClientURL(), opts...)
		if err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("bench ingest: publisher %d cannot connect: %w", p, err)
		}
		conns = append(conns, nc)
		js, err := jetstream.New(nc)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		// Flat out, batches are always full; paced, a partial batch waits at most 100 ms.
		maxDelay := 100 * time.Millisecond
		if fast {
			maxDelay = time.Hour
		}
		cfg := sim.Config{Tenant: r.slug, Batch: r.cfg.Batch, Window: r.cfg.Window, FirstID: firstID, Start: start, Seed: 1,
			MaxDelay: maxDelay, OnPublish: onPublish, Drain: time.Minute, Logger: r.log}
		for i := p; i < len(r.lines); i += r.cfg.Publishers {
			cfg.Lines = append(cfg.Lines, benchSpec(r.lines[i], rate))
		}
		s, err := sim.New(cfg, js)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		sims = append(sims, s)
	}
	pctx, cancel := context.WithTimeout(ctx, d)
	errs := make(chan error, len(sims))
	for _, s := range sims {
		go func() { errs <- s.Run(pctx) }()
	}
	wait := func() error {
		var all []error
		for range sims {
			all = append(all, <-errs)
		}
		cancel()
		closeAll()
		return errors.Join(all...)
	}
	return sims, wait, nil
}

// benchSpec is the timeline of a bench line: no stops, no jitter, four areas and
// products, 2 % rejects (the raw phase replays the same spec).
func benchSpec(line int64, rate float64) sim.LineSpec {
	return sim.LineSpec{Line: line, Rate: rate, Areas: []int64{1, 2, 3, 4},
		Products:    []sim.Product{{ID: 1, Weight: 4}, {ID: 2, Weight: 3}, {ID: 3, Weight: 2}, {ID: 4, Weight: 1}},
		RejectRatio: 0.02, Camera: "bench-cam"}
}

// fastRate is a per-line rate no publisher reaches: the timeline stays behind the clock
// (event times in the past, never rejected as future) and the simulator never sleeps.
const fastRate = 1e6

func sumAcked(sims []*sim.Simulator) (published, acked int64) {
	for _, s := range sims {
		st := s.Stats()
		published += st.Published
		acked += st.Acked
	}
	return published, acked
}

// throughput is phase 1: publish flat out for --duration, then wait until every
// acknowledged detection is committed. End-to-end = detections / (last commit - first publish).
func (r *benchRun) throughput() error {
	ctx := r.ctx
	r.start = time.Now()
	base := r.writer.Stats().Stored
	edge0 := r.b.EdgeStats()
	stopProfile, err := startCPUProfile(r.cfg.CPUProfile)
	if err != nil {
		return err
	}
	defer stopProfile()
	r.stages.record()
	cpu0 := processCPU()
	sims, wait, err := r.publish(ctx, r.cfg.Duration, fastRate, 1, r.start, true, nil)
	if err != nil {
		return err
	}
	began := time.Now()
	progress := time.NewTicker(5 * time.Second)
	defer progress.Stop()
	waitDone := make(chan error, 1)
	go func() { waitDone <- wait() }()
	for published := false; !published; {
		select {
		case err := <-waitDone:
			if err != nil {
				return fmt.Errorf("bench ingest: publishing: %w", err)
			}
			published = true
		case <-progress.C:
			_, acked := sumAcked(sims)
			r.log.Info("bench ingest: publishing", "acked", acked, "committed", r.writer.Stats().Stored-base)
		}
	}
	pubEnd := time.Now()
	edge1 := r.b.EdgeStats()
	r.res.EdgeWrites, r.res.EdgeMessages = edge1.Writes-edge0.Writes, edge1.Messages-edge0.Messages
	_, total := sumAcked(sims)
	if total == 0 {
		return fmt.Errorf("bench ingest: no detection was acknowledged in --duration %s", r.cfg.Duration)
	}
	atPubEnd := int64(r.writer.Stats().Stored - base)
	lastCommit, err := r.waitStored(ctx, base+uint64(total))
	r.res.CPUPerDetectionUS, r.res.CPUCores = cpuUse(processCPU()-cpu0, total, lastCommit.Sub(began))
	r.res.ThroughputStages = r.stages.stop()
	stopProfile()
	if err != nil {
		return err
	}
	if ws := r.writer.Stats(); ws.Rejected > 0 {
		return fmt.Errorf("bench ingest: the writer rejected %d detections (see the log)", ws.Rejected)
	}
	// Cross-check with the database: every acknowledged detection is stored once.
	var stored int64
	for _, l := range r.lines {
		n, err := r.tdb.CountDetections(ctx, l, r.start.Add(-time.Hour), time.Now().Add(time.Hour))
		if err != nil {
			return err
		}
		stored += n
	}
	if stored != total {
		return fmt.Errorf("bench ingest: %d detections acknowledged but %d stored", total, stored)
	}
	r.res.Detections = total
	r.res.PublishPerSec = float64(total) / pubEnd.Sub(began).Seconds()
	r.res.EndToEndPerSec = float64(total) / lastCommit.Sub(began).Seconds()
	r.res.CommitWhilePublishingPerSec = float64(atPubEnd) / pubEnd.Sub(began).Seconds()
	if drain := lastCommit.Sub(pubEnd); drain > 0 {
		r.res.CommitAfterPublishingPerSec = float64(total-atPubEnd) / drain.Seconds()
	}
	r.log.Info("bench ingest: phase 1 done", "detections", total, "publish_per_s", int(r.res.PublishPerSec),
		"end_to_end_per_s", int(r.res.EndToEndPerSec), "backlog_drain", lastCommit.Sub(pubEnd).Round(time.Millisecond))
	return nil
}

// waitStored polls the writer until it stored want detections and returns when it saw it.
func (r *benchRun) waitStored(ctx context.Context, want uint64) (time.Time, error) {
	deadline := time.Now().Add(drainTimeout)
	for {
		now := time.Now()
		if r.writer.Stats().Stored >= want {
			return now, nil
		}
		if now.After(deadline) {
			return now, fmt.Errorf("bench ingest: after %s the writer stored %d of %d detections", drainTimeout, r.writer.Stats().Stored, want)
		}
		if !clock.Sleep(ctx, pollGap) {
			return now, ctx.Err()
		}
	}
}

// sample is one message of the latency phase: the line's cumulative count once it is
// committed, and when it was sent.
type sample struct {
	upTo int64
	sent time.Time
}

// lineLatency tracks one line's messages and commits during the latency phase.
type lineLatency struct {
	mu        sync.Mutex
	first     uint64
	samples   []sample
	next      int // first sample not yet seen committed
	latencies []time.Duration
}

// latency is phase 2: publish at --latency-rate of the end-to-end rate and measure, per
// message, the time from its publication until the database holds it. A line's
// committed count is read from its minute rollups (written in the same transaction as
// the rows) every few milliseconds; the writer commits a line's messages in stream
// order, so a message is committed once the count reaches its last detection.
func (r *benchRun) latency() error {
	ctx := r.ctx
	rate := r.res.EndToEndPerSec * r.cfg.LatencyShare
	perLine := rate / float64(len(r.lines))
	const firstID = 1 << 40 // far above phase 1's ids
	start := time.Now()
	from, to := r.start.Add(-time.Hour), start.Add(24*time.Hour)
	track := map[int64]*lineLatency{}
	baseline := map[int64]int64{}
	for _, l := range r.lines {
		track[l] = &lineLatency{first: firstID}
		total, _, _, err := r.tdb.RollupTotals(ctx, l, from, to)
		if err != nil {
			return err
		}
		baseline[l] = total
	}
	onPublish := func(line int64, first uint64, n int, at time.Time) {
		t := track[line]
		t.mu.Lock()
		t.samples = append(t.samples, sample{upTo: int64(first-t.first) + int64(n), sent: at})
		t.mu.Unlock()
	}
	r.stages.record()
	sims, wait, err := r.publish(ctx, r.cfg.LatencyDuration, perLine, firstID, start, false, onPublish)
	if err != nil {
		return err
	}
	waitDone := make(chan error, 1)
	go func() { waitDone <- wait() }()

	poll := func() error {
		for _, l := range r.lines {
			total, _, _, err := r.tdb.RollupTotals(ctx, l, from, to)
			if err != nil {
				return err
			}
			seen := time.Now()
			t := track[l]
			t.mu.Lock()
			for ; t.next < len(t.samples) && t.samples[t.next].upTo <= total-baseline[l]; t.next++ {
				t.latencies = append(t.latencies, seen.Sub(t.samples[t.next].sent))
			}
			t.mu.Unlock()
		}
		return nil
	}
	allSeen := func() bool {
		for _, t := range track {
			t.mu.Lock()
			done := t.next == len(t.samples)
			t.mu.Unlock()
			if !done {
				return false
			}
		}
		return true
	}
	published := false
	deadline := time.Time{}
	for {
		if err := poll(); err != nil {
			return err
		}
		if !published {
			select {
			case err := <-waitDone:
				if err != nil {
					return fmt.Errorf("bench ingest: latency phase publishing: %w", err)
				}
				published = true
				deadline = time.Now().Add(drainTimeout)
			default:
			}
		}
		if published && allSeen() {
			break
		}
		if published && time.Now().After(deadline) {
			return fmt.Errorf("bench ingest: latency phase: detections not committed after %s", drainTimeout)
		}
		time.Sleep(latencyPoll)
	}
	r.res.LatencyStages = r.stages.stop()
	var all []time.Duration
	for _, t := range track {
		all = append(all, t.latencies...)
	}
	_, acked := sumAcked(sims)
	r.res.LatencyRatePerSec = rate
	r.res.LatencyDetections = acked
	r.res.LatencyMessages = len(all)
	r.res.P50MS = ms(percentile(all, 0.50))
	r.res.P99MS = ms(percentile(all, 0.99))
	r.log.Info("bench ingest: phase 2 done", "rate_per_s", int(rate), "messages", len(all), "p50_ms", r.res.P50MS, "p99_ms", r.res.P99MS)
	return nil
}

func percentile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	i := int(math.Ceil(q*float64(len(d)))) - 1
	return d[max(i, 0)]
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/float64(time.Microsecond)) / 1000 }

// processCPU is the user and system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuUse is cpu per item in microseconds, and the cores it kept busy over wall.
func cpuUse(cpu time.Duration, items int64, wall time.Duration) (usPerItem, cores float64) {
	if v, ok := fraction(float64(cpu)/float64(time.Microsecond), float64(items)); ok {
		usPerItem = v
	}
	if v, ok := fraction(float64(cpu), float64(wall)); ok {
		cores = v
	}
	return usPerItem, cores
}

// startCPUProfile writes a CPU profile to path until the returned function is called
// (any number of times); "" profiles nothing.
func startCPUProfile(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("bench ingest: cannot create CPU profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("bench ingest: cannot start CPU profile: %w", err)
	}
	var once sync.Once
	return func() { once.Do(func() { pprof.StopCPUProfile(); f.Close() }) }, nil
}
