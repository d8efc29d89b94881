package oee

import (
	"math"
	"testing"
	"time"
)

const eps = 1e-9

func TestComputeGolden(t *testing.T) {
	// One 8-hour shift 06:00-14:00 with breaks 10:00-10:15 and 12:00-12:30:
	//   planned      = 8h - 15m - 30m = 7h15m = 26100 s
	// Two stops of 20 min and 25 min:
	//   downtime     = 45 min = 2700 s
	//   run          = 26100 - 2700 = 23400 s
	// Ideal cycle 1 s, 20000 made, 400 rejected:
	//   availability = 23400 / 26100 = 26/29          = 0.896551724137931...
	//   performance  = 1 × 20000 / 23400 = 100/117    = 0.854700854700854...
	//   quality      = (20000 - 400) / 20000 = 19600/20000 = 0.98
	//   OEE          = 26/29 × 100/117 × 0.98 = (2/9) × (100/29) × 0.98 = 196/261 = 0.750957854406130...
	got := Compute(26100*time.Second, 2700*time.Second, time.Second, Counts{Total: 20000, Good: 19600})
	want := Result{
		PlannedTime:  26100 * time.Second,
		Downtime:     2700 * time.Second,
		RunTime:      23400 * time.Second,
		Availability: 26.0 / 29,
		Performance:  100.0 / 117,
		Quality:      0.98,
		OEE:          196.0 / 261,
		Counts:       Counts{Total: 20000, Good: 19600, Reject: 400},
	}
	checkResult(t, got, want)
	// The decimal expansions in the comment, independently of the fractions.
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"availability", got.Availability, 0.896551724137931},
		{"performance", got.Performance, 0.854700854700854},
		{"OEE", got.OEE, 0.750957854406130},
	} {
		if math.Abs(c.got-c.want) > eps {
			t.Errorf("%s = %.15f, want %.15f", c.name, c.got, c.want)
		}
	}
}

func TestComputeEdges(t *testing.T) {
	h := time.Hour
	tests := []struct {
		name                     string
		planned, downtime, ideal time.Duration
		counts                   Counts
		want                     Result
	}{
		{
			// Nothing planned: every ratio is 0, nothing to divide by.
			name: "planned zero", planned: 0, downtime: 0, ideal: time.Second, counts: Counts{Total: 10, Good: 10},
			want: Result{Quality: 1, Counts: Counts{Total: 10, Good: 10}},
		},
		{
			// Quality is 0 when nothing was made (see Compute).
			name: "total zero", planned: h, downtime: 0, ideal: time.Second,
			want: Result{PlannedTime: h, RunTime: h, Availability: 1},
		},
		{
			// 1 s ideal × 4000 = 4000 s of work in a 3600 s run: 4000/3600 = 1.111...
			name: "performance over 100 % is flagged", planned: h, ideal: time.Second, counts: Counts{Total: 4000, Good: 4000},
			want: Result{PlannedTime: h, RunTime: h, Availability: 1, Performance: 4000.0 / 3600, PerformanceOver100: true,
				Quality: 1, OEE: 4000.0 / 3600, Counts: Counts{Total: 4000, Good: 4000}},
		},
		{
			// Exactly at ideal rate: 3600 × 1 s = 3600 s, not over.
			name: "performance exactly 100 %", planned: h, ideal: time.Second, counts: Counts{Total: 3600, Good: 3600},
			want: Result{PlannedTime: h, RunTime: h, Availability: 1, Performance: 1, Quality: 1, OEE: 1,
				Counts: Counts{Total: 3600, Good: 3600}},
		},
		{
			// Downtime beyond planned time is capped: run 0, availability 0.
			name: "downtime exceeds planned", planned: h, downtime: 2 * h, ideal: time.Second, counts: Counts{Total: 5, Good: 4},
			want: Result{PlannedTime: h, Downtime: h, Quality: 0.8, Counts: Counts{Total: 5, Good: 4, Reject: 1}},
		},
		{
			name: "no ideal cycle time", planned: h, ideal: 0, counts: Counts{Total: 100, Good: 50},
			want: Result{PlannedTime: h, RunTime: h, Availability: 1, Quality: 0.5, Counts: Counts{Total: 100, Good: 50, Reject: 50}},
		},
		{
			// Reject is derived, the caller's value ignored; Good is capped at Total.
			name: "inconsistent counts", planned: h, ideal: time.Second, counts: Counts{Total: 10, Good: 12, Reject: 7},
			want: Result{PlannedTime: h, RunTime: h, Availability: 1, Performance: 10.0 / 3600, Quality: 1, OEE: 10.0 / 3600,
				Counts: Counts{Total: 10, Good: 10}},
		},
		{
			name: "negative inputs are zero", planned: -h, downtime: -h, ideal: time.Second, counts: Counts{Total: -1, Good: -1},
			want: Result{},
		},
		{
			// 1 h ideal × 2^40 units: the product overflows int64 nanoseconds,
			// the flag must still be right.
			name: "huge counts do not overflow the flag", planned: h, ideal: h, counts: Counts{Total: 1 << 40, Good: 1 << 40},
			want: Result{PlannedTime: h, RunTime: h, Availability: 1, Performance: 1 << 40, PerformanceOver100: true,
				Quality: 1, OEE: 1 << 40, Counts: Counts{Total: 1 << 40, Good: 1 << 40}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkResult(t, Compute(tt.planned, tt.downtime, tt.ideal, tt.counts), tt.want)
		})
	}
}

func checkResult(t *testing.T, got, want Result) {
	t.Helper()
	if got.PlannedTime != want.PlannedTime || got.Downtime != want.Downtime || got.RunTime != want.RunTime {
		t.Errorf("times = %v/%v/%v, want %v/%v/%v", got.PlannedTime, got.Downtime, got.RunTime, want.PlannedTime, want.Downtime, want.RunTime)
	}
	if got.Counts != want.Counts {
		t.Errorf("counts = %+v, want %+v", got.Counts, want.Counts)
	}
	if got.PerformanceOver100 != want.PerformanceOver100 {
		t.Errorf("PerformanceOver100 = %v, want %v", got.PerformanceOver100, want.PerformanceOver100)
	}
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"availability", got.Availability, want.Availability},
		{"performance", got.Performance, want.Performance},
		{"quality", got.Quality, want.Quality},
		{"OEE", got.OEE, want.OEE},
	} {
		if math.Abs(c.got-c.want) > eps*math.Max(1, math.Abs(c.want)) {
			t.Errorf("%s = %.12f, want %.12f", c.name, c.got, c.want)
		}
	}
}
