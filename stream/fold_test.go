package stream

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/linepulse/linepulse/store"
)

// The golden shift, worked by hand from the standard definitions (design.md):
//
//	Morning 06:00-14:00 Europe/Madrid, breaks 10:00-10:15 and 12:00-12:30
//	planned = 8h − 15m − 30m = 7h15m = 26100 s
//	threshold 30 s, micro-stop minimum 5 s, ideal cycle 1 s
//	one detection a second from 06:00:00 to 14:00:00 except inside
//	  07:00-07:20  stop, 20 min                          -> event 1
//	  08:00-08:00:10  10 s gap: micro-stop                -> micro 1
//	  10:00-10:15  exactly the first break: nothing
//	  11:50-12:45  stop across the second break: 10 + 15 = 25 min, one event
//	detections in the shift = 28800 − 1199 − 9 − 899 − 3299 = 23394
//	rejects: the 600 detections 09:00:00-09:09:59            -> good 22794
//	downtime = 45 min = 2700 s, run = 23400 s
//	availability = 23400/26100, performance = 23394/23400, quality = 22794/23394
//	OEE = 22794/26100 (good units × ideal cycle / planned time)
//
// The detection at 14:00:00 is after the shift (an off-shift period); the next morning's
// first detection at 06:00:35 books the late start 06:00:00-06:00:35 of the next shift.
const (
	goldenTotal   = 23394
	goldenGood    = 22794
	goldenPlanned = 26100 * time.Second
	goldenDown    = 2700 * time.Second
)

func madrid(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Madrid")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func goldenShifts() []store.Shift {
	return []store.Shift{{ID: 1, Name: "Morning", StartTime: "06:00", EndTime: "14:00", Active: true,
		DaysImplemented: store.JSON("[1,2,3,4,5,6,7]"), Breaks: store.JSON(`[{"start":"10:00","end":"10:15"},{"start":"12:00","end":"12:30"}]`)}}
}

// goldenDetections returns the golden day's detections on the local date day (Madrid).
func goldenDetections(loc *time.Location, day time.Time) []store.Detection {
	y, m, d := day.Date()
	at := func(h, min, s int) time.Time { return time.Date(y, m, d, h, min, s, 0, loc) }
	silent := [][2]time.Time{
		{at(7, 0, 0), at(7, 20, 0)}, {at(8, 0, 0), at(8, 0, 10)},
		{at(10, 0, 0), at(10, 15, 0)}, {at(11, 50, 0), at(12, 45, 0)},
	}
	var out []store.Detection
	id := uint64(0)
	for ts := at(6, 0, 0); !ts.After(at(14, 0, 0)); ts = ts.Add(time.Second) {
		quiet := false
		for _, w := range silent {
			quiet = quiet || (ts.After(w[0]) && ts.Before(w[1]))
		}
		if quiet {
			continue
		}
		id++
		ok := ts.Before(at(9, 0, 0)) || !ts.Before(at(9, 10, 0))
		out = append(out, store.Detection{ID: id, At: ts.UTC(), Area: 1 + int64(id%2), Product: 1 + int64(id%3), OK: ok})
	}
	id++
	out = append(out, store.Detection{ID: id, At: at(30, 0, 35).UTC(), Area: 1, Product: 1, OK: true}) // next day 06:00:35
	return out
}

func goldenFold(t testing.TB, loc *time.Location) *lineFold {
	t.Helper()
	cal, err := Calendar("Europe/Madrid", goldenShifts())
	if err != nil {
		t.Fatal(err)
	}
	return newLineFold(lineConf{id: 1, cal: cal, loc: loc, threshold: 30 * time.Second, minMicro: 5 * time.Second, ideal: time.Second})
}

// simulate feeds a fold the way the engine does: live (each detection arrives at its own
// time and the timer runs between detections) or as a late backlog (everything arrives at
// arrival, no timer until the end). After the data it runs the timer up to end.
func simulate(f *lineFold, dets []store.Detection, live bool, arrival, end time.Time) []change {
	var out []change
	var wake time.Time
	runTimer := func(until time.Time) {
		for !wake.IsZero() && wake.Before(until) {
			now := wake
			chs, next := f.tick(now)
			out = append(out, chs...)
			wake = time.Time{}
			if !next.IsZero() && next.After(now) {
				wake = next
			}
		}
	}
	for _, d := range dets {
		arr := arrival
		if live {
			runTimer(d.At)
			arr = d.At
		}
		out = append(out, f.observe(d, arr)...)
		if dl, ok := f.deadline(); ok && (wake.IsZero() || dl.Before(wake)) {
			wake = dl
		}
	}
	if !live {
		// The backlog ends: the engine re-arms from the arrival time.
		if dl, ok := f.deadline(); ok {
			wake = dl
		}
	}
	runTimer(end)
	return out
}

// booked lists the events a run booked, "start-end duration" in local time.
func booked(chs []change, loc *time.Location) []string {
	var out []string
	for _, c := range chs {
		if c.State == DowntimeEnded {
			out = append(out, fmt.Sprintf("%s-%s %v", c.Start.In(loc).Format("01-02 15:04:05"), c.End.In(loc).Format("15:04:05"), c.Duration))
		}
	}
	return out
}

func states(chs []change) string {
	var b strings.Builder
	for _, c := range chs {
		b.WriteString(c.State[:1])
	}
	return b.String()
}

func TestFoldGoldenLiveReplayBackfill(t *testing.T) {
	loc := madrid(t)
	day := time.Date(2026, 1, 7, 0, 0, 0, 0, loc)
	dets := goldenDetections(loc, day)
	end := time.Date(2026, 1, 8, 7, 0, 0, 0, loc)
	wantEvents := []string{
		"01-07 07:00:00-07:20:00 20m0s",
		"01-07 11:50:00-12:45:00 25m0s",
		"01-08 06:00:00-06:00:35 35s",
	}

	live := goldenFold(t, loc)
	liveChs := simulate(live, dets, true, time.Time{}, end)
	if got := booked(liveChs, loc); !slices.Equal(got, wantEvents) {
		t.Fatalf("live events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantEvents, "\n"))
	}
	// Live: each stop is announced, then ended; the late start is announced a threshold
	// into the shift (06:00:30: its planned part decides) and ended by the first detection;
	// the line is silent after 06:00:35, so a last stop is announced at 06:01:05.
	if s := states(liveChs); s != "seseses" {
		t.Errorf("live message states = %q, want seseses", s)
	}
	for _, c := range liveChs {
		if c.State == DowntimeCancelled {
			t.Errorf("live run cancelled an alert: %+v", c)
		}
	}

	replay := goldenFold(t, loc)
	replayChs := simulate(replay, dets, false, end, end)
	if got := booked(replayChs, loc); !slices.Equal(got, wantEvents) {
		t.Fatalf("replay events: %v", got)
	}
	if s := states(replayChs); s != "eee" {
		t.Errorf("replay message states = %q, want eee (no alert for a backlog)", s)
	}

	// Shift figures: identical live and replayed, and equal to the hand-worked golden.
	shiftStart := time.Date(2026, 1, 7, 6, 0, 0, 0, loc)
	for name, f := range map[string]*lineFold{"live": live, "replay": replay} {
		p := f.periodFor(shiftStart, false)
		if p == nil || !p.Shift || p.Name != "Morning" {
			t.Fatalf("%s: no Morning period: %+v", name, p)
		}
		r := f.figures(p, end)
		if r.Counts.Total != goldenTotal || r.Counts.Good != goldenGood || r.Counts.Reject != goldenTotal-goldenGood {
			t.Errorf("%s counts = %+v", name, r.Counts)
		}
		if r.PlannedTime != goldenPlanned || r.Downtime != goldenDown || r.RunTime != goldenPlanned-goldenDown {
			t.Errorf("%s times planned %v down %v run %v", name, r.PlannedTime, r.Downtime, r.RunTime)
		}
		checkRatio(t, name+" availability", r.Availability, 23400.0/26100)
		checkRatio(t, name+" performance", r.Performance, 23394.0/23400)
		checkRatio(t, name+" quality", r.Quality, 22794.0/23394)
		checkRatio(t, name+" OEE", r.OEE, 22794.0/26100)
		if p.Events != 2 || p.Micro != 1 || r.PerformanceOver100 {
			t.Errorf("%s events %d micro %d over100 %v", name, p.Events, p.Micro, r.PerformanceOver100)
		}
	}
}

func checkRatio(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-12 {
		t.Errorf("%s = %.12f, want %.12f", what, got, want)
	}
}

func TestFoldShiftEndAndLateStart(t *testing.T) {
	// A stop running into the end of the shift is booked at the shift end, without
	// waiting for the next morning; the next morning's late start is a separate event,
	// announced at 06:00 sharp; a replay books the same two events.
	loc := madrid(t)
	at := func(d, h, m, s int) time.Time { return time.Date(2026, 1, d, h, m, s, 0, loc) }
	var dets []store.Detection
	for ts := at(7, 13, 0, 0); !ts.After(at(7, 13, 50, 0)); ts = ts.Add(time.Second) {
		dets = append(dets, store.Detection{ID: uint64(len(dets) + 1), At: ts.UTC(), Area: 1, Product: 1, OK: true})
	}
	dets = append(dets, store.Detection{ID: 99999, At: at(8, 6, 3, 0).UTC(), Area: 1, Product: 1, OK: true})
	want := []string{"01-07 13:50:00-14:00:00 10m0s", "01-08 06:00:00-06:03:00 3m0s"}

	live := goldenFold(t, loc)
	chs := simulate(live, dets, true, time.Time{}, at(8, 7, 0, 0))
	if got := booked(chs, loc); !slices.Equal(got, want) {
		t.Fatalf("live: %v, want %v", got, want)
	}
	if s := states(chs); s != "seses" { // the last: silent again after 06:03
		t.Errorf("states %q, want seses", s)
	}
	// The first "ended" came from the timer at 14:00, before the next detection.
	if chs[1].State != DowntimeEnded || !chs[2].Start.Equal(at(8, 6, 0, 0)) {
		t.Errorf("unexpected sequence %+v", chs)
	}
	replay := goldenFold(t, loc)
	if got := booked(simulate(replay, dets, false, at(8, 7, 0, 0), at(8, 7, 0, 0)), loc); !slices.Equal(got, want) {
		t.Fatalf("replay: %v, want %v", got, want)
	}
	for _, f := range []*lineFold{live, replay} {
		if p := f.periodFor(at(7, 13, 0, 0), false); p == nil || p.Downtime != 10*time.Minute || p.Events != 1 {
			t.Errorf("Morning period %+v", p)
		}
	}
}

func TestFoldCancelsAlertFilledByLateDetections(t *testing.T) {
	loc := madrid(t)
	f := goldenFold(t, loc)
	t0 := time.Date(2026, 1, 7, 8, 0, 0, 0, loc)
	f.observe(store.Detection{ID: 1, At: t0, Area: 1, Product: 1, OK: true}, t0)
	chs, _ := f.tick(t0.Add(31 * time.Second))
	if states(chs) != "s" || f.state(t0.Add(31*time.Second)) != StateDown {
		t.Fatalf("no alert: %+v", chs)
	}
	// The edge was offline; its buffer arrives: the line was producing all along.
	var all []change
	for i := 1; i <= 40; i++ {
		all = append(all, f.observe(store.Detection{ID: uint64(i + 1), At: t0.Add(time.Duration(i) * time.Second), Area: 1, Product: 1, OK: true}, t0.Add(60*time.Second))...)
	}
	if states(all) != "c" || !all[0].Start.Equal(t0) {
		t.Fatalf("want one cancellation of the %v alert, got %+v", t0, all)
	}
	if f.open != nil || f.state(t0.Add(60*time.Second)) != StateRunning {
		t.Fatalf("still down after the cancellation")
	}
	// The backlog (arrived 20 s after its last detection) does not raise a new alert until
	// a threshold after it arrived.
	if chs, next := f.tick(t0.Add(71 * time.Second)); len(chs) != 0 || !next.Equal(t0.Add(90*time.Second)) {
		t.Fatalf("tick during backlog grace: %+v next %v", chs, next)
	}
}

func TestFoldStatesAndBreaks(t *testing.T) {
	loc := madrid(t)
	f := goldenFold(t, loc)
	at := func(h, m int) time.Time { return time.Date(2026, 1, 7, h, m, 0, 0, loc) }
	if s := f.state(at(5, 0)); s != StateNoShift {
		t.Errorf("05:00 %s", s)
	}
	if s := f.state(at(7, 0)); s != StateNoData {
		t.Errorf("07:00 before any detection: %s", s)
	}
	f.observe(store.Detection{ID: 1, At: at(9, 59), Area: 1, Product: 1, OK: true}, at(9, 59))
	if s := f.state(at(9, 59).Add(time.Second)); s != StateRunning {
		t.Errorf("09:59 %s", s)
	}
	if chs, _ := f.tick(at(10, 5)); len(chs) != 0 {
		t.Errorf("alert inside... no: the gap began before the break: %+v", chs)
	}
	if s := f.state(at(10, 5)); s != StatePlannedStop {
		t.Errorf("10:05 %s", s)
	}
	// 09:59 + 30 s fell before the break at 10:00, but the timer ran only at 10:05
	// (inside the break): the stop is announced once the break is over.
	chs, _ := f.tick(at(10, 15))
	if states(chs) != "s" || !chs[0].Start.Equal(at(9, 59)) {
		t.Fatalf("after the break: %+v", chs)
	}
	// The KPI counts the running stop's planned time as downtime, without the break.
	p := f.current(at(10, 20))
	if r := f.figures(p, at(10, 20)); r.Downtime != 6*time.Minute {
		t.Errorf("running stop downtime %v, want 6m (1 before the break + 5 after)", r.Downtime)
	}
}

func TestFoldPeriodsAcrossMidnightAndDST(t *testing.T) {
	// A night shift 22:00-06:00 is 9 h on the night clocks go back (Madrid, 25 Oct 2026)
	// and 7 h on the night they go forward (29 Mar 2026); detections after midnight belong
	// to the instance that started the evening before.
	loc := madrid(t)
	shifts := []store.Shift{{ID: 2, Name: "Night", StartTime: "22:00", EndTime: "06:00", IsOvernight: true, Active: true}}
	cal, err := Calendar("Europe/Madrid", shifts)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		night string
		want  time.Duration
	}{{"2026-10-24", 9 * time.Hour}, {"2026-03-28", 7 * time.Hour}, {"2026-06-10", 8 * time.Hour}} {
		f := newLineFold(lineConf{id: 1, cal: cal, loc: loc, threshold: time.Minute, ideal: time.Second})
		d, _ := time.ParseInLocation(time.DateOnly, c.night, loc)
		before := time.Date(d.Year(), d.Month(), d.Day(), 23, 0, 0, 0, loc)
		after := time.Date(d.Year(), d.Month(), d.Day()+1, 5, 0, 0, 0, loc)
		for i, at := range []time.Time{before, after} {
			f.observe(store.Detection{ID: uint64(i + 1), At: at.UTC(), Area: 1, Product: 1, OK: true}, at)
		}
		if len(f.periods) != 1 {
			t.Fatalf("%s: %d periods, want 1", c.night, len(f.periods))
		}
		p := f.periods[0]
		if p.Counts.Total != 2 || p.End.Sub(p.Start) != c.want {
			t.Errorf("%s: period %v-%v (%v) total %d", c.night, p.Start, p.End, p.End.Sub(p.Start), p.Counts.Total)
		}
		// The gap 23:00 -> 05:00 is downtime for the whole planned time between.
		if want := c.want - 2*time.Hour; p.Downtime != want {
			t.Errorf("%s: downtime %v, want %v", c.night, p.Downtime, want)
		}
		if r := f.figures(p, p.End); r.PlannedTime != c.want {
			t.Errorf("%s: planned %v", c.night, r.PlannedTime)
		}
	}
}

func TestFoldOffShiftPeriods(t *testing.T) {
	loc := madrid(t)
	f := goldenFold(t, loc)
	at := func(d, h int) time.Time { return time.Date(2026, 1, d, h, 0, 0, 0, loc) }
	for i, ts := range []time.Time{at(7, 3), at(7, 15), at(7, 23), at(8, 2)} {
		f.observe(store.Detection{ID: uint64(i + 1), At: ts.UTC(), Area: 1, Product: 1, OK: true}, ts)
	}
	var got []string
	for _, p := range f.periods {
		got = append(got, fmt.Sprintf("%s-%s shift=%v n=%d", p.Start.In(loc).Format("02 15:04"), p.End.In(loc).Format("02 15:04"), p.Shift, p.Counts.Total))
	}
	want := []string{
		"07 00:00-07 06:00 shift=false n=1", // midnight to the shift
		"07 06:00-07 14:00 shift=true n=0",  // no detection, but the gap books it all as downtime
		"07 14:00-08 00:00 shift=false n=2", // after the shift to midnight
		"08 00:00-08 06:00 shift=false n=1",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("periods:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if p := f.periods[1]; p.Downtime != goldenPlanned || p.Events != 1 {
		t.Errorf("idle shift: downtime %v events %d, want the whole planned time", p.Downtime, p.Events)
	}
	// Only maxPeriods are kept; a detection older than all of them is not counted live.
	for d := 9; d < 9+maxPeriods; d++ {
		f.observe(store.Detection{ID: uint64(100 + d), At: at(d, 8).UTC(), Area: 1, Product: 1, OK: true}, at(d, 8))
	}
	if len(f.periods) != maxPeriods || f.periodFor(at(7, 3), true) != nil {
		t.Fatalf("kept %d periods", len(f.periods))
	}
}

func TestRateWindow(t *testing.T) {
	var r rateWindow
	t0 := time.Date(2026, 1, 7, 8, 0, 0, 0, time.UTC)
	for i := range 120 {
		r.add(t0.Add(time.Duration(i) * 500 * time.Millisecond)) // 2 per second for 60 s
	}
	if n := r.perMinute(t0.Add(59 * time.Second)); n != 120 {
		t.Errorf("per minute %d, want 120", n)
	}
	if n := r.perMinute(t0.Add(89 * time.Second)); n != 60 {
		t.Errorf("30 s later %d, want 60", n)
	}
	r.add(t0.Add(-time.Hour)) // too old: ignored by the window
	if n := r.perMinute(t0.Add(10 * time.Minute)); n != 0 {
		t.Errorf("after 10 min %d, want 0", n)
	}
}

func TestCheckpointRoundTrip(t *testing.T) {
	loc := madrid(t)
	day := time.Date(2026, 1, 7, 0, 0, 0, 0, loc)
	dets := goldenDetections(loc, day)
	a, b := goldenFold(t, loc), goldenFold(t, loc)
	half := len(dets) / 2
	simulate(a, dets[:half], false, day.Add(20*time.Hour), day.Add(20*time.Hour))
	simulate(b, dets[:half], false, day.Add(20*time.Hour), day.Add(20*time.Hour))
	c := goldenFold(t, loc)
	c.restore(a.snapshot())
	end := day.Add(40 * time.Hour)
	for name, f := range map[string]*lineFold{"uninterrupted": b, "restored": c} {
		simulate(f, dets[half:], false, end, end)
		p := f.periodFor(time.Date(2026, 1, 7, 6, 0, 0, 0, loc), false)
		if r := f.figures(p, end); r.Counts.Total != goldenTotal || r.Downtime != goldenDown || p.Micro != 1 || p.Events != 2 {
			t.Errorf("%s: %+v micro %d events %d", name, r, p.Micro, p.Events)
		}
	}
	if fmt.Sprint(b.snapshot()) != fmt.Sprint(c.snapshot()) {
		t.Errorf("restored state differs:\n%+v\n%+v", b.snapshot(), c.snapshot())
	}
}

func TestValidateShiftsAndLines(t *testing.T) {
	day := store.JSON("[1,2,3,4,5]")
	ok := []store.Shift{
		{ID: 1, Name: "Morning", StartTime: "06:00", EndTime: "14:00", DaysImplemented: day, Active: true},
		{ID: 2, Name: "Night", StartTime: "22:00", EndTime: "06:00", IsOvernight: true, DaysImplemented: day, Active: true},
	}
	if err := ValidateShifts("Europe/Madrid", ok); err != nil {
		t.Fatalf("valid shifts refused: %v", err)
	}
	for _, c := range []struct {
		name   string
		tz     string
		shifts []store.Shift
		want   string
	}{
		{"unknown zone", "Mars/Olympus", ok, `unknown time zone "Mars/Olympus"`},
		{"overlap", "UTC", append(ok, store.Shift{ID: 3, Name: "Late", StartTime: "13:00", EndTime: "21:00", Active: true}), `shift "Late" overlaps shift "Morning"`},
		{"overnight overlap", "UTC", append(ok, store.Shift{ID: 3, Name: "Dawn", StartTime: "05:00", EndTime: "06:00", Active: true}), `overlaps shift "Night"`},
		{"bad days", "UTC", []store.Shift{{ID: 1, Name: "X", StartTime: "06:00", EndTime: "07:00", DaysImplemented: store.JSON("[0]"), Active: true}}, `shift "X": bad days: weekday 0 outside 1..7`},
		{"bad break", "UTC", []store.Shift{{ID: 1, Name: "X", StartTime: "06:00", EndTime: "07:00", Breaks: store.JSON(`[{"start":"08:00","end":"08:10"}]`), Active: true}}, `outside the shift`},
		{"not overnight", "UTC", []store.Shift{{ID: 1, Name: "X", StartTime: "22:00", EndTime: "06:00", Active: true}}, `ends before it starts`},
	} {
		err := ValidateShifts(c.tz, c.shifts)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to say %q", c.name, err, c.want)
			continue
		}
		if !isInvalid(err) {
			t.Errorf("%s: %v does not wrap store.ErrInvalid", c.name, err)
		}
	}
	// An inactive shift does not take part.
	inactive := append(slices.Clone(ok), store.Shift{ID: 3, Name: "Late", StartTime: "13:00", EndTime: "21:00"})
	if err := ValidateShifts("UTC", inactive); err != nil {
		t.Errorf("inactive overlap refused: %v", err)
	}
	for _, c := range []struct {
		line store.Line
		want string
	}{
		{store.Line{DowntimeThresholdMS: 30000, IdealCycleTimeMS: 0}, "ideal_cycle_time_ms: must be greater than zero, got 0"},
		{store.Line{DowntimeThresholdMS: 30000, IdealCycleTimeMS: -5}, "ideal_cycle_time_ms: must be greater than zero, got -5"},
		{store.Line{DowntimeThresholdMS: 0, IdealCycleTimeMS: 1000}, "downtime_threshold_ms: must be greater than zero, got 0"},
		{store.Line{DowntimeThresholdMS: -1, IdealCycleTimeMS: 1000}, "downtime_threshold_ms: must be greater than zero, got -1"},
		{store.Line{DowntimeThresholdMS: 1000, IdealCycleTimeMS: 1000, MicroStopMinMS: 1000}, "micro_stop_min_ms"},
	} {
		err := ValidateLine(c.line)
		if err == nil || !strings.Contains(err.Error(), c.want) || !isInvalid(err) {
			t.Errorf("ValidateLine(%+v) = %v, want %q", c.line, err, c.want)
		}
	}
	if err := ValidateLine(store.Line{DowntimeThresholdMS: 30000, IdealCycleTimeMS: 1000, MicroStopMinMS: 5000}); err != nil {
		t.Errorf("valid line refused: %v", err)
	}
}

func FuzzValidateShifts(f *testing.F) {
	f.Add("Europe/Madrid", "06:00", "14:00", false, "[1,2,3]", `[{"start":"10:00","end":"10:15"}]`)
	f.Add("UTC", "22:00", "06:00", true, `{"weekdays":[1],"rotation":{"anchor":"2026-01-05","on":4,"off":4}}`, "[]")
	f.Add("", "00:00", "00:00", true, "", "")
	f.Fuzz(func(t *testing.T, tz, start, end string, overnight bool, days, breaks string) {
		if len(days) > 4096 || len(breaks) > 4096 {
			return
		}
		shifts := []store.Shift{
			{ID: 1, Name: "A", StartTime: start, EndTime: end, IsOvernight: overnight, DaysImplemented: store.JSON(days), Breaks: store.JSON(breaks), Active: true},
			{ID: 2, Name: "B", LineID: 3, StartTime: "12:00", EndTime: "13:00", Active: true},
		}
		cal, err := Calendar(tz, shifts)
		if err != nil {
			if !isInvalid(err) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		// A valid calendar answers without panicking.
		now := time.Date(2026, 3, 29, 1, 30, 0, 0, time.UTC)
		cal.At(3, now)
		cal.PlannedIntervals(3, now.Add(-48*time.Hour), now.Add(48*time.Hour))
		cal.NextChange(3, now)
	})
}

func isInvalid(err error) bool { return errors.Is(err, store.ErrInvalid) }

// FuzzCheckpointRestore: whatever bytes sit in a checkpoint key, reading and restoring
// them never panics, and a restored fold keeps folding.
func FuzzCheckpointRestore(f *testing.F) {
	loc := madrid(f)
	day := time.Date(2026, 1, 7, 0, 0, 0, 0, loc)
	g := goldenFold(f, loc)
	simulate(g, goldenDetections(loc, day)[:5000], true, time.Time{}, day.Add(9*time.Hour))
	seed, err := json.Marshal(g.snapshot())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte(`{"v":1,"rate":[[-7,3],[9223372036854775807,1]],"periods":[{"start":"2026-01-07T06:00:00Z","end":"2026-01-07T05:00:00Z"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var cp lineCP
		if json.Unmarshal(data, &cp) != nil {
			return
		}
		fold := goldenFold(t, loc)
		fold.restore(cp)
		now := day.Add(10 * time.Hour)
		fold.observe(store.Detection{ID: 1, At: now, Area: 1, Product: 1, OK: true}, now)
		fold.tick(now.Add(time.Hour))
		fold.figures(fold.current(now), now)
		fold.rate.perMinute(now)
		_ = fold.snapshot()
	})
}
