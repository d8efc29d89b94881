package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/semaphore"

	"github.com/linepulse/linepulse/bus"
	"github.com/linepulse/linepulse/detection"
	"github.com/linepulse/linepulse/internal/clock"
	"github.com/linepulse/linepulse/store"
)

// Writer defaults. BatchSize, FlushInterval and MaxAckPending were chosen with
// BenchmarkWriterFlush and BenchmarkWriter (see bench_test.go for the figures).
const (
	DefaultBatchSize       = 2000
	DefaultFlushInterval   = 50 * time.Millisecond
	DefaultPoolSize        = 2
	DefaultMaxAckPending   = 50000
	DefaultDurable         = "lp-writer"
	DefaultAckWait         = 30 * time.Second
	DefaultMaxPendingBytes = 64 << 20

	// finalFlushTimeout bounds the last flush after Run's context ends; what is not
	// committed by then is negatively acknowledged (redelivered at once to the next writer).
	finalFlushTimeout = 5 * time.Second
	// writeTimeout bounds one write attempt, so a hung connection is retried.
	writeTimeout = 30 * time.Second
	// msgOverhead is added to each message's weight in the pending-bytes account (twice
	// its size: the message and its decoded rows), for bookkeeping.
	msgOverhead = 512
	// pullBatch is how many messages the client buffers ahead of the decoder.
	pullBatch = 1000

	backoffMin = 100 * time.Millisecond
	backoffMax = 5 * time.Second
	// missingTenantTTL: how long an unknown tenant slug is remembered as unknown.
	missingTenantTTL = 5 * time.Second
	// lineRecheck: how long a reload's verdict "this line does not exist" is trusted.
	lineRecheck = 2 * time.Second
	// reloadGap: the least time between two forced metadata reloads of a tenant.
	reloadGap = 100 * time.Millisecond
	lagPoll   = 5 * time.Second
	warnEvery = 30 * time.Second
)

// WriterConfig configures NewWriter. Zero fields take the defaults.
type WriterConfig struct {
	// BatchSize is the most detections per line written in one transaction (messages are
	// never split, so one message larger than this is a batch of its own). Default 2000.
	BatchSize int
	// FlushInterval is the longest a detection waits in a partial batch while the writer
	// reads a backlog. Once it has taken every message the stream holds, the lines flush
	// at once (unless HoldPartial). Default 50ms.
	FlushInterval time.Duration
	// HoldPartial keeps a partial batch for FlushInterval even when the writer has caught
	// up with the stream (tests that need a message to wait in a batch; comparisons). By
	// default a line flushes as soon as the writer has taken every message the stream
	// holds: group commit, what arrives during its transaction forms the next batch
	// (bench ingest: writer.queue p50 57 → 2–7 ms at half the sustained rate).
	HoldPartial bool
	// PoolSize is the number of dedicated writer connections per tenant (a puddle pool):
	// at most this many lines of a tenant are written at once. Default 2.
	PoolSize int
	// MaxAckPending is the JetStream consumer's limit of delivered, unacknowledged
	// messages. Default 50000.
	MaxAckPending int
	// Durable is the durable consumer's name on stream LP_DET. Default "lp-writer".
	Durable string
	// Logger. Default slog.Default().
	Logger *slog.Logger
	// Registerer receives the linepulse_ingest_* metrics; nil = no metrics.
	Registerer prometheus.Registerer
	// Clock is the writer's one clock: the dead letters' received_at, the flush interval,
	// keep-alives, backoffs and the final flush's deadline. Default clock.Real. (Timestamps
	// are judged against each message's stream time, as the engine does: detection.WindowAt.)
	Clock clock.Clock

	// AckWait is the consumer's redelivery timeout. Messages held longer (a batch waiting
	// for the database) are kept alive with InProgress. It is also how long messages
	// that a crashed writer held wait before another writer gets them. Default 30s.
	AckWait time.Duration
	// MaxPendingBytes bounds the bytes of received, unacknowledged messages held in
	// memory; the writer stops pulling at this bound (during a database outage).
	// Default 64 MiB, at least 1 MiB.
	MaxPendingBytes int64
	// Observe, when set, receives the writer's stage timings (for benchmarks): per
	// message "writer.deliver", from its stream time until the writer took it; per
	// batch "writer.queue", how long its oldest message waited for the flush, and
	// "writer.commit", the write (connection wait, INSERT, rollups, COMMIT). It must be
	// quick and safe for concurrent use.
	Observe func(stage string, d time.Duration)
}

func (c *WriterConfig) defaults() {
	if c.BatchSize <= 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.FlushInterval <= 0 {
		c.FlushInterval = DefaultFlushInterval
	}
	if c.PoolSize <= 0 {
		c.PoolSize = DefaultPoolSize
	}
	if c.MaxAckPending <= 0 {
		c.MaxAckPending = DefaultMaxAckPending
	}
	if c.Durable == "" {
		c.Durable = DefaultDurable
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	c.Clock = clock.Or(c.Clock)
	if c.AckWait <= 0 {
		c.AckWait = DefaultAckWait
	}
	if c.MaxPendingBytes <= 0 {
		c.MaxPendingBytes = DefaultMaxPendingBytes
	}
	c.MaxPendingBytes = max(c.MaxPendingBytes, 1<<20)
}

// Writer is the batch writer: a durable JetStream pull consumer on LP_DET that decodes
// device messages, dead-letters what is invalid, and stores detections exactly once.
//
// Detections are grouped per (tenant, line); each line has one goroutine that flushes
// its batch when it reaches BatchSize or has waited FlushInterval, so there is never
// more than one transaction per line (concurrent rollup upserts on the same keys
// deadlock in InnoDB), while different lines write in parallel through the tenant's
// pool of PoolSize dedicated connections. A message is acknowledged only after the
// transaction holding its detections committed; a message with nothing to store
// (everything rejected, unknown line) after its dead letters were published.
//
// A failed write is retried with capped exponential backoff (deadlocks and lock
// timeouts included) for as long as it takes: nothing is acknowledged meanwhile, the
// writer keeps pulling until MaxPendingBytes are held, then waits, and catches up when
// the database returns. Exactly-once storage needs no more than this: a message
// redelivered after a crash is stored again as duplicates, which the store skips.
type Writer struct {
	cfg  WriterConfig
	clk  clock.Clock
	nc   *nats.Conn
	js   jetstream.JetStream
	st   *store.Store
	meta *store.MetaCache
	log  *slog.Logger
	m    *writerMetrics

	count        counters
	sem          *semaphore.Weighted
	pendingBytes atomic.Int64
	started      atomic.Bool

	// Set by Run.
	soft context.Context // ends when lines must stop waiting and flush what they hold
	hard context.Context // ends when even the final flush must give up
	wg   sync.WaitGroup  // line goroutines

	mu      sync.Mutex
	tenants map[string]*tenantState // by slug
	lines   map[lineKey]*lineWriter
	// closedPools keeps the wait totals of pools already closed (counters never go down).
	closedPools poolTotals

	scratch []detection.Detection // decoder output, fetch goroutine only
	dirty   []*lineWriter         // lines given rows since the stream was last caught up; fetch goroutine only
}

type lineKey struct {
	tenant int64
	line   int64
}

// NewWriter checks the configuration and registers the metrics. It does not touch NATS
// or the database: Run does.
func NewWriter(cfg WriterConfig, nc *nats.Conn, st *store.Store) (*Writer, error) {
	if nc == nil || st == nil {
		return nil, errors.New("ingest: NewWriter needs a NATS connection and a store")
	}
	cfg.defaults()
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("ingest: cannot open JetStream: %w", err)
	}
	w := &Writer{
		cfg: cfg, clk: cfg.Clock, nc: nc, js: js, st: st,
		meta:    store.NewMetaCache(st),
		log:     cfg.Logger.With("component", "ingest"),
		sem:     semaphore.NewWeighted(cfg.MaxPendingBytes),
		tenants: map[string]*tenantState{},
		lines:   map[lineKey]*lineWriter{},
	}
	if w.m, err = newWriterMetrics(w, cfg.Registerer); err != nil {
		return nil, err
	}
	return w, nil
}

// Stats returns the cumulative counters.
func (w *Writer) Stats() WriterStats {
	c := &w.count
	return WriterStats{
		Messages: c.messages.Load(), Received: c.received.Load(), Stored: c.stored.Load(),
		Duplicates: c.duplicates.Load(), Rejected: c.rejected.Load(), DBErrors: c.dbErrors.Load(),
		Batches: c.batches.Load(),
	}
}

// Run consumes until ctx ends, then flushes what it holds (for at most 5 s; what is not
// committed by then is negatively acknowledged for immediate redelivery) and returns
// nil. Database errors never end it. It returns an error only when the NATS connection
// is closed under it. Run may be called once.
func (w *Writer) Run(ctx context.Context) error {
	if !w.started.CompareAndSwap(false, true) {
		return errors.New("ingest: Writer.Run called twice")
	}
	// soft ends after the fetch loop returned (so no message is added to a line that
	// already drained); hard ends when the final flush must give up.
	soft, softCancel := context.WithCancel(context.WithoutCancel(ctx))
	hard, hardCancel := context.WithCancel(context.WithoutCancel(ctx))
	defer softCancel()
	defer hardCancel()
	w.soft, w.hard = soft, hard

	var bg sync.WaitGroup
	bg.Add(2)
	go func() { defer bg.Done(); w.keepAlive(soft) }()
	go func() { defer bg.Done(); w.pollLag(soft) }()

	err := w.consume(ctx)
	softCancel()
	stop := w.clk.AfterFunc(finalFlushTimeout, hardCancel)
	w.wg.Wait()
	stop.Stop()
	bg.Wait()
	if !w.nc.IsClosed() {
		if ferr := w.nc.FlushTimeout(2 * time.Second); ferr != nil {
			w.log.Warn("ingest: cannot flush acknowledgements", "err", ferr)
		}
	}
	w.closePools()
	s := w.Stats()
	w.log.Info("ingest: writer stopped", "messages", s.Messages, "stored", s.Stored, "duplicates", s.Duplicates, "rejected", s.Rejected)
	return err
}

// consume runs the pull consumer until ctx ends (nil) or the connection is closed.
func (w *Writer) consume(ctx context.Context) error {
	for attempt := 0; ; attempt++ {
		if w.nc.IsClosed() {
			return errors.New("ingest: NATS connection closed")
		}
		it, err := w.subscribe(ctx)
		if err == nil {
			if attempt > 0 {
				w.log.Info("ingest: consuming again", "durable", w.cfg.Durable)
			}
			err = w.fetchLoop(ctx, it)
			if err == nil {
				return nil
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		if w.nc.IsClosed() {
			return errors.New("ingest: NATS connection closed")
		}
		w.log.Warn("ingest: consumer failed; retrying", "durable", w.cfg.Durable, "err", err)
		if !w.clk.Sleep(ctx, backoff(attempt)) {
			return nil
		}
	}
}

func (w *Writer) subscribe(ctx context.Context) (jetstream.MessagesContext, error) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cons, err := w.js.CreateOrUpdateConsumer(cctx, bus.DetStream, jetstream.ConsumerConfig{
		Durable:       w.cfg.Durable,
		Description:   "LinePulse batch writer: stores detections, acknowledges after COMMIT",
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       w.cfg.AckWait,
		MaxDeliver:    -1, // never give up on a detection
		MaxAckPending: w.cfg.MaxAckPending,
	})
	if err != nil {
		return nil, fmt.Errorf("ingest: cannot create consumer %s on %s: %w", w.cfg.Durable, bus.DetStream, err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(pullBatch))
	if err != nil {
		return nil, fmt.Errorf("ingest: cannot pull from consumer %s: %w", w.cfg.Durable, err)
	}
	return it, nil
}

// fetchLoop takes messages until ctx ends (nil) or the iterator fails (error).
func (w *Writer) fetchLoop(ctx context.Context, it jetstream.MessagesContext) error {
	defer w.release(it)
	for {
		msg, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, jetstream.ErrNoHeartbeat) {
				continue // not terminal: the iterator re-issues its pull request
			}
			return err
		}
		md, _ := msg.Metadata()
		if err := w.handle(ctx, msg, md); err != nil {
			return nil // ctx ended while msg was held; handle gave it back
		}
		if !w.cfg.HoldPartial && (md == nil || md.NumPending == 0) {
			w.caughtUp()
		}
	}
}

// caughtUp runs when the writer has taken every message the stream held: the lines
// that received rows since the last time flush them now instead of waiting for
// FlushInterval (group commit: what arrives during their transaction forms the next
// batch). Fetch goroutine only.
func (w *Writer) caughtUp() {
	for _, l := range w.dirty {
		l.flushSoon()
	}
	clear(w.dirty)
	w.dirty = w.dirty[:0]
}

// release stops the iterator and hands the messages it buffered back to the server at
// once (instead of after AckWait).
func (w *Writer) release(it jetstream.MessagesContext) {
	it.Drain()
	for {
		msg, err := it.Next(jetstream.NextMaxWait(time.Second))
		if err != nil {
			return
		}
		_ = msg.Nak()
	}
}

// handle processes one message. It returns an error only when ctx ended before the
// message could be placed, after negatively acknowledging it.
func (w *Writer) handle(ctx context.Context, msg jetstream.Msg, md *jetstream.MsgMetadata) error {
	data := msg.Data()
	size := 2*int64(len(data)) + msgOverhead // the message and, about as large, its decoded rows
	if err := w.acquire(ctx, size); err != nil {
		_ = msg.Nak()
		return err
	}
	w.count.messages.Add(1)
	now := w.clk.Now()
	subject := msg.Subject()

	slug, line, kind, err := bus.ParseLineSubject(subject)
	if err != nil || kind != bus.KindDet {
		// Only an internal publisher can produce this (devices are confined to valid
		// subjects): there may be no tenant to dead-letter to.
		w.log.Warn("ingest: message on a subject outside the contract dropped", "subject", subject)
		w.rejectAll(slug, msg, now, "subject is not lp.<tenant>.line.<line>.det")
		w.ack(msg, size)
		return nil
	}
	ts, retention, known, err := w.resolve(ctx, msg, slug, line)
	if err != nil {
		_ = msg.Nak()
		w.releaseBytes(size)
		return err
	}
	if !known {
		w.count.received.Add(uint64(w.rejectAll(slug, msg, now, fmt.Sprintf("tenant %q has no line %d", slug, line))))
		w.ack(msg, size)
		return nil
	}
	accepted := acceptedAt(md, now)
	if w.cfg.Observe != nil {
		w.cfg.Observe("writer.deliver", now.Sub(accepted))
	}
	rows, rej := bus.DecodeParts(w.scratch[:0], msg.Headers(), data, detection.WindowAt(accepted, retention))
	w.scratch = rows[:0]
	w.count.received.Add(uint64(len(rows) + len(rej)))
	for _, r := range rej {
		w.reject(slug, subject, now, r)
	}
	if len(rows) == 0 {
		w.ack(msg, size)
		return nil
	}
	l := w.lineWriter(ts, line)
	if l.add(rows, pendingMsg{msg: msg, size: size, at: now}) {
		w.dirty = append(w.dirty, l)
	}
	return nil
}

// acceptedAt is the message's stream time, against which its timestamps are judged: the
// same instant the engine uses, whenever either of them reads the message. A message of
// a JetStream consumer always has it; fallback is the writer's clock.
func acceptedAt(md *jetstream.MsgMetadata, fallback time.Time) time.Time {
	if md != nil {
		return md.Timestamp
	}
	return fallback
}

func (w *Writer) acquire(ctx context.Context, size int64) error {
	if size > w.cfg.MaxPendingBytes {
		size = w.cfg.MaxPendingBytes
	}
	if err := w.sem.Acquire(ctx, size); err != nil {
		return err
	}
	w.pendingBytes.Add(size)
	return nil
}

func (w *Writer) releaseBytes(size int64) {
	if size > w.cfg.MaxPendingBytes {
		size = w.cfg.MaxPendingBytes
	}
	w.pendingBytes.Add(-size)
	w.sem.Release(size)
}

// ack acknowledges a message whose content is fully dealt with.
func (w *Writer) ack(msg jetstream.Msg, size int64) {
	if err := msg.Ack(); err != nil && !w.nc.IsClosed() {
		w.log.Warn("ingest: cannot acknowledge", "subject", msg.Subject(), "err", err)
	}
	w.releaseBytes(size)
}

// reject counts a rejected element and publishes its dead letter on lp.<tenant>.dlq.
func (w *Writer) reject(slug, subject string, receivedAt time.Time, r detection.Rejected) {
	w.count.rejected.Add(1)
	w.m.rejected.WithLabelValues(string(r.Reason)).Inc()
	if !bus.ValidTenant(slug) {
		return
	}
	b, err := json.Marshal(r.DeadLetter(subject, receivedAt))
	if err == nil {
		err = w.nc.Publish(bus.DLQSubject(slug), b)
	}
	if err != nil {
		w.log.Warn("ingest: cannot publish dead letter", "subject", subject, "reason", r.Reason, "err", err)
	}
}

// rejectAll dead-letters every device message msg holds (one, or a pack's parts) as
// unknown_line with detail, and returns how many.
func (w *Writer) rejectAll(slug string, msg jetstream.Msg, now time.Time, detail string) (n int) {
	bus.Parts(msg.Headers(), msg.Data(), func(part []byte) {
		n++
		w.reject(slug, msg.Subject(), now, detection.RejectMessage(detection.ReasonUnknownLine, detail, part))
	})
	return n
}

// deadLetterMessages rejects whole held messages (their line disappeared) and acks them.
func (w *Writer) deadLetterMessages(slug string, msgs []pendingMsg, detail string) {
	now := w.clk.Now()
	for _, p := range msgs {
		w.rejectAll(slug, p.msg, now, detail)
		w.ack(p.msg, p.size)
	}
}

// keepAlive sends InProgress for messages held longer than a third of AckWait, so a
// batch waiting for the database is not redelivered meanwhile.
func (w *Writer) keepAlive(ctx context.Context) {
	every := max(w.cfg.AckWait/3, 100*time.Millisecond)
	t := w.clk.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
		old := w.clk.Now().Add(-every)
		w.mu.Lock()
		lines := make([]*lineWriter, 0, len(w.lines))
		for _, l := range w.lines {
			lines = append(lines, l)
		}
		w.mu.Unlock()
		for _, l := range lines {
			l.touch(old)
		}
	}
}

// pollLag reads the consumer's backlog for the lag gauges.
func (w *Writer) pollLag(ctx context.Context) {
	t := w.clk.NewTicker(lagPoll)
	defer t.Stop()
	for {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if c, err := w.js.Consumer(cctx, bus.DetStream, w.cfg.Durable); err == nil {
			info := c.CachedInfo()
			w.m.lag.Set(float64(info.NumPending) + float64(info.NumAckPending))
			w.m.ackPend.Set(float64(info.NumAckPending))
		}
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
	}
}

// backoff is the capped exponential delay before retry attempt+1, with ±20 % jitter.
func backoff(attempt int) time.Duration {
	d := backoffMin << min(attempt, 10)
	d = min(d, backoffMax)
	return d - d/5 + rand.N(2*d/5+1)
}
