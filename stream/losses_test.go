package stream

import (
	"context"
	"errors"
	"math"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/linepulse/linepulse/loss"
	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/store/storetest"
)

// lossScenario is the hand-computed shift of TestLossScenario, on 30 Nov 2026 (UTC):
//
//	shift Day 06:00-14:00, break 12:00-12:30           planned        27000 s
//	09:00-09:30 CLEAN (planned reason)                 planned stop    1800 s → loading 25200 s
//	07:00-07:20 JAM (reason under category MECH)       unplanned MECH  1200 s
//	11:50-12:40 not coded, across the break            unplanned ""    1200 s (20 of its 50 min planned)
//	                                                   run            22800 s
//	one detection every 2 s of run time: 11400 units × ideal 1 s =  net run 11400 s
//	                                                   reduced speed  11400 s
//	rejects at 06:01 and 07:21 (start-up: ≤ 5 min after the shift start and after JAM),
//	at 10:00, 13:00, 13:00:02 (process)                start-up 2 s, process 3 s
//	                                                   fully productive 11395 s
//	A = 22800/25200, P = 11400/22800 = 0.5, Q = 11395/11400, OEE = 11395/25200
//	Pareto by reason: CLEAN 1800 s, uncoded 1200 s, JAM 1200 s; uncoded share 1200/4200.
type lossScenario struct {
	h          *History
	tenant     int64
	line       store.Line
	shift      int64
	day, night time.Time
}

func newLossScenario(t *testing.T, e storetest.Engine) lossScenario {
	ctx := context.Background()
	s := e.Open(t)
	ten := store.Tenant{Slug: "acme", Name: "Acme", Config: store.TenantConfig{Timezone: "UTC", RetentionDays: 3650}}
	if err := s.CreateTenant(ctx, &ten); err != nil {
		t.Fatal(err)
	}
	tdb, err := s.Tenant(ctx, ten.ID)
	if err != nil {
		t.Fatal(err)
	}
	l := store.Line{Name: "Filler 1", DowntimeThresholdMS: 60000, IdealCycleTimeMS: 1000}
	if err := tdb.CreateLine(ctx, &l); err != nil {
		t.Fatal(err)
	}
	sh := store.Shift{Name: "Day", StartTime: "06:00", EndTime: "14:00", Active: true, Breaks: store.JSON(`[{"start":"12:00","end":"12:30"}]`)}
	if err := tdb.Shifts.Create(ctx, &sh); err != nil {
		t.Fatal(err)
	}
	mech := store.Failure{Code: "MECH", Name: "Mechanical"}
	if err := tdb.Failures.Create(ctx, &mech); err != nil {
		t.Fatal(err)
	}
	for _, f := range []store.Failure{{Code: "JAM", Name: "Jam", ParentID: mech.ID}, {Code: "CLEAN", Name: "Cleaning", Kind: store.ReasonPlanned}} {
		if err := tdb.Failures.Create(ctx, &f); err != nil {
			t.Fatal(err)
		}
	}
	day := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	at := func(h, m int) time.Time { return day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute) }
	stops := []struct {
		s, e   time.Time
		reason string
	}{{at(7, 0), at(7, 20), "JAM"}, {at(9, 0), at(9, 30), "CLEAN"}, {at(11, 50), at(12, 40), ""}}
	for _, st := range stops {
		end := st.e
		ev := store.DowntimeEvent{Start: st.s, End: &end, DurationMS: end.Sub(st.s).Milliseconds()}
		if err := tdb.UpsertDowntime(ctx, l.ID, &ev); err != nil {
			t.Fatal(err)
		}
		if st.reason != "" {
			if err := tdb.SetDowntimeReason(ctx, l.ID, ev.ID, st.reason, "", 1); err != nil {
				t.Fatal(err)
			}
		}
	}
	rejects := map[time.Time]bool{at(6, 1): true, at(7, 21): true, at(10, 0): true, at(13, 0): true, at(13, 0).Add(2 * time.Second): true}
	var dets []store.Detection
	for ts := at(6, 0); ts.Before(at(14, 0)); ts = ts.Add(2 * time.Second) {
		stopped := !ts.Before(at(12, 0)) && ts.Before(at(12, 30))
		for _, st := range stops {
			stopped = stopped || (!ts.Before(st.s) && ts.Before(st.e))
		}
		if !stopped {
			dets = append(dets, store.Detection{ID: uint64(len(dets) + 1), At: ts, Area: 1, Product: 1, OK: !rejects[ts]})
		}
	}
	w, err := tdb.NewWriterPool(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for i := 0; i < len(dets); i += 2000 {
		if _, err := tdb.WriteDetections(ctx, w, l.ID, dets[i:min(i+2000, len(dets))]); err != nil {
			t.Fatal(err)
		}
	}
	next := day.Add(24 * time.Hour)
	h := NewHistory(s, store.NewMetaCache(s)).WithClock(func() time.Time { return next })
	return lossScenario{h: h, tenant: ten.ID, line: l, shift: sh.ID, day: day, night: next}
}

func TestLossScenario(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		sc := newLossScenario(t, e)
		for _, h := range []*History{sc.h, sc.h.WithRawSource()} {
			shifts, err := h.Shifts(ctx, sc.tenant, sc.line.ID, sc.day, sc.night)
			if err != nil {
				t.Fatal(err)
			}
			id := "2026-11-30." + itoa(sc.shift)
			if len(shifts) != 1 || shifts[0].ID != id || shifts[0].Running || shifts[0].Total != 11400 {
				t.Fatalf("shifts %+v", shifts)
			}
			d, err := h.Shift(ctx, sc.tenant, sc.line.ID, id)
			if err != nil {
				t.Fatal(err)
			}
			if len(d.Stops) != 3 || d.Shift == nil || d.Shift.Instance != id {
				t.Fatalf("detail stops %d shift %+v", len(d.Stops), d.Shift)
			}
			r := d.OEEReport
			want := map[string][2]float64{
				"planned_s": {r.PlannedS, 25200}, "planned_stop_s": {r.PlannedStopS, 1800}, "downtime_s": {r.DowntimeS, 2400},
				"A": {r.Availability, 22800.0 / 25200}, "P": {r.Performance, 0.5}, "Q": {r.Quality, 11395.0 / 11400},
				"OEE": {r.OEE, 11395.0 / 25200}, "reject": {float64(r.Reject), 5},
				"wA": {d.Losses.Availability, r.Availability}, "wP": {d.Losses.Performance, r.Performance},
				"wQ": {d.Losses.Quality, r.Quality}, "wOEE": {d.Losses.OEE, r.OEE}, "loading": {d.Losses.LoadingS, 25200},
			}
			for k, v := range want {
				if math.Abs(v[0]-v[1]) > 1e-9 {
					t.Errorf("%s = %v, want %v", k, v[0], v[1])
				}
			}
			buckets := []struct {
				kind, key string
				s         float64
			}{{loss.KindUnmonitored, "", 0}, {loss.KindPlannedStop, "CLEAN", 1800}, {loss.KindUnplannedStop, "MECH", 1200},
				{loss.KindUnplannedStop, "", 1200}, {loss.KindChangeover, "", 0}, {loss.KindMicroStop, "", 0}, {loss.KindReducedSpeed, "", 11400},
				{loss.KindStartupReject, "", 2}, {loss.KindProcessReject, "", 3}, {loss.KindFullyProd, "", 11395}}
			if len(d.Losses.Buckets) != len(buckets) {
				t.Fatalf("buckets %+v", d.Losses.Buckets)
			}
			var sum float64
			for i, b := range buckets {
				got := d.Losses.Buckets[i]
				sum += got.Seconds
				if got.Kind != b.kind || got.Key != b.key || got.Seconds != b.s {
					t.Errorf("bucket %d = %+v, want %+v", i, got, b)
				}
			}
			if sum != 27000 || d.Losses.PlannedS != 27000 {
				t.Errorf("buckets sum to %v of %v", sum, d.Losses.PlannedS)
			}
			// oee?from&to over exactly the instance names it.
			o, err := h.OEE(ctx, sc.tenant, sc.line.ID, d.Start, d.End)
			if err != nil || o.Shift == nil || o.Shift.Instance != id || o.OEE != r.OEE {
				t.Fatalf("oee over the instance %+v %v", o, err)
			}
		}
		p, err := sc.h.Pareto(ctx, sc.tenant, []int64{sc.line.ID}, sc.day, sc.night, GroupReason)
		if err != nil {
			t.Fatal(err)
		}
		wantP := []struct {
			key string
			s   float64
		}{{"CLEAN", 1800}, {"", 1200}, {"JAM", 1200}}
		if len(p.Groups) != 3 || p.TotalS != 4200 || p.UncodedS != 1200 {
			t.Fatalf("pareto %+v", p)
		}
		for i, w := range wantP {
			if p.Groups[i].Key != w.key || p.Groups[i].DurationS != w.s {
				t.Errorf("pareto group %d = %+v, want %+v", i, p.Groups[i], w)
			}
		}
		for group, keys := range map[string][]string{GroupCategory: {"CLEAN", "", "MECH"}, GroupLine: {itoa(sc.line.ID)}, GroupShift: {itoa(sc.shift)}} {
			p, err := sc.h.Pareto(ctx, sc.tenant, []int64{sc.line.ID}, sc.day, sc.night, group)
			if err != nil || len(p.Groups) != len(keys) || p.TotalS != 4200 || p.UncodedS != 1200 {
				t.Fatalf("%s pareto %+v %v", group, p, err)
			}
			for i, k := range keys {
				if p.Groups[i].Key != k {
					t.Errorf("%s group %d = %q, want %q", group, i, p.Groups[i].Key, k)
				}
			}
		}
		// The plant waterfall of the line alone is the line's; of the line twice, every
		// bucket doubled and the same OEE; an unknown line or too many lines are refused.
		lr, err := sc.h.Losses(ctx, sc.tenant, sc.line.ID, sc.day, sc.night)
		if err != nil {
			t.Fatal(err)
		}
		one, err := sc.h.PlantLosses(ctx, sc.tenant, []int64{sc.line.ID}, sc.day, sc.night)
		if err != nil || !reflect.DeepEqual(one.Losses, lr.Losses) {
			t.Fatalf("plant losses of one line %+v %v\nline %+v", one.Losses, err, lr.Losses)
		}
		two, err := sc.h.PlantLosses(ctx, sc.tenant, []int64{sc.line.ID, sc.line.ID}, sc.day, sc.night)
		if err != nil || len(two.Losses.Buckets) != len(lr.Losses.Buckets) || math.Abs(two.Losses.OEE-lr.Losses.OEE) > 1e-12 {
			t.Fatalf("plant losses of the line twice %+v %v", two.Losses, err)
		}
		for i, b := range two.Losses.Buckets {
			if b.Kind != lr.Losses.Buckets[i].Kind || b.Key != lr.Losses.Buckets[i].Key || b.Seconds != 2*lr.Losses.Buckets[i].Seconds {
				t.Errorf("plant bucket %d = %+v, the line's %+v", i, b, lr.Losses.Buckets[i])
			}
		}
		if _, err := sc.h.PlantLosses(ctx, sc.tenant, []int64{sc.line.ID, sc.line.ID + 1000}, sc.day, sc.night); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown line: %v", err)
		}
		if _, err := sc.h.PlantLosses(ctx, sc.tenant, make([]int64, MaxParetoLines+1), sc.day, sc.night); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("too many lines: %v", err)
		}
		if _, err := sc.h.Pareto(ctx, sc.tenant, []int64{sc.line.ID}, sc.day, sc.night, "nope"); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("bad group: %v", err)
		}
		for _, bad := range []string{"2026-11-30", "2026-11-30.x", "2026-13-30.1", "2026-11-29." + itoa(sc.shift) + "9"} {
			if _, err := sc.h.Shift(ctx, sc.tenant, sc.line.ID, bad); err == nil {
				t.Errorf("instance %q found", bad)
			}
		}
		if _, err := sc.h.Shift(ctx, sc.tenant, sc.line.ID, "2026-12-01."+itoa(sc.shift)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a shift that has not started: %v", err)
		}
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestShiftListEqualsOEE checks the shift list (one read for all ended instances, the
// running one on its own) against OEE over each instance, over several days with a
// second shift and a running instance, from the rollups and from the raw table.
func TestShiftListEqualsOEE(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		sc := newLossScenario(t, e)
		tdb, err := sc.h.st.Tenant(ctx, sc.tenant)
		if err != nil {
			t.Fatal(err)
		}
		late := store.Shift{Name: "Late", StartTime: "14:00", EndTime: "21:30", Active: true}
		if err := tdb.Shifts.Create(ctx, &late); err != nil {
			t.Fatal(err)
		}
		// The scenario's product (id 1) runs at its own ideal cycle time: the list and OEE
		// read the rollups by product.
		if err := tdb.Products.Create(ctx, &store.Product{Name: "P", IdealCycleMS: 1500}); err != nil {
			t.Fatal(err)
		}
		now := sc.night.Add(7*time.Hour + 31*time.Minute + 17*time.Second) // 1 Dec 07:31:17, Day running
		h := NewHistory(sc.h.st, store.NewMetaCache(sc.h.st)).WithClock(func() time.Time { return now })
		for _, src := range []*History{h, h.WithRawSource()} {
			list, err := src.Shifts(ctx, sc.tenant, sc.line.ID, sc.day.Add(-24*time.Hour), sc.night.Add(24*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if len(list) != 5 || !list[4].Running || list[0].Running || list[2].Total != 11400 || list[2].Performance != 11400*1.5/22800 {
				t.Fatalf("list %+v", list)
			}
			// Asked for the whole instance, the running one reports up to now: planned time
			// still ahead is neither run nor down.
			for _, s := range list {
				o, err := src.OEE(ctx, sc.tenant, sc.line.ID, s.Start, s.End)
				if err != nil {
					t.Fatal(err)
				}
				l, err := src.Losses(ctx, sc.tenant, sc.line.ID, s.Start, s.End)
				if err != nil {
					t.Fatal(err)
				}
				got := s.OEEReport
				got.Shift, o.Shift, l.OEE.Shift = nil, nil, nil
				if got != o || got != l.OEE {
					t.Errorf("%s: list %+v\nOEE %+v\nlosses %+v", s.ID, got, o, l.OEE)
				}
			}
		}
	})
}
