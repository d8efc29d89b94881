package sim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/linepulse/linepulse/bus"
	"github.com/linepulse/linepulse/detection"
	"github.com/linepulse/linepulse/internal/clock"
)

// Defaults applied by New to zero-valued Config fields.
const (
	DefaultBatch      = 1
	DefaultMaxDelay   = time.Second
	DefaultWindow     = 256
	DefaultAckTimeout = 5 * time.Second
	DefaultDrain      = 10 * time.Second
	// MaxBatch is the contract's largest array.
	MaxBatch = detection.MaxElements
)

// Config configures a Simulator.
type Config struct {
	// Tenant is the tenant slug of the subjects lp.<tenant>.line.<line>.det (required).
	Tenant string
	// Lines are the simulated lines (at least one, distinct ids).
	Lines []LineSpec
	// Batch is the number of detections per message: 1 sends single JSON objects, more
	// sends arrays of up to Batch (1..1000). Default 1.
	Batch int
	// MaxDelay is the longest a detection waits for its batch to fill before a partial
	// batch is sent (matters for slow lines and big batches). Default 1s.
	MaxDelay time.Duration
	// Window is the largest number of messages published and not yet acknowledged,
	// over all lines. When it is full, the lines wait (back-pressure). Default 256.
	Window int
	// AckTimeout: a message not acknowledged within it is sent again, with the same
	// Nats-Msg-Id. Default 5s.
	AckTimeout time.Duration
	// Drain bounds how long Run, once ctx is done, spends sending partial batches and
	// waiting for outstanding acknowledgements. Default 10s.
	Drain time.Duration
	// Count stops each line after that many detections (Run returns once all are
	// acknowledged). 0 = run until ctx ends.
	Count int
	// FirstID is the id of each line's first detection; later ones count up by one.
	// 0 = Now().UnixMicro() when Run starts, so a later run never reuses an id while
	// a line stays below a million detections per second.
	FirstID uint64
	// Start is the event time the timelines start at. Zero = Now() when Run starts.
	Start time.Time
	// Seed makes the timelines reproducible: same seed, same spec, same start, same
	// detections.
	Seed int64
	// Now is the clock that paces the lines (a detection is sent when Now reaches its
	// event time). Default time.Now.
	Now func() time.Time
	// Sleep waits for d or until ctx ends (returning ctx's error). Default a real timer.
	// Tests inject a fake; a Sleep that returns at once publishes as fast as acks allow.
	Sleep func(ctx context.Context, d time.Duration) error
	// OnPublish, if set, is called once per message when it is first sent, with the
	// line, the id of its first detection, the number of detections and the send time
	// (benchmarks measure latency with it). It must not block.
	OnPublish func(line int64, firstID uint64, n int, at time.Time)
	// Logger receives warnings about re-sends and debug lines about stops. Default slog.Default().
	Logger *slog.Logger
}

// Stats are a Simulator's counters since New.
type Stats struct {
	Published     int64 // detections sent (first attempt)
	Acked         int64 // detections the stream acknowledged
	Messages      int64 // messages sent (first attempt)
	AckedMessages int64 // messages acknowledged
	Resent        int64 // messages sent again after a failed or timed-out acknowledgement
	Duplicates    int64 // acknowledgements reporting the stream had the message already (a re-sent message that had been stored)
	Pending       int64 // messages in flight now
	Stops         int64 // stops generated (gaps longer than the threshold)
	MicroStops    int64 // micro-stops generated
}

// Simulator is the reference edge publisher: it plays the timelines of its lines in
// real time (or as fast as acknowledgements allow) and publishes their detections to
// JetStream with acknowledgements, re-sending until each message is acknowledged.
type Simulator struct {
	cfg     Config
	js      jetstream.JetStream
	log     *slog.Logger
	c       counters
	stops   atomic.Int64
	micro   atomic.Int64
	running atomic.Bool
}

// New validates cfg and applies defaults. js is the JetStream context to publish with;
// the caller owns its connection (use reconnect-forever options, see DeviceOptions).
func New(cfg Config, js jetstream.JetStream) (*Simulator, error) {
	if js == nil {
		return nil, errors.New("sim: a JetStream context is required")
	}
	if !bus.ValidTenant(cfg.Tenant) {
		return nil, fmt.Errorf("sim: invalid tenant slug %q", cfg.Tenant)
	}
	if len(cfg.Lines) == 0 {
		return nil, errors.New("sim: no lines to simulate")
	}
	seen := map[int64]bool{}
	for _, l := range cfg.Lines {
		if err := l.Validate(); err != nil {
			return nil, err
		}
		if seen[l.Line] {
			return nil, fmt.Errorf("sim: line %d is listed twice", l.Line)
		}
		seen[l.Line] = true
	}
	if cfg.Batch == 0 {
		cfg.Batch = DefaultBatch
	}
	if cfg.Batch < 1 || cfg.Batch > MaxBatch {
		return nil, fmt.Errorf("sim: batch must be within 1..%d, not %d", MaxBatch, cfg.Batch)
	}
	if cfg.Count < 0 {
		return nil, errors.New("sim: count must not be negative")
	}
	if cfg.MaxDelay <= 0 {
		cfg.MaxDelay = DefaultMaxDelay
	}
	if cfg.Window <= 0 {
		cfg.Window = DefaultWindow
	}
	if cfg.AckTimeout <= 0 {
		cfg.AckTimeout = DefaultAckTimeout
	}
	if cfg.Drain <= 0 {
		cfg.Drain = DefaultDrain
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleep
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Simulator{cfg: cfg, js: js, log: cfg.Logger.With("component", "sim", "tenant", cfg.Tenant)}, nil
}

// sleep is the default Config.Sleep.
func sleep(ctx context.Context, d time.Duration) error {
	if !clock.Sleep(ctx, d) {
		return ctx.Err()
	}
	return nil
}

// Stats returns the counters. Safe for concurrent use.
func (s *Simulator) Stats() Stats {
	return Stats{
		Published:     s.c.published.Load(),
		Acked:         s.c.acked.Load(),
		Messages:      s.c.messages.Load(),
		AckedMessages: s.c.ackedMsgs.Load(),
		Resent:        s.c.resent.Load(),
		Duplicates:    s.c.duplicates.Load(),
		Pending:       s.c.pending.Load(),
		Stops:         s.stops.Load(),
		MicroStops:    s.micro.Load(),
	}
}

// Run plays the lines until ctx ends or, with Config.Count, until every line has sent
// Count detections. Then it sends the partial batches and waits (at most Config.Drain)
// for the outstanding acknowledgements. It returns nil when it stopped because ctx
// ended or the count was reached and everything was acknowledged. Run may be called once.
func (s *Simulator) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("sim: Run called twice")
	}
	now := s.cfg.Now()
	start, firstID := s.cfg.Start, s.cfg.FirstID
	if start.IsZero() {
		start = now
	}
	if firstID == 0 {
		firstID = uint64(now.UnixMicro())
	}
	gens := make([]*Generator, len(s.cfg.Lines))
	for i, l := range s.cfg.Lines {
		g, err := NewGenerator(l, uint64(s.cfg.Seed), start, firstID)
		if err != nil {
			return err
		}
		gens[i] = g
	}

	pub := newPublisher(s.js, s.cfg.Window, s.cfg.AckTimeout, s.cfg.Now, s.cfg.Sleep, s.log, &s.c)
	// drainCtx outlives ctx by Config.Drain, so the final partial batches are sent and
	// the messages in flight acknowledged; without a ctx end (Count) it never expires.
	drainCtx, cancelDrain := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelDrain()
	stopDrainTimer := context.AfterFunc(ctx, func() { time.AfterFunc(s.cfg.Drain, cancelDrain) })
	defer stopDrainTimer()
	ackCtx, stopAcks := context.WithCancel(drainCtx)
	defer stopAcks()
	acksDone := make(chan struct{})
	go func() { pub.run(ackCtx); close(acksDone) }()

	var wg sync.WaitGroup
	for i, g := range gens {
		wg.Go(func() { s.runLine(ctx, drainCtx, pub, s.cfg.Lines[i].Line, g) })
	}
	wg.Wait()
	err := pub.idle(drainCtx)
	stopAcks()
	<-acksDone
	if err != nil {
		st := s.Stats()
		return fmt.Errorf("sim: %d messages (%d detections) still unacknowledged after %s: %w",
			st.Pending, st.Published-st.Acked, s.cfg.Drain, err)
	}
	return nil
}

// runLine plays one line until ctx ends or Count detections were generated.
func (s *Simulator) runLine(ctx, drainCtx context.Context, pub *publisher, line int64, g *Generator) {
	subject := bus.DetSubject(s.cfg.Tenant, line)
	batch := make([]detection.Detection, 0, s.cfg.Batch)
	var deadline time.Time // when the current partial batch must go
	flush := func(ctx context.Context) error {
		if len(batch) == 0 {
			return nil
		}
		m := s.message(subject, line, batch)
		batch = batch[:0]
		at := s.cfg.Now()
		if err := pub.publish(ctx, m); err != nil {
			return err
		}
		if s.cfg.OnPublish != nil {
			s.cfg.OnPublish(line, m.first, m.n, at)
		}
		return nil
	}
	// now is the clock's last reading: a detection due by then needs no new one (flat
	// out, reading the clock for every detection was 1.5 % of bench ingest's CPU).
	var now time.Time
	until := func(t time.Time) error {
		if !t.After(now) {
			return ctx.Err()
		}
		now = s.cfg.Now()
		return s.cfg.Sleep(ctx, t.Sub(now))
	}

	for n := 0; s.cfg.Count == 0 || n < s.cfg.Count; n++ {
		d, gap := g.Next()
		switch gap.Kind {
		case GapStop:
			s.stops.Add(1)
			s.log.Debug("sim: line stops", "line", line, "for", gap.Length, "resumes_at", d.At)
		case GapMicroStop:
			s.micro.Add(1)
		}
		if len(batch) > 0 && d.At.After(deadline) {
			if until(deadline) != nil || flush(ctx) != nil {
				break
			}
		}
		if until(d.At) != nil {
			break
		}
		if len(batch) == 0 {
			deadline = d.At.Add(s.cfg.MaxDelay)
		}
		batch = append(batch, d)
		if len(batch) == s.cfg.Batch && flush(ctx) != nil {
			break
		}
	}
	if err := flush(drainCtx); err != nil {
		s.log.Warn("sim: final partial batch not sent", "line", line, "err", err)
	}
}

// message encodes a batch: one object when Config.Batch is 1, else an array. Its
// Nats-Msg-Id is "<tenant>-<line>-<first id>-<n>": unique per message (ids are unique
// per line) and stable across re-sends, and it names the tenant because every tenant
// shares the LP_DET stream and its duplicate window.
func (s *Simulator) message(subject string, line int64, batch []detection.Detection) *pending {
	var b []byte
	if s.cfg.Batch == 1 {
		b = detection.AppendJSON(make([]byte, 0, 128), batch[0])
	} else {
		b = make([]byte, 0, 128*len(batch))
		b = append(b, '[')
		for i, d := range batch {
			if i > 0 {
				b = append(b, ',')
			}
			b = detection.AppendJSON(b, d)
		}
		b = append(b, ']')
	}
	first := batch[0].ID
	id := s.cfg.Tenant + "-" + strconv.FormatInt(line, 10) + "-" + strconv.FormatUint(first, 10) + "-" + strconv.Itoa(len(batch))
	return &pending{
		msg:   &nats.Msg{Subject: subject, Data: b, Header: nats.Header{jetstream.MsgIDHeader: []string{id}}},
		line:  line,
		first: first,
		n:     len(batch),
	}
}
