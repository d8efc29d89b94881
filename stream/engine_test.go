package stream

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/linepulse/linepulse/internal/clock"
	"github.com/linepulse/linepulse/internal/testkit"
	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/store/storetest"
)

// shiftAllDay is a 24-hour shift starting at local midnight, every day: all time planned.
func shiftAllDay() []store.Shift {
	return []store.Shift{{Name: "Day", StartTime: "00:00", EndTime: "00:00", IsOvernight: true, Active: true}}
}

// goldenRig is a rig with the golden shifts and line settings, and the golden day two
// days ago (the next morning is yesterday: never in the future).
func goldenRig(t *testing.T, e storetest.Engine) (r *rig, loc *time.Location, day time.Time, dets []store.Detection) {
	t.Helper()
	loc = madrid(t)
	r = newRig(t, e, rigOpts{tz: "Europe/Madrid", shifts: goldenShifts(), threshold: 30 * time.Second, micro: 5 * time.Second, ideal: time.Second})
	y, m, d := testStart(t).In(loc).Date()
	day = time.Date(y, m, d-2, 0, 0, 0, 0, loc)
	return r, loc, day, goldenDetections(loc, day)
}

// TestEngineGolden replays the hand-worked golden shift through NATS and checks the
// engine's shift OEE, the booked events, and History's answers from the database.
func TestEngineGolden(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		r, loc, day, dets := goldenRig(t, e)
		line := r.lines[0].ID
		y, m, d := day.Date()
		// The engine's clock: the golden day's 15:00.
		base := time.Date(y, m, d, 15, 0, 0, 0, loc)
		clk := clock.NewFake(base)
		r.publish(line, dets, true)
		x := r.start(Config{Clock: clk, PublishRate: 50, CheckpointEvery: 50 * time.Millisecond})

		shiftStart, shiftEnd := time.Date(y, m, d, 6, 0, 0, 0, loc), time.Date(y, m, d, 14, 0, 0, 0, loc)
		testkit.CheckFor(t, waitLong, poll, func() error {
			s := x.line(t, line)
			return testkit.Unless(s.total == int64(len(dets)) && s.pending == 0 && s.events == 3,
				"folded %d of %d detections, %d events (want 3), %d to store", s.total, len(dets), s.events, s.pending)
		})
		reps, err := x.e.Periods(ctx, "acme", line)
		if err != nil {
			t.Fatal(err)
		}
		var shift *OEEReport
		for i := range reps {
			if reps[i].Shift != nil && reps[i].Shift.Start.Equal(shiftStart) {
				shift = &reps[i]
			}
		}
		if shift == nil {
			t.Fatalf("no Morning period in %+v", reps)
		}
		checkGolden(t, "engine", *shift)
		if shift.MicroStops != 1 || shift.Shift.Name != "Morning" || !shift.Shift.End.Equal(shiftEnd) {
			t.Errorf("engine: micro %d shift %+v", shift.MicroStops, shift.Shift)
		}

		// History from the database agrees: rollups + booked events.
		h := NewHistory(r.st, r.meta).WithClock(clk.Now)
		rep, err := h.OEE(ctx, r.ten.ID, line, shiftStart, shiftEnd)
		if err != nil {
			t.Fatal(err)
		}
		checkGolden(t, "history", rep)
		prev, err := h.ShiftOEE(ctx, r.ten.ID, line, ShiftPrevious, base)
		if err != nil {
			t.Fatal(err)
		}
		checkGolden(t, "history previous shift", prev)
		if prev.Shift == nil || prev.Shift.Name != "Morning" || !prev.Shift.Start.Equal(shiftStart) {
			t.Errorf("previous shift = %+v", prev.Shift)
		}
		raw, err := h.WithRawSource().OEE(ctx, r.ten.ID, line, shiftStart, shiftEnd)
		if err != nil || !reflect.DeepEqual(raw, rep) { // Shift is a pointer: compare what it names
			t.Errorf("raw OEE %+v (%v) differs from rollup OEE %+v", raw, err, rep)
		}
		evs, err := h.Downtime(ctx, r.ten.ID, line, day, day.AddDate(0, 0, 2), store.DowntimeFilter{}, store.Page{})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, ev := range evs {
			got = append(got, fmt.Sprintf("%s %dms", ev.Start.In(loc).Format("15:04:05"), ev.DurationMS))
		}
		if want := []string{"07:00:00 1200000ms", "11:50:00 1500000ms", "06:00:00 35000ms"}; !slices.Equal(got, want) {
			t.Errorf("stored events %v, want %v", got, want)
		}
		hours, err := h.Production(ctx, r.ten.ID, line, shiftStart, shiftEnd, IntervalHour)
		if err != nil {
			t.Fatal(err)
		}
		var total, reject int64
		for _, b := range hours {
			total += b.Total
			reject += b.Reject
		}
		if len(hours) != 8 || total != goldenTotal || reject != goldenTotal-goldenGood || hours[3].Reject != 600 {
			t.Errorf("hourly production: %d buckets, total %d, reject %d: %+v", len(hours), total, reject, hours)
		}

		// The KPI stream: named products and areas, the current (off-shift) period.
		advancing(t, clk, 10*time.Millisecond, 0, func() error {
			k, ok := r.seen.lastKPI(line)
			return testkit.Unless(ok && k.StreamSeq >= uint64(len(dets)/1000) && k.State == StateNoShift, "last KPI update %+v", k)
		})
		// The hub's snapshot: the latest update, same bytes, in LP_KPI.
		kv, err := r.js.KeyValue(ctx, KPIBucket)
		if err != nil {
			t.Fatal(err)
		}
		testkit.CheckFor(t, waitLong, poll, func() error {
			en, err := kv.Get(ctx, KPIKey("acme", line))
			if err != nil {
				return err
			}
			k, _ := r.seen.lastKPI(line)
			return testkit.Unless(strings.HasPrefix(string(en.Value()), `{"type":"kpi","line":1,"seq":`+fmt.Sprint(k.Seq)+`,`),
				"LP_KPI holds %.40s, the latest update has seq %d", en.Value(), k.Seq)
		})
		k, _ := r.seen.lastKPI(line)
		if k.State != StateNoShift || k.Shift != nil || len(k.Products) == 0 || k.Products[0].Name == "" || !strings.HasPrefix(k.Products[0].Color, "#") || len(k.Areas) != 1 || !strings.HasPrefix(k.Areas[0].Name, "Station") {
			t.Errorf("last KPI update %+v", k)
		}
	})
}

func checkGolden(t *testing.T, who string, r OEEReport) {
	t.Helper()
	if r.Total != goldenTotal || r.Good != goldenGood || r.Reject != goldenTotal-goldenGood || r.Events != 2 {
		t.Errorf("%s: counts %d/%d/%d events %d", who, r.Total, r.Good, r.Reject, r.Events)
	}
	if r.PlannedS != goldenPlanned.Seconds() || r.DowntimeS != goldenDown.Seconds() || r.RunS != (goldenPlanned-goldenDown).Seconds() || r.UnmonitoredS != 0 {
		t.Errorf("%s: planned %v down %v run %v unmonitored %v", who, r.PlannedS, r.DowntimeS, r.RunS, r.UnmonitoredS)
	}
	checkRatio(t, who+" availability", r.Availability, 23400.0/26100)
	checkRatio(t, who+" performance", r.Performance, 23394.0/23400)
	checkRatio(t, who+" quality", r.Quality, 22794.0/23394)
	checkRatio(t, who+" OEE", r.OEE, 22794.0/26100)
}

// TestEngineLiveReplayBackfill runs a short production live (the engine's clock moves with
// the detections, so the live alerts fire on it), then replays the stream from scratch
// with a new engine, then publishes the same detections late on a second line: the booked
// events and the shift figures are the same all three ways.
func TestEngineLiveReplayBackfill(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		start, loc := testStart(t), testZone(t)
		r := newRig(t, e, rigOpts{tz: loc.String(), shifts: shiftAround(start, loc), lines: 2, threshold: time.Second, micro: 200 * time.Millisecond, ideal: 50 * time.Millisecond})
		live, late := r.lines[0].ID, r.lines[1].ID
		clk := clock.NewFake(start)
		cfg := Config{Clock: clk, PublishRate: 20, Heartbeat: 200 * time.Millisecond, CheckpointEvery: 100 * time.Millisecond}
		x := r.start(cfg)
		advancing(t, clk, 10*time.Millisecond, 0, func() error { return testkit.Unless(r.seen.kpis(live) > 0, "no KPI update yet") })

		var dets []store.Detection
		run := func(n int) {
			for range n {
				d := store.Detection{ID: uint64(len(dets) + 1), At: clk.Now().UTC().Truncate(time.Millisecond), Area: 1 + int64(len(dets)%2), Product: 1, OK: len(dets)%7 != 0}
				dets = append(dets, d)
				r.publish(live, []store.Detection{d}, true)
				// Folded before the clock moves on: it arrives live, not late.
				testkit.CheckFor(t, waitLong, poll, func() error {
					s := x.line(t, live)
					return testkit.Unless(s.total == int64(len(dets)), "folded %d of %d", s.total, len(dets))
				})
				clk.Advance(40 * time.Millisecond)
			}
		}
		alerts := func(n int) {
			testkit.CheckFor(t, waitLong, poll, func() error {
				got := downStates(r.seen.downtime(live))
				return testkit.Unless(strings.Count(got, "s") == n, "downtime messages %q, want %d stop alerts", got, n)
			})
		}
		run(25)
		clk.Advance(1600 * time.Millisecond) // a stop
		alerts(1)
		run(25)
		clk.Advance(500 * time.Millisecond) // a micro-stop
		run(25)
		clk.Advance(1800 * time.Millisecond) // a stop
		alerts(2)
		run(25)
		// Booked event-time truth, computed from the data itself.
		var want []string
		for i := 1; i < len(dets); i++ {
			if gap := dets[i].At.Sub(dets[i-1].At); gap > time.Second {
				want = append(want, fmt.Sprintf("%s %d", dets[i-1].At.Format(time.RFC3339Nano), gap.Milliseconds()))
			}
		}
		if len(want) != 2 {
			t.Fatalf("the scenario made %d stops, want 2 (machine too slow?)", len(want))
		}
		ended := func(ms []DowntimeMessage) []string {
			var out []string
			for _, m := range ms {
				if m.Event.State == DowntimeEnded {
					out = append(out, fmt.Sprintf("%s %d", m.Event.Start.Time().Format(time.RFC3339Nano), m.Event.DurationMS))
				}
			}
			return out
		}
		// The trailing stop: moved on in steps, so an alert timer armed a moment after the
		// last fold still sees its deadline pass (one big step could land before it was set).
		advancing(t, clk, 100*time.Millisecond, 3*time.Second, func() error {
			got := downStates(r.seen.downtime(live))
			return testkit.Unless(strings.Count(got, "s") == 3, "downtime messages %q, want 3 stop alerts", got)
		})
		liveMsgs := r.seen.downtime(live)
		if s := downStates(liveMsgs); s != "seses" {
			t.Fatalf("live downtime messages %q, want seses", s)
		}
		if got := ended(liveMsgs); !slices.Equal(got, want) {
			t.Fatalf("live events %v, want %v", got, want)
		}
		// The KPI updates carry the running stop, so a page opened now shows it.
		started := liveMsgs[len(liveMsgs)-1].Event.Start
		advancing(t, clk, 10*time.Millisecond, 0, func() error {
			k, ok := r.seen.lastKPI(live)
			return testkit.Unless(ok && k.State == StateDown && k.OpenDowntime != nil && k.OpenDowntime.Start == started && k.OpenDowntime.ElapsedS > 0,
				"last KPI state %s open %+v, want down since %v", k.State, k.OpenDowntime, started.Time())
		})
		liveSum := x.line(t, live)
		if liveSum.total != 100 || liveSum.events != 2 || liveSum.micro < 1 {
			t.Fatalf("live figures %+v", liveSum)
		}
		x.stop(t)

		// Replay: a new engine without checkpoint folds the stream from its start.
		if err := r.js.DeleteKeyValue(ctx, CheckpointBucket); err != nil {
			t.Fatal(err)
		}
		before := len(r.seen.downtime(live))
		y := r.start(cfg)
		testkit.CheckFor(t, waitLong, poll, func() error {
			s := y.line(t, live)
			return testkit.Unless(s.total == 100 && s.pending == 0, "replayed %d of 100, %d to store", s.total, s.pending)
		})
		replaySum := y.line(t, live)
		if replaySum.total != liveSum.total || replaySum.good != liveSum.good || replaySum.down != liveSum.down || replaySum.events != liveSum.events || replaySum.micro != liveSum.micro {
			t.Errorf("replay figures %+v, live %+v", replaySum, liveSum)
		}
		if got := ended(r.seen.downtime(live)[before:]); !slices.Equal(got, want) {
			t.Errorf("replayed events %v, want %v", got, want)
		}

		// Backfill: the same detections arrive late, in one message, on the second line.
		r.publish(late, dets, true)
		testkit.CheckFor(t, waitLong, poll, func() error {
			s := y.line(t, late)
			return testkit.Unless(s.total == 100 && s.events == 2 && s.pending == 0, "backfilled %d of 100, %d events (want 2), %d to store", s.total, s.events, s.pending)
		})
		lateSum := y.line(t, late)
		if lateSum.good != liveSum.good || lateSum.down != liveSum.down || lateSum.micro != liveSum.micro {
			t.Errorf("backfill figures %+v, live %+v", lateSum, liveSum)
		}
		testkit.CheckFor(t, waitLong, poll, func() error {
			got := ended(r.seen.downtime(late))
			return testkit.Unless(len(got) >= 2, "backfill's ended events %v", got)
		})
		if got := ended(r.seen.downtime(late)); !slices.Equal(got, want) {
			t.Errorf("backfilled events %v, want %v (messages %q)", got, want, downStates(r.seen.downtime(late)))
		}
		if strings.Contains(downStates(r.seen.downtime(late)), "c") {
			t.Errorf("the backfill raised and cancelled an alert: %q", downStates(r.seen.downtime(late)))
		}

		// The database holds each line's two closed events, identical across lines.
		for _, l := range []int64{live, late} {
			evs, err := r.tdb.ListDowntime(ctx, l, dets[0].At.Add(-time.Minute), clk.Now().Add(time.Minute), store.DowntimeFilter{}, store.Page{})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, ev := range evs {
				if ev.End != nil {
					got = append(got, fmt.Sprintf("%s %d", ev.Start.Format(time.RFC3339Nano), ev.DurationMS))
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("line %d stored %v, want %v", l, got, want)
			}
		}
		// Shift OEE from history agrees with the engine's booked downtime on both lines.
		h := NewHistory(r.st, r.meta).WithClock(clk.Now)
		// To the last detection, excluded: the live line's trailing stop (open) starts there.
		from, to := dets[0].At.Truncate(time.Minute), dets[len(dets)-1].At
		a, err := h.OEE(ctx, r.ten.ID, live, from, to)
		if err != nil {
			t.Fatal(err)
		}
		b, err := h.OEE(ctx, r.ten.ID, late, from, to)
		if err != nil {
			t.Fatal(err)
		}
		if a != b || a.DowntimeS != liveSum.down.Seconds() || a.Total != 100 || a.Events != 2 {
			t.Errorf("history OEE live %+v, backfill %+v, engine downtime %v", a, b, liveSum.down)
		}
	})
}

// TestEngineCrashResume kills the engine without its final checkpoint in the middle of
// the stream; the restarted engine's counts equal the detections stored, and sequences
// never repeat.
func TestEngineCrashResume(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		r := newRig(t, e, rigOpts{tz: "UTC", shifts: shiftAllDay(), lines: 2, threshold: time.Minute, ideal: 100 * time.Millisecond})
		clk := clock.NewFake(testStart(t))
		start := clk.Now().Add(-2 * time.Hour).Truncate(time.Second)
		id := uint64(0)
		batch := func(line int64, n int) []store.Detection {
			out := make([]store.Detection, n)
			for i := range out {
				id++
				out[i] = store.Detection{ID: id, At: start.Add(time.Duration(id) * 100 * time.Millisecond).UTC(), Area: 1, Product: 1 + int64(id%3), OK: id%11 != 0}
			}
			return out
		}
		cfg := Config{Clock: clk, PublishRate: 100, CheckpointEvery: 5 * time.Millisecond, CheckpointMessages: 2}
		x := r.start(cfg)
		for i := range 20 {
			r.publish(r.lines[i%2].ID, batch(r.lines[i%2].ID, 300), true)
		}
		testkit.CheckFor(t, waitLong, poll, func() error {
			n := x.line(t, r.lines[0].ID).total + x.line(t, r.lines[1].ID).total
			return testkit.Unless(n == 6000, "folded %d of the first 6000", n)
		})
		// More messages, and the crash while they are being folded.
		for i := range 10 {
			r.publish(r.lines[i%2].ID, batch(r.lines[i%2].ID, 300), true)
		}
		x.e.crashOnStop = true // read by Run after its loop ends
		x.stop(t)
		crashedAt := x.e.lastSeq
		for i := range 10 {
			r.publish(r.lines[i%2].ID, batch(r.lines[i%2].ID, 300), true)
		}
		y := r.start(cfg)
		info, err := r.js.Stream(ctx, "LP_DET")
		if err != nil {
			t.Fatal(err)
		}
		last := info.CachedInfo().State.LastSeq
		testkit.CheckFor(t, waitLong, poll, func() error {
			seq := y.line(t, r.lines[0].ID).lastSeq
			return testkit.Unless(seq == last, "the restarted engine is at stream seq %d of %d", seq, last)
		})
		far := clk.Now().Add(time.Hour)
		for _, l := range r.lines {
			stored, err := r.tdb.CountDetections(ctx, l.ID, start.Add(-time.Hour), far)
			if err != nil {
				t.Fatal(err)
			}
			if got := y.line(t, l.ID); got.total != stored || stored != 6000 {
				t.Errorf("line %d: engine counts %d, stored %d (crashed at stream seq %d of %d)", l.ID, got.total, stored, crashedAt, last)
			}
			tot, good, _, err := r.tdb.RollupTotals(ctx, l.ID, start.Add(-time.Hour), far)
			if err != nil || y.line(t, l.ID).good != good || tot != stored {
				t.Errorf("line %d: good %d vs stored %d (%v)", l.ID, y.line(t, l.ID).good, good, err)
			}
		}
		// Sequences: strictly increasing across the restart (a gap there is allowed).
		advancing(t, clk, 10*time.Millisecond, 0, func() error {
			k, ok := r.seen.lastKPI(r.lines[0].ID)
			return testkit.Unless(ok && k.StreamSeq == last, "last KPI update at stream seq %d, want %d", k.StreamSeq, last)
		})
		seqs := r.seen.sequence(r.lines[0].ID)
		gaps := 0
		for i := 1; i < len(seqs); i++ {
			switch {
			case seqs[i] <= seqs[i-1]:
				t.Fatalf("sequence went from %d to %d", seqs[i-1], seqs[i])
			case seqs[i] > seqs[i-1]+1:
				gaps++
			}
		}
		if gaps > 1 {
			t.Errorf("%d sequence gaps, want at most 1 (at the restart): %v", gaps, seqs)
		}
	})
}

// TestEngineDatabaseDown: with the database unreachable, KPI updates and downtime alerts
// keep flowing; the events are queued and stored once the database is back.
func TestEngineDatabaseDown(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		var proxy *testkit.Proxy
		clk := clock.NewFake(testStart(t))
		opts := rigOpts{tz: "UTC", shifts: shiftAround(clk.Now(), time.UTC), threshold: 500 * time.Millisecond, micro: 100 * time.Millisecond, ideal: 50 * time.Millisecond}
		if e.Name == "mysql" {
			opts.cfgStoreFn = func(t testing.TB) *store.Store {
				cfg := e.Config(t)
				mc, err := mysql.ParseDSN(cfg.MySQLDSN)
				if err != nil {
					t.Fatal(err)
				}
				proxy = testkit.NewProxy(t, mc.Addr)
				mc.Addr = proxy.Addr()
				mc.Timeout = time.Second
				cfg.MySQLDSN = mc.FormatDSN()
				s, err := store.Open(ctx, cfg)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				return s
			}
		}
		r := newRig(t, e, opts)
		line := r.lines[0].ID
		x := r.start(Config{Clock: clk, PublishRate: 20, Heartbeat: 100 * time.Millisecond})
		advancing(t, clk, 10*time.Millisecond, 0, func() error { return testkit.Unless(r.seen.kpis(line) > 0, "no KPI update yet") })

		// The database goes away.
		if proxy != nil {
			proxy.Cut()
		} else if err := r.st.Close(); err != nil {
			t.Fatal(err)
		}
		var dets []store.Detection
		run := func(n int) {
			for range n {
				d := store.Detection{ID: uint64(len(dets) + 1), At: clk.Now().UTC().Truncate(time.Millisecond), Area: 1, Product: 2, OK: true}
				dets = append(dets, d)
				r.publish(line, []store.Detection{d}, false)
				testkit.CheckFor(t, waitLong, poll, func() error {
					s := x.line(t, line)
					return testkit.Unless(s.total == int64(len(dets)), "folded %d of %d", s.total, len(dets))
				})
				clk.Advance(20 * time.Millisecond)
			}
		}
		// KPI updates go out on the clock's publish slots; less than the threshold passes
		// while a test waits for a running line's update.
		kpiWait := func(what string, ok func(KPIUpdate) bool, limit time.Duration) {
			t.Helper()
			advancing(t, clk, 10*time.Millisecond, limit, func() error {
				k, _ := r.seen.lastKPI(line)
				return testkit.Unless(ok(k), "%s: last KPI update %+v", what, k)
			})
		}
		run(20)
		kpiWait("KPI updates with the new detections", func(k KPIUpdate) bool { return k.Counts.Total == 20 && k.State == StateRunning }, 200*time.Millisecond)
		advancing(t, clk, 10*time.Millisecond, 0, func() error {
			got := downStates(r.seen.downtime(line))
			return testkit.Unless(got == "s", "downtime messages %q, want the stop alert", got)
		})
		kpiWait("a KPI update saying down", func(k KPIUpdate) bool { return k.State == StateDown && k.DowntimeS > 0 }, 0)
		run(5)
		testkit.CheckFor(t, waitLong, poll, func() error {
			got := downStates(r.seen.downtime(line))
			return testkit.Unless(got == "se", "downtime messages %q, want the stop's end", got)
		})
		kpiWait("KPI updates after the stop", func(k KPIUpdate) bool { return k.Counts.Total == 25 && k.State == StateRunning }, 200*time.Millisecond)
		if q := metricValue(x.e.m.persistQueue); q < 1 {
			t.Errorf("persist queue %v while the database is down, want the events queued", q)
		}
		testkit.CheckFor(t, waitLong, poll, func() error {
			return testkit.Unless(metricValue(x.e.m.persistErrors) >= 1, "no failed attempt to store while the database is down")
		})
		// One engine run: kpi and downtime messages share one sequence, +1 each.
		seqs := r.seen.sequence(line)
		for i := 1; i < len(seqs); i++ {
			if seqs[i] != seqs[i-1]+1 {
				t.Fatalf("sequence %d followed by %d: %v", seqs[i-1], seqs[i], seqs)
			}
		}
		m := r.seen.downtime(line)
		if m[1].Event.ID != 0 || m[1].Event.DurationMS < 500 {
			t.Errorf("ended event %+v: want id 0 (not stored) and the stop's duration", m[1].Event)
		}
		if proxy == nil {
			return // a closed SQLite store does not come back
		}
		proxy.Restore()
		// The retries back off on the engine's clock; the line, silent, stops again.
		advancing(t, clk, 100*time.Millisecond, 0, func() error {
			s, got := x.line(t, line), downStates(r.seen.downtime(line))
			return testkit.Unless(s.pending == 0 && got == "ses", "%d events to store, downtime messages %q (want ses)", s.pending, got)
		})
		evs, err := r.tdb.ListDowntime(ctx, line, dets[0].At, clk.Now().Add(time.Minute), store.DowntimeFilter{}, store.Page{})
		// The stop, closed; then (the test stopped publishing) the next stop, open.
		if err != nil || len(evs) != 2 || evs[0].End == nil || evs[1].End != nil || evs[0].DurationMS != m[1].Event.DurationMS || !evs[0].Start.Equal(m[1].Event.Start.Time()) {
			t.Fatalf("stored after recovery: %+v, %v", evs, err)
		}
	})
}

func metricValue(c prometheus.Metric) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	switch {
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Counter != nil:
		return m.Counter.GetValue()
	}
	return -1
}
