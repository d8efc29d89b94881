package main

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/linepulse/linepulse/bus"
	"github.com/linepulse/linepulse/ingest"
	"github.com/linepulse/linepulse/ingest/sim"
	"github.com/linepulse/linepulse/store"
)

// benchIngestConfig is everything `linepulse bench ingest` is configured with.
type benchIngestConfig struct {
	mysql, dataDir, format             string
	duration, latencyFor, flush        time.Duration
	lines, batch, publishers           int
	window, pool, writerBatch          int
	syncAlways                         bool
	latencyShare                       float64
	drainTimeout, pollGap, latencyPoll time.Duration
}

func benchIngestCommand() *command {
	c := &command{name: "bench ingest", short: "measure end-to-end ingest (NATS → JetStream → writer → database) against the raw insert ceiling", flags: newFlags("bench ingest")}
	f := c.flags
	var cfg benchIngestConfig
	f.StringVar(&cfg.mysql, "mysql", "", "MySQL/MariaDB DSN (a throwaway tenant database is created and dropped); empty = SQLite in a temporary directory")
	f.StringVar(&cfg.dataDir, "data-dir", "", "directory for the temporary JetStream store and SQLite files (default: the system temp dir); removed afterwards")
	f.DurationVar(&cfg.duration, "duration", 30*time.Second, "how long the publishers push as fast as acknowledgements allow (phase 1), and the raw insert runs at most")
	f.DurationVar(&cfg.latencyFor, "latency-duration", 0, "length of the paced latency phase (0 = half of --duration, at least 5s)")
	f.Float64Var(&cfg.latencyShare, "latency-rate", 0.5, "pace of the latency phase as a fraction of the measured end-to-end rate")
	f.IntVar(&cfg.lines, "lines", 8, "lines of the throwaway tenant")
	f.IntVar(&cfg.batch, "batch", 50, "detections per message (1..1000)")
	f.IntVar(&cfg.publishers, "publishers", 0, "publishing connections, each with its own goroutines (0 = min(lines, 4))")
	f.IntVar(&cfg.window, "window", 512, "messages in flight without acknowledgement, per publisher")
	f.IntVar(&cfg.pool, "pool", ingest.DefaultPoolSize, "writer connections (the raw ceiling uses as many)")
	f.IntVar(&cfg.writerBatch, "writer-batch", ingest.DefaultBatchSize, "writer batch size (the raw ceiling inserts batches of this size)")
	f.DurationVar(&cfg.flush, "flush", ingest.DefaultFlushInterval, "writer flush interval")
	f.BoolVar(&cfg.syncAlways, "sync-always", true, "JetStream fsyncs every message before acknowledging it (the default durability)")
	f.StringVar(&cfg.format, "format", "text", "output format: text or json")
	// The latency phase reads the database each latencyPoll (a few queries per line and
	// round): often enough for a 10 ms resolution, rarely enough not to load it.
	cfg.drainTimeout, cfg.pollGap, cfg.latencyPoll = 5*time.Minute, 2*time.Millisecond, 10*time.Millisecond
	c.run = func(cc *cliContext) error { return benchIngest(cc, cfg) }
	return c
}

// benchResult holds the figures of one run.
type benchResult struct {
	Engine            string  `json:"engine"`
	Lines             int     `json:"lines"`
	Batch             int     `json:"batch"`
	Publishers        int     `json:"publishers"`
	Pool              int     `json:"writer_connections"`
	Detections        int64   `json:"detections"`
	PublishPerSec     float64 `json:"publish_per_s"`
	EndToEndPerSec    float64 `json:"end_to_end_per_s"`
	LatencyRatePerSec float64 `json:"latency_phase_rate_per_s"`
	LatencyDetections int64   `json:"latency_phase_detections"`
	LatencyMessages   int     `json:"latency_phase_messages"`
	P50MS             float64 `json:"p50_commit_latency_ms"`
	P99MS             float64 `json:"p99_commit_latency_ms"`
	RawRows           int64   `json:"raw_rows"`
	RawPerSec         float64 `json:"raw_insert_rows_per_s"`
	Ratio             float64 `json:"ratio"`
	DiskFsyncPerSec   float64 `json:"disk_fsync_per_s"`
	// The writer's commit rate while the publishers ran and while it drained what they
	// left: far apart when reads of the stream wait behind its fsyncs.
	CommitWhilePublishingPerSec float64 `json:"commit_while_publishing_per_s"`
	CommitAfterPublishingPerSec float64 `json:"commit_after_publishing_per_s"`
	Summary                     string  `json:"summary"`
	rawBatch, rawLines          int
}

// benchRun is the state of one bench ingest run.
type benchRun struct {
	cc     *cliContext
	cfg    benchIngestConfig
	st     *store.Store
	tdb    *store.TenantDB
	slug   string
	b      *bus.Bus
	user   string
	secret string
	lines  []int64 // lines the pipeline writes
	raw    []int64 // twin lines for the raw ceiling
	writer *ingest.Writer
	// stopWriter stops the writer and returns Run's error.
	stopWriter func() error
	start      time.Time // phase 1 timeline start (the raw phase replays it)
	res        benchResult
}

func benchIngest(cc *cliContext, cfg benchIngestConfig) (err error) {
	if cfg.lines < 1 || cfg.batch < 1 || cfg.batch > sim.MaxBatch || cfg.duration <= 0 || cfg.pool < 1 || cfg.writerBatch < 1 {
		return fmt.Errorf("bench ingest: need --lines >= 1, --batch 1..%d, --duration > 0, --pool >= 1, --writer-batch >= 1", sim.MaxBatch)
	}
	if !(cfg.latencyShare > 0 && cfg.latencyShare <= 1) {
		return errors.New("bench ingest: --latency-rate must be within (0, 1]")
	}
	if cfg.publishers <= 0 {
		cfg.publishers = min(cfg.lines, 4)
	}
	cfg.publishers = min(cfg.publishers, cfg.lines)
	if cfg.latencyFor <= 0 {
		cfg.latencyFor = max(cfg.duration/2, 5*time.Second)
	}
	r := &benchRun{cc: cc, cfg: cfg}
	r.res = benchResult{Lines: cfg.lines, Batch: cfg.batch, Publishers: cfg.publishers, Pool: cfg.pool}
	defer func() { err = errors.Join(err, r.cleanup()) }()
	if err := r.setup(); err != nil {
		return err
	}
	if cfg.syncAlways {
		if r.res.DiskFsyncPerSec, err = fsyncRate(r.cfg.dataDir, time.Second); err != nil {
			return err
		}
	}
	if err := r.throughput(); err != nil {
		return err
	}
	if err := r.latency(); err != nil {
		return err
	}
	if err := r.rawCeiling(); err != nil {
		return err
	}
	res := &r.res
	res.Ratio = res.EndToEndPerSec / res.RawPerSec
	res.Summary = fmt.Sprintf("ingest: %.0f detections/s end-to-end, raw insert %.0f rows/s, ratio %.2f, p99 commit latency %.0f ms",
		res.EndToEndPerSec, res.RawPerSec, res.Ratio, res.P99MS)
	if cfg.format == "json" {
		enc := json.NewEncoder(cc.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	fmt.Fprintf(cc.stdout, "engine %s, %d lines, %d detections per message, %d publishers, %d writer connections\n",
		res.Engine, res.Lines, res.Batch, res.Publishers, res.Pool)
	if res.DiskFsyncPerSec > 0 {
		fmt.Fprintf(cc.stdout, "disk: %.0f fsync/s in the JetStream directory; with an fsync per message, durable publishing stays below about %.0f detections/s\n",
			res.DiskFsyncPerSec, res.DiskFsyncPerSec*float64(res.Batch))
	}
	fmt.Fprintf(cc.stdout, "end-to-end: %d detections published at %.0f/s, all committed: %.0f detections/s (%.2f of the publish rate)\n",
		res.Detections, res.PublishPerSec, res.EndToEndPerSec, res.EndToEndPerSec/res.PublishPerSec)
	fmt.Fprintf(cc.stdout, "writer: %.0f detections/s committed while publishing, %.0f/s draining the backlog afterwards\n",
		res.CommitWhilePublishingPerSec, res.CommitAfterPublishingPerSec)
	fmt.Fprintf(cc.stdout, "latency at %.0f/s: %d detections in %d messages, publish→commit p50 %.1f ms, p99 %.1f ms\n",
		res.LatencyRatePerSec, res.LatencyDetections, res.LatencyMessages, res.P50MS, res.P99MS)
	fmt.Fprintf(cc.stdout, "raw: %d rows in batches of %d into %d twin lines over %d connections: %.0f rows/s\n",
		res.RawRows, res.rawBatch, res.rawLines, res.Pool, res.RawPerSec)
	fmt.Fprintln(cc.stdout, res.Summary)
	return nil
}

// fsyncRate measures how many small appends followed by fsync the disk under dir takes
// per second: JetStream's bound when it syncs every message before acknowledging it.
func fsyncRate(dir string, d time.Duration) (float64, error) {
	f, err := os.CreateTemp(dir, "fsync-probe-*")
	if err != nil {
		return 0, fmt.Errorf("bench ingest: fsync probe: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	rec := make([]byte, 2500) // about a 50-detection message
	n, start := 0, time.Now()
	for time.Since(start) < d {
		if _, err := f.Write(rec); err != nil {
			return 0, fmt.Errorf("bench ingest: fsync probe: %w", err)
		}
		if err := f.Sync(); err != nil {
			return 0, fmt.Errorf("bench ingest: fsync probe: %w", err)
		}
		n++
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// setup opens the store, creates the throwaway tenant and its lines, starts the bus on
// a loopback port and the writer.
func (r *benchRun) setup() error {
	ctx, cfg := r.cc.ctx, r.cfg
	parent := cfg.dataDir
	if parent != "" {
		if err := os.MkdirAll(parent, 0o755); err != nil {
			return err
		}
	}
	dir, err := os.MkdirTemp(parent, "linepulse-bench-*")
	if err != nil {
		return fmt.Errorf("bench ingest: temporary directory: %w", err)
	}
	r.cfg.dataDir = dir // removed by cleanup
	quiet := r.cc.log.With("component", "bench")
	if r.st, err = store.Open(ctx, store.Config{MySQLDSN: cfg.mysql, DataDir: filepath.Join(dir, "db"), Logger: quiet}); err != nil {
		return err
	}
	if err := r.st.MigrateAll(ctx); err != nil {
		return err
	}
	r.res.Engine = "sqlite"
	if cfg.mysql != "" {
		r.res.Engine = "mysql"
	}
	r.slug = "bench-" + strings.ToLower(rand.Text()[:8])
	ten := store.Tenant{Slug: r.slug, Name: "bench ingest (throwaway)"}
	if err := r.st.CreateTenant(ctx, &ten); err != nil {
		return err
	}
	if r.tdb, err = r.st.Tenant(ctx, ten.ID); err != nil {
		return err
	}
	for i := range 2 * cfg.lines {
		l := store.Line{Name: fmt.Sprintf("bench %d", i+1), Availability: 1, Performance: 1, Quality: 1,
			DowntimeThresholdMS: 30000, IdealCycleTimeMS: 1, Active: true}
		if err := r.tdb.CreateLine(ctx, &l); err != nil {
			return err
		}
		if i < cfg.lines {
			r.lines = append(r.lines, l.ID)
		} else {
			r.raw = append(r.raw, l.ID)
		}
	}

	r.user, r.secret = bus.DeviceUser(r.slug, "bench"), rand.Text()
	bcfg := bus.DefaultConfig()
	bcfg.Listen, bcfg.StoreDir, bcfg.SyncAlways = "127.0.0.1:0", filepath.Join(dir, "jetstream"), cfg.syncAlways
	bcfg.Devices = benchDevice{user: r.user, secret: r.secret}
	bcfg.Logger = slog.New(minLevel{r.cc.log.Handler(), slog.LevelWarn})
	if r.b, err = bus.New(bcfg); err != nil {
		return err
	}
	if err := r.b.Start(ctx); err != nil {
		return err
	}
	nc, err := r.b.Connect("linepulse-bench-writer")
	if err != nil {
		return err
	}
	r.writer, err = ingest.NewWriter(ingest.WriterConfig{BatchSize: cfg.writerBatch, FlushInterval: cfg.flush, PoolSize: cfg.pool, Logger: quiet}, nc, r.st)
	if err != nil {
		nc.Close()
		return err
	}
	wctx, stopWriter := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- r.writer.Run(wctx); nc.Close() }()
	r.stopWriter = func() error { stopWriter(); return <-done }
	r.cc.log.Info("bench ingest: ready", "engine", r.res.Engine, "tenant", r.slug, "nats", r.b.ClientURL(), "lines", cfg.lines, "batch", cfg.batch)
	return nil
}

// publish starts cfg.publishers simulators, each on its own TCP connection with a
// share of the lines, and returns a function that waits for them.
func (r *benchRun) publish(ctx context.Context, rate float64, firstID uint64, start time.Time, fast bool,
	onPublish func(int64, uint64, int, time.Time)) ([]*sim.Simulator, func() error, error) {
	var sims []*sim.Simulator
	var conns []*nats.Conn
	closeAll := func() {
		for _, nc := range conns {
			nc.Close()
		}
	}
	for p := range r.cfg.publishers {
		opts, err := sim.DeviceOptions(r.user, r.secret, r.cc.log)
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
		cfg := sim.Config{Tenant: r.slug, Batch: r.cfg.batch, Window: r.cfg.window, FirstID: firstID, Start: start, Seed: 1,
			MaxDelay: maxDelay, OnPublish: onPublish, Drain: time.Minute, Logger: r.cc.log}
		for i := p; i < len(r.lines); i += r.cfg.publishers {
			cfg.Lines = append(cfg.Lines, benchSpec(r.lines[i], rate))
		}
		s, err := sim.New(cfg, js)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		sims = append(sims, s)
	}
	errs := make(chan error, len(sims))
	for _, s := range sims {
		go func() { errs <- s.Run(ctx) }()
	}
	wait := func() error {
		var all []error
		for range sims {
			all = append(all, <-errs)
		}
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
	ctx := r.cc.ctx
	r.start = time.Now()
	pctx, cancel := context.WithTimeout(ctx, r.cfg.duration)
	defer cancel()
	base := r.writer.Stats().Stored
	sims, wait, err := r.publish(pctx, fastRate, 1, r.start, true, nil)
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
			r.cc.log.Info("bench ingest: publishing", "acked", acked, "committed", r.writer.Stats().Stored-base)
		}
	}
	pubEnd := time.Now()
	_, total := sumAcked(sims)
	atPubEnd := int64(r.writer.Stats().Stored - base)
	lastCommit, err := r.waitStored(ctx, base+uint64(total))
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
	r.cc.log.Info("bench ingest: phase 1 done", "detections", total, "publish_per_s", int(r.res.PublishPerSec),
		"end_to_end_per_s", int(r.res.EndToEndPerSec), "backlog_drain", lastCommit.Sub(pubEnd).Round(time.Millisecond))
	return nil
}

// waitStored polls the writer until it stored want detections and returns when it saw it.
func (r *benchRun) waitStored(ctx context.Context, want uint64) (time.Time, error) {
	deadline := time.Now().Add(r.cfg.drainTimeout)
	for {
		now := time.Now()
		if r.writer.Stats().Stored >= want {
			return now, nil
		}
		if now.After(deadline) {
			return now, fmt.Errorf("bench ingest: after %s the writer stored %d of %d detections", r.cfg.drainTimeout, r.writer.Stats().Stored, want)
		}
		select {
		case <-ctx.Done():
			return now, ctx.Err()
		case <-time.After(r.cfg.pollGap):
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
	ctx := r.cc.ctx
	rate := r.res.EndToEndPerSec * r.cfg.latencyShare
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
	pctx, cancel := context.WithTimeout(ctx, r.cfg.latencyFor)
	defer cancel()
	sims, wait, err := r.publish(pctx, perLine, firstID, start, false, onPublish)
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
				deadline = time.Now().Add(r.cfg.drainTimeout)
			default:
			}
		}
		if published && allSeen() {
			break
		}
		if published && time.Now().After(deadline) {
			return fmt.Errorf("bench ingest: latency phase: detections not committed after %s", r.cfg.drainTimeout)
		}
		time.Sleep(r.cfg.latencyPoll)
	}
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
	r.cc.log.Info("bench ingest: phase 2 done", "rate_per_s", int(rate), "messages", len(all), "p50_ms", r.res.P50MS, "p99_ms", r.res.P99MS)
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

// rawCeiling replays phase 1's detections (same generator, seed and start) into the twin
// lines with store.WriteDetections, in batches of the writer's size, from as many
// goroutines as the writer has connections (each owns a share of the lines, as the
// writer never writes one line twice at once), through the same kind of dedicated
// pool. No NATS in the path. It stops after the same number of rows or --duration.
func (r *benchRun) rawCeiling() error {
	ctx := r.cc.ctx
	pool, err := r.tdb.NewWriterPool(ctx, r.cfg.pool)
	if err != nil {
		return err
	}
	defer pool.Close()
	perLine := r.res.Detections / int64(len(r.raw))
	rctx, cancel := context.WithTimeout(ctx, r.cfg.duration)
	defer cancel()
	type result struct {
		rows int64
		err  error
	}
	results := make(chan result, r.cfg.pool)
	began := time.Now()
	for g := range r.cfg.pool {
		var lines []int64
		for i := g; i < len(r.raw); i += r.cfg.pool {
			lines = append(lines, r.raw[i])
		}
		go func() {
			n, err := r.rawWorker(rctx, pool, lines, perLine)
			results <- result{n, err}
		}()
	}
	var rows int64
	var all []error
	for range r.cfg.pool {
		res := <-results
		rows += res.rows
		all = append(all, res.err)
	}
	elapsed := time.Since(began)
	if err := errors.Join(all...); err != nil {
		return fmt.Errorf("bench ingest: raw insert: %w", err)
	}
	r.res.RawRows = rows
	r.res.RawPerSec = float64(rows) / elapsed.Seconds()
	r.res.rawBatch, r.res.rawLines = r.cfg.writerBatch, len(r.raw)
	r.cc.log.Info("bench ingest: raw ceiling done", "rows", rows, "rows_per_s", int(r.res.RawPerSec))
	return nil
}

// rawWorker writes perLine rows into each of its lines, batch by batch, round-robin
// over the lines, until done or ctx ends; it returns the rows inserted.
func (r *benchRun) rawWorker(ctx context.Context, pool *store.WriterPool, lines []int64, perLine int64) (int64, error) {
	type gen struct {
		line int64
		g    *sim.Generator
		done int64
	}
	var gens []*gen
	for _, l := range lines {
		sg, err := sim.NewGenerator(benchSpec(l, fastRate), 1, r.start, 1)
		if err != nil {
			return 0, err
		}
		gens = append(gens, &gen{line: l, g: sg})
	}
	var n int64
	batch := make([]store.Detection, 0, r.cfg.writerBatch)
	for active := true; active && ctx.Err() == nil; {
		active = false
		for _, x := range gens {
			if x.done >= perLine {
				continue
			}
			active = true
			batch = batch[:0]
			for ; len(batch) < r.cfg.writerBatch && x.done < perLine; x.done++ {
				d, _ := x.g.Next()
				batch = append(batch, d)
			}
			res, err := r.tdb.WriteDetections(ctx, pool, x.line, batch)
			if err != nil {
				if ctx.Err() != nil {
					return n, nil // --duration is up
				}
				return n, err
			}
			n += int64(res.Inserted)
		}
	}
	return n, nil
}

// cleanup stops the writer and the bus, drops the throwaway tenant and removes the
// temporary directory.
func (r *benchRun) cleanup() error {
	var errs []error
	if r.stopWriter != nil {
		errs = append(errs, r.stopWriter())
	}
	if r.b != nil {
		errs = append(errs, r.b.Close())
	}
	if r.st != nil {
		if r.tdb != nil {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			errs = append(errs, r.st.DeleteTenant(ctx, r.tdb.ID()))
			cancel()
		}
		errs = append(errs, r.st.Close())
	}
	if r.cfg.dataDir != "" && strings.Contains(filepath.Base(r.cfg.dataDir), "linepulse-bench-") {
		errs = append(errs, os.RemoveAll(r.cfg.dataDir))
	}
	return errors.Join(errs...)
}

// benchDevice authenticates the bench's one device.
type benchDevice struct{ user, secret string }

func (d benchDevice) AuthenticateDevice(_ context.Context, user, password string) (bus.Device, error) {
	if user != d.user || subtle.ConstantTimeCompare([]byte(password), []byte(d.secret)) != 1 {
		return bus.Device{}, errors.New("bench: unknown device")
	}
	tenant, name, _ := bus.ParseDeviceUser(user)
	return bus.Device{Tenant: tenant, Name: name}, nil
}

// minLevel raises a handler's minimum level (the embedded NATS server is chatty at info).
type minLevel struct {
	slog.Handler
	min slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(a []slog.Attr) slog.Handler {
	return minLevel{h.Handler.WithAttrs(a), h.min}
}
func (h minLevel) WithGroup(n string) slog.Handler { return minLevel{h.Handler.WithGroup(n), h.min} }
