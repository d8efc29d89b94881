// Package oee owns the OEE arithmetic and the event-time downtime rule. It
// is pure: no clock, no I/O, so a replay of the same detections yields the
// same events and figures.
package oee

import (
	"math"
	"math/bits"
	"time"
)

// Counts are the units a line made in a period.
type Counts struct {
	Total, Good, Reject int64
}

// Result is OEE over one period. Ratios are fractions (0.85 = 85 %).
type Result struct {
	PlannedTime, Downtime, RunTime time.Duration
	// Unmonitored is planned time with no data (no detection and no known stop):
	// it is neither run time nor downtime and is left out of the A/P/Q
	// denominators. PlannedTime = RunTime + Downtime + Unmonitored.
	Unmonitored               time.Duration
	Availability, Performance float64
	Quality, OEE              float64
	// PerformanceOver100 says the line beat its ideal cycle time, which means
	// the ideal cycle time is set wrong. Performance and OEE are reported
	// uncapped so the error stays visible.
	PerformanceOver100 bool
	Counts             Counts
}

// Compute is ComputeMonitored with every planned instant monitored.
func Compute(planned, downtime, idealCycle time.Duration, c Counts) Result {
	return ComputeMonitored(planned, 0, downtime, idealCycle, c)
}

// ComputeMonitored applies the standard definitions to the monitored part of
// planned time (docs/OEE.md):
//
//	monitored    = planned − unmonitored
//	run          = monitored − downtime
//	availability = run / monitored
//	performance  = idealCycle × total / run   (ComputeNet: Σ ideal × units / run)
//	quality      = good / total
//	OEE          = availability × performance × quality
//
// Inputs are made consistent rather than rejected, so a live display never
// shows nonsense: negative values count as 0, unmonitored is capped at
// planned and downtime at monitored (Planned = Run + Downtime + Unmonitored
// always holds), Good is capped at Total and Reject is recomputed as
// Total − Good.
//
// A ratio whose denominator is 0 is 0. In particular availability is 0 when
// nothing of the period was monitored (a shift with no data is not 100 %
// available), and quality is 0 when nothing was made: 100 % quality on a
// line that produced nothing would read as good news on the shop-floor
// screen. OEE is 0 then in any case, since performance is 0. An idealCycle
// <= 0 (not configured) gives performance 0.
func ComputeMonitored(planned, unmonitored, downtime, idealCycle time.Duration, c Counts) Result {
	good := min(max(c.Good, 0), max(c.Total, 0))
	r := ComputeNet(planned, unmonitored, downtime, NetRun(idealCycle, max(c.Total, 0)), NetRun(idealCycle, good), c)
	if r.Performance > 0 {
		// In floating point: idealCycle × total can pass the longest Duration.
		r.Performance = float64(idealCycle) * float64(r.Counts.Total) / float64(r.RunTime)
		r.OEE = r.Availability * r.Performance * r.Quality
	}
	return r
}

// NetRun is idealCycle × units, saturating at the longest Duration (a line that made
// that much is over 100 % anyway). Σ NetRun over products is ComputeNet's netRun.
func NetRun(idealCycle time.Duration, units int64) time.Duration {
	if idealCycle <= 0 || units <= 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(idealCycle), uint64(units))
	if hi != 0 || lo > math.MaxInt64 {
		return math.MaxInt64
	}
	return time.Duration(lo)
}

// ComputeNet is ComputeMonitored with the ideal time of what was made given as sums over
// products (netRun = Σ ideal cycle × units, fully = Σ ideal cycle × good units), so a line
// running products of different speeds is judged on each one's: performance = netRun /
// run and quality = fully / netRun (a good unit weighs its ideal cycle time, so OEE =
// fully / planned; with one product it is good / total). A netRun <= 0 (no ideal cycle
// configured, or nothing made) gives performance 0 and the count ratio as quality.
func ComputeNet(planned, unmonitored, downtime, netRun, fully time.Duration, c Counts) Result {
	planned = max(planned, 0)
	unmonitored = min(max(unmonitored, 0), planned)
	monitored := planned - unmonitored
	downtime = min(max(downtime, 0), monitored)
	c.Total = max(c.Total, 0)
	c.Good = min(max(c.Good, 0), c.Total)
	c.Reject = c.Total - c.Good
	r := Result{PlannedTime: planned, Downtime: downtime, Unmonitored: unmonitored, RunTime: monitored - downtime, Counts: c}
	if monitored > 0 {
		r.Availability = float64(r.RunTime) / float64(monitored)
	}
	if r.RunTime > 0 && netRun > 0 {
		r.Performance = float64(netRun) / float64(r.RunTime)
		r.PerformanceOver100 = netRun > r.RunTime
	}
	switch {
	case netRun > 0:
		r.Quality = float64(min(max(fully, 0), netRun)) / float64(netRun)
	case c.Total > 0:
		r.Quality = float64(c.Good) / float64(c.Total)
	}
	r.OEE = r.Availability * r.Performance * r.Quality
	return r
}

// UnmonitoredShare is the unmonitored part of planned time (0 when nothing
// was planned).
func (r Result) UnmonitoredShare() float64 {
	if r.PlannedTime <= 0 {
		return 0
	}
	return float64(r.Unmonitored) / float64(r.PlannedTime)
}
