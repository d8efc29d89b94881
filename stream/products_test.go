package stream

import (
	"context"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/linepulse/linepulse/internal/clock"
	"github.com/linepulse/linepulse/internal/testkit"
	"github.com/linepulse/linepulse/loss"
	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/store/storetest"
)

// TestProductRunsScenario is the hand-computed acceptance scenario of product runs and
// changeovers (issue 13), through NATS and the live engine, then History from the
// database, on both database engines. Tenant zone UTC, one shift 06:00-10:00 (no break):
//
//	line: downtime threshold 60 s, micro-stop minimum 10 s, ideal cycle 6 s
//	products: A ideal 2 s, B ideal 3 s, C none (the line's 6 s)
//
//	06:00:00-06:59:56  A every 4 s; 06:30:04-06:30:16 missing  → micro-stop gap 20 s; 896 units
//	06:59:56-07:10:00  no detection, next one is B             → changeover 604 s (uncoded)
//	07:10:00-08:00:00  B every 5 s; 07:30:05-07:30:25 missing  → micro-stop gap 30 s; 596 units
//	08:00:00-08:20:00  stop, B before and after, coded CLEAN (planned)  → planned stop 1200 s
//	08:20:00-08:40:00  B every 5 s                                       241 units
//	08:40:00-08:45:00  stop, B before and after, coded JAM (category MECH) → unplanned 300 s
//	08:45:00-09:00:00  B every 5 s                                       181 units
//	09:00:00-09:00:06  6 s gap to C: below the micro-stop minimum, no stop, no changeover
//	09:00:06-09:59:58  C every 8 s; 09:20:14, 09:20:22 missing → micro-stop gap 24 s; 448 units
//
//	rejects: start-up (minutes 06:00-06:05, 07:10-07:15, 08:45-08:50): A 06:01:00,
//	B 07:11:00, B 08:46:00 = 2+3+3 = 8 s; process: A 06:40:00, B 07:40:00, C 09:30:06,
//	C 09:45:02 = 2+3+6+6 = 17 s
//
//	planned 14400 s; unmonitored 0; planned stop CLEAN 1200 → loading 13200 s
//	unplanned MECH 300; changeover 604 → run 12296 s
//	net run = 896×2 + 1018×3 + 448×6 = 1792 + 3054 + 2688 = 7534 s
//	micro-stops lose their gap less one ideal cycle of the unit that ends it:
//	(20−2) + (30−3) + (24−6) = 63 s; reduced speed = 12296 − 63 − 7534 = 4699 s
//	fully productive = 7534 − 8 − 17 = 7509 s
//	A = 12296/13200, P = 7534/12296, Q = 7509/7534, OEE = 7509/13200
//	total 2362, good 2355; events (unplanned) 2, downtime 904 s, planned stop 1200 s
//	Pareto by reason: CLEAN 1200, changeover 604, JAM 300 (total 2104, uncoded 0);
//	by category: CLEAN, changeover, MECH.
//
// The live engine's figures equal History's (the CLEAN stop leaves planned time live too).
func TestProductRunsScenario(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		shift := store.Shift{Name: "Early", StartTime: "06:00", EndTime: "10:00", Active: true, DaysImplemented: store.JSON("[1,2,3,4,5,6,7]")}
		r := newRig(t, e, rigOpts{tz: "UTC", shifts: []store.Shift{shift}, threshold: time.Minute, micro: 10 * time.Second, ideal: 6 * time.Second})
		line := r.lines[0].ID
		prods, err := r.tdb.Products.All(ctx)
		if err != nil || len(prods) != 3 {
			t.Fatalf("products %+v %v", prods, err)
		}
		for i, ms := range []int64{2000, 3000, 0} {
			prods[i].IdealCycleMS = ms
			if err := r.tdb.Products.Update(ctx, &prods[i]); err != nil {
				t.Fatal(err)
			}
		}
		pA, pB, pC := prods[0].ID, prods[1].ID, prods[2].ID
		mech := store.Failure{Code: "MECH", Name: "Mechanical"}
		if err := r.tdb.Failures.Create(ctx, &mech); err != nil {
			t.Fatal(err)
		}
		for _, f := range []store.Failure{{Code: "JAM", Name: "Jam", ParentID: mech.ID}, {Code: "CLEAN", Name: "Cleaning", Kind: store.ReasonPlanned}} {
			if err := r.tdb.Failures.Create(ctx, &f); err != nil {
				t.Fatal(err)
			}
		}

		y, m, d := testStart(t).UTC().Date()
		day := time.Date(y, m, d-2, 0, 0, 0, 0, time.UTC)
		at := func(h, min, s int) time.Time {
			return day.Add(time.Duration(h)*time.Hour + time.Duration(min)*time.Minute + time.Duration(s)*time.Second)
		}
		rejects := []time.Time{at(6, 1, 0), at(7, 11, 0), at(8, 46, 0), at(6, 40, 0), at(7, 40, 0), at(9, 30, 6), at(9, 45, 2)}
		missing := []time.Time{at(6, 30, 4), at(6, 30, 8), at(6, 30, 12), at(6, 30, 16),
			at(7, 30, 5), at(7, 30, 10), at(7, 30, 15), at(7, 30, 20), at(7, 30, 25), at(9, 20, 14), at(9, 20, 22)}
		var dets []store.Detection
		seg := func(product int64, from, last time.Time, step time.Duration) {
			for ts := from; !ts.After(last); ts = ts.Add(step) {
				if slices.ContainsFunc(missing, ts.Equal) {
					continue
				}
				dets = append(dets, store.Detection{ID: uint64(len(dets) + 1), At: ts, Area: 1, Product: product, OK: !slices.ContainsFunc(rejects, ts.Equal)})
			}
		}
		seg(pA, at(6, 0, 0), at(6, 59, 56), 4*time.Second)
		seg(pB, at(7, 10, 0), at(8, 0, 0), 5*time.Second)
		seg(pB, at(8, 20, 0), at(8, 40, 0), 5*time.Second)
		seg(pB, at(8, 45, 0), at(9, 0, 0), 5*time.Second)
		seg(pC, at(9, 0, 6), at(9, 59, 58), 8*time.Second)
		if len(dets) != 2362 {
			t.Fatalf("%d detections, the hand count is 2362", len(dets))
		}

		clk := clock.NewFake(day.Add(36 * time.Hour)) // the next day's noon: the shift is over
		r.publish(line, dets, true)
		x := r.start(Config{Clock: clk, PublishRate: 50, CheckpointEvery: 50 * time.Millisecond})
		testkit.CheckFor(t, waitLong, poll, func() error {
			s := x.line(t, line)
			return testkit.Unless(s.total == int64(len(dets)) && s.pending == 0 && s.events == 3,
				"folded %d of %d detections, %d events (want 3), %d to store", s.total, len(dets), s.events, s.pending)
		})
		h := NewHistory(r.st, r.meta).WithClock(clk.Now)
		shiftStart, shiftEnd := at(6, 0, 0), at(10, 0, 0)
		evs, err := h.Downtime(ctx, r.ten.ID, line, shiftStart, shiftEnd, store.DowntimeFilter{}, store.Page{})
		if err != nil || len(evs) != 3 {
			t.Fatalf("booked %+v %v", evs, err)
		}
		for _, ev := range evs {
			code := map[time.Time]string{at(8, 0, 0): "CLEAN", at(8, 40, 0): "JAM"}[ev.Start]
			if code == "" {
				if !ev.Start.Equal(at(6, 59, 56)) || ev.DurationMS != 604000 {
					t.Fatalf("changeover event %+v", ev)
				}
				continue
			}
			if err := r.tdb.SetDowntimeReason(ctx, line, ev.ID, code, "", 1); err != nil {
				t.Fatal(err)
			}
		}

		// The live engine, told of the coding as the API tells it: its period of the shift
		// leaves the CLEAN stop out of planned time once it has re-read the coded events.
		if err := NotifyCoded(r.nc, r.ten.ID, line); err != nil {
			t.Fatal(err)
		}
		var live *OEEReport
		testkit.CheckFor(t, waitLong, poll, func() error {
			reps, err := x.e.Periods(ctx, "acme", line)
			if err != nil {
				return err
			}
			for i := range reps {
				if reps[i].Shift != nil && reps[i].Shift.Start.Equal(shiftStart) {
					if live = &reps[i]; live.PlannedStopS != 1200 {
						return fmt.Errorf("live planned stop %v s, want 1200", live.PlannedStopS)
					}
					return nil
				}
			}
			return fmt.Errorf("no live period of the shift in %+v", reps)
		})
		exact(t, "live", map[string][2]float64{
			"total": {float64(live.Total), 2362}, "good": {float64(live.Good), 2355}, "run_s": {live.RunS, 12296},
			"downtime_s": {live.DowntimeS, 904}, "planned_stop_s": {live.PlannedStopS, 1200},
			"micro_stops": {float64(live.MicroStops), 3}, "micro_stop_s": {live.MicroStopS, 63},
			"P": {live.Performance, 7534.0 / 12296}, "Q": {live.Quality, 7509.0 / 7534},
		})

		id := instanceID(t, h, r.ten.ID, line, shiftStart)
		for _, src := range []*History{h, h.WithRawSource()} {
			sd, err := src.Shift(ctx, r.ten.ID, line, id)
			if err != nil {
				t.Fatal(err)
			}
			o, w := sd.OEEReport, sd.Losses
			exact(t, "history", map[string][2]float64{
				"planned_s": {o.PlannedS, 13200}, "planned_stop_s": {o.PlannedStopS, 1200}, "downtime_s": {o.DowntimeS, 904},
				"run_s": {o.RunS, 12296}, "unmonitored_s": {o.UnmonitoredS, 0}, "events": {float64(o.Events), 2},
				"total": {float64(o.Total), 2362}, "good": {float64(o.Good), 2355}, "reject": {float64(o.Reject), 7},
				"A": {o.Availability, 12296.0 / 13200}, "P": {o.Performance, 7534.0 / 12296},
				"Q": {o.Quality, 7509.0 / 7534}, "OEE": {o.OEE, 7509.0 / 13200},
				"waterfall A": {w.Availability, o.Availability}, "waterfall P": {w.Performance, o.Performance},
				"waterfall Q": {w.Quality, o.Quality}, "waterfall OEE": {w.OEE, o.OEE},
				"loading_s": {w.LoadingS, 13200}, "net_run_s": {w.NetRunS, 7534}, "fully_productive_s": {w.FullyS, 7509},
				// The live engine's performance and quality are History's.
				"live P": {live.Performance, o.Performance}, "live Q": {live.Quality, o.Quality},
				"live A": {live.Availability, o.Availability}, "live OEE": {live.OEE, o.OEE},
				"micro_stops": {float64(o.MicroStops), 3}, "micro_stop_s": {o.MicroStopS, 63},
			})
			want := []struct {
				kind, key string
				s         float64
			}{{loss.KindUnmonitored, "", 0}, {loss.KindPlannedStop, "CLEAN", 1200}, {loss.KindUnplannedStop, "MECH", 300},
				{loss.KindChangeover, "", 604}, {loss.KindMicroStop, "", 63}, {loss.KindReducedSpeed, "", 4699},
				{loss.KindStartupReject, "", 8}, {loss.KindProcessReject, "", 17}, {loss.KindFullyProd, "", 7509}}
			if len(w.Buckets) != len(want) {
				t.Fatalf("buckets %+v", w.Buckets)
			}
			var sum float64
			for i, b := range want {
				got := w.Buckets[i]
				sum += got.Seconds
				if got.Kind != b.kind || got.Key != b.key || got.Seconds != b.s {
					t.Errorf("bucket %d = %+v, want %s %q %v s", i, got, b.kind, b.key, b.s)
				}
			}
			if sum != 14400 || w.PlannedS != 14400 {
				t.Errorf("buckets sum to %v of %v, want 14400", sum, w.PlannedS)
			}

			stops, err := src.Stops(ctx, r.ten.ID, line, shiftStart, shiftEnd)
			if err != nil {
				t.Fatal(err)
			}
			var kinds []string
			for _, st := range stops {
				kinds = append(kinds, st.Kind)
			}
			if !slices.Equal(kinds, []string{KindChangeover, store.ReasonPlanned, store.ReasonUnplanned}) {
				t.Errorf("stop kinds %v", kinds)
			}
		}

		wantP := map[string][]struct {
			key string
			s   float64
		}{
			GroupReason:   {{"CLEAN", 1200}, {KindChangeover, 604}, {"JAM", 300}},
			GroupCategory: {{"CLEAN", 1200}, {KindChangeover, 604}, {"MECH", 300}},
		}
		for group, want := range wantP {
			p, err := h.Pareto(ctx, r.ten.ID, []int64{line}, shiftStart, shiftEnd, group)
			if err != nil || len(p.Groups) != len(want) || p.TotalS != 2104 || p.UncodedS != 0 || p.Count != 3 {
				t.Fatalf("%s pareto %+v %v", group, p, err)
			}
			for i, w := range want {
				if g := p.Groups[i]; g.Key != w.key || g.DurationS != w.s || g.Count != 1 {
					t.Errorf("%s pareto group %d = %+v, want %s %v s", group, i, g, w.key, w.s)
				}
			}
		}

		runs, err := h.Runs(ctx, r.ten.ID, line, shiftStart, shiftEnd)
		if err != nil {
			t.Fatal(err)
		}
		type run struct {
			product      int64
			first, last  time.Time
			total, good  int64
			idealCycleMS int64
		}
		var got []run
		for _, x := range runs {
			got = append(got, run{x.ProductID, x.Start, *x.End, x.Total, x.Good, x.IdealCycleMS})
			if x.Source != RunCamera || x.ProductName == "" {
				t.Errorf("run %+v", x)
			}
		}
		wantRuns := []run{{pA, at(6, 0, 0), at(6, 59, 56), 896, 894, 2000}, {pB, at(7, 10, 0), at(9, 0, 0), 1018, 1015, 3000}, {pC, at(9, 0, 6), at(9, 59, 58), 448, 446, 6000}}
		if !slices.Equal(got, wantRuns) {
			t.Errorf("runs %+v\nwant %+v", got, wantRuns)
		}

		// Re-booking from the stored detections (linepulse recompute) keeps the events, so
		// the figures stay.
		if _, err := h.Recompute(ctx, r.ten.ID, line, shiftStart, shiftEnd); err != nil {
			t.Fatal(err)
		}
		again, err := h.Losses(ctx, r.ten.ID, line, shiftStart, shiftEnd)
		if err != nil || again.Losses.Buckets[3].Seconds != 604 {
			t.Fatalf("after recompute: %+v %v", again, err)
		}
		exact(t, "after recompute", map[string][2]float64{"OEE": {again.OEE.OEE, 7509.0 / 13200}})
	})
}

// exact checks figures that the hand computation gives exactly (ratios of integers,
// computed the same way: equal to the last bit but for rounding of the division).
func exact(t *testing.T, who string, m map[string][2]float64) {
	t.Helper()
	for k, v := range m {
		if math.Abs(v[0]-v[1]) > 1e-12 {
			t.Errorf("%s %s = %v, want %v", who, k, v[0], v[1])
		}
	}
}

// instanceID names the shift instance of a line that starts at start.
func instanceID(t *testing.T, h *History, tenant, line int64, start time.Time) string {
	t.Helper()
	refs, err := h.ShiftInstances(context.Background(), tenant, line, start, start.Add(time.Minute))
	if err != nil || len(refs) != 1 {
		t.Fatalf("instances %+v %v", refs, err)
	}
	return refs[0].Instance
}

// TestBuildRuns: a run starts when the product changes and at every run an operator sets;
// a detection without a product (0) counts for the product the operator set last.
func TestBuildRuns(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	dets := []store.ProductSeen{{At: at(0), Product: 1, OK: true}, {At: at(1), Product: 1}, {At: at(2), Product: 0, OK: true},
		{At: at(10), Product: 0, OK: true}, {At: at(11), Product: 2, OK: true}, {At: at(20), Product: 0, OK: true}}
	marks := []store.RunMark{{ProductID: 5, Start: at(5), SetBy: 9}, {ProductID: 2, Start: at(11)}}
	got := buildRuns(dets, marks)
	type run struct {
		product int64
		source  string
		start   time.Time
		last    time.Time
		total   int64
		reject  int64
	}
	var have []run
	for _, r := range got {
		last := time.Time{}
		if r.End != nil {
			last = *r.End
		}
		have = append(have, run{r.ProductID, r.Source, r.Start, last, r.Total, r.Reject})
	}
	want := []run{
		{1, RunCamera, at(0), at(1), 2, 1},
		{0, RunCamera, at(2), at(2), 1, 0},    // no product and no operator's yet
		{5, RunOperator, at(5), at(10), 1, 0}, // the operator's product takes the unknown ones
		{2, RunOperator, at(11), at(20), 2, 0},
	}
	if !slices.Equal(have, want) {
		t.Errorf("runs %+v\nwant %+v", have, want)
	}
	if got[2].SetBy != 9 {
		t.Errorf("set by %d", got[2].SetBy)
	}
	if p := productOf(store.ProductSeen{At: at(7)}, marks); p != 5 {
		t.Errorf("product of an unknown detection at 7 s: %d", p)
	}
}

// TestFoldIdealByProduct: the live fold weighs each unit with its product's ideal cycle
// time (performance and quality), and a period restored from an older checkpoint, without
// rejects by product, weighs its rejects at the line's.
func TestFoldIdealByProduct(t *testing.T) {
	cal, err := Calendar("UTC", shiftAllDay())
	if err != nil {
		t.Fatal(err)
	}
	products := map[int64]store.Product{1: {ID: 1, IdealCycleMS: 3000}, 2: {ID: 2}}
	f := newLineFold(lineConf{id: 1, cal: cal, loc: time.UTC, threshold: time.Minute, ideal: time.Second, products: products})
	t0 := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	for i := range 100 { // one every 4 s: 50 of product 1 (ideal 3 s), 50 of product 2 (the line's 1 s)
		f.observe(store.Detection{ID: uint64(i + 1), At: t0.Add(time.Duration(i) * 4 * time.Second), Product: 1 + int64(i%2), OK: i != 0 && i != 1}, t0)
	}
	now := t0.Add(400 * time.Second)
	p := f.current(t0)
	r := f.figures(p, now)
	// Run 8 h + 400 s of the all-day shift so far: the fold's shift starts at midnight, so
	// use the ratio of net run to run; net run 50×3 + 50×1 = 200 s, fully 200 − 3 − 1 = 196 s.
	if got, want := r.Performance*r.RunTime.Seconds(), 200.0; math.Abs(got-want) > 1e-9 {
		t.Errorf("net run %v s, want %v", got, want)
	}
	if r.Quality != 196.0/200 {
		t.Errorf("quality %v, want 196/200", r.Quality)
	}
	p.Rejects = nil // as restored from a checkpoint without rejects by product
	if r := f.figures(p, now); r.Quality != 198.0/200 {
		t.Errorf("quality without rejects by product %v, want 198/200 (the line's 1 s each)", r.Quality)
	}
}

// TestChangeoverAcrossShifts: a line stops at 07:00 with product A and restarts the next
// morning at 06:10 with product B. The gap books two stops, one per shift instance
// (07:00-10:00 cut by the shift end, 06:00-06:10 cut by the shift start); both are
// changeovers, judged by the detection in the other shift (the rollups' neighbour minute),
// as the raw table says; a stop between two detections of one product is not.
func TestChangeoverAcrossShifts(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		s := e.Open(t)
		tdb := storetest.Tenant(t, s, "acme")
		l := store.Line{Name: "L", DowntimeThresholdMS: 60000, IdealCycleTimeMS: 1000}
		if err := tdb.CreateLine(ctx, &l); err != nil {
			t.Fatal(err)
		}
		if err := tdb.Shifts.Create(ctx, &store.Shift{Name: "Early", StartTime: "06:00", EndTime: "10:00", Active: true, DaysImplemented: store.JSON("[1,2,3,4,5,6,7]")}); err != nil {
			t.Fatal(err)
		}
		loc, err := time.LoadLocation(tdb.Tenant().Config.Timezone)
		if err != nil {
			t.Fatal(err)
		}
		day := time.Date(2026, 11, 30, 0, 0, 0, 0, loc)
		var dets []store.Detection
		add := func(product int64, from, to time.Time) {
			for ts := from; ts.Before(to); ts = ts.Add(10 * time.Second) {
				dets = append(dets, store.Detection{ID: uint64(len(dets) + 1), At: ts.UTC(), Area: 1, Product: product, OK: true})
			}
		}
		add(1, day.Add(6*time.Hour), day.Add(6*time.Hour+30*time.Minute))
		add(1, day.Add(6*time.Hour+35*time.Minute), day.Add(7*time.Hour+10*time.Second)) // a 5-minute stop, same product
		add(2, day.Add(30*time.Hour+10*time.Minute), day.Add(31*time.Hour))
		w, err := tdb.NewWriterPool(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		if _, err := tdb.WriteDetections(ctx, w, l.ID, dets); err != nil {
			t.Fatal(err)
		}
		h := NewHistory(s, store.NewMetaCache(s)).WithClock(func() time.Time { return day.Add(48 * time.Hour) })
		ten := tdb.Tenant().ID
		end := day.Add(31 * time.Hour) // the trailing stop after the last detection runs past it
		res, err := h.Recompute(ctx, ten, l.ID, day, end)
		if err != nil || len(res.Events) != 3 {
			t.Fatalf("booked %+v %v (%d detections read)", res.Events, err, res.Detections)
		}
		for _, src := range []*History{h, h.WithRawSource()} {
			stops, err := src.Stops(ctx, ten, l.ID, day, end)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, st := range stops {
				got = append(got, st.Start.In(loc).Format("02 15:04:05")+" "+st.Kind)
			}
			if want := []string{"30 06:29:50 unplanned", "30 07:00:00 changeover", "01 06:00:00 changeover"}; !slices.Equal(got, want) {
				t.Errorf("raw %v: stops %v, want %v", src.raw, got, want)
			}
			lr, err := src.Losses(ctx, ten, l.ID, day, end)
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range lr.Losses.Buckets {
				if b.Kind == loss.KindChangeover && b.Seconds != 3*3600+600 {
					t.Errorf("raw %v: changeover %v s, want 11400", src.raw, b.Seconds)
				}
			}
		}
	})
}

// TestRollupEdge: what the minute rollups tell about the detection at a stop's edge, and
// when they cannot tell (the raw table is read then).
func TestRollupEdge(t *testing.T) {
	m := int64(29000000)
	at := func(ms int64) time.Time { return time.UnixMilli(m*60000 + ms).UTC() }
	rows := func(rs ...store.RollupEdge) map[int64][]store.RollupEdge { return map[int64][]store.RollupEdge{m: rs} }
	edge := func(product, first, last int64) store.RollupEdge {
		return store.RollupEdge{Minute: m, Product: product, FirstMS: first, LastMS: last}
	}
	for _, c := range []struct {
		name   string
		rows   map[int64][]store.RollupEdge
		t      time.Time
		before bool
		known  bool
		want   int64
		wantAt time.Time
	}{
		{"a detection exactly at t", rows(edge(1, 0, 20000), edge(2, 30000, 50000)), at(20000), true, true, 1, at(20000)},
		{"the first after t in its minute", rows(edge(1, 0, 20000), edge(2, 45000, 50000), edge(3, 40000, 59000)), at(25000), false, true, 3, at(40000)},
		{"the last before t in its minute", rows(edge(1, 0, 20000), edge(2, 1000, 10000), edge(3, 40000, 59000)), at(25000), true, true, 1, at(20000)},
		{"a row on both sides of t", rows(edge(1, 0, 50000)), at(25000), true, false, 0, time.Time{}},
		{"last_ms not kept", rows(edge(1, 0, -1)), at(25000), true, false, 0, time.Time{}},
		{"two products at one millisecond", rows(edge(1, 0, 20000), edge(2, 5000, 20000)), at(20000), true, false, 0, time.Time{}},
		{"one product on two areas", rows(edge(1, 0, 20000), edge(1, 5000, 20000)), at(20000), true, true, 1, at(20000)},
	} {
		d, found, known, err := rollupEdge(context.Background(), lineCtx{}, c.rows, c.t, c.before)
		if err != nil || known != c.known || (known && (!found || d.Product != c.want || !d.At.Equal(c.wantAt))) {
			t.Errorf("%s: %+v found %v known %v %v; want product %d at %v, known %v", c.name, d, found, known, err, c.want, c.wantAt, c.known)
		}
	}
}
