package oee

import (
	"fmt"
	"testing"
	"time"

	"github.com/linepulse/linepulse/stream/shiftcal"
)

// day parses "15:04:05" on 2026-01-07 UTC; stops are printed in UTC too.
func day(t testing.TB, hms string) time.Time {
	t.Helper()
	v, err := time.Parse(time.DateTime, "2026-01-07 "+hms)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestClassify(t *testing.T) {
	// The 06:00-14:00 shift with breaks 10:00-10:15 and 12:00-12:30.
	planned := []Interval{
		{Start: day(t, "06:00:00"), End: day(t, "10:00:00")},
		{Start: day(t, "10:15:00"), End: day(t, "12:00:00")},
		{Start: day(t, "12:30:00"), End: day(t, "14:00:00")},
	}
	const threshold, minMicro = 30 * time.Second, 5 * time.Second
	tests := []struct {
		name      string
		from, to  string
		planned   []Interval
		wantStops []string // "start-end"
		wantMicro bool
	}{
		{name: "normal cycle", from: "08:00:00", to: "08:00:01"},
		{name: "at minMicro is not a micro-stop", from: "08:00:00", to: "08:00:05"},
		{name: "just over minMicro", from: "08:00:00", to: "08:00:06", wantMicro: true},
		{name: "at threshold is a micro-stop", from: "08:00:00", to: "08:00:30", wantMicro: true},
		{name: "just over threshold", from: "08:00:00", to: "08:00:31", wantStops: []string{"08:00:00-08:00:31"}},
		{name: "short gap in a break is nothing", from: "10:01:00", to: "10:01:10"},
		{name: "long gap in a break is nothing", from: "10:01:00", to: "10:10:00"},
		{name: "gap exactly the break", from: "10:00:00", to: "10:15:00"},
		{
			// Judged piece by piece: 10 s before the break is nothing, the slow
			// restart after it (60 s > 30 s) is downtime; the break never is.
			name: "gap across a break, slow restart", from: "09:59:50", to: "10:16:00",
			wantStops: []string{"10:15:00-10:16:00"},
		},
		{name: "gap across a break, both pieces short", from: "09:59:50", to: "10:15:20", wantMicro: true},
		{name: "gap across a break, both pieces long", from: "09:59:00", to: "10:16:00",
			wantStops: []string{"09:59:00-10:00:00", "10:15:00-10:16:00"}},
		{name: "gap into a break", from: "11:50:00", to: "12:45:00", wantStops: []string{"11:50:00-12:00:00", "12:30:00-12:45:00"}},
		{name: "late start", from: "05:00:00", to: "06:10:00", wantStops: []string{"06:00:00-06:10:00"}},
		{name: "whole day", from: "05:00:00", to: "15:00:00",
			wantStops: []string{"06:00:00-10:00:00", "10:15:00-12:00:00", "12:30:00-14:00:00"}},
		{name: "micro-stop straddling the shift start counts its planned part", from: "05:59:50", to: "06:00:06", wantMicro: true},
		{name: "only 5 s of it planned: nothing", from: "05:59:50", to: "06:00:05"},
		{name: "shift change without a pause does not cut a gap", from: "07:59:50", to: "08:00:25",
			planned:   []Interval{{Start: day(t, "06:00:00"), End: day(t, "08:00:00")}, {Start: day(t, "08:00:00"), End: day(t, "14:00:00")}},
			wantStops: []string{"07:59:50-08:00:00", "08:00:00-08:00:25"}},
		{name: "reversed gap", from: "08:00:31", to: "08:00:00"},
		{name: "no planned time", from: "08:00:00", to: "09:00:00", planned: []Interval{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pl := planned
			if tt.planned != nil {
				pl = tt.planned
			}
			stops, micro := Classify(Gap{From: day(t, tt.from), To: day(t, tt.to)}, threshold, minMicro, pl)
			if micro != tt.wantMicro {
				t.Errorf("micro = %v, want %v", micro, tt.wantMicro)
			}
			checkStops(t, stops, tt.wantStops)
		})
	}
}

// TestClassifyBreakEdge is the acceptance case of issue 14: the last detection 1.5 s
// before a 15-minute break, the next 1 s after it, threshold 120 s: no downtime (the raw
// gap is 902.5 s, but only 2.5 s of it is planned time, in two pieces).
func TestClassifyBreakEdge(t *testing.T) {
	planned := []Interval{
		{Start: day(t, "06:00:00"), End: day(t, "10:00:00")},
		{Start: day(t, "10:15:00"), End: day(t, "14:00:00")},
	}
	g := Gap{From: day(t, "09:59:58").Add(500 * time.Millisecond), To: day(t, "10:15:01")}
	if stops, micro := Classify(g, 120*time.Second, 5*time.Second, planned); len(stops) != 0 || micro {
		t.Errorf("break edge: stops %v micro %v, want none", stops, micro)
	}
	// The same live, on the golden calendar (Madrid; its first break is 10:00-10:15).
	cal, loc := goldenCalendar(t)
	local := func(ts time.Time) time.Time {
		return time.Date(ts.Year(), ts.Month(), ts.Day(), ts.Hour(), ts.Minute(), ts.Second(), ts.Nanosecond(), loc)
	}
	g = Gap{From: local(g.From), To: local(g.To)}
	tr := NewTracker(120*time.Second, 5*time.Second, func(from, to time.Time) []Interval { return cal.PlannedIntervals(1, from, to) })
	tr.Observe(g.From)
	if _, open := tr.Open(local(day(t, "10:16:00")), 120*time.Second); open {
		t.Error("open at 10:16, 60 s after the break")
	}
	if stops, _ := tr.Observe(g.To); len(stops) != 0 {
		t.Errorf("tracker booked %v", stops)
	}
}

func checkStops(t *testing.T, got []Stop, want []string) {
	t.Helper()
	var g []string
	for _, s := range got {
		if s.Duration != s.End.Sub(s.Start) || s.Duration <= 0 {
			t.Errorf("stop %v-%v has duration %v", s.Start, s.End, s.Duration)
		}
		g = append(g, s.Start.UTC().Format(time.TimeOnly)+"-"+s.End.UTC().Format(time.TimeOnly))
	}
	if fmt.Sprint(g) != fmt.Sprint(want) {
		t.Errorf("stops = %v, want %v", g, want)
	}
}

// goldenCalendar holds the hand-worked shift of TestComputeGolden, in Madrid time.
func goldenCalendar(t testing.TB) (*shiftcal.Calendar, *time.Location) {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Madrid")
	if err != nil {
		t.Fatal(err)
	}
	cal, err := shiftcal.New(loc, []shiftcal.Shift{{
		ID: 1, LineID: 1, Name: "Morning", Start: "06:00", End: "14:00",
		Breaks: []shiftcal.Break{{Start: "10:00", End: "10:15"}, {Start: "12:00", End: "12:30"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return cal, loc
}

func TestTrackerGolden(t *testing.T) {
	cal, loc := goldenCalendar(t)
	at := func(hms string) time.Time {
		v, err := time.ParseInLocation(time.DateTime, "2026-01-07 "+hms, loc)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	planned := func(from, to time.Time) []Interval { return cal.PlannedIntervals(1, from, to) }

	// One detection a second from 06:00:00 to 13:59:59, except inside these
	// silent windows (ends exclusive, so a detection sits on each boundary):
	silent := [][2]time.Time{
		{at("07:00:00"), at("07:20:00")}, // stop: 20 min
		{at("08:00:00"), at("08:00:10")}, // micro-stop: 10 s, 5 s < 10 s <= 30 s
		{at("10:00:00"), at("10:15:00")}, // exactly the first break: nothing
		{at("11:50:00"), at("12:45:00")}, // stop across the second break: 10 + 15 = 25 min
	}
	var stream []time.Time
	for ts := at("06:00:00"); ts.Before(at("14:00:00")); ts = ts.Add(time.Second) {
		quiet := false
		for _, w := range silent {
			quiet = quiet || (ts.After(w[0]) && ts.Before(w[1]))
		}
		if !quiet {
			stream = append(stream, ts)
		}
	}

	run := func() (stops []Stop, micros int) {
		tr := NewTracker(30*time.Second, 5*time.Second, planned)
		for _, ts := range stream {
			// The live alert must agree with what the detection ending the
			// gap then books.
			openStart, open := tr.Open(ts.Add(-time.Millisecond), 30*time.Second)
			s, micro := tr.Observe(ts)
			if open && (len(s) == 0 || !s[0].Start.Equal(openStart)) {
				t.Fatalf("at %v: Open said a stop started %v, Observe booked %v", ts, openStart, s)
			}
			stops = append(stops, s...)
			if micro {
				micros++
			}
		}
		return stops, micros
	}
	stops, micros := run()
	checkStops(t, stops, []string{"06:00:00-06:20:00", "10:50:00-11:00:00", "11:30:00-11:45:00"}) // UTC = Madrid - 1h
	if micros != 1 {
		t.Errorf("micro-stops = %d, want 1", micros)
	}
	var downtime time.Duration
	for _, s := range stops {
		downtime += s.Duration
	}
	plannedTime := cal.PlannedTime(1, at("00:00:00"), at("23:59:59"))
	if plannedTime != 26100*time.Second || downtime != 2700*time.Second {
		t.Fatalf("planned %v, downtime %v; want 7h15m, 45m", plannedTime, downtime)
	}
	// The same figures as TestComputeGolden, now from the calendar and the tracker.
	r := Compute(plannedTime, downtime, time.Second, Counts{Total: 20000, Good: 19600})
	if d := r.OEE - 196.0/261; d > eps || d < -eps {
		t.Errorf("OEE = %.12f, want 196/261", r.OEE)
	}

	// Replaying the same stream gives the same events.
	again, againMicros := run()
	if fmt.Sprint(again) != fmt.Sprint(stops) || againMicros != micros {
		t.Errorf("replay differs: %v/%d vs %v/%d", again, againMicros, stops, micros)
	}
}

func TestTrackerOpen(t *testing.T) {
	cal, loc := goldenCalendar(t)
	at := func(dt string) time.Time {
		v, err := time.ParseInLocation(time.DateTime, dt, loc)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	const threshold = 30 * time.Second
	tests := []struct {
		name      string
		last      string // empty: no detection yet
		now       string
		wantStart string // empty: not open
	}{
		{name: "no detection yet", now: "2026-01-07 08:00:00"},
		{name: "within threshold", last: "2026-01-07 07:00:00", now: "2026-01-07 07:00:30"},
		{name: "past threshold", last: "2026-01-07 07:00:00", now: "2026-01-07 07:00:31", wantStart: "2026-01-07 07:00:00"},
		{name: "in a break", last: "2026-01-07 10:00:00", now: "2026-01-07 10:05:00"},
		{name: "stopped before a break, still in it", last: "2026-01-07 11:50:00", now: "2026-01-07 12:10:00"},
		{name: "stopped before a break, after it", last: "2026-01-07 11:50:00", now: "2026-01-07 12:31:00", wantStart: "2026-01-07 11:50:00"},
		{name: "quiet since the break began, not restarted", last: "2026-01-07 10:00:00", now: "2026-01-07 10:15:31", wantStart: "2026-01-07 10:15:00"},
		{name: "after the shift", last: "2026-01-07 13:59:59", now: "2026-01-07 15:00:00"},
		{name: "late start next morning", last: "2026-01-07 14:00:00", now: "2026-01-08 06:10:00", wantStart: "2026-01-08 06:00:00"},
		// The last planned second of yesterday is a run of its own (1 s: no stop),
		// so the stop (and the event booked later) starts this morning.
		{name: "quiet from just before the end", last: "2026-01-07 13:59:59", now: "2026-01-08 06:10:00", wantStart: "2026-01-08 06:00:00"},
		{name: "quiet a minute before the end", last: "2026-01-07 13:59:00", now: "2026-01-08 06:10:00", wantStart: "2026-01-07 13:59:00"},
		{name: "restart after a break not yet late", last: "2026-01-07 09:59:58", now: "2026-01-07 10:15:30"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := NewTracker(threshold, 5*time.Second, func(from, to time.Time) []Interval { return cal.PlannedIntervals(1, from, to) })
			if tt.last != "" {
				tr.Observe(at(tt.last))
			}
			start, open := tr.Open(at(tt.now), threshold)
			if open != (tt.wantStart != "") {
				t.Fatalf("open = %v, want %v", open, tt.wantStart != "")
			}
			if open && !start.Equal(at(tt.wantStart)) {
				t.Errorf("start = %v, want %v", start, at(tt.wantStart))
			}
		})
	}
}

func TestTrackerOrder(t *testing.T) {
	tr := NewTracker(30*time.Second, 5*time.Second, nil) // nil: always planned
	if _, ok := tr.Last(); ok {
		t.Fatal("fresh tracker has a last detection")
	}
	steps := []struct {
		at        string
		wantStops []string
		wantMicro bool
		wantLast  string
	}{
		{at: "08:00:00", wantLast: "08:00:00"},                  // first: nothing to compare
		{at: "08:00:01", wantLast: "08:00:01"},                  // normal
		{at: "07:59:00", wantLast: "08:00:01"},                  // late: ignored
		{at: "08:00:01", wantLast: "08:00:01"},                  // duplicate: ignored
		{at: "08:00:11", wantLast: "08:00:11", wantMicro: true}, // 10 s
		{at: "08:01:11", wantLast: "08:01:11", wantStops: []string{"08:00:11-08:01:11"}},
	}
	for _, s := range steps {
		stops, micro := tr.Observe(day(t, s.at))
		if micro != s.wantMicro {
			t.Errorf("Observe(%s) micro = %v, want %v", s.at, micro, s.wantMicro)
		}
		checkStops(t, stops, s.wantStops)
		if last, ok := tr.Last(); !ok || !last.Equal(day(t, s.wantLast)) {
			t.Errorf("after Observe(%s) Last = %v, want %s", s.at, last, s.wantLast)
		}
	}
}

// BenchmarkObserve is the per-detection cost of the downtime rule on a
// running line: gaps below minMicro never consult the calendar.
func BenchmarkObserve(b *testing.B) {
	cal, _ := goldenCalendar(b)
	tr := NewTracker(30*time.Second, 5*time.Second, func(from, to time.Time) []Interval { return cal.PlannedIntervals(1, from, to) })
	ts := time.Date(2026, 1, 7, 6, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	for b.Loop() {
		ts = ts.Add(time.Second)
		tr.Observe(ts)
	}
}
