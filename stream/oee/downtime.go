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
// The gap's raw length decides what it is, as the design says; only then is
// it clipped to planned time:
//   - longer than threshold: downtime. The pieces are the gap intersected
//     with each planned interval, so a gap across a break gives two pieces
//     (the break is not downtime, the restart after it is) and a gap across
//     a shift change gives one piece per shift. micro is false.
//   - longer than minMicro, up to threshold: a micro-stop (a performance
//     loss, no pieces), if the gap touches planned time at all.
//   - otherwise nothing.
func Classify(g Gap, threshold, minMicro time.Duration, planned []Interval) (pieces []Stop, micro bool) {
	gap := g.To.Sub(g.From)
	if gap <= 0 || gap <= minMicro {
		return nil, false
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
		if gap <= threshold {
			return nil, true
		}
		pieces = append(pieces, Stop{Start: s, End: e, Duration: e.Sub(s)})
	}
	return pieces, false
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

// Open says whether a stop is running at wall-clock time now: more than
// threshold since the last detection, and now is planned time. start is
// where the booked downtime will begin (the first planned instant after the
// last detection), so the live alert and the event booked later agree.
// threshold is a parameter so the alert follows the line's current setting.
func (t *Tracker) Open(now time.Time, threshold time.Duration) (start time.Time, open bool) {
	if !t.seen || now.Sub(t.last) <= threshold {
		return time.Time{}, false
	}
	pl := t.plannedIn(t.last, now.Add(1)) // [last, now]
	if len(pl) == 0 || !pl[len(pl)-1].End.After(now) {
		return time.Time{}, false // now is not planned
	}
	return pl[0].Start, true
}

func (t *Tracker) plannedIn(from, to time.Time) []Interval {
	if t.planned == nil {
		return []Interval{{Start: from, End: to}}
	}
	return t.planned(from, to)
}
