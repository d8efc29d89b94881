package shiftcal

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// The week used by most tests: 2026-01-05 is a Monday, Europe/Madrid is on
// CET (UTC+1) all month, so wall-clock expectations are unambiguous.

func mustLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return loc
}

func mustNew(t testing.TB, loc *time.Location, shifts ...Shift) *Calendar {
	t.Helper()
	c, err := New(loc, shifts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// local parses "2006-01-02 15:04" in loc; only use it for unambiguous wall times.
func local(t testing.TB, loc *time.Location, s string) time.Time {
	t.Helper()
	v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		t.Fatalf("parse %q: %v", s, err)
	}
	return v
}

func utc(t testing.TB, s string) time.Time {
	t.Helper()
	return local(t, time.UTC, s)
}

var (
	morning = Shift{ID: 1, LineID: 3, Name: "Morning", Start: "06:00", End: "14:00",
		Breaks: []Break{{Start: "10:00", End: "10:15"}, {Start: "12:00", End: "12:30"}}}
	afternoon = Shift{ID: 2, LineID: 3, Name: "Afternoon", Start: "14:00", End: "22:00"}
	night     = Shift{ID: 3, LineID: 3, Name: "Night", Start: "22:00", End: "06:00", Overnight: true,
		Breaks: []Break{{Start: "23:50", End: "00:10"}, {Start: "03:00", End: "03:20"}}}
)

func TestNewRejects(t *testing.T) {
	madrid := mustLoc(t, "Europe/Madrid")
	with := func(s Shift, f func(*Shift)) Shift { f(&s); return s }
	tests := []struct {
		name    string
		loc     *time.Location
		shifts  []Shift
		wantErr string
	}{
		{name: "nil location", shifts: []Shift{morning}, wantErr: "nil location"},
		{name: "bad start", shifts: []Shift{with(morning, func(s *Shift) { s.Start = "6:00" })}, wantErr: `shiftcal: shift "Morning": bad start: bad time "6:00"`},
		{name: "bad end", shifts: []Shift{with(morning, func(s *Shift) { s.End = "14:61" })}, wantErr: `bad end`},
		{name: "ends before start without Overnight", shifts: []Shift{with(night, func(s *Shift) { s.Overnight = false })}, wantErr: "ends before it starts"},
		{name: "Overnight but same-day times", shifts: []Shift{with(morning, func(s *Shift) { s.Overnight = true })}, wantErr: "Overnight but ends after it starts"},
		{name: "zero length", shifts: []Shift{{ID: 9, Name: "Zero", Start: "06:00", End: "06:00"}}, wantErr: `shift "Zero": zero-length`},
		{name: "unnamed shift is named by id", shifts: []Shift{{ID: 9, Start: "06:00", End: "06:00"}}, wantErr: `shift #9: zero-length`},
		{name: "negative line", shifts: []Shift{with(morning, func(s *Shift) { s.LineID = -1 })}, wantErr: "line id -1"},
		{name: "duplicate id", shifts: []Shift{morning, with(afternoon, func(s *Shift) { s.ID = 1 })}, wantErr: "duplicate shift id 1"},
		{name: "break after shift", shifts: []Shift{with(morning, func(s *Shift) { s.Breaks = []Break{{"14:00", "14:15"}} })}, wantErr: `break 14:00-14:15 is outside the shift`},
		{name: "break straddles end", shifts: []Shift{with(morning, func(s *Shift) { s.Breaks = []Break{{"13:50", "14:10"}} })}, wantErr: "outside the shift"},
		{name: "break before start", shifts: []Shift{with(morning, func(s *Shift) { s.Breaks = []Break{{"05:50", "06:10"}} })}, wantErr: "outside the shift"},
		{name: "break zero length", shifts: []Shift{with(morning, func(s *Shift) { s.Breaks = []Break{{"10:00", "10:00"}} })}, wantErr: "zero-length break"},
		{name: "break bad time", shifts: []Shift{with(morning, func(s *Shift) { s.Breaks = []Break{{"10:00", "1015"}} })}, wantErr: `bad time "1015"`},
		{name: "breaks overlap", shifts: []Shift{with(morning, func(s *Shift) { s.Breaks = []Break{{"10:00", "10:30"}, {"10:15", "10:45"}} })}, wantErr: "break 10:15-10:45 overlaps break 10:00-10:30"},
		{name: "night break before start", shifts: []Shift{with(night, func(s *Shift) { s.Breaks = []Break{{"21:50", "22:10"}} })}, wantErr: "outside the shift"},
		{name: "weekday out of range", shifts: []Shift{with(morning, func(s *Shift) { s.Days = Days{Weekdays: []int{0}} })}, wantErr: "weekday 0 outside 1..7"},
		{name: "rotation on zero", shifts: []Shift{with(morning, func(s *Shift) { s.Days = Days{Rotation: &Rotation{"2026-01-05", 0, 4}} })}, wantErr: "on must be at least 1"},
		{name: "rotation off negative", shifts: []Shift{with(morning, func(s *Shift) { s.Days = Days{Rotation: &Rotation{"2026-01-05", 4, -1}} })}, wantErr: "off must not be negative"},
		{name: "rotation bad anchor", shifts: []Shift{with(morning, func(s *Shift) { s.Days = Days{Rotation: &Rotation{"05/01/2026", 4, 4}} })}, wantErr: "bad rotation anchor"},
		{
			// Mondays only, and a 1-on/6-off rotation whose ON days are Tuesdays.
			name:    "weekdays and rotation never meet",
			shifts:  []Shift{with(morning, func(s *Shift) { s.Days = Days{Weekdays: []int{1}, Rotation: &Rotation{"2026-01-06", 1, 6}} })},
			wantErr: `shift "Morning": never occurs`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc := tt.loc
			if loc == nil && tt.name != "nil location" {
				loc = madrid
			}
			_, err := New(loc, tt.shifts)
			checkErr(t, err, tt.wantErr)
		})
	}
}

func TestNewOverlap(t *testing.T) {
	madrid := mustLoc(t, "Europe/Madrid")
	crew := func(id int64, name, start, end string, overnight bool, anchor string) Shift {
		return Shift{ID: id, LineID: 3, Name: name, Start: start, End: end, Overnight: overnight,
			Days: Days{Rotation: &Rotation{Anchor: anchor, On: 4, Off: 4}}}
	}
	tests := []struct {
		name    string
		shifts  []Shift
		wantErr string // empty: must be accepted
	}{
		{name: "three adjacent shifts", shifts: []Shift{morning, afternoon, night}},
		{name: "same hours on different lines", shifts: []Shift{morning, {ID: 5, LineID: 4, Name: "Morning 4", Start: "06:00", End: "14:00"}}},
		{
			name:    "same line overlap",
			shifts:  []Shift{morning, {ID: 5, LineID: 3, Name: "Late", Start: "13:00", End: "21:00"}},
			wantErr: `shift "Late" overlaps shift "Morning" on line 3`,
		},
		{
			name:    "all-lines shift overlaps a line shift",
			shifts:  []Shift{morning, {ID: 5, Name: "Cleaning", Start: "05:00", End: "07:00"}},
			wantErr: `shift "Cleaning" overlaps shift "Morning" on line 3`,
		},
		{
			name:    "two all-lines shifts",
			shifts:  []Shift{{ID: 5, Name: "A", Start: "05:00", End: "07:00"}, {ID: 6, Name: "B", Start: "06:00", End: "08:00"}},
			wantErr: `shift "B" overlaps shift "A" on all lines`,
		},
		{
			name:    "overnight runs into the next morning",
			shifts:  []Shift{morning, {ID: 5, LineID: 3, Name: "Night", Start: "22:00", End: "06:30", Overnight: true}},
			wantErr: `shift "Night" overlaps shift "Morning" on line 3`,
		},
		{
			name: "Friday night runs into a Saturday morning",
			shifts: []Shift{
				{ID: 5, LineID: 3, Name: "Fri night", Start: "22:00", End: "06:00", Overnight: true, Days: Days{Weekdays: []int{5}}},
				{ID: 6, LineID: 3, Name: "Sat morning", Start: "05:00", End: "13:00", Days: Days{Weekdays: []int{6}}},
			},
			wantErr: `shift "Sat morning" overlaps shift "Fri night"`,
		},
		{
			name: "Friday night does not meet weekday mornings",
			shifts: []Shift{
				{ID: 5, LineID: 3, Name: "Fri night", Start: "22:00", End: "06:00", Overnight: true, Days: Days{Weekdays: []int{5}}},
				{ID: 6, LineID: 3, Name: "Early", Start: "05:00", End: "13:00", Days: Days{Weekdays: []int{1, 2, 3, 4, 5}}},
			},
		},
		{
			name: "Sunday night meets Monday early shift",
			shifts: []Shift{
				{ID: 5, LineID: 3, Name: "Sun night", Start: "22:00", End: "06:00", Overnight: true, Days: Days{Weekdays: []int{7}}},
				{ID: 6, LineID: 3, Name: "Early", Start: "05:00", End: "13:00", Days: Days{Weekdays: []int{1, 2, 3, 4, 5}}},
			},
			wantErr: `shift "Early" overlaps shift "Sun night"`,
		},
		{
			name:   "4-on/4-off crews anchored 4 days apart never meet",
			shifts: []Shift{crew(5, "A", "06:00", "18:00", false, "2026-01-05"), crew(6, "B", "06:00", "18:00", false, "2026-01-09")},
		},
		{
			name: "four crews: two day, two night",
			shifts: []Shift{
				crew(5, "A day", "06:00", "18:00", false, "2026-01-05"), crew(6, "B day", "06:00", "18:00", false, "2026-01-09"),
				crew(7, "C night", "18:00", "06:00", true, "2026-01-05"), crew(8, "D night", "18:00", "06:00", true, "2026-01-09"),
			},
		},
		{
			name:    "4-on/4-off crews anchored 3 days apart share a day",
			shifts:  []Shift{crew(5, "A", "06:00", "18:00", false, "2026-01-05"), crew(6, "B", "06:00", "18:00", false, "2026-01-08")},
			wantErr: `shift "B" overlaps shift "A" on line 3`,
		},
		{
			// A's last night starts on its 4th ON day and ends on B's first ON day:
			// the hours must not meet, 18:00-07:00 runs into B's 06:00.
			name:    "night crew runs into the next crew's day",
			shifts:  []Shift{crew(5, "A", "18:00", "07:00", true, "2026-01-05"), crew(6, "B", "06:00", "18:00", false, "2026-01-09")},
			wantErr: `shift "B" overlaps shift "A"`,
		},
		{
			name:    "24-hour shift overlaps anything on its line",
			shifts:  []Shift{{ID: 5, LineID: 3, Name: "Continuous", Start: "06:00", End: "06:00", Overnight: true}, afternoon},
			wantErr: `shift "Afternoon" overlaps shift "Continuous"`,
		},
		{
			name:   "24-hour shift every day is adjacent to itself",
			shifts: []Shift{{ID: 5, LineID: 3, Name: "Continuous", Start: "06:00", End: "06:00", Overnight: true}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(madrid, tt.shifts)
			checkErr(t, err, tt.wantErr)
		})
	}
}

func TestAt(t *testing.T) {
	madrid := mustLoc(t, "Europe/Madrid")
	all := Shift{ID: 9, LineID: 0, Name: "Everywhere", Start: "08:00", End: "16:00"}
	c := mustNew(t, madrid, morning, afternoon, night)
	c4 := mustNew(t, madrid, all)
	tests := []struct {
		name     string
		cal      *Calendar
		line     int64
		at       string
		wantName string // empty: no shift
		wantDate string
	}{
		{name: "morning start is inclusive", cal: c, line: 3, at: "2026-01-07 06:00", wantName: "Morning", wantDate: "2026-01-07"},
		{name: "inside a break is still the shift", cal: c, line: 3, at: "2026-01-07 10:05", wantName: "Morning", wantDate: "2026-01-07"},
		{name: "end is exclusive", cal: c, line: 3, at: "2026-01-07 14:00", wantName: "Afternoon", wantDate: "2026-01-07"},
		{name: "night before midnight", cal: c, line: 3, at: "2026-01-07 22:00", wantName: "Night", wantDate: "2026-01-07"},
		{name: "night at midnight", cal: c, line: 3, at: "2026-01-08 00:00", wantName: "Night", wantDate: "2026-01-07"},
		{name: "night after midnight", cal: c, line: 3, at: "2026-01-08 05:59", wantName: "Night", wantDate: "2026-01-07"},
		{name: "night across a month end", cal: c, line: 3, at: "2026-02-01 01:00", wantName: "Night", wantDate: "2026-01-31"},
		{name: "night across a year end", cal: c, line: 3, at: "2026-01-01 01:00", wantName: "Night", wantDate: "2025-12-31"},
		{name: "other line has no shift", cal: c, line: 4, at: "2026-01-07 10:00"},
		{name: "all-lines shift on line 4", cal: c4, line: 4, at: "2026-01-07 10:00", wantName: "Everywhere", wantDate: "2026-01-07"},
		{name: "all-lines shift outside hours", cal: c4, line: 4, at: "2026-01-07 16:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkAt(t, tt.cal, tt.line, local(t, madrid, tt.at), tt.wantName, tt.wantDate)
		})
	}
}

func checkAt(t *testing.T, c *Calendar, line int64, at time.Time, wantName, wantDate string) {
	t.Helper()
	// Twice: the second call is served by the per-shift cache.
	for i := 0; i < 2; i++ {
		got, ok := c.At(line, at)
		if wantName == "" {
			if ok {
				t.Fatalf("At(%d, %v) = %q %s, want no shift", line, at, got.Name, got.Date)
			}
			continue
		}
		if !ok || got.Name != wantName || got.Date != wantDate {
			t.Fatalf("At(%d, %v) = %q %s (ok=%v), want %q %s", line, at, got.Name, got.Date, ok, wantName, wantDate)
		}
		if at.Before(got.Start) || !at.Before(got.End) {
			t.Fatalf("instance [%v, %v) does not contain %v", got.Start, got.End, at)
		}
	}
}

func TestAtWeekdays(t *testing.T) {
	madrid := mustLoc(t, "Europe/Madrid")
	wd := func(s Shift, days ...int) Shift { s.Days = Days{Weekdays: days}; return s }
	c := mustNew(t, madrid, wd(morning, 1, 2, 3, 4, 5), wd(night, 7, 1, 2, 3, 4)) // nights start Sun..Thu
	tests := []struct{ at, wantName, wantDate string }{
		{at: "2026-01-09 07:00", wantName: "Morning", wantDate: "2026-01-09"}, // Friday
		{at: "2026-01-10 07:00"}, // Saturday
		{at: "2026-01-09 23:00"}, // Friday night: not planned
		{at: "2026-01-10 01:00"}, // ...nor its small hours
		{at: "2026-01-11 23:00", wantName: "Night", wantDate: "2026-01-11"}, // Sunday night
		{at: "2026-01-12 01:00", wantName: "Night", wantDate: "2026-01-11"}, // Monday small hours
		{at: "2026-01-16 02:00", wantName: "Night", wantDate: "2026-01-15"}, // Thursday night into Friday
	}
	for _, tt := range tests {
		t.Run(tt.at, func(t *testing.T) {
			checkAt(t, c, 3, local(t, madrid, tt.at), tt.wantName, tt.wantDate)
		})
	}
}

func TestAtRotation(t *testing.T) {
	madrid := mustLoc(t, "Europe/Madrid")
	rot := func(id int64, name, start, end string, overnight bool, anchor string) Shift {
		return Shift{ID: id, LineID: 3, Name: name, Start: start, End: end, Overnight: overnight,
			Days: Days{Rotation: &Rotation{Anchor: anchor, On: 4, Off: 4}}}
	}
	c := mustNew(t, madrid,
		rot(1, "A day", "06:00", "18:00", false, "2026-01-05"),
		rot(2, "B day", "06:00", "18:00", false, "2026-01-09"),
		rot(3, "A night", "18:00", "06:00", true, "2026-01-05"),
	)
	// Crew A is ON 2026-01-05..08, 13..16, and before the anchor 2025-12-28..31;
	// OFF 2026-01-01..04 and 09..12. Crew B is the mirror image.
	tests := []struct{ at, wantName, wantDate string }{
		{at: "2026-01-05 06:00", wantName: "A day", wantDate: "2026-01-05"},
		{at: "2026-01-08 17:59", wantName: "A day", wantDate: "2026-01-08"},
		{at: "2026-01-09 12:00", wantName: "B day", wantDate: "2026-01-09"},
		{at: "2026-01-12 12:00", wantName: "B day", wantDate: "2026-01-12"},
		{at: "2026-01-13 12:00", wantName: "A day", wantDate: "2026-01-13"},
		{at: "2026-01-04 12:00", wantName: "B day", wantDate: "2026-01-04"}, // before A's anchor: A off
		{at: "2026-01-01 12:00", wantName: "B day", wantDate: "2026-01-01"},
		{at: "2025-12-31 12:00", wantName: "A day", wantDate: "2025-12-31"},
		{at: "2025-12-28 12:00", wantName: "A day", wantDate: "2025-12-28"},
		{at: "2025-12-27 12:00", wantName: "B day", wantDate: "2025-12-27"},
		{at: "2026-01-09 05:00", wantName: "A night", wantDate: "2026-01-08"}, // A's 4th night ends on B's first day
		{at: "2026-01-09 19:00"}, // A off, no B night crew
		{at: "2026-01-04 19:00"},
		{at: "2025-12-31 23:00", wantName: "A night", wantDate: "2025-12-31"},
		{at: "2026-01-01 03:00", wantName: "A night", wantDate: "2025-12-31"},
		// 2026-03-15 is 69 days after A's anchor (69 mod 8 = 5: OFF) and 65
		// after B's (65 mod 8 = 1: ON).
		{at: "2026-03-15 12:00", wantName: "B day", wantDate: "2026-03-15"},
	}
	for _, tt := range tests {
		t.Run(tt.at, func(t *testing.T) {
			checkAt(t, c, 3, local(t, madrid, tt.at), tt.wantName, tt.wantDate)
		})
	}
}

func TestDST(t *testing.T) {
	madrid := mustLoc(t, "Europe/Madrid")
	ny := mustLoc(t, "America/New_York")
	plain := Shift{ID: 1, LineID: 1, Name: "Night", Start: "22:00", End: "06:00", Overnight: true}
	withBreak := plain
	withBreak.Breaks = []Break{{Start: "02:15", End: "02:45"}} // inside the hour that repeats or vanishes
	tests := []struct {
		name        string
		loc         *time.Location
		shift       Shift
		date        string // local date the night starts
		wantStart   string // UTC
		wantEnd     string // UTC
		wantPlanned time.Duration
	}{
		{name: "Madrid normal night", loc: madrid, shift: plain, date: "2026-10-23",
			wantStart: "2026-10-23 20:00", wantEnd: "2026-10-24 04:00", wantPlanned: 8 * time.Hour},
		{name: "Madrid clocks go back", loc: madrid, shift: plain, date: "2026-10-24",
			wantStart: "2026-10-24 20:00", wantEnd: "2026-10-25 05:00", wantPlanned: 9 * time.Hour},
		{name: "Madrid after going back", loc: madrid, shift: plain, date: "2026-10-25",
			wantStart: "2026-10-25 21:00", wantEnd: "2026-10-26 05:00", wantPlanned: 8 * time.Hour},
		{name: "Madrid clocks go forward", loc: madrid, shift: plain, date: "2026-03-28",
			wantStart: "2026-03-28 21:00", wantEnd: "2026-03-29 04:00", wantPlanned: 7 * time.Hour},
		{name: "New York clocks go back", loc: ny, shift: plain, date: "2026-10-31",
			wantStart: "2026-11-01 02:00", wantEnd: "2026-11-01 11:00", wantPlanned: 9 * time.Hour},
		{name: "New York clocks go forward", loc: ny, shift: plain, date: "2026-03-07",
			wantStart: "2026-03-08 03:00", wantEnd: "2026-03-08 10:00", wantPlanned: 7 * time.Hour},
		// A break in the repeated hour keeps its 30 minutes (both ends resolve
		// to the same occurrence); in the vanished hour both ends move forward
		// one hour, so it keeps its 30 minutes too.
		{name: "Madrid back, break in repeated hour", loc: madrid, shift: withBreak, date: "2026-10-24",
			wantStart: "2026-10-24 20:00", wantEnd: "2026-10-25 05:00", wantPlanned: 9*time.Hour - 30*time.Minute},
		{name: "Madrid forward, break in vanished hour", loc: madrid, shift: withBreak, date: "2026-03-28",
			wantStart: "2026-03-28 21:00", wantEnd: "2026-03-29 04:00", wantPlanned: 7*time.Hour - 30*time.Minute},
		{name: "New York back, break in repeated hour", loc: ny, shift: func() Shift {
			s := withBreak
			s.Breaks = []Break{{Start: "01:15", End: "01:45"}}
			return s
		}(), date: "2026-10-31",
			wantStart: "2026-11-01 02:00", wantEnd: "2026-11-01 11:00", wantPlanned: 9*time.Hour - 30*time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustNew(t, tt.loc, tt.shift)
			start, end := utc(t, tt.wantStart), utc(t, tt.wantEnd)
			for _, probe := range []time.Time{start, start.Add(end.Sub(start) / 2), end.Add(-time.Nanosecond)} {
				got, ok := c.At(1, probe)
				if !ok {
					t.Fatalf("At(%v): no shift", probe)
				}
				if !got.Start.Equal(start) || !got.End.Equal(end) || got.Date != tt.date {
					t.Fatalf("At(%v) = [%v, %v) %s, want [%v, %v) %s", probe, got.Start.UTC(), got.End.UTC(), got.Date, start, end, tt.date)
				}
				if got.PlannedTime() != tt.wantPlanned {
					t.Errorf("PlannedTime = %v, want %v", got.PlannedTime(), tt.wantPlanned)
				}
				for _, b := range got.Breaks {
					if b.Start.Before(got.Start) || b.End.After(got.End) || !b.End.After(b.Start) {
						t.Errorf("break [%v, %v) not inside [%v, %v)", b.Start, b.End, got.Start, got.End)
					}
				}
			}
			if got, ok := c.At(1, end); ok {
				t.Errorf("At(end) = %s instance, want none: the end is exclusive", got.Date)
			}
			if got := c.PlannedTime(1, start.Add(-time.Hour), end.Add(time.Hour)); got != tt.wantPlanned {
				t.Errorf("Calendar.PlannedTime = %v, want %v", got, tt.wantPlanned)
			}
		})
	}
}

// TestDSTGap documents the mapping of a wall time that does not exist: like
// time.Date, 02:30 on the spring-forward night becomes 03:30 local.
func TestDSTGap(t *testing.T) {
	madrid := mustLoc(t, "Europe/Madrid")
	c := mustNew(t, madrid, Shift{ID: 1, LineID: 1, Name: "Early", Start: "02:30", End: "10:00"})
	got, ok := c.At(1, utc(t, "2026-03-29 05:00"))
	if !ok {
		t.Fatal("no shift")
	}
	if want := utc(t, "2026-03-29 01:30"); !got.Start.Equal(want) { // 03:30 CEST
		t.Errorf("Start = %v, want %v", got.Start.UTC(), want)
	}
	if want := 6*time.Hour + 30*time.Minute; got.PlannedTime() != want {
		t.Errorf("PlannedTime = %v, want %v", got.PlannedTime(), want)
	}
}

func TestContinuousShift(t *testing.T) {
	madrid := mustLoc(t, "Europe/Madrid")
	c := mustNew(t, madrid, Shift{ID: 1, LineID: 1, Name: "Continuous", Start: "06:00", End: "06:00", Overnight: true})
	checkAt(t, c, 1, local(t, madrid, "2026-01-08 05:59"), "Continuous", "2026-01-07")
	checkAt(t, c, 1, local(t, madrid, "2026-01-08 06:00"), "Continuous", "2026-01-08")
	from, to := local(t, madrid, "2026-01-05 00:00"), local(t, madrid, "2026-01-12 00:00")
	if got := c.PlannedTime(1, from, to); got != 7*24*time.Hour {
		t.Errorf("a week of a continuous shift = %v, want 168h", got)
	}
	got, _ := c.At(1, utc(t, "2026-10-25 03:00")) // 04:00 CET, before 06:00
	if got.Date != "2026-10-24" || got.PlannedTime() != 25*time.Hour {
		t.Errorf("continuous shift over the fall-back night = %s %v, want 2026-10-24 25h", got.Date, got.PlannedTime())
	}
}

func TestBreaksAcrossMidnight(t *testing.T) {
	madrid := mustLoc(t, "Europe/Madrid")
	c := mustNew(t, madrid, night)
	got, ok := c.At(3, local(t, madrid, "2026-01-08 00:05"))
	if !ok {
		t.Fatal("no shift")
	}
	want := []Interval{
		{local(t, madrid, "2026-01-07 23:50"), local(t, madrid, "2026-01-08 00:10")},
		{local(t, madrid, "2026-01-08 03:00"), local(t, madrid, "2026-01-08 03:20")},
	}
	checkIntervals(t, got.Breaks, want)
	// 8h minus 20 min and 20 min of breaks.
	if got.PlannedTime() != 7*time.Hour+20*time.Minute {
		t.Errorf("PlannedTime = %v, want 7h20m", got.PlannedTime())
	}
}

func TestCurrentAndPrevious(t *testing.T) {
	madrid := mustLoc(t, "Europe/Madrid")
	wd := func(s Shift, days ...int) Shift { s.Days = Days{Weekdays: days}; return s }
	c := mustNew(t, madrid, morning, afternoon, night)
	weekdays := mustNew(t, madrid, wd(morning, 1, 2, 3, 4, 5))
	rot := mustNew(t, madrid, Shift{ID: 1, LineID: 3, Name: "Rare", Start: "06:00", End: "14:00",
		Days: Days{Rotation: &Rotation{Anchor: "2026-01-05", On: 1, Off: 99}}})
	tests := []struct {
		name             string
		cal              *Calendar
		now              string
		wantCur, curDate string
		wantPrev, prDate string
	}{
		{name: "mid morning", cal: c, now: "2026-01-07 09:00", wantCur: "Morning", curDate: "2026-01-07", wantPrev: "Night", prDate: "2026-01-06"},
		{name: "exactly at changeover", cal: c, now: "2026-01-07 14:00", wantCur: "Afternoon", curDate: "2026-01-07", wantPrev: "Morning", prDate: "2026-01-07"},
		{name: "small hours", cal: c, now: "2026-01-08 03:00", wantCur: "Night", curDate: "2026-01-07", wantPrev: "Afternoon", prDate: "2026-01-07"},
		{name: "Monday before the first shift", cal: weekdays, now: "2026-01-12 05:00", wantPrev: "Morning", prDate: "2026-01-09"},
		{name: "Saturday", cal: weekdays, now: "2026-01-10 12:00", wantPrev: "Morning", prDate: "2026-01-09"},
		{name: "rotation 99 days off", cal: rot, now: "2026-04-13 12:00", wantPrev: "Rare", prDate: "2026-01-05"},
		{name: "before the first rotation ON day in range", cal: rot, now: "2026-01-05 13:00", wantCur: "Rare", curDate: "2026-01-05", wantPrev: "Rare", prDate: "2025-09-27"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := local(t, madrid, tt.now)
			cur, ok := tt.cal.Current(3, now)
			if ok != (tt.wantCur != "") || cur.Name != tt.wantCur || cur.Date != tt.curDate {
				t.Errorf("Current = %q %s (%v), want %q %s", cur.Name, cur.Date, ok, tt.wantCur, tt.curDate)
			}
			prev, ok := tt.cal.Previous(3, now)
			if ok != (tt.wantPrev != "") || prev.Name != tt.wantPrev || prev.Date != tt.prDate {
				t.Errorf("Previous = %q %s (%v), want %q %s", prev.Name, prev.Date, ok, tt.wantPrev, tt.prDate)
			}
			if ok && prev.End.After(now) {
				t.Errorf("Previous ends %v, after now %v", prev.End, now)
			}
		})
	}
	if _, ok := c.Previous(4, local(t, madrid, "2026-01-07 09:00")); ok {
		t.Error("Previous on a line without shifts returned an instance")
	}
}

func TestInstances(t *testing.T) {
	madrid := mustLoc(t, "Europe/Madrid")
	c := mustNew(t, madrid, night, afternoon, morning) // unordered on purpose
	tests := []struct {
		name, from, to string
		want           []string // Name@Date
	}{
		{name: "one day", from: "2026-01-07 05:00", to: "2026-01-08 00:00",
			want: []string{"Night@2026-01-06", "Morning@2026-01-07", "Afternoon@2026-01-07", "Night@2026-01-07"}},
		{name: "half-open end", from: "2026-01-07 05:00", to: "2026-01-07 06:00", want: []string{"Night@2026-01-06"}},
		{name: "half-open start", from: "2026-01-07 06:00", to: "2026-01-07 07:00", want: []string{"Morning@2026-01-07"}},
		{name: "empty range", from: "2026-01-07 06:00", to: "2026-01-07 06:00"},
		{name: "reversed range", from: "2026-01-08 06:00", to: "2026-01-07 06:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, in := range c.Instances(3, local(t, madrid, tt.from), local(t, madrid, tt.to)) {
				got = append(got, in.Name+"@"+in.Date)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	week := c.Instances(3, local(t, madrid, "2026-01-05 00:00"), local(t, madrid, "2026-01-12 00:00"))
	if len(week) != 22 { // 7 mornings, 7 afternoons, 8 nights (from Sunday 4th's to Sunday 11th's)
		t.Errorf("a week has %d instances, want 22", len(week))
	}
	for i := 1; i < len(week); i++ {
		if week[i].Start.Before(week[i-1].End) {
			t.Errorf("instances %d and %d overlap or are unordered", i-1, i)
		}
	}
}

func TestPlannedIntervals(t *testing.T) {
	madrid := mustLoc(t, "Europe/Madrid")
	c := mustNew(t, madrid, morning, afternoon)
	l := func(s string) time.Time { return local(t, madrid, s) }
	tests := []struct {
		name, from, to string
		want           []Interval
		wantTime       time.Duration
	}{
		{name: "whole day", from: "2026-01-07 00:00", to: "2026-01-08 00:00",
			want: []Interval{
				{l("2026-01-07 06:00"), l("2026-01-07 10:00")},
				{l("2026-01-07 10:15"), l("2026-01-07 12:00")},
				{l("2026-01-07 12:30"), l("2026-01-07 14:00")},
				// Not merged with the previous interval: pieces split at shift changes.
				{l("2026-01-07 14:00"), l("2026-01-07 22:00")},
			},
			wantTime: 7*time.Hour + 15*time.Minute + 8*time.Hour},
		{name: "clipped", from: "2026-01-07 11:00", to: "2026-01-07 13:00",
			want:     []Interval{{l("2026-01-07 11:00"), l("2026-01-07 12:00")}, {l("2026-01-07 12:30"), l("2026-01-07 13:00")}},
			wantTime: 90 * time.Minute},
		{name: "inside a break", from: "2026-01-07 10:01", to: "2026-01-07 10:14"},
		{name: "outside shifts", from: "2026-01-07 22:00", to: "2026-01-08 06:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkIntervals(t, c.PlannedIntervals(3, l(tt.from), l(tt.to)), tt.want)
			if got := c.PlannedTime(3, l(tt.from), l(tt.to)); got != tt.wantTime {
				t.Errorf("PlannedTime = %v, want %v", got, tt.wantTime)
			}
		})
	}
}

func TestNextChange(t *testing.T) {
	madrid := mustLoc(t, "Europe/Madrid")
	wd := func(s Shift, days ...int) Shift { s.Days = Days{Weekdays: days}; return s }
	onlyMorning := mustNew(t, madrid, wd(morning, 1, 2, 3, 4, 5))
	full := mustNew(t, madrid, morning, afternoon, night)
	tests := []struct {
		name     string
		cal      *Calendar
		line     int64
		at, want string // want empty: no change
	}{
		{name: "before the shift", cal: onlyMorning, line: 3, at: "2026-01-07 05:00", want: "2026-01-07 06:00"},
		{name: "strictly after t", cal: onlyMorning, line: 3, at: "2026-01-07 06:00", want: "2026-01-07 10:00"},
		{name: "in a break", cal: onlyMorning, line: 3, at: "2026-01-07 10:05", want: "2026-01-07 10:15"},
		{name: "end of shift", cal: onlyMorning, line: 3, at: "2026-01-07 13:00", want: "2026-01-07 14:00"},
		{name: "Friday afternoon to Monday", cal: onlyMorning, line: 3, at: "2026-01-09 14:00", want: "2026-01-12 06:00"},
		{name: "changeover counts", cal: full, line: 3, at: "2026-01-07 13:00", want: "2026-01-07 14:00"},
		{name: "after changeover", cal: full, line: 3, at: "2026-01-07 14:00", want: "2026-01-07 22:00"},
		{name: "break before midnight", cal: full, line: 3, at: "2026-01-07 23:00", want: "2026-01-07 23:50"},
		{name: "break across midnight", cal: full, line: 3, at: "2026-01-07 23:55", want: "2026-01-08 00:10"},
		{name: "night end", cal: full, line: 3, at: "2026-01-08 04:00", want: "2026-01-08 06:00"},
		{name: "no shifts", cal: full, line: 4, at: "2026-01-07 04:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.cal.NextChange(tt.line, local(t, madrid, tt.at))
			if tt.want == "" {
				if ok {
					t.Fatalf("NextChange = %v, want none", got)
				}
				return
			}
			if want := local(t, madrid, tt.want); !ok || !got.Equal(want) {
				t.Fatalf("NextChange = %v (%v), want %v", got, ok, want)
			}
		})
	}
}

func TestAtConcurrent(t *testing.T) {
	madrid := mustLoc(t, "Europe/Madrid")
	c := mustNew(t, madrid, morning, afternoon, night)
	base := local(t, madrid, "2026-01-05 00:00")
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				at := base.Add(time.Duration(i*(g+1)) * time.Minute)
				in, ok := c.At(3, at)
				if !ok || at.Before(in.Start) || !at.Before(in.End) {
					t.Errorf("At(%v) = %+v, %v", at, in, ok)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func checkIntervals(t *testing.T, got, want []Interval) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d intervals %v, want %d %v", len(got), got, len(want), want)
	}
	for i := range got {
		if !got[i].Start.Equal(want[i].Start) || !got[i].End.Equal(want[i].End) {
			t.Errorf("interval %d = [%v, %v), want [%v, %v)", i, got[i].Start, got[i].End, want[i].Start, want[i].End)
		}
	}
}

// BenchmarkAt is the KPI engine's per-detection call: detections one second
// apart across three shifts with breaks.
func BenchmarkAt(b *testing.B) {
	madrid := mustLoc(b, "Europe/Madrid")
	c := mustNew(b, madrid, morning, afternoon, night)
	base := local(b, madrid, "2026-01-05 00:00")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, ok := c.At(3, base.Add(time.Duration(i%(7*86400))*time.Second)); !ok {
			b.Fatal("no shift")
		}
	}
}

// BenchmarkAtMiss is At outside any shift: the cache cannot help.
func BenchmarkAtMiss(b *testing.B) {
	madrid := mustLoc(b, "Europe/Madrid")
	c := mustNew(b, madrid, morning, afternoon)
	at := local(b, madrid, "2026-01-05 23:00")
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := c.At(3, at); ok {
			b.Fatal("shift")
		}
	}
}
