package oee

import (
	"time"

	"github.com/linepulse/linepulse/stream/shiftcal"
)

// Interval is planned production time, as shiftcal.Calendar.PlannedIntervals
// returns it.
type Interval = shiftcal.Interval

// Gap is the time between two consecutive detections on a line.
type Gap struct{ From, To time.Time }

// Stop is one booked piece of downtime, inside planned time.
type Stop struct {
	Start, End time.Time
	Duration   time.Duration // End − Start
}

// Classify applies the downtime rule to one gap, given the planned
// intervals (sorted, disjoint) around it.
//
// A gap is judged by its length inside planned time, not by its raw length:
// the gap is cut into runs of contiguous planned time (a break or the time
// between shifts cuts it; a shift change with no pause between the shifts
// does not), and each run is judged on its own:
//   - longer than threshold: downtime. Its pieces are the run intersected
//     with each planned interval, so a run across a shift change gives one
//     piece per shift.
//   - longer than minMicro, up to threshold: a micro-stop (a performance
//     loss, no pieces).
//   - otherwise nothing.
//
// So the last detection 1.5 s before a break and the next one 1 s after it
// make no stop, whatever the break's length; a line that stood 10 minutes
// before a break and 15 after it gets both pieces (one event). micro is
// false when the gap has downtime.
func Classify(g Gap, threshold, minMicro time.Duration, planned []Interval) (pieces []Stop, micro bool) {
	gap := g.To.Sub(g.From)
	if gap <= 0 || gap <= minMicro {
		return nil, false
	}
	var run []Stop
	var runLen time.Duration
	judge := func() {
		switch {
		case runLen > threshold:
			pieces = append(pieces, run...)
		case runLen > minMicro:
			micro = true
		}
		run, runLen = run[:0:0], 0
	}
	for _, p := range planned {
		s, e := g.From, g.To
		if p.Start.After(s) {
			s = p.Start
		}
		if p.End.Before(e) {
			e = p.End
		}
		if !e.After(s) {
			continue
		}
		if n := len(run); n > 0 && !run[n-1].End.Equal(s) {
			judge()
		}
		run = append(run, Stop{Start: s, End: e, Duration: e.Sub(s)})
		runLen += e.Sub(s)
	}
	judge()
	return pieces, micro && len(pieces) == 0
}

// RunStart is the start of the run of contiguous planned time (as Classify
// joins it) that contains at, and whether at is planned at all.
func RunStart(planned []Interval, at time.Time) (time.Time, bool) {
	var start time.Time
	for i, p := range planned {
		if i == 0 || !planned[i-1].End.Equal(p.Start) {
			start = p.Start
		}
		if !at.Before(p.Start) && at.Before(p.End) {
			return start, true
		}
	}
	return time.Time{}, false
}

// Tracker applies Classify to the detections of one line, in stream order.
// It holds only the last detection time, which is also all a checkpoint
// needs (Last, then Observe it on restore).
type Tracker struct {
	threshold, minMicro time.Duration
	planned             func(from, to time.Time) []Interval
	last                time.Time
	seen                bool
}

// NewTracker makes a tracker. planned returns the line's planned intervals
// clipped to [from, to), e.g. a closure over Calendar.PlannedIntervals; nil
// means every instant is planned.
func NewTracker(threshold, minMicro time.Duration, planned func(from, to time.Time) []Interval) *Tracker {
	return &Tracker{threshold: threshold, minMicro: minMicro, planned: planned}
}

// Observe feeds the next detection time and returns the downtime pieces and
// micro-stop the gap before it makes. A detection at or before the latest
// one (late or duplicate) neither opens nor splits a gap.
func (t *Tracker) Observe(at time.Time) (stops []Stop, micro bool) {
	if !t.seen {
		t.last, t.seen = at, true
		return nil, false
	}
	if !at.After(t.last) {
		return nil, false
	}
	g := Gap{From: t.last, To: at}
	t.last = at
	if at.Sub(g.From) <= t.minMicro {
		return nil, false // the common case: skip the calendar
	}
	return Classify(g, t.threshold, t.minMicro, t.plannedIn(g.From, g.To))
}

// Last is the latest detection observed.
func (t *Tracker) Last() (time.Time, bool) { return t.last, t.seen }

// Open says whether a stop is running at wall-clock time now: now is planned
// time and the gap since the last detection, judged so far by Classify, has
// downtime. start is where the booked downtime will begin (its first piece),
// so the live alert and the event booked later agree. threshold is a
// parameter so the alert follows the line's current setting.
func (t *Tracker) Open(now time.Time, threshold time.Duration) (start time.Time, open bool) {
	if !t.seen || now.Sub(t.last) <= threshold {
		return time.Time{}, false
	}
	pl := t.plannedIn(t.last, now.Add(1)) // [last, now]
	if _, planned := RunStart(pl, now); !planned {
		return time.Time{}, false
	}
	stops, _ := Classify(Gap{From: t.last, To: now}, threshold, t.minMicro, pl)
	if len(stops) == 0 {
		return time.Time{}, false
	}
	return stops[0].Start, true
}

func (t *Tracker) plannedIn(from, to time.Time) []Interval {
	if t.planned == nil {
		return []Interval{{Start: from, End: to}}
	}
	return t.planned(from, to)
}
