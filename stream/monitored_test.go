package stream

import (
	"context"
	"testing"
	"time"

	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/store/storetest"
)

// everySecond returns one detection a second in [from, to), ids from id+1.
func everySecond(from, to time.Time, id uint64) []store.Detection {
	var out []store.Detection
	for ts := from; ts.Before(to); ts = ts.Add(time.Second) {
		id++
		out = append(out, store.Detection{ID: id, At: ts.UTC(), Area: 1, Product: 1, OK: true})
	}
	return out
}

// TestFoldNoDataIsUnmonitored: planned time before a line's first detection is neither run
// time nor downtime (docs/OEE.md). Golden shift: Morning 06:00-14:00 Madrid, breaks
// 10:00-10:15 and 12:00-12:30, threshold 30 s, ideal cycle 1 s.
func TestFoldNoDataIsUnmonitored(t *testing.T) {
	loc := madrid(t)
	at := func(d, h, m int) time.Time { return time.Date(2026, 1, d, h, m, 0, 0, loc) }

	// A line that never sent anything, at 09:00: 3 h planned, all of it unmonitored.
	// Availability 0 (nothing monitored), not 100 %.
	f := goldenFold(t, loc)
	if s := f.state(at(7, 9, 0)); s != StateNoData {
		t.Errorf("state %s, want no_data", s)
	}
	r := f.figures(f.current(at(7, 9, 0)), at(7, 9, 0))
	if r.PlannedTime != 3*time.Hour || r.Unmonitored != 3*time.Hour || r.RunTime != 0 || r.Downtime != 0 || r.Availability != 0 || r.UnmonitoredShare() != 1 {
		t.Errorf("no data at all: %+v share %v", r, r.UnmonitoredShare())
	}

	// The same line starts at 07:30 and makes one unit a second (its ideal rate). At 08:00:
	// planned 7200 s, unmonitored 06:00-07:30 = 5400 s, monitored 1800 s all run:
	// A = 1800/1800 = 1, P = 1800 × 1 s / 1800 s = 1. (Counting the unmonitored time as
	// run time would give A = 1 and P = 0.25: the fresh-demo bug.)
	for _, d := range everySecond(at(7, 7, 30), at(7, 8, 0), 0) {
		f.observe(d, d.At)
	}
	r = f.figures(f.current(at(7, 8, 0)), at(7, 8, 0))
	if r.PlannedTime != 2*time.Hour || r.Unmonitored != 90*time.Minute || r.RunTime != 30*time.Minute || r.Downtime != 0 {
		t.Errorf("late first detection: %+v", r)
	}
	checkRatio(t, "availability", r.Availability, 1)
	checkRatio(t, "performance", r.Performance, 1)
	checkRatio(t, "unmonitored share", r.UnmonitoredShare(), 5400.0/7200)
	if s := f.state(at(7, 8, 0)); s != StateRunning {
		t.Errorf("state %s, want running", s)
	}

	// The next morning the line is known: its silence from 06:00 to 06:30 is a stop (booked
	// when 06:30 arrives), not unmonitored time. At 07:00: planned 3600 s, downtime 1800 s,
	// run 1800 s, unmonitored 0, A = 0.5.
	for _, d := range everySecond(at(8, 6, 30), at(8, 7, 0), 10000) {
		f.observe(d, d.At)
	}
	r = f.figures(f.current(at(8, 7, 0)), at(8, 7, 0))
	if r.PlannedTime != time.Hour || r.Unmonitored != 0 || r.Downtime != 30*time.Minute || r.RunTime != 30*time.Minute {
		t.Errorf("known line, late start: %+v", r)
	}
	checkRatio(t, "availability after a late start", r.Availability, 0.5)

	// And the day after, production runs across the shift start (last detection 05:59:59.5,
	// within the threshold): the first instants of the shift are run time.
	f.observe(store.Detection{ID: 20000, At: at(9, 5, 59).Add(59500 * time.Millisecond).UTC(), Area: 1, Product: 1, OK: true}, at(9, 6, 0))
	for _, d := range everySecond(at(9, 6, 0).Add(500*time.Millisecond), at(9, 6, 10), 20000) {
		f.observe(d, d.At)
	}
	r = f.figures(f.current(at(9, 6, 10)), at(9, 6, 10))
	if r.Unmonitored != 0 || r.RunTime != 10*time.Minute || r.Availability != 1 {
		t.Errorf("production across the shift start: %+v", r)
	}

	// The whole state survives a checkpoint.
	g := goldenFold(t, loc)
	g.restore(f.snapshot())
	if a, b := f.figures(f.current(at(9, 6, 10)), at(9, 6, 10)), g.figures(g.current(at(9, 6, 10)), at(9, 6, 10)); a != b {
		t.Errorf("after restore %+v, before %+v", b, a)
	}
}

// TestHistoryShiftWithoutData: the OEE of a past shift in which the line sent nothing is
// not availability 1.0: every planned second is unmonitored. A shift whose production
// began late has the time before its first detection unmonitored.
func TestHistoryShiftWithoutData(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		loc := madrid(t)
		s, ten, tdb, l := historyLine(t, e, 30000, goldenShifts())
		h := NewHistory(s, store.NewMetaCache(s))
		at := func(d, hh, m int) time.Time { return time.Date(2026, 1, d, hh, m, 0, 0, loc) }

		// 7 Jan: nothing at all. Planned 8 h − 45 min = 26100 s, all unmonitored.
		rep, err := h.ShiftOEE(ctx, ten.ID, l.ID, ShiftPrevious, at(7, 15, 0))
		if err != nil {
			t.Fatal(err)
		}
		if rep.PlannedS != 26100 || rep.UnmonitoredS != 26100 || rep.RunS != 0 || rep.DowntimeS != 0 || rep.Availability != 0 || rep.OEE != 0 {
			t.Errorf("shift without data: %+v", rep)
		}

		// 8 Jan: one unit a second from 13:00:30 to 14:00 only. Unmonitored 06:00-13:00:30
		// minus the breaks = 7 h 30 s − 45 min = 22530 s; run 3570 s; A = 1, P = 3570/3570.
		w, err := tdb.NewWriterPool(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		if _, err := tdb.WriteDetections(ctx, w, l.ID, everySecond(at(8, 13, 0).Add(30*time.Second), at(8, 14, 0), 0)); err != nil {
			t.Fatal(err)
		}
		rep, err = h.OEE(ctx, ten.ID, l.ID, at(8, 6, 0), at(8, 14, 0))
		if err != nil {
			t.Fatal(err)
		}
		if rep.PlannedS != 26100 || rep.UnmonitoredS != 22530 || rep.RunS != 3570 || rep.Total != 3570 {
			t.Errorf("late start: %+v", rep)
		}
		checkRatio(t, "availability", rep.Availability, 1)
		checkRatio(t, "performance", rep.Performance, 1)
	})
}
