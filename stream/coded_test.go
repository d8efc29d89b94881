package stream

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/linepulse/linepulse/internal/clock"
	"github.com/linepulse/linepulse/internal/testkit"
	"github.com/linepulse/linepulse/loss"
	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/store/storetest"
)

// TestEngineCodedPlannedAndMicroStops runs the golden shift through NATS, then codes its
// 07:00 stop (20 min) with a planned reason through the store and the coded notice, as the
// API does: the engine's figures of the shift take the planned stop out of planned time
// and downtime and equal history's; they survive a restart (the engine reads the coded
// events again); re-coding it unplanned puts it back; a coding without a notice is read
// after CodedRefresh. History reports the golden shift's
// micro-stop (08:00:00-08:00:10: 10 s less one ideal cycle of 1 s = 9 s) as the engine
// counted it, and the waterfall's micro_stop bucket is those 9 s.
func TestEngineCodedPlannedAndMicroStops(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		r, loc, day, dets := goldenRig(t, e)
		line := r.lines[0].ID
		y, m, d := day.Date()
		clk := clock.NewFake(time.Date(y, m, d, 15, 0, 0, 0, loc))
		r.publish(line, dets, true)
		cfg := Config{Clock: clk, PublishRate: 50, CheckpointEvery: 50 * time.Millisecond, CodedRefresh: time.Minute}
		x := r.start(cfg)
		shiftStart, shiftEnd := time.Date(y, m, d, 6, 0, 0, 0, loc), time.Date(y, m, d, 14, 0, 0, 0, loc)
		testkit.CheckFor(t, waitLong, poll, func() error {
			s := x.line(t, line)
			return testkit.Unless(s.total == int64(len(dets)) && s.pending == 0 && s.events == 3, "folded %d of %d, %d events, %d to store", s.total, len(dets), s.events, s.pending)
		})
		h := NewHistory(r.st, r.meta).WithClock(clk.Now)
		morning := func(x *engineRun) OEEReport {
			reps, err := x.e.Periods(ctx, "acme", line)
			if err != nil {
				t.Fatal(err)
			}
			for _, rep := range reps {
				if rep.Shift != nil && rep.Shift.Start.Equal(shiftStart) {
					return rep
				}
			}
			t.Fatalf("no Morning period in %+v", reps)
			return OEEReport{}
		}
		// same compares the engine's figures of the shift with history's.
		same := func(x *engineRun, plannedStop float64) error {
			live := morning(x)
			hist, err := h.OEE(ctx, r.ten.ID, line, shiftStart, shiftEnd)
			if err != nil {
				return err
			}
			live.Shift, hist.Shift = nil, nil
			if live != hist || live.PlannedStopS != plannedStop {
				return fmt.Errorf("engine %+v\nhistory %+v\nwant planned stop %v s", live, hist, plannedStop)
			}
			return nil
		}
		if err := same(x, 0); err != nil {
			t.Fatal(err)
		}
		rep := morning(x)
		if rep.MicroStops != 1 || rep.MicroStopS != 9 {
			t.Errorf("micro-stops %d, %v s; want 1, 9 s", rep.MicroStops, rep.MicroStopS)
		}
		lr, err := h.Losses(ctx, r.ten.ID, line, shiftStart, shiftEnd)
		if err != nil {
			t.Fatal(err)
		}
		var micro *loss.Bucket
		for i := range lr.Losses.Buckets {
			if lr.Losses.Buckets[i].Kind == loss.KindMicroStop {
				micro = &lr.Losses.Buckets[i]
			}
		}
		if micro == nil || micro.Seconds != 9 {
			t.Errorf("waterfall micro_stop bucket %+v, want 9 s", micro)
		}

		planned := store.Failure{Code: "CHG", Name: "Changeover", Kind: store.ReasonPlanned}
		jam := store.Failure{Code: "JAM", Name: "Jam"}
		for _, f := range []*store.Failure{&planned, &jam} {
			if err := r.tdb.Failures.Create(ctx, f); err != nil {
				t.Fatal(err)
			}
		}
		evs, err := r.tdb.DowntimeBetween(ctx, line, shiftStart, shiftStart.Add(time.Hour+time.Minute))
		if err != nil || len(evs) != 1 {
			t.Fatalf("the 07:00 stop: %+v %v", evs, err)
		}
		code := func(reason string) {
			if err := r.tdb.SetDowntimeReason(ctx, line, evs[0].ID, reason, "", 1); err != nil {
				t.Fatal(err)
			}
			if err := NotifyCoded(r.nc, r.ten.ID, line); err != nil {
				t.Fatal(err)
			}
		}
		code("CHG")
		testkit.CheckFor(t, waitLong, poll, func() error { return same(x, 1200) })
		if rep := morning(x); rep.DowntimeS != (goldenDown-20*time.Minute).Seconds() || rep.Events != 1 || rep.PlannedS != (goldenPlanned-20*time.Minute).Seconds() {
			t.Errorf("with the planned stop: %+v", rep)
		}

		// A restarted engine reads the coded events again.
		x.stop(t)
		x = r.start(cfg)
		testkit.CheckFor(t, waitLong, poll, func() error { return same(x, 1200) })

		code("JAM")
		testkit.CheckFor(t, waitLong, poll, func() error { return same(x, 0) })

		// A coding whose notice is lost: the engine reads the coded events again after
		// CodedRefresh anyway.
		if err := r.tdb.SetDowntimeReason(ctx, line, evs[0].ID, "CHG", "", 1); err != nil {
			t.Fatal(err)
		}
		clk.Advance(cfg.CodedRefresh + time.Second)
		testkit.CheckFor(t, waitLong, poll, func() error { return same(x, 1200) })
	})
}

// TestEngineKPICarriesPlannedStopAndTarget runs a line live in its shift, codes its stop
// with a planned reason as the API does (store, then the coded notice on NATS): the next
// KPI updates and the LP_KPI snapshot carry it as planned stop, not downtime. They carry
// the shift's target too, prorated by the planned time elapsed (the 24 h shift began 12 h
// before the test's start: half the target, a little more).
func TestEngineKPICarriesPlannedStopAndTarget(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		start, loc := testStart(t), testZone(t)
		r := newRig(t, e, rigOpts{tz: loc.String(), shifts: shiftAround(start, loc), threshold: time.Second, micro: 200 * time.Millisecond, ideal: 50 * time.Millisecond})
		line := r.lines[0].ID
		shifts, err := r.tdb.Shifts.All(ctx)
		if err != nil || len(shifts) != 1 {
			t.Fatalf("shifts %v %v", shifts, err)
		}
		const target = 100_000_000
		if err := r.tdb.SetTarget(ctx, &store.Target{LineID: line, ShiftID: shifts[0].ID, Quantity: target}); err != nil {
			t.Fatal(err)
		}
		if err := r.tdb.Failures.Create(ctx, &store.Failure{Code: "CHG", Name: "Changeover", Kind: store.ReasonPlanned}); err != nil {
			t.Fatal(err)
		}
		clk := clock.NewFake(start)
		x := r.start(Config{Clock: clk, PublishRate: 20, Heartbeat: 200 * time.Millisecond, CheckpointEvery: 100 * time.Millisecond})
		n := 0
		run := func(k int) {
			for range k {
				n++
				d := store.Detection{ID: uint64(n), At: clk.Now().UTC().Truncate(time.Millisecond), Area: 1, Product: 1, OK: true}
				r.publish(line, []store.Detection{d}, true)
				testkit.CheckFor(t, waitLong, poll, func() error {
					s := x.line(t, line)
					return testkit.Unless(s.total == int64(n), "folded %d of %d", s.total, n)
				})
				clk.Advance(40 * time.Millisecond)
			}
		}
		run(10)
		clk.Advance(1600 * time.Millisecond)
		run(10)
		testkit.CheckFor(t, waitLong, poll, func() error {
			s := x.line(t, line)
			return testkit.Unless(s.events == 1 && s.pending == 0, "%d events, %d to store", s.events, s.pending)
		})
		evs, err := r.tdb.DowntimeBetween(ctx, line, start.Add(-time.Minute), clk.Now())
		if err != nil || len(evs) != 1 || evs[0].End == nil {
			t.Fatalf("stored events %+v %v", evs, err)
		}
		stop := float64(evs[0].DurationMS) / 1000
		if err := r.tdb.SetDowntimeReason(ctx, line, evs[0].ID, "CHG", "", 1); err != nil {
			t.Fatal(err)
		}
		if err := NotifyCoded(r.nc, r.ten.ID, line); err != nil {
			t.Fatal(err)
		}
		check := func(k KPIUpdate) error {
			if math.Abs(k.PlannedStopS-stop) > 1e-9 || k.Target != target || k.TargetToNow < target/2 || k.TargetToNow > target/2+target/1000 {
				return fmt.Errorf("KPI planned stop %v s (want %v), downtime %v s, target %d/%d", k.PlannedStopS, stop, k.DowntimeS, k.TargetToNow, k.Target)
			}
			if k.OpenDowntime == nil && k.DowntimeS != 0 {
				return fmt.Errorf("KPI downtime %v s with the only stop planned", k.DowntimeS)
			}
			return nil
		}
		advancing(t, clk, 10*time.Millisecond, 0, func() error {
			k, ok := r.seen.lastKPI(line)
			if !ok {
				return fmt.Errorf("no KPI update")
			}
			return check(k)
		})
		kv, err := r.js.KeyValue(ctx, KPIBucket)
		if err != nil {
			t.Fatal(err)
		}
		testkit.CheckFor(t, waitLong, poll, func() error {
			en, err := kv.Get(ctx, KPIKey("acme", line))
			if err != nil {
				return err
			}
			var k KPIUpdate
			if err := json.Unmarshal(en.Value(), &k); err != nil {
				return err
			}
			return check(k)
		})
	})
}
