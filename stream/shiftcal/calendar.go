// Package shiftcal owns the shift calendar: it turns shifts written in a
// tenant's local wall-clock time ("06:00"-"14:00", Mondays to Fridays, breaks)
// into real instants, so the KPI engine knows which shift a detection belongs
// to and which time is planned production time.
//
// Wall times are resolved with time.Date in the tenant's location, on the
// local date the shift starts. Consequences across daylight-saving changes:
//   - a night shift 22:00-06:00 lasts 9h on the night clocks go back and 7h
//     on the night they go forward;
//   - a wall time that does not exist (inside the spring-forward gap) maps
//     forward by the length of the gap, as time.Date does: 02:30 becomes
//     03:30. Two shifts meeting at such a time both move, so they stay
//     adjacent;
//   - a wall time that occurs twice (fall-back) resolves to whichever
//     occurrence time.Date picks; the start and end of one break resolve
//     alike, so a break keeps its length.
//
// A Calendar does not change after New and is safe for concurrent use.
package shiftcal

import (
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"
)

const minutesPerDay = 24 * 60

// Shift is one row of the SHIFT table.
type Shift struct {
	ID     int64
	LineID int64 // 0: every line of the tenant
	Name   string
	Start  string // "HH:MM" local
	End    string // "HH:MM" local
	// Overnight says End is on the next local day. It must agree with the
	// times (Overnight iff End <= Start); End == Start with Overnight is a
	// 24-hour shift.
	Overnight bool
	Days      Days
	Breaks    []Break
}

// Interval is the half-open span [Start, End).
type Interval struct{ Start, End time.Time }

// Instance is one occurrence of a shift.
type Instance struct {
	ShiftID    int64
	Name       string
	Start, End time.Time // [Start, End)
	Date       string    // local date the shift starts, "2006-01-02"
	// Breaks are sorted, disjoint and inside [Start, End). The slice may be
	// shared with other callers: do not modify it.
	Breaks []Interval
}

// PlannedTime is the instance's length minus its breaks.
func (i Instance) PlannedTime() time.Duration {
	d := i.End.Sub(i.Start)
	for _, b := range i.Breaks {
		d -= b.End.Sub(b.Start)
	}
	return d
}

// Calendar answers shift questions for one tenant.
type Calendar struct {
	loc    *time.Location
	shifts []*compiled
	// horizon is how many days Previous and NextChange search: every
	// shift's repeat period plus slack, so a long rotation is still found.
	horizon int
}

// compiled is a validated shift in minutes, with its day predicate.
type compiled struct {
	shift  Shift
	label  string // for error messages
	start  int    // minutes after local midnight
	length int    // wall-clock minutes, 1..1440
	breaks []span // wall-clock minutes after the shift's start, sorted
	wmask  uint8  // bit w set for ISO weekday w; 0 = any weekday
	rot    bool
	anchor int64 // rotation anchor as a day number
	on     int64
	cycle  int64
	period int // the day predicate repeats every period days
	// last is the most recently built instance: consecutive detections
	// nearly always fall in it, so At returns it without allocating.
	last atomic.Pointer[Instance]
}

type span struct{ from, to int }

// New validates the shifts and builds a calendar for location loc. It
// rejects two shifts that could run at the same time on one line (a shift
// with LineID 0 is on every line); shifts that merely touch are fine.
func New(loc *time.Location, shifts []Shift) (*Calendar, error) {
	if loc == nil {
		return nil, errors.New("shiftcal: nil location")
	}
	c := &Calendar{loc: loc}
	ids := make(map[int64]bool, len(shifts))
	for _, s := range shifts {
		if ids[s.ID] {
			return nil, fmt.Errorf("shiftcal: duplicate shift id %d", s.ID)
		}
		ids[s.ID] = true
		cs, err := compile(s)
		if err != nil {
			return nil, err
		}
		c.shifts = append(c.shifts, cs)
		c.horizon = max(c.horizon, cs.period+2)
	}
	if err := checkOverlaps(c.shifts); err != nil {
		return nil, err
	}
	return c, nil
}

func compile(s Shift) (*compiled, error) {
	cs := &compiled{shift: s, label: fmt.Sprintf("%q", s.Name)}
	if s.Name == "" {
		cs.label = fmt.Sprintf("#%d", s.ID)
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("shiftcal: shift %s: "+format, append([]any{cs.label}, args...)...)
	}
	if s.LineID < 0 {
		return nil, fail("line id %d is negative", s.LineID)
	}
	start, err := parseHHMM(s.Start)
	if err != nil {
		return nil, fail("bad start: %w", err)
	}
	end, err := parseHHMM(s.End)
	if err != nil {
		return nil, fail("bad end: %w", err)
	}
	switch {
	case end == start && !s.Overnight:
		return nil, fail("zero-length (%s-%s); set Overnight for a 24-hour shift", s.Start, s.End)
	case end < start && !s.Overnight:
		return nil, fail("ends before it starts (%s-%s) but is not Overnight", s.Start, s.End)
	case end > start && s.Overnight:
		return nil, fail("is Overnight but ends after it starts on the same day (%s-%s)", s.Start, s.End)
	}
	cs.start = start
	cs.length = int(floorMod(int64(end-start), minutesPerDay))
	if cs.length == 0 {
		cs.length = minutesPerDay
	}

	for _, b := range s.Breaks {
		bs, be, err := b.minutes()
		if err != nil {
			return nil, fail("%w", err)
		}
		from := int(floorMod(int64(bs-start), minutesPerDay))
		to := from + int(floorMod(int64(be-bs), minutesPerDay))
		if to > cs.length {
			return nil, fail("break %s-%s is outside the shift %s-%s", b.Start, b.End, s.Start, s.End)
		}
		cs.breaks = append(cs.breaks, span{from, to})
	}
	order := make([]int, len(cs.breaks))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(i, j int) int { return cs.breaks[i].from - cs.breaks[j].from })
	for k := 1; k < len(order); k++ {
		prev, cur := order[k-1], order[k]
		if cs.breaks[cur].from < cs.breaks[prev].to {
			return nil, fail("break %s-%s overlaps break %s-%s",
				s.Breaks[cur].Start, s.Breaks[cur].End, s.Breaks[prev].Start, s.Breaks[prev].End)
		}
	}
	slices.SortFunc(cs.breaks, func(a, b span) int { return a.from - b.from })

	if err := s.Days.validate(); err != nil {
		return nil, fail("%w", err)
	}
	cs.period = 1
	for _, w := range s.Days.Weekdays {
		cs.wmask |= 1 << w
		cs.period = 7
	}
	if r := s.Days.Rotation; r != nil {
		cs.rot = true
		cs.anchor, _ = r.anchorDay() // validated above
		cs.on, cs.cycle = int64(r.On), int64(r.On+r.Off)
		cs.period = lcm(cs.period, r.On+r.Off)
	}
	occurs := false
	for d := 0; d < cs.period && !occurs; d++ {
		occurs = cs.active(int64(d))
	}
	if !occurs {
		return nil, fail("never occurs: its weekdays and rotation share no day")
	}
	return cs, nil
}

// active reports whether the shift starts on the given day number.
func (cs *compiled) active(day int64) bool {
	if cs.wmask != 0 && cs.wmask&(1<<isoWeekday(day)) == 0 {
		return false
	}
	return !cs.rot || floorMod(day-cs.anchor, cs.cycle) < cs.on
}

func (cs *compiled) forLine(line int64) bool {
	return cs.shift.LineID == 0 || cs.shift.LineID == line
}

// bounds resolves the instance starting on local date y-m-d (which may be
// unnormalised, e.g. day 0). ok is false if the shift does not run that day,
// or if a spring-forward gap swallowed it entirely.
func (cs *compiled) bounds(loc *time.Location, y int, m time.Month, d int) (start, end time.Time, ok bool) {
	if !cs.active(dayNumber(y, m, d)) {
		return time.Time{}, time.Time{}, false
	}
	start = time.Date(y, m, d, 0, cs.start, 0, 0, loc)
	end = time.Date(y, m, d, 0, cs.start+cs.length, 0, 0, loc)
	return start, end, end.After(start)
}

// breakBounds resolves break k of the instance on y-m-d, clipped to
// [start, end]. ok is false if nothing is left of it.
func (cs *compiled) breakBounds(loc *time.Location, y int, m time.Month, d, k int, start, end time.Time) (bs, be time.Time, ok bool) {
	b := cs.breaks[k]
	bs = later(time.Date(y, m, d, 0, cs.start+b.from, 0, 0, loc), start)
	be = earlier(time.Date(y, m, d, 0, cs.start+b.to, 0, 0, loc), end)
	return bs, be, be.After(bs)
}

// instance builds the Instance from bounds' results and caches it.
func (cs *compiled) instance(loc *time.Location, y int, m time.Month, d int, start, end time.Time) Instance {
	date := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	in := Instance{ShiftID: cs.shift.ID, Name: cs.shift.Name, Start: start, End: end, Date: date.Format(time.DateOnly)}
	if len(cs.breaks) > 0 {
		in.Breaks = make([]Interval, 0, len(cs.breaks))
		for k := range cs.breaks {
			if bs, be, ok := cs.breakBounds(loc, y, m, d, k, start, end); ok {
				in.Breaks = append(in.Breaks, Interval{bs, be})
			}
		}
		in.Breaks = normalise(in.Breaks)
	}
	cs.last.Store(&in)
	return in
}

// normalise sorts and merges intervals. Breaks only need it when a
// spring-forward gap moved one break past another.
func normalise(iv []Interval) []Interval {
	slices.SortFunc(iv, func(a, b Interval) int { return a.Start.Compare(b.Start) })
	out := iv[:0]
	for _, x := range iv {
		if n := len(out); n > 0 && !x.Start.After(out[n-1].End) {
			out[n-1].End = later(out[n-1].End, x.End)
			continue
		}
		out = append(out, x)
	}
	return out
}

// At returns the instance of a shift on line that contains t.
//
// It is called for every detection: it first checks each shift's last
// instance, then resolves today's and yesterday's instance of each shift
// (an instance is at most 25 hours long), and allocates only when it builds
// a new instance.
func (c *Calendar) At(line int64, t time.Time) (Instance, bool) {
	for _, cs := range c.shifts {
		if !cs.forLine(line) {
			continue
		}
		if p := cs.last.Load(); p != nil && !t.Before(p.Start) && t.Before(p.End) {
			return *p, true
		}
	}
	y, m, d := t.In(c.loc).Date()
	for _, cs := range c.shifts {
		if !cs.forLine(line) {
			continue
		}
		for back := 0; back <= 1; back++ {
			start, end, ok := cs.bounds(c.loc, y, m, d-back)
			if ok && !t.Before(start) && t.Before(end) {
				return cs.instance(c.loc, y, m, d-back, start, end), true
			}
		}
	}
	return Instance{}, false
}

// Current is the instance running at now; it is At under the name callers
// asking about "the current shift" look for.
func (c *Calendar) Current(line int64, now time.Time) (Instance, bool) {
	return c.At(line, now)
}

// Previous returns the latest instance on line that ended at or before now.
func (c *Calendar) Previous(line int64, now time.Time) (Instance, bool) {
	y, m, d := now.In(c.loc).Date()
	// Shifts on one line never overlap, so a later start means a later end:
	// the answer is the latest-starting finished instance of the most recent
	// date that has one.
	for back := 0; back <= c.horizon; back++ {
		var best *compiled
		var bestStart, bestEnd time.Time
		for _, cs := range c.shifts {
			if !cs.forLine(line) {
				continue
			}
			start, end, ok := cs.bounds(c.loc, y, m, d-back)
			if ok && !end.After(now) && (best == nil || start.After(bestStart)) {
				best, bestStart, bestEnd = cs, start, end
			}
		}
		if best != nil {
			return best.instance(c.loc, y, m, d-back, bestStart, bestEnd), true
		}
	}
	return Instance{}, false
}

// Instances returns the instances on line that overlap [from, to), ordered
// by start.
func (c *Calendar) Instances(line int64, from, to time.Time) []Instance {
	if !to.After(from) {
		return nil
	}
	y, m, d := from.In(c.loc).Date()
	ty, tm, td := to.In(c.loc).Date()
	days := int(dayNumber(ty, tm, td) - dayNumber(y, m, d))
	var out []Instance
	for i := -1; i <= days; i++ {
		for _, cs := range c.shifts {
			if !cs.forLine(line) {
				continue
			}
			start, end, ok := cs.bounds(c.loc, y, m, d+i)
			if ok && start.Before(to) && end.After(from) {
				out = append(out, cs.instance(c.loc, y, m, d+i, start, end))
			}
		}
	}
	slices.SortFunc(out, func(a, b Instance) int { return a.Start.Compare(b.Start) })
	return out
}

// PlannedIntervals returns planned production time on line within
// [from, to): each instance minus its breaks, sorted and disjoint.
// Consecutive shifts give touching intervals that are deliberately not
// merged, so downtime split by them is attributed to each shift.
func (c *Calendar) PlannedIntervals(line int64, from, to time.Time) []Interval {
	var out []Interval
	add := func(s, e time.Time) {
		s, e = later(s, from), earlier(e, to)
		if e.After(s) {
			out = append(out, Interval{s, e})
		}
	}
	for _, in := range c.Instances(line, from, to) {
		cur := in.Start
		for _, b := range in.Breaks {
			add(cur, b.Start)
			cur = b.End
		}
		add(cur, in.End)
	}
	return out
}

// PlannedTime is the total length of PlannedIntervals.
func (c *Calendar) PlannedTime(line int64, from, to time.Time) time.Duration {
	var d time.Duration
	for _, iv := range c.PlannedIntervals(line, from, to) {
		d += iv.End.Sub(iv.Start)
	}
	return d
}

// NextChange returns the first shift start or end, or break start or end,
// on line strictly after t. It includes changeovers between back-to-back
// shifts, where planned status does not change, because per-shift KPIs roll
// over there. ok is false if line has no shift within the search horizon.
func (c *Calendar) NextChange(line int64, t time.Time) (time.Time, bool) {
	y, m, d := t.In(c.loc).Date()
	// Non-overlapping shifts: every boundary of an instance starting on one
	// date comes no later than those of instances starting on later dates,
	// so the first date with a boundary after t holds the answer.
	for i := -1; i <= c.horizon; i++ {
		var next time.Time
		found := false
		consider := func(b time.Time) {
			if b.After(t) && (!found || b.Before(next)) {
				next, found = b, true
			}
		}
		for _, cs := range c.shifts {
			if !cs.forLine(line) {
				continue
			}
			start, end, ok := cs.bounds(c.loc, y, m, d+i)
			if !ok {
				continue
			}
			consider(start)
			consider(end)
			for k := range cs.breaks {
				if bs, be, ok := cs.breakBounds(c.loc, y, m, d+i, k, start, end); ok {
					consider(bs)
					consider(be)
				}
			}
		}
		if found {
			return next, true
		}
	}
	return time.Time{}, false
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func lcm(a, b int) int {
	x, y := a, b
	for y != 0 {
		x, y = y, x%y
	}
	return a / x * b
}
