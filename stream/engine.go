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
	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/stream/shiftcal"
)

// Config configures the live engine. Zero fields take the defaults.
type Config struct {
	// PublishRate is the most KPI updates per second published for one line. Default 4.
	PublishRate float64
	// Heartbeat is the longest silence between two KPI updates of a line while a shift
	// runs on it (updates are otherwise sent only on change). Default 3s.
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
	// Logger receives the engine's logs. Default slog.Default().
	Logger *slog.Logger
	// Registerer receives the engine's Prometheus metrics. nil: not registered.
	Registerer prometheus.Registerer
	// Now is the wall clock of the live rules (alerts, current shift). Default time.Now.
	Now func() time.Time
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
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}

// Engine is the live KPI, OEE and downtime engine: a deterministic fold over the LP_DET
// stream through its own ordered consumer. It keeps per line and current shift the counts,
// rate, product and area mix, state and OEE; raises "line stopped" alerts on the wall clock
// (one timer per line, no polling); books downtime events in the database (queued and
// retried while the database is down: counting and alerting never wait for it); publishes
// coalesced KPI updates and downtime messages; and checkpoints itself to resume exactly.
//
// One engine should run per NATS system: two would publish conflicting sequences.
type Engine struct {
	cfg  Config
	nc   *nats.Conn
	st   *store.Store
	meta *store.MetaCache
	log  *slog.Logger
	m    *metrics

	changed chan int64 // tenant ids whose plant model changed (store.OnChange)

	// Owned by the Run loop.
	js        jetstream.JetStream
	kpiKV     jetstream.KeyValue
	tenants   map[string]*tenantState
	byID      map[int64]*tenantState
	restored  map[lineKey]lineCP
	lastSeq   uint64
	sinceCP   int
	cpBusy    bool
	cpAll     bool // the last checkpoint failed: write every line next time
	unknown   map[string]time.Time
	pendLines map[*lineState]struct{}
	buf       []store.Detection

	firedMu sync.Mutex
	fired   []*lineState
	wake    chan struct{}

	metaCh    chan *store.Meta
	persistCh chan *persistOp
	resultCh  chan persistResult
	cpCh      chan cpJob
	cpDone    chan error
	queries   chan func()

	resetFloors bool // the stream was recreated: restored per-line positions are void

	// crashOnStop makes Run return without the final checkpoint (tests of crash recovery).
	crashOnStop bool
}

type lineKey struct {
	tenant string
	line   int64
}

type tenantState struct {
	id        int64
	slug      string
	meta      *store.Meta
	metaDirty bool
	cal       *shiftcal.Calendar
	calErr    string
	loc       *time.Location
	retention int // days
	lines     map[int64]*lineState
}

type lineState struct {
	ten      *tenantState
	id       int64
	line     store.Line
	fold     *lineFold
	seq      uint64
	floor    uint64 // stream messages at or below were folded before the restart
	dirty    bool   // a KPI update is due
	cpDirty  bool   // the checkpoint is stale
	lastPub  time.Time
	lastKey  string
	timer    *time.Timer
	timerAt  time.Time
	pending  []*persistOp
	retryAt  time.Time
	backoff  time.Duration
	failures int
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
	e := &Engine{cfg: cfg, nc: nc, st: st, meta: meta, log: cfg.Logger.With("component", "stream"), m: m,
		changed: make(chan int64, 64), wake: make(chan struct{}, 1), metaCh: make(chan *store.Meta, 16),
		persistCh: make(chan *persistOp, 256), resultCh: make(chan persistResult, 256),
		cpCh: make(chan cpJob, 1), cpDone: make(chan error, 1), queries: make(chan func())}
	st.OnChange(func(id int64) {
		select {
		case e.changed <- id:
		default:
		}
	})
	return e, nil
}

func (e *Engine) now() time.Time { return e.cfg.Now() }

// Run folds the stream until ctx ends, then writes a final checkpoint. It fails only when
// it cannot start (no JetStream, no LP_DET stream).
func (e *Engine) Run(ctx context.Context) error {
	js, err := jetstream.New(e.nc, jetstream.WithPublishAsyncMaxPending(4096))
	if err != nil {
		return fmt.Errorf("stream: cannot open JetStream: %w", err)
	}
	e.js = js
	e.tenants, e.byID = map[string]*tenantState{}, map[int64]*tenantState{}
	e.unknown, e.pendLines = map[string]time.Time{}, map[*lineState]struct{}{}

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
		e.applyMeta(m, false)
	}
	e.loadTenants(ctx)
	e.log.Info("engine starting", "resume_after", e.lastSeq, "tenants", len(e.tenants), "restored_lines", len(cp.lines))

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
	wg.Add(4)
	go func() { defer wg.Done(); e.read(bg, it, msgs) }()
	go func() { defer wg.Done(); e.persister(bg) }()
	go func() { defer wg.Done(); e.checkpointer(bg) }()
	go func() { defer wg.Done(); e.refresher(bg) }()

	e.loop(ctx, msgs)

	it.Stop()
	if e.crashOnStop {
		e.log.Warn("engine stopped without a final checkpoint (crash test)")
	} else {
		e.finalCheckpoint()
	}
	stopBG()
	wg.Wait()
	e.firedMu.Lock()
	for _, t := range e.tenants {
		for _, ls := range t.lines {
			if ls.timer != nil {
				ls.timer.Stop()
			}
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
			select {
			case <-ctx.Done():
				return
			case <-time.After(200 * time.Millisecond):
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
	pub := time.NewTicker(time.Duration(float64(time.Second) / e.cfg.PublishRate / float64(slots)))
	defer pub.Stop()
	slot := 0
	cpTick := time.NewTicker(e.cfg.CheckpointEvery)
	defer cpTick.Stop()
	retry := time.NewTicker(time.Second)
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
		case <-pub.C:
			e.publishDue(slot, slots)
			slot = (slot + 1) % slots
		case <-cpTick.C:
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
		case <-retry.C:
			e.pumpAll()
		case r := <-e.resultCh:
			e.handleResult(r)
		case m := <-e.metaCh:
			e.applyMeta(m, true)
		case q := <-e.queries:
			q()
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
	ls := e.lineFor(slug, lineID)
	if ls == nil {
		e.m.skipped.WithLabelValues("unknown_line").Inc()
		return
	}
	if seq <= ls.floor {
		return // already in the restored state
	}
	// Judged against the message's stream time, as the writer judges it, so a live run, a
	// replay and the stored rows agree.
	dets, rej := detection.Decode(e.buf[:0], m.Data(), detection.WindowAt(md.Timestamp, ls.ten.retention))
	e.buf = dets[:0]
	e.m.rejected.Add(float64(len(rej)))
	if len(dets) == 0 {
		return
	}
	e.m.detections.Add(float64(len(dets)))
	now := e.now()
	for _, d := range dets {
		if chs := ls.fold.observe(d, now); len(chs) > 0 {
			e.emit(ls, chs, now)
		}
	}
	ls.dirty, ls.cpDirty = true, true
	e.arm(ls, now)
}

// lineFor finds a line's state, loading the tenant's plant model when the tenant or the
// line is not known yet (at most every few seconds per tenant, so a database outage does
// not stall the fold).
func (e *Engine) lineFor(slug string, lineID int64) *lineState {
	ts := e.tenants[slug]
	if ts != nil {
		if ls := ts.lines[lineID]; ls != nil {
			return ls
		}
	}
	now := time.Now()
	if t, ok := e.unknown[slug]; ok && now.Sub(t) < 5*time.Second {
		return nil
	}
	e.unknown[slug] = now
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var id int64
	if ts != nil {
		id = ts.id
	} else {
		ten, err := e.st.TenantBySlug(ctx, slug)
		if err != nil {
			e.log.Warn("detections for an unknown tenant skipped", "tenant", slug, "err", err)
			return nil
		}
		id = ten.ID
	}
	e.meta.Invalidate(id)
	m, err := e.meta.Get(ctx, id)
	if err != nil {
		e.log.Warn("cannot load plant model; detections skipped", "tenant", slug, "err", err)
		return nil
	}
	e.applyMeta(m, true)
	if ts = e.tenants[slug]; ts != nil {
		if ls := ts.lines[lineID]; ls != nil {
			delete(e.unknown, slug)
			return ls
		}
	}
	e.log.Warn("detections for an unknown line skipped", "tenant", slug, "line", lineID)
	return nil
}

// applyMeta installs a tenant's plant model: calendar, lines and their settings.
func (e *Engine) applyMeta(m *store.Meta, fromDB bool) {
	if m == nil || m.Tenant.ID <= 0 || m.Tenant.Slug == "" {
		return
	}
	ts := e.byID[m.Tenant.ID]
	if ts != nil && ts.meta == m {
		return
	}
	if ts == nil {
		ts = &tenantState{id: m.Tenant.ID, slug: m.Tenant.Slug, lines: map[int64]*lineState{}}
		e.byID[ts.id], e.tenants[ts.slug] = ts, ts
	}
	ts.meta, ts.metaDirty = m, fromDB
	ts.retention = m.Tenant.Config.RetentionDays
	if loc, err := loadZone(m.Tenant.Config.Timezone); err == nil {
		ts.loc = loc
	} else if ts.loc == nil {
		ts.loc = time.UTC
	}
	cal, err := Calendar(m.Tenant.Config.Timezone, m.Shifts)
	switch {
	case err == nil:
		ts.cal, ts.calErr = cal, ""
	case err.Error() != ts.calErr:
		ts.calErr = err.Error()
		e.log.Error("shift configuration is invalid; keeping the previous calendar", "tenant", ts.slug, "err", err)
	}
	now := e.now()
	for id, l := range m.Lines {
		conf := e.lineConf(ts, l)
		ls := ts.lines[id]
		if ls == nil {
			ls = &lineState{ten: ts, id: id, line: l, fold: newLineFold(conf), dirty: true}
			e.restoreLine(ls)
			ts.lines[id] = ls
		} else {
			ls.line = l
			ls.fold.reconfigure(conf)
			ls.dirty = true
		}
		e.arm(ls, now)
	}
	for id, ls := range ts.lines {
		if _, ok := m.Lines[id]; !ok {
			if ls.timer != nil {
				ls.timer.Stop()
			}
			delete(ts.lines, id)
		}
	}
}

func (e *Engine) lineConf(ts *tenantState, l store.Line) lineConf {
	c := lineConf{id: l.ID, cal: ts.cal, loc: ts.loc, threshold: l.DowntimeThreshold(),
		minMicro: time.Duration(l.MicroStopMinMS) * time.Millisecond, ideal: l.IdealCycleTime()}
	if err := ValidateLine(l); err != nil {
		e.log.Error("line configuration is invalid; downtime is not computed for it", "tenant", ts.slug, "line", l.ID, "err", err)
		c.threshold, c.minMicro = 24*time.Hour, 0
	}
	return c
}

// restoreLine loads a line's checkpoint and its last published sequence.
func (e *Engine) restoreLine(ls *lineState) {
	key := lineKey{ls.ten.slug, ls.id}
	cp, ok := e.restored[key]
	if ok {
		delete(e.restored, key)
		ls.fold.restore(cp)
		ls.seq, ls.floor = cp.Seq, cp.StreamSeq
		if e.resetFloors {
			ls.floor = 0
		}
		for _, p := range cp.Pending {
			op := &persistOp{tenantID: ls.ten.id, lineID: ls.id, start: p.Start}
			if !p.Delete {
				op.event = &store.DowntimeEvent{Start: p.Start, End: p.End, DurationMS: p.DurationMS}
			}
			ls.pending = append(ls.pending, op)
		}
		if len(ls.pending) > 0 {
			e.pendLines[ls] = struct{}{}
		}
	}
	// Messages published after the checkpoint carried later sequences: continue after the
	// latest KPI snapshot, and skip one number so a downtime message published after that
	// snapshot is never reused (a client sees a gap and resyncs, never a repeat).
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if en, err := e.kpiKV.Get(ctx, KPIKey(ls.ten.slug, ls.id)); err == nil {
		var k struct {
			Seq uint64 `json:"seq"`
		}
		if json.Unmarshal(en.Value(), &k) == nil && k.Seq > ls.seq {
			ls.seq = k.Seq
		}
		ls.seq++
	} else if ok {
		ls.seq++
	}
}

// loadTenants reads every active tenant's plant model (best effort: with the database
// down the checkpointed models serve).
func (e *Engine) loadTenants(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for _, m := range e.fetchAll(ctx, false) {
		e.applyMeta(m, true)
	}
}

// fetchAll lists the tenants and loads their metadata (used by Run and the refresher).
// fresh re-reads each model even if the cache holds it: changes made by another process
// (the CLI, another node) do not reach this process's OnChange.
func (e *Engine) fetchAll(ctx context.Context, fresh bool) []*store.Meta {
	var out []*store.Meta
	p := store.Page{Limit: store.MaxPageSize}
	for {
		ts, err := e.st.ListTenants(ctx, p)
		if err != nil {
			e.log.Warn("cannot list tenants", "err", err)
			return out
		}
		for _, t := range ts {
			if !t.Active {
				continue
			}
			if fresh {
				e.meta.Invalidate(t.ID)
			}
			m, err := e.meta.Get(ctx, t.ID)
			if err != nil {
				e.log.Warn("cannot load plant model", "tenant", t.Slug, "err", err)
				continue
			}
			out = append(out, m)
		}
		if len(ts) < p.Limit {
			return out
		}
		p.AfterID = ts[len(ts)-1].ID
	}
}

// refresher re-reads plant models on change notifications and periodically, off the loop.
func (e *Engine) refresher(ctx context.Context) {
	tick := time.NewTicker(e.cfg.MetaRefresh)
	defer tick.Stop()
	send := func(m *store.Meta) {
		select {
		case e.metaCh <- m:
		case <-ctx.Done():
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case id := <-e.changed:
			c, cancel := context.WithTimeout(ctx, 5*time.Second)
			m, err := e.meta.Get(c, id)
			cancel()
			if err == nil {
				send(m)
			}
		case <-tick.C:
			c, cancel := context.WithTimeout(ctx, 10*time.Second)
			for _, m := range e.fetchAll(c, true) {
				send(m)
			}
			cancel()
		}
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
		ls.timer = time.AfterFunc(d, func() { e.fire(ls) })
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
	fired := e.fired
	e.fired = nil
	e.firedMu.Unlock()
	for _, ls := range fired {
		if ls.ten.lines[ls.id] != ls {
			continue // line deleted meanwhile
		}
		now := e.now()
		ls.timerAt = time.Time{}
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
		ls.seq++
		body := DowntimeMsgBody{ID: c.ID, State: c.State, Start: Time(c.Start)}
		if c.State == DowntimeEnded {
			end := Time(c.End)
			body.End, body.DurationMS = &end, c.Duration.Milliseconds()
		}
		data, err := json.Marshal(DowntimeMessage{Type: "downtime", Line: ls.id, Seq: ls.seq, Event: body})
		if err != nil {
			e.log.Error("cannot encode downtime message", "err", err)
			continue
		}
		e.publish(bus.DowntimeSubject(ls.ten.slug, ls.id), data)
		e.m.downtime.WithLabelValues(c.State).Inc()
		if c.State == DowntimeStarted {
			if last, ok := ls.fold.tr.Last(); ok {
				e.m.alertDelay.Observe(now.Sub(last.Add(ls.fold.conf.threshold)).Seconds())
			}
		}
		e.log.Debug("downtime", "tenant", ls.ten.slug, "line", ls.id, "state", c.State, "start", c.Start, "duration", c.Duration)
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

func (e *Engine) publish(subject string, data []byte) {
	msg := &nats.Msg{Subject: subject, Data: data, Header: nats.Header{}}
	msg.Header.Set(PublishedAtHeader, strconv.FormatInt(time.Now().UnixNano(), 10))
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
	for _, ts := range e.tenants {
		for _, ls := range ts.lines {
			if !ls.line.Active || PublishSlot(ts.id, ls.id, slots) != slot {
				continue
			}
			state := ls.fold.state(now)
			p := ls.fold.current(now)
			key := state + "/" + p.Start.String()
			beat := state != StateNoShift && now.Sub(ls.lastPub) >= e.cfg.Heartbeat
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
	ls.seq++
	ls.cpDirty = true
	u := KPIUpdate{
		Type: "kpi", Line: ls.id, Seq: ls.seq, At: Time(now), State: state,
		Counts:       Counts{Total: p.Counts.Total, Good: p.Counts.Good, Reject: p.Counts.Reject},
		RatePerMin:   float64(ls.fold.rate.perMinute(now)),
		Availability: r.Availability, Performance: r.Performance, Quality: r.Quality, OEE: r.OEE,
		PerformanceOver100: r.PerformanceOver100,
		PlannedS:           r.PlannedTime.Seconds(), RunS: r.RunTime.Seconds(), DowntimeS: r.Downtime.Seconds(),
		MicroStops: p.Micro, Products: []ProductCount{}, Areas: []AreaCount{}, StreamSeq: e.lastSeq,
	}
	if p.Shift {
		u.Shift = &KPIShift{ID: p.ShiftID, Name: p.Name, Start: Time(p.Start), End: Time(p.End)}
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
		ts := e.tenants[tenant]
		if ts == nil || ts.lines[line] == nil {
			return
		}
		found = true
		ls := ts.lines[line]
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
	rep.Events = p.Events
	rep.MicroStops = p.Micro
	if p.Shift {
		rep.Shift = &ShiftRef{ID: p.ShiftID, Name: p.Name, Start: p.Start, End: p.End}
	}
	return rep
}
