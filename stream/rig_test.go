package stream

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/linepulse/linepulse/bus"
	"github.com/linepulse/linepulse/bus/bustest"
	"github.com/linepulse/linepulse/detection"
	"github.com/linepulse/linepulse/internal/clock"
	"github.com/linepulse/linepulse/internal/testkit"
	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/store/storetest"
)

// rig is a real bus, a real store with one tenant ("acme"), and helpers to publish
// detections and watch what the engine publishes.
type rig struct {
	t     testing.TB
	bus   *bus.Bus
	nc    *nats.Conn // the test's own connection
	js    jetstream.JetStream
	st    *store.Store
	meta  *store.MetaCache
	tdb   *store.TenantDB
	ten   store.Tenant
	lines []store.Line
	w     *store.WriterPool
	seen  *collector
}

type rigOpts struct {
	tz         string
	shifts     []store.Shift
	lines      int
	threshold  time.Duration
	micro      time.Duration
	ideal      time.Duration
	cfgStoreFn func(t testing.TB) *store.Store // overrides e.Open
}

func newRig(t testing.TB, e storetest.Engine, o rigOpts) *rig {
	t.Helper()
	ctx := context.Background()
	var s *store.Store
	if o.cfgStoreFn != nil {
		s = o.cfgStoreFn(t)
	} else {
		s = e.Open(t)
	}
	ten := store.Tenant{Slug: "acme", Name: "Acme", Config: store.TenantConfig{Timezone: o.tz, RetentionDays: 365}}
	if err := s.CreateTenant(ctx, &ten); err != nil {
		t.Fatal(err)
	}
	tdb, err := s.Tenant(ctx, ten.ID)
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, st: s, tdb: tdb, ten: ten}
	for i := range max(o.lines, 1) {
		l := store.Line{Name: "Line " + string(rune('A'+i)), DowntimeThresholdMS: o.threshold.Milliseconds(),
			IdealCycleTimeMS: o.ideal.Milliseconds(), MicroStopMinMS: o.micro.Milliseconds()}
		if err := tdb.CreateLine(ctx, &l); err != nil {
			t.Fatal(err)
		}
		r.lines = append(r.lines, l)
		for j := range 2 {
			if err := tdb.Areas.Create(ctx, &store.Area{LineID: l.ID, Name: "Station " + string(rune('1'+j))}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, p := range []store.Product{{Name: "Bottle", Color: "#112233"}, {Name: "Can", Color: "#445566"}, {Name: "Jar", Color: "#778899"}} {
		if err := tdb.Products.Create(ctx, &p); err != nil {
			t.Fatal(err)
		}
	}
	for _, sh := range o.shifts {
		sh.ID = 0
		if err := tdb.Shifts.Create(ctx, &sh); err != nil {
			t.Fatal(err)
		}
	}
	r.meta = store.NewMetaCache(s)
	r.bus = bustest.Run(t)
	if r.nc, err = r.bus.Connect("test"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.nc.Close)
	if r.js, err = jetstream.New(r.nc); err != nil {
		t.Fatal(err)
	}
	if r.w, err = tdb.NewWriterPool(ctx, 1); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.w.Close)
	r.seen = r.collect()
	return r
}

// engineRun is an engine running in the background.
type engineRun struct {
	e      *Engine
	cancel context.CancelFunc
	done   chan error
}

func (r *rig) start(cfg Config) *engineRun {
	r.t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	nc, err := r.bus.Connect("engine")
	if err != nil {
		r.t.Fatal(err)
	}
	e, err := NewEngine(cfg, nc, r.st, r.meta)
	if err != nil {
		r.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	x := &engineRun{e: e, cancel: cancel, done: make(chan error, 1)}
	go func() { x.done <- e.Run(ctx); nc.Close() }()
	r.t.Cleanup(func() { x.stop(r.t) })
	return x
}

func (x *engineRun) stop(t testing.TB) {
	t.Helper()
	if x.cancel == nil {
		return
	}
	x.cancel()
	x.cancel = nil
	select {
	case err := <-x.done:
		if err != nil {
			t.Errorf("engine: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("engine did not stop")
	}
}

// inspect runs fn on the engine's loop (where its state may be read).
func (x *engineRun) inspect(t testing.TB, fn func(e *Engine)) {
	t.Helper()
	done := make(chan struct{})
	select {
	case x.e.queries <- func() { fn(x.e); close(done) }:
	case <-time.After(30 * time.Second):
		t.Fatal("engine loop not answering")
	}
	<-done
}

// fold returns a copy of a line's booked figures, read on the loop.
func (x *engineRun) line(t testing.TB, line int64) (ls lineSummary) {
	x.inspect(t, func(e *Engine) {
		l := e.reg.line("acme", line)
		if l == nil {
			return
		}
		ls.found = true
		ls.lastSeq = e.lastSeq
		for _, p := range l.fold.periods {
			ls.total += p.Counts.Total
			ls.good += p.Counts.Good
			ls.down += p.Downtime
			ls.events += p.Events
			ls.micro += p.Micro
		}
		ls.pending = len(l.pending)
	})
	return ls
}

type lineSummary struct {
	found                      bool
	lastSeq                    uint64
	total, good, events, micro int64
	down                       time.Duration
	pending                    int
}

// publish sends detections to a line in stream messages of at most 1000 detections and
// 60 KiB (the contract's limits), waiting for JetStream's acknowledgement, and optionally
// stores them as the writer would.
func (r *rig) publish(line int64, dets []store.Detection, write bool) {
	r.t.Helper()
	ctx := context.Background()
	for len(dets) > 0 {
		size, n := 2, 0
		for n < len(dets) && n < 1000 {
			next := len(detection.AppendJSON(nil, dets[n])) + 1
			if size+next > 60<<10 {
				break
			}
			size += next
			n++
		}
		if _, err := r.js.PublishMsg(ctx, packed(bus.DetSubject(r.ten.Slug, line), dets[:n])); err != nil {
			r.t.Fatal(err)
		}
		if write {
			if _, err := r.tdb.WriteDetections(ctx, r.w, line, dets[:n]); err != nil {
				r.t.Fatal(err)
			}
		}
		dets = dets[n:]
	}
}

// packed is dets as the ingest edge may store them: a pack (bus.PartsHeader) of two
// device messages, the first one object, the second an array; one detection is stored
// alone. So every engine test folds both shapes of a stream message.
func packed(subject string, dets []store.Detection) *nats.Msg {
	first := detection.AppendJSON(nil, dets[0])
	if len(dets) == 1 {
		m := nats.NewMsg(subject)
		m.Data = first
		return m
	}
	rest := []byte{'['}
	for i, d := range dets[1:] {
		if i > 0 {
			rest = append(rest, ',')
		}
		rest = detection.AppendJSON(rest, d)
	}
	rest = append(rest, ']')
	return bus.Pack(subject, [][]byte{first, rest}, nil)
}

// collector records every kpi and downtime message of the tenant.
type collector struct {
	mu   sync.Mutex
	kpi  map[int64][]KPIUpdate
	down map[int64][]DowntimeMessage
	raw  map[int64][]string // per line, message types in arrival order with seq
	seqs map[int64][]uint64
}

func (r *rig) collect() *collector {
	c := &collector{kpi: map[int64][]KPIUpdate{}, down: map[int64][]DowntimeMessage{}, raw: map[int64][]string{}, seqs: map[int64][]uint64{}}
	_, err := r.nc.Subscribe("lp."+r.ten.Slug+".line.*.*", func(m *nats.Msg) {
		_, line, kind, err := bus.ParseLineSubject(m.Subject)
		if err != nil || kind == bus.KindDet {
			return
		}
		if m.Header.Get(PublishedAtHeader) == "" {
			r.t.Errorf("message on %s without %s", m.Subject, PublishedAtHeader)
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		switch kind {
		case bus.KindKPI:
			if !strings.HasPrefix(string(m.Data), `{"type":"kpi"`) {
				r.t.Errorf("kpi message does not start with its type: %.40s", m.Data)
			}
			var u KPIUpdate
			if err := json.Unmarshal(m.Data, &u); err != nil {
				r.t.Errorf("bad kpi message: %v", err)
				return
			}
			c.kpi[line] = append(c.kpi[line], u)
			c.seqs[line] = append(c.seqs[line], u.Seq)
		case bus.KindDowntime:
			var d DowntimeMessage
			if err := json.Unmarshal(m.Data, &d); err != nil {
				r.t.Errorf("bad downtime message: %v", err)
				return
			}
			c.down[line] = append(c.down[line], d)
			c.seqs[line] = append(c.seqs[line], d.Seq)
		}
	})
	if err != nil {
		r.t.Fatal(err)
	}
	if err := r.nc.Flush(); err != nil {
		r.t.Fatal(err)
	}
	return c
}

func (c *collector) downtime(line int64) []DowntimeMessage {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]DowntimeMessage(nil), c.down[line]...)
}

func (c *collector) lastKPI(line int64) (KPIUpdate, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := c.kpi[line]
	if len(k) == 0 {
		return KPIUpdate{}, false
	}
	return k[len(k)-1], true
}

func (c *collector) kpis(line int64) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.kpi[line])
}

func (c *collector) sequence(line int64) []uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]uint64(nil), c.seqs[line]...)
}

func downStates(ms []DowntimeMessage) string {
	var b strings.Builder
	for _, m := range ms {
		b.WriteString(m.Event.State[:1])
	}
	return b.String()
}

// waitLong bounds every wait for an outcome (generous: machines are noisy); poll is how
// often a wait looks.
const (
	waitLong = time.Minute
	poll     = 5 * time.Millisecond
)

var (
	clockStart = flag.String("clock-start", "", "engine tests: the instant (RFC 3339) their fake clocks start at; default an hour ago. "+
		"Not in the future and within the last 300 days (the decoder's limits), e.g. 2026-10-25T00:59:57Z for a DST change in Europe/Madrid")
	clockTZ = flag.String("clock-tz", "UTC", "engine tests on a 24-hour shift: the tenant's time zone")
)

// testStart is the instant the engine tests start their fake clocks at.
func testStart(t testing.TB) time.Time {
	t.Helper()
	if *clockStart == "" {
		return time.Now().Add(-time.Hour).UTC().Truncate(time.Millisecond)
	}
	at, err := time.Parse(time.RFC3339Nano, *clockStart)
	if err != nil {
		t.Fatalf("-clock-start: %v", err)
	}
	return at
}

func testZone(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(*clockTZ)
	if err != nil {
		t.Fatalf("-clock-tz: %v", err)
	}
	return loc
}

// shiftAround is a 24-hour shift, every day, that changes 12 hours (local time) after
// start: a test of a few minutes from start never meets a shift change, whatever the time
// of day.
func shiftAround(start time.Time, loc *time.Location) []store.Shift {
	hm := start.In(loc).Add(12 * time.Hour).Format("15:04")
	return []store.Shift{{Name: "Day", StartTime: hm, EndTime: hm, IsOvernight: true, Active: true}}
}

// advancing waits for f like testkit.CheckFor, moving clk forward by step before each
// look (so the engine's tickers and timers keep firing), by at most limit in all (0: no
// limit) for a state that more time would end.
func advancing(t testing.TB, clk *clock.Fake, step, limit time.Duration, f func() error) {
	t.Helper()
	var moved time.Duration
	testkit.CheckFor(t, waitLong, poll, func() error {
		if limit == 0 || moved < limit {
			clk.Advance(step)
			moved += step
		}
		return f()
	})
}
