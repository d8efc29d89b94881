package stream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/linepulse/linepulse/bus"
	"github.com/linepulse/linepulse/detection"
	"github.com/linepulse/linepulse/internal/clock"
	"github.com/linepulse/linepulse/store"
)

// Config configures the live engine. Zero fields take the defaults.
type Config struct {
	// PublishRate is the most KPI updates per second published for one line. Default 4.
	PublishRate float64
	// Heartbeat is the longest silence between two KPI updates of a line (in every state:
	// screens mark a tile stale when they stop; updates are otherwise sent only on change). Default 3s.
	Heartbeat time.Duration
	// CheckpointEvery is how often the state is checkpointed to the LP_ENGINE bucket.
	// Default 5s.
	CheckpointEvery time.Duration
	// CheckpointMessages checkpoints after this many stream messages even before
	// CheckpointEvery, bounding the replay after a crash. Default 20000.
	CheckpointMessages int
	// MetaRefresh is how often the plant model of every tenant is re-read (changes made in
	// this process are seen at once through store.OnChange). Default 30s.
	MetaRefresh time.Duration
	// CodedRefresh is how often each line's coded events are read again without a notice
	// (a notice lost on the bus must not leave the live figures stale until the shift
	// changes). Default 5m.
	CodedRefresh time.Duration
	// LateRecompute is how long a line's late detections (older than its newest by more
	// than its downtime threshold) must stop arriving before its downtime is re-booked from
	// the stored detections as linepulse recompute does (docs/OEE.md). Negative: never.
	// Default 30s.
	LateRecompute time.Duration
	// WriterDurable is the writer's durable consumer on LP_DET (ingest.DefaultDurable): a
	// re-booking waits until it has acknowledged the late messages. Default "lp-writer".
	WriterDurable string
	// Nodes overrides the node-health settings read from SYSTEM_CONFIG (tests).
	Nodes *NodeSettings
	// Logger receives the engine's logs. Default slog.Default().
	Logger *slog.Logger
	// Registerer receives the engine's Prometheus metrics. nil: not registered.
	Registerer prometheus.Registerer
	// Clock is the engine's one clock: the wall clock of the live rules (alerts, current
	// shift) and every timer and ticker of the engine. Default clock.Real.
	Clock clock.Clock
}

func (c *Config) defaults() error {
	if c.PublishRate == 0 {
		c.PublishRate = 4
	}
	if c.PublishRate < 0 || c.PublishRate > 1000 {
		return fmt.Errorf("stream: publish rate %v per second: must be in (0, 1000]", c.PublishRate)
	}
	if c.Heartbeat == 0 {
		c.Heartbeat = 3 * time.Second
	}
	if c.Heartbeat < 0 {
		return fmt.Errorf("stream: negative heartbeat %v", c.Heartbeat)
	}
	if c.CheckpointEvery <= 0 {
		c.CheckpointEvery = 5 * time.Second
	}
	if c.CheckpointMessages <= 0 {
		c.CheckpointMessages = 20000
	}
	if c.MetaRefresh <= 0 {
		c.MetaRefresh = 30 * time.Second
	}
	if c.CodedRefresh <= 0 {
		c.CodedRefresh = 5 * time.Minute
	}
	if c.LateRecompute == 0 {
		c.LateRecompute = 30 * time.Second
	}
	if c.WriterDurable == "" {
		c.WriterDurable = "lp-writer"
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	c.Clock = clock.Or(c.Clock)
	return nil
}

// Engine is the live KPI, OEE and downtime engine: a deterministic fold over the LP_DET
// stream through its own ordered consumer. It keeps per line and current shift the counts,
// rate, product and area mix, state and OEE; raises "line stopped" alerts on its clock
// (one timer per line, no polling); books downtime events in the database (queued and
// retried while the database is down: counting and alerting never wait for it); publishes
// coalesced KPI updates and downtime messages; and checkpoints itself to resume exactly.
//
// One engine should run per NATS system: two would publish conflicting sequences.
type Engine struct {
	cfg Config
	clk clock.Clock
	nc  *nats.Conn
	st  *store.Store
	log *slog.Logger
	m   *metrics

	reg *registry // the tenants and lines folded; owned by the Run loop like the fields below

	// Owned by the Run loop.
	js        jetstream.JetStream
	kpiKV     jetstream.KeyValue
	nodesKV   jetstream.KeyValue
	nodes     *NodeTracker
	nodeSet   NodeSettings
	telem     chan *nats.Msg
	monitorCh chan monitorRow
	restored  map[lineKey]lineCP
	lastSeq   uint64
	sinceCP   int
	cpBusy    bool
	cpAll     bool // the last checkpoint failed: write every line next time
	pendLines map[*lineState]struct{}
	buf       []store.Detection

	firedMu sync.Mutex
	fired   []*lineState
	lateDue []*lineState // lines whose late re-booking is due
	wake    chan struct{}

	persistCh chan *persistOp
	resultCh  chan persistResult
	cpCh      chan cpJob
	cpDone    chan error
	queries   chan func()
	hist      *History

	// Coded events (coded.go).
	codedNote chan CodedNotice
	codedCh   chan codedResult
	codedSem  chan struct{}
	codedDue  map[*lineState]struct{}
	loopDone  chan struct{} // closed when the loop has stopped (reads in flight give up)

	resetFloors bool // the stream was recreated: restored per-line positions are void

	// crashOnStop makes Run return without the final checkpoint (tests of crash recovery).
	crashOnStop bool
}

type lineKey struct {
	tenant string
	line   int64
}

// lineState is one line's engine state: its fold, its publishing and its timer.
type lineState struct {
	ten       *tenantState
	id        int64
	line      store.Line
	fold      *lineFold
	seq       uint64
	floor     uint64 // stream messages at or below were folded before the restart
	dirty     bool   // a KPI update is due
	cpDirty   bool   // the checkpoint is stale
	lastPub   time.Time
	lastKey   string
	timer     clock.Timer
	timerAt   time.Time
	pending   []*persistOp
	retryAt   time.Time
	backoff   time.Duration
	failures  int
	late      *lateJob // late detections waiting for their re-booking
	lateTimer clock.Timer
	// The read of coded events (coded.go): running, wanted again, the periods it covers.
	codedBusy, codedAgain bool
	codedSpan             [2]time.Time
	codedReadAt           time.Time // when the last read started (CodedRefresh)
	codedStale            int       // re-reads in a row for a stop read open after it ended
}

// NewEngine makes an engine. nc must be allowed to consume LP_DET, publish kpi/downtime
// subjects and use the LP_KPI and LP_ENGINE buckets (bus.Connect gives such a connection).
func NewEngine(cfg Config, nc *nats.Conn, st *store.Store, meta *store.MetaCache) (*Engine, error) {
	if nc == nil || st == nil || meta == nil {
		return nil, errors.New("stream: NewEngine needs a NATS connection, a store and a metadata cache")
	}
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	e := &Engine{cfg: cfg, clk: cfg.Clock, nc: nc, st: st, log: cfg.Logger.With("component", "stream"), m: m,
		wake: make(chan struct{}, 1), persistCh: make(chan *persistOp, 256), resultCh: make(chan persistResult, 256),
		cpCh: make(chan cpJob, 1), cpDone: make(chan error, 1), queries: make(chan func()),
		nodes: NewNodeTracker(), telem: make(chan *nats.Msg, 1024), monitorCh: make(chan monitorRow, 256),
		hist:      NewHistory(st, meta).WithClock(cfg.Clock.Now),
		codedNote: make(chan CodedNotice, 1024), codedCh: make(chan codedResult, 16), codedSem: make(chan struct{}, codedReads),
		codedDue: map[*lineState]struct{}{}, loopDone: make(chan struct{})}
	e.reg = newRegistry(st, meta, e.log, cfg.MetaRefresh, cfg.Clock, e)
	return e, nil
}

func (e *Engine) now() time.Time { return e.clk.Now() }

// Run folds the stream until ctx ends, then writes a final checkpoint. It fails only when
// it cannot start (no JetStream, no LP_DET stream).
func (e *Engine) Run(ctx context.Context) error {
	js, err := jetstream.New(e.nc, jetstream.WithPublishAsyncMaxPending(4096))
	if err != nil {
		return fmt.Errorf("stream: cannot open JetStream: %w", err)
	}
	e.js = js
	e.pendLines = map[*lineState]struct{}{}

	if e.kpiKV, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: KPIBucket, Description: "LinePulse latest KPI update per line", History: 1}); err != nil {
		return fmt.Errorf("stream: cannot open bucket %s: %w", KPIBucket, err)
	}
	cpKV, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: CheckpointBucket, Description: "LinePulse KPI engine checkpoint", History: 1})
	if err != nil {
		return fmt.Errorf("stream: cannot open bucket %s: %w", CheckpointBucket, err)
	}
	s, err := js.Stream(ctx, bus.DetStream)
	if err != nil {
		return fmt.Errorf("stream: cannot open stream %s: %w", bus.DetStream, err)
	}
	stopNodes, err := e.startNodes(ctx)
	if err != nil {
		return err
	}
	defer stopNodes()
	codedSub, err := e.subscribeCoded()
	if err != nil {
		return err
	}
	defer codedSub.Unsubscribe()
	cp, errs := readCheckpoint(ctx, cpKV)
	for _, err := range errs {
		e.log.Warn("checkpoint entry skipped", "err", err)
	}
	e.lastSeq, e.restored = cp.seq, cp.lines
	if last := s.CachedInfo().State.LastSeq; e.lastSeq > last {
		// The stream was recreated (its store wiped): the checkpoint's positions mean
		// nothing in it. Keep the state, fold the new stream from its start.
		e.log.Warn("checkpoint is ahead of the stream; folding the stream from its start", "checkpoint_seq", e.lastSeq, "stream_last_seq", last)
		e.lastSeq = 0
		e.resetFloors = true
	}
	for _, m := range cp.metas {
		e.reg.apply(m, false)
	}
	e.reg.load(ctx)
	e.log.Info("engine starting", "resume_after", e.lastSeq, "tenants", len(e.reg.tenants), "restored_lines", len(cp.lines))

	occ := jetstream.OrderedConsumerConfig{FilterSubjects: []string{bus.DetWildcard}, DeliverPolicy: jetstream.DeliverAllPolicy}
	if e.lastSeq > 0 {
		occ.DeliverPolicy, occ.OptStartSeq = jetstream.DeliverByStartSequencePolicy, e.lastSeq+1
	}
	cons, err := s.OrderedConsumer(ctx, occ)
	if err != nil {
		return fmt.Errorf("stream: cannot create ordered consumer on %s: %w", bus.DetStream, err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(512))
	if err != nil {
		return fmt.Errorf("stream: cannot consume %s: %w", bus.DetStream, err)
	}

	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	msgs := make(chan jetstream.Msg, 64)
	wg.Add(5)
	go func() { defer wg.Done(); e.monitorWriter(bg) }()
	go func() { defer wg.Done(); e.read(bg, it, msgs) }()
	go func() { defer wg.Done(); e.persister(bg) }()
	go func() { defer wg.Done(); e.checkpointer(bg) }()
	go func() { defer wg.Done(); e.reg.run(bg) }()

	e.loop(ctx, msgs)
	close(e.loopDone)

	it.Stop()
	if e.crashOnStop {
		e.log.Warn("engine stopped without a final checkpoint (crash test)")
	} else {
		e.finalCheckpoint()
	}
	stopBG()
	wg.Wait()
	e.firedMu.Lock()
	for ts := range e.reg.all() {
		for _, ls := range ts.lines {
			e.lineRemoved(ls)
		}
	}
	e.firedMu.Unlock()
	e.log.Info("engine stopped", "stream_seq", e.lastSeq)
	return nil
}

// read moves messages from the ordered consumer to the loop.
func (e *Engine) read(ctx context.Context, it jetstream.MessagesContext, out chan<- jetstream.Msg) {
	for {
		m, err := it.Next()
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) || ctx.Err() != nil {
				return
			}
			e.log.Warn("stream consumer error; retrying", "err", err)
			if !e.clk.Sleep(ctx, 200*time.Millisecond) {
				return
			}
			continue
		}
		select {
		case out <- m:
		case <-ctx.Done():
			return
		}
	}
}

func (e *Engine) loop(ctx context.Context, msgs <-chan jetstream.Msg) {
	slots := PublishSlots(e.cfg.PublishRate)
	pub := e.clk.NewTicker(time.Duration(float64(time.Second) / e.cfg.PublishRate / float64(slots)))
	defer pub.Stop()
	slot := 0
	cpTick := e.clk.NewTicker(e.cfg.CheckpointEvery)
	defer cpTick.Stop()
	retry := e.clk.NewTicker(time.Second)
	defer retry.Stop()
	for {
		// Timers first: a stop alert must not wait behind a backlog of detections.
		select {
		case <-e.wake:
			e.handleFired()
		default:
		}
		select {
		case <-ctx.Done():
			return
		case <-e.wake:
			e.handleFired()
		case m := <-msgs:
			e.handleMsg(m)
			if e.sinceCP >= e.cfg.CheckpointMessages {
				e.checkpoint()
			}
		case <-pub.C():
			e.publishDue(slot, slots)
			slot = (slot + 1) % slots
		case <-cpTick.C():
			e.checkpoint()
		case err := <-e.cpDone:
			e.cpBusy = false
			if err != nil {
				e.cpAll = true
				e.m.checkpoints.WithLabelValues("error").Inc()
				e.log.Warn("checkpoint failed; will retry", "err", err)
			} else {
				e.m.checkpoints.WithLabelValues("ok").Inc()
			}
		case <-retry.C():
			e.pumpAll()
			e.retryCoded()
		case n := <-e.codedNote:
			e.codedNoticed(n)
		case r := <-e.codedCh:
			e.codedRead(r)
		case r := <-e.resultCh:
			e.handleResult(r)
		case m := <-e.reg.updates:
			e.reg.apply(m, true)
		case q := <-e.queries:
			q()
		case m := <-e.telem:
			e.handleTelemetry(m)
		}
	}
}

// handleMsg folds one stream message.
func (e *Engine) handleMsg(m jetstream.Msg) {
	md, err := m.Metadata()
	if err != nil {
		e.m.skipped.WithLabelValues("no_metadata").Inc()
		return
	}
	seq := md.Sequence.Stream
	defer func() {
		e.lastSeq = seq
		e.sinceCP++
		e.m.streamSeq.Set(float64(seq))
		e.m.lag.Set(float64(md.NumPending))
	}()
	e.m.messages.Inc()
	slug, lineID, kind, err := bus.ParseLineSubject(m.Subject())
	if err != nil || kind != bus.KindDet {
		e.m.skipped.WithLabelValues("bad_subject").Inc()
		return
	}
	ls := e.reg.lineFor(slug, lineID)
	if ls == nil {
		e.m.skipped.WithLabelValues("unknown_line").Inc()
		return
	}
	if seq <= ls.floor {
		return // already in the restored state
	}
	// Judged against the message's stream time, as the writer judges it, so a live run, a
	// replay and the stored rows agree.
	dets, rej := bus.DecodeParts(e.buf[:0], m.Headers(), m.Data(), detection.WindowAt(md.Timestamp, ls.ten.retention))
	e.buf = dets[:0]
	e.m.rejected.Add(float64(len(rej)))
	if len(dets) == 0 {
		return
	}
	e.m.detections.Add(float64(len(dets)))
	now := e.now()
	for _, d := range dets {
		if last, ok := ls.fold.tr.Last(); ok && last.Sub(d.At) > ls.fold.conf.threshold {
			e.noteLate(ls, d.At, seq)
		}
		if chs := ls.fold.observe(d, now); len(chs) > 0 {
			e.emit(ls, chs, now)
		}
	}
	e.storeMicro(ls)
	e.refreshCodedIfMoved(ls)
	ls.dirty, ls.cpDirty = true, true
	e.arm(ls, now)
}

// lineAdded restores a new line from the checkpoint (lineHooks).
func (e *Engine) lineAdded(ls *lineState) {
	e.restoreLine(ls)
	e.refreshCodedIfMoved(ls)
}

// lineChanged re-arms a line's timer: its settings or calendar may have moved its deadline
// (lineHooks).
func (e *Engine) lineChanged(ls *lineState) { e.arm(ls, e.now()) }

// lineRemoved stops a deleted line's timer (lineHooks).
func (e *Engine) lineRemoved(ls *lineState) {
	if ls.timer != nil {
		ls.timer.Stop()
	}
	if ls.lateTimer != nil {
		ls.lateTimer.Stop()
	}
}

// ---- timers ----

// arm makes sure the line's timer fires no later than its deadline.
func (e *Engine) arm(ls *lineState, now time.Time) {
	dl, ok := ls.fold.deadline()
	if !ok {
		return
	}
	if !ls.timerAt.IsZero() && !ls.timerAt.After(dl) {
		return // an earlier wake-up is pending; it re-arms when it fires
	}
	e.setTimer(ls, dl, now)
}

func (e *Engine) setTimer(ls *lineState, at, now time.Time) {
	d := max(at.Sub(now), 0)
	ls.timerAt = at
	if ls.timer == nil {
		ls.timer = e.clk.AfterFunc(d, func() { e.fire(ls) })
		return
	}
	ls.timer.Reset(d)
}

// fire runs on the timer's goroutine: it queues the line for the loop.
func (e *Engine) fire(ls *lineState) {
	e.firedMu.Lock()
	e.fired = append(e.fired, ls)
	e.firedMu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

func (e *Engine) handleFired() {
	e.firedMu.Lock()
	fired, lateDue := e.fired, e.lateDue
	e.fired, e.lateDue = nil, nil
	e.firedMu.Unlock()
	for _, ls := range lateDue {
		e.queueLate(ls)
	}
	for _, ls := range fired {
		if !e.reg.registered(ls) {
			continue // line deleted meanwhile
		}
		now := e.now()
		ls.timerAt = time.Time{}
		ls.fold.offline = e.lineOffline(ls, now)
		chs, next := ls.fold.tick(now)
		if len(chs) > 0 {
			e.emit(ls, chs, now)
		}
		if !next.IsZero() {
			e.setTimer(ls, next, now)
		}
	}
}

// ---- publishing ----

// emit publishes downtime changes and queues their persistence.
func (e *Engine) emit(ls *lineState, chs []change, now time.Time) {
	for _, c := range chs {
		e.announce(ls, c)
		if c.State == DowntimeStarted {
			if last, ok := ls.fold.tr.Last(); ok {
				e.m.alertDelay.Observe(now.Sub(last.Add(ls.fold.conf.threshold)).Seconds())
			}
		}
		op := &persistOp{tenantID: ls.ten.id, lineID: ls.id, start: c.Start}
		switch c.State {
		case DowntimeStarted:
			op.event = &store.DowntimeEvent{Start: c.Start}
		case DowntimeEnded:
			end := c.End
			op.event = &store.DowntimeEvent{Start: c.Start, End: &end, DurationMS: c.Duration.Milliseconds()}
		}
		e.enqueue(ls, op)
	}
	ls.dirty, ls.cpDirty = true, true
}

// announce publishes one downtime change.
func (e *Engine) announce(ls *lineState, c change) {
	ls.fold.settle(c)
	ls.seq++
	ls.cpDirty = true
	body := DowntimeMsgBody{ID: c.ID, State: c.State, Start: Time(c.Start), NodeOffline: c.NodeOffline}
	if c.State == DowntimeEnded {
		end := Time(c.End)
		body.End, body.DurationMS = &end, c.Duration.Milliseconds()
	}
	data, err := json.Marshal(DowntimeMessage{Type: "downtime", Line: ls.id, Seq: ls.seq, Event: body})
	if err != nil {
		e.log.Error("cannot encode downtime message", "err", err)
		return
	}
	e.publish(bus.DowntimeSubject(ls.ten.slug, ls.id), data)
	e.m.downtime.WithLabelValues(c.State).Inc()
	e.log.Debug("downtime", "tenant", ls.ten.slug, "line", ls.id, "state", c.State, "start", c.Start, "duration", c.Duration)
}

func (e *Engine) publish(subject string, data []byte) {
	msg := &nats.Msg{Subject: subject, Data: data, Header: nats.Header{}}
	msg.Header.Set(PublishedAtHeader, strconv.FormatInt(e.now().UnixNano(), 10))
	if err := e.nc.PublishMsg(msg); err != nil {
		e.log.Warn("cannot publish", "subject", subject, "err", err)
	}
}

// publishDue sends the KPI update of every line of the slot that changed, changed state or
// shift, or owes a heartbeat. Each slot comes round PublishRate times a second, so no line
// exceeds it.
// PublishSlots is how many slots the engine cuts each publish period (1/rate s) into:
// every line publishes in its own slot (PublishSlot), so the hub receives the lines'
// updates spread over the period instead of in one burst per period, and can deliver
// each before the next arrives (a burst's last frames wait for the whole burst to be
// written to every client). Slots are at least 10 ms apart.
func PublishSlots(rate float64) int {
	period := time.Duration(float64(time.Second) / rate)
	return int(max(1, min(10, period/(10*time.Millisecond))))
}

// PublishSlot is the slot of a tenant's line among slots.
func PublishSlot(tenantID, lineID int64, slots int) int {
	return int(uint64(tenantID*7919+lineID) % uint64(slots))
}

func (e *Engine) publishDue(slot, slots int) {
	now := e.now()
	for ts := range e.reg.all() {
		for _, ls := range ts.lines {
			if !ls.line.Active || PublishSlot(ts.id, ls.id, slots) != slot {
				continue
			}
			ls.fold.offline = e.lineOffline(ls, now)
			state := ls.fold.state(now)
			p := ls.fold.current(now)
			key := state + "/" + p.Start.String()
			// A heartbeat in every state: screens mark a tile stale when its updates stop.
			beat := now.Sub(ls.lastPub) >= e.cfg.Heartbeat
			if !ls.dirty && key == ls.lastKey && !beat {
				continue
			}
			e.publishKPI(ls, state, p, now)
			ls.dirty, ls.lastKey, ls.lastPub = false, key, now
		}
	}
}

func (e *Engine) publishKPI(ls *lineState, state string, p *period, now time.Time) {
	r := ls.fold.figures(p, now)
	ps, _ := ls.fold.plannedStops(p, earlier(p.End, now), now)
	ls.seq++
	ls.cpDirty = true
	u := KPIUpdate{
		Type: "kpi", Line: ls.id, Seq: ls.seq, At: Time(now), State: state,
		Counts:       Counts{Total: p.Counts.Total, Good: p.Counts.Good, Reject: p.Counts.Reject},
		RatePerMin:   float64(ls.fold.rate.perMinute(now)),
		Availability: r.Availability, Performance: r.Performance, Quality: r.Quality, OEE: r.OEE,
		PerformanceOver100: r.PerformanceOver100,
		PlannedS:           r.PlannedTime.Seconds(), RunS: r.RunTime.Seconds(), DowntimeS: r.Downtime.Seconds(),
		UnmonitoredS: r.Unmonitored.Seconds(),
		MicroStops:   p.Micro, Products: []ProductCount{}, Areas: []AreaCount{}, StreamSeq: e.lastSeq,
		MicroStopS: p.MicroDur.Seconds(), PlannedStopS: ps.Seconds(),
	}
	if start, ok := ls.fold.openSince(); ok {
		u.OpenDowntime = &OpenDowntime{Start: Time(start), ElapsedS: max(now.Sub(start), 0).Seconds()}
	}
	if p.Shift {
		u.Shift = &KPIShift{ID: p.ShiftID, Name: p.Name, Start: Time(p.Start), End: Time(p.End)}
		u.Target = ls.fold.conf.targets[p.ShiftID]
		u.TargetToNow = targetToNow(ls.fold.conf.cal, ls.id, p.Start, p.End, now, u.Target)
	}
	meta := ls.ten.meta
	for _, kv := range sortedCounts(p.Products, 100) {
		name, color := meta.ProductName(kv[0])
		u.Products = append(u.Products, ProductCount{ID: kv[0], Name: name, Color: color, Count: kv[1]})
	}
	for _, kv := range sortedCounts(p.Areas, 100) {
		u.Areas = append(u.Areas, AreaCount{ID: kv[0], Name: meta.AreaName(kv[0]), Count: kv[1]})
	}
	data, err := json.Marshal(u)
	if err != nil {
		e.log.Error("cannot encode KPI update", "err", err)
		return
	}
	// The snapshot for the hub first (a plain publish into the KV stream, no round trip),
	// so a client that subscribes between the two never sees a snapshot older than it.
	e.publish("$KV."+KPIBucket+"."+KPIKey(ls.ten.slug, ls.id), data)
	e.publish(bus.KPISubject(ls.ten.slug, ls.id), data)
	e.m.kpiPublished.Inc()
}

// ---- queries (tests, diagnostics) ----

// Periods returns the OEE of each period the engine keeps for a line (the current shift
// and a few before it), computed as of now, oldest first. It is answered by the engine's
// loop, so it waits while the engine is busy; it fails if Run is not running.
func (e *Engine) Periods(ctx context.Context, tenant string, line int64) ([]OEEReport, error) {
	var out []OEEReport
	var found bool
	done := make(chan struct{})
	q := func() {
		defer close(done)
		ls := e.reg.line(tenant, line)
		if ls == nil {
			return
		}
		found = true
		now := e.now()
		for _, p := range ls.fold.periods {
			out = append(out, periodReport(ls.fold, p, now))
		}
	}
	select {
	case e.queries <- q:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	<-done
	if !found {
		return nil, fmt.Errorf("stream: line %s/%d: %w", tenant, line, store.ErrNotFound)
	}
	return out, nil
}

func periodReport(f *lineFold, p *period, now time.Time) OEEReport {
	r := f.figures(p, now)
	rep := reportOf(r, p.Start, p.End)
	ps, planned := f.plannedStops(p, earlier(p.End, now), now)
	rep.Events = p.Events - planned
	rep.PlannedStopS = ps.Seconds()
	rep.MicroStops = p.Micro
	rep.MicroStopS = p.MicroDur.Seconds()
	if p.Shift {
		rep.Shift = &ShiftRef{ID: p.ShiftID, Name: p.Name, Start: p.Start, End: p.End}
	}
	return rep
}
