package stream

import (
	"cmp"
	"slices"
	"time"

	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/stream/oee"
	"github.com/linepulse/linepulse/stream/shiftcal"
)

// This file is the deterministic part of the engine: what one line's state becomes after a
// detection (event time) or a timer (wall-clock time), with no I/O. The engine feeds it and
// carries out the changes it returns (publish, persist).

// maxPeriods is how many periods (shift instances and the off-shift stretches between them)
// a line keeps in memory: the current one and a few before it, for late detections. Older
// history is the database's business.
const maxPeriods = 4

// maxGap bounds the gap the downtime rule looks at: a line silent for longer (a week
// without a single detection: decommissioned, or not monitored) books downtime only for
// the last maxGap before its next detection. It keeps the work of one detection or one
// timer bounded whatever the data (the calendar is walked over at most a week).
const maxGap = 7 * 24 * time.Hour

// maxPeriodLen bounds a period restored from a checkpoint (an instance is at most 25 h).
const maxPeriodLen = 26 * time.Hour

// maxFinalized bounds the starts of events booked at a shift end while the gap was still
// open (normally one or two: they are consumed by the detection that ends the gap).
const maxFinalized = 32

// lineConf is what the fold needs to know about a line and its tenant.
type lineConf struct {
	id        int64
	cal       *shiftcal.Calendar // nil: no (valid) shifts, no planned time
	loc       *time.Location
	threshold time.Duration
	minMicro  time.Duration
	ideal     time.Duration           // the line's ideal cycle time
	products  map[int64]store.Product // each product's ideal cycle time (0: the line's)
	// failures is the tenant's reason catalogue (planned reasons leave planned time).
	failures map[string]store.Failure
	// targets is the line's planned quantity per shift id (docs/OEE.md).
	targets map[int64]int64
}

// idealTime is the ideal time of units by product, each at its product's ideal cycle time
// (History sums the rollups the same way, so live and history agree).
func (c lineConf) idealTime(units map[int64]int64) time.Duration {
	var d time.Duration
	for p, n := range units {
		d += oee.NetRun(store.IdealCycle(c.ideal, c.products, p), n)
	}
	return d
}

// period is a line's production in one shift instance, or in one off-shift stretch.
type period struct {
	Start, End time.Time
	Shift      bool // a shift instance (else off-shift: no planned time)
	ShiftID    int64
	Name       string
	Counts     oee.Counts
	Products   map[int64]int64 // units by product
	Rejects    map[int64]int64 // rejects by product
	Areas      map[int64]int64
	Downtime   time.Duration // booked (closed) downtime inside this period
	// First is the period's earliest detection (zero: none yet). Planned time before it
	// is unmonitored unless a booked stop (Lead) or a detection within the threshold
	// before the period began (Covered) accounts for it (docs/OEE.md).
	First   time.Time
	Lead    time.Duration // booked downtime of this period that ends at or before First
	Covered bool
	Micro   int64
	Events  int64
	// MicroDur is the micro-stops' time (microstops.go).
	MicroDur time.Duration
}

func (p *period) contains(t time.Time) bool { return !t.Before(p.Start) && t.Before(p.End) }

// liveStop is the stop announced by a "started" message and not yet ended.
type liveStop struct {
	Start     time.Time `json:"start"`
	InstStart time.Time `json:"inst_start"` // the shift instance it belongs to
	ID        int64     `json:"id"`         // row id once stored
	// NodeOffline: it began while the line's vision nodes were silent.
	NodeOffline bool `json:"node_offline,omitempty"`
}

// change is a downtime message to publish and the persistence it implies.
type change struct {
	State    string
	Start    time.Time
	End      time.Time // zero unless ended
	Duration time.Duration
	ID       int64
	// NodeOffline: the stop began while the line's vision nodes were silent.
	NodeOffline bool
}

// lineFold is one line's live state.
type lineFold struct {
	conf      lineConf
	tr        *oee.Tracker
	arrival   time.Time // wall-clock time the latest detection was folded
	periods   []*period // sorted by Start
	rate      rateWindow
	open      *liveStop
	finalized []time.Time
	offline   bool // every vision node of the line is silent (set by the engine)
	// coded are the stored events of the kept periods that have a reason code (coded.go).
	coded []codedStop
	// micro is the micro-stops of the minute of the newest one; microDirty: not stored yet
	// (microstops.go). microLog, when set, collects every finished minute (recompute).
	micro      store.MicroStopRow
	microDirty bool
	microLog   *[]store.MicroStopRow
}

func newLineFold(c lineConf) *lineFold {
	f := &lineFold{conf: c}
	f.tr = oee.NewTracker(c.threshold, c.minMicro, f.planned)
	return f
}

// reconfigure applies new settings, keeping the state.
func (f *lineFold) reconfigure(c lineConf) {
	last, seen := f.tr.Last()
	f.conf = c
	f.tr = oee.NewTracker(c.threshold, c.minMicro, f.planned)
	if seen {
		f.tr.Observe(last)
	}
}

func (f *lineFold) planned(from, to time.Time) []oee.Interval {
	if f.conf.cal == nil {
		return nil
	}
	return f.conf.cal.PlannedIntervals(f.conf.id, from, to)
}

// observe folds one detection that the engine handles at wall-clock time arrival.
func (f *lineFold) observe(d store.Detection, arrival time.Time) []change {
	prev, seen := f.tr.Last()
	if seen && d.At.Sub(prev) > maxGap {
		f.tr = oee.NewTracker(f.conf.threshold, f.conf.minMicro, f.planned)
		f.tr.Observe(d.At.Add(-maxGap))
	}
	stops, micro := f.tr.Observe(d.At)
	advanced := !seen || d.At.After(prev)
	if advanced {
		f.arrival = arrival
	}
	if p := f.periodFor(d.At, true); p != nil {
		if p.First.IsZero() || d.At.Before(p.First) {
			if p.First.IsZero() {
				p.Covered = seen && prev.Before(d.At) && d.At.Sub(prev) <= f.conf.threshold
			}
			p.First = d.At
		}
		p.Counts.Total++
		if d.OK {
			p.Counts.Good++
		} else {
			p.Counts.Reject++
		}
		if p.Products == nil {
			p.Products, p.Areas, p.Rejects = map[int64]int64{}, map[int64]int64{}, map[int64]int64{}
		}
		p.Products[d.Product]++
		if !d.OK {
			p.Rejects[d.Product]++
		}
		p.Areas[d.Area]++
		if micro {
			f.noteMicro(p, prev, d.At, d.Product)
		}
	}
	f.rate.add(d.At)
	if !seen || (len(stops) == 0 && !advanced) {
		return nil
	}
	var out []change
	for _, g := range f.group(stops) {
		if f.takeFinalized(g.Start) {
			continue
		}
		f.book(g)
		c := change{State: DowntimeEnded, Start: g.Start, End: g.End, Duration: g.Duration}
		if f.open != nil && f.open.Start.Equal(g.Start) {
			c.ID, c.NodeOffline = f.open.ID, f.open.NodeOffline
			f.open = nil
		}
		out = append(out, c)
	}
	if f.open != nil {
		// The line produced inside the gap the alert was about: it was not down.
		out = append(out, change{State: DowntimeCancelled, Start: f.open.Start, ID: f.open.ID})
		f.open = nil
	}
	return out
}

// deadline is when a silent line's stop becomes due: strictly after last detection +
// threshold. A detection that arrived late (more than half a threshold after its own
// time: a restart catching up, an edge uploading its buffer) moves the deadline to a
// threshold after its arrival, so a backlog raises no alert while it flows; a live
// detection (arriving within milliseconds) leaves the alert exactly on time.
func (f *lineFold) deadline() (time.Time, bool) {
	last, seen := f.tr.Last()
	if !seen {
		return time.Time{}, false
	}
	dl := last.Add(f.conf.threshold + time.Millisecond)
	if f.arrival.Sub(last) > f.conf.threshold/2 {
		if a := f.arrival.Add(f.conf.threshold); a.After(dl) {
			dl = a
		}
	}
	return dl, true
}

// tick applies the wall-clock rule at now: it judges the running gap as a detection at now
// would (oee.Classify: by its runs of planned time), books its downtime that lies in shift
// instances already over, and announces a stop when now is planned time and the gap has
// downtime in the current instance. It returns the changes and when it wants to run next (zero: not before the
// next detection).
func (f *lineFold) tick(now time.Time) ([]change, time.Time) {
	dl, ok := f.deadline()
	if !ok {
		return nil, time.Time{}
	}
	if now.Before(dl) {
		return nil, dl
	}
	last, _ := f.tr.Last()
	if from := now.Add(-maxGap); last.Before(from) {
		last = from
	}
	// The gap so far, judged as the detection that ends it will judge it (the run that
	// reaches now by its length so far).
	pl := f.planned(last, now.Add(time.Millisecond))
	pieces, _ := oee.Classify(oee.Gap{From: last, To: now}, f.conf.threshold, f.conf.minMicro, pl)
	_, nowPlanned := oee.RunStart(pl, now)
	var out []change
	for _, g := range f.group(pieces) {
		if g.instEnd.After(now) {
			// The instance still runs: announce if now is planned (not in a break).
			if f.open == nil && nowPlanned {
				f.open = &liveStop{Start: g.Start, InstStart: g.instStart, NodeOffline: f.offline}
				out = append(out, change{State: DowntimeStarted, Start: g.Start, NodeOffline: f.offline})
			}
			continue
		}
		if slices.ContainsFunc(f.finalized, g.Start.Equal) {
			continue
		}
		f.book(g)
		f.finalized = append(f.finalized, g.Start)
		if len(f.finalized) > maxFinalized {
			f.finalized = f.finalized[1:]
		}
		c := change{State: DowntimeEnded, Start: g.Start, End: g.End, Duration: g.Duration}
		if f.open != nil && f.open.Start.Equal(g.Start) {
			c.ID, c.NodeOffline = f.open.ID, f.open.NodeOffline
			f.open = nil
		}
		out = append(out, c)
	}
	var next time.Time
	if f.conf.cal != nil {
		next, _ = f.conf.cal.NextChange(f.conf.id, now)
	}
	// The run of planned time that reaches now becomes a stop once it is longer than the
	// threshold (after a break, a threshold after the break's end).
	if rs, ok := oee.RunStart(pl, now); ok && f.open == nil {
		if w := rs.Add(f.conf.threshold + time.Millisecond); w.After(now) && (next.IsZero() || w.Before(next)) {
			next = w
		}
	}
	return out, next
}

func (f *lineFold) takeFinalized(start time.Time) bool {
	i := slices.IndexFunc(f.finalized, start.Equal)
	if i < 0 {
		return false
	}
	f.finalized = slices.Delete(f.finalized, i, i+1)
	return true
}

// stopGroup is the downtime of one gap inside one shift instance: one event.
type stopGroup struct {
	Start, End         time.Time
	Duration           time.Duration
	pieces             []oee.Stop
	instStart, instEnd time.Time
}

// group splits a gap's planned pieces by shift instance: a gap across a break stays one
// event, a gap across a shift change becomes one event per shift.
func (f *lineFold) group(pieces []oee.Stop) []stopGroup {
	var out []stopGroup
	for _, p := range pieces {
		is, ie := p.Start, p.End
		if f.conf.cal != nil {
			if in, ok := f.conf.cal.At(f.conf.id, p.Start); ok {
				is, ie = in.Start, in.End
			}
		}
		if n := len(out); n > 0 && out[n-1].instStart.Equal(is) {
			g := &out[n-1]
			g.End, g.Duration = p.End, g.Duration+p.Duration
			g.pieces = append(g.pieces, p)
			continue
		}
		out = append(out, stopGroup{Start: p.Start, End: p.End, Duration: p.Duration, pieces: []oee.Stop{p}, instStart: is, instEnd: ie})
	}
	return out
}

// book adds a group's downtime to the periods it lies in.
func (f *lineFold) book(g stopGroup) {
	if p := f.periodFor(g.Start, true); p != nil {
		p.Events++
	}
	for _, pc := range g.pieces {
		if p := f.periodFor(pc.Start, true); p != nil {
			p.Downtime += pc.Duration
			if p.First.IsZero() || !pc.End.After(p.First) {
				p.Lead += pc.Duration
			}
		}
	}
}

// adjust adds (sign 1) or removes (sign -1) a booked, closed event in the kept period
// it belongs to (an event lies in one shift instance), as book does: the re-booking after
// late detections corrects the live figures with it.
func (f *lineFold) adjust(ev store.DowntimeEvent, sign int) {
	p := f.periodFor(ev.Start, false)
	if p == nil || ev.End == nil {
		return
	}
	d := time.Duration(sign) * time.Duration(ev.DurationMS) * time.Millisecond
	p.Events += int64(sign)
	p.Downtime += d
	if p.First.IsZero() || !ev.End.After(p.First) {
		p.Lead += d
	}
}

// periodFor returns the period containing t, creating it when create is set. It returns
// nil for a time older than every kept period when the list is full.
func (f *lineFold) periodFor(t time.Time, create bool) *period {
	for i := len(f.periods) - 1; i >= 0; i-- {
		if f.periods[i].contains(t) {
			return f.periods[i]
		}
	}
	if !create {
		return nil
	}
	p := f.newPeriod(t)
	if len(f.periods) >= maxPeriods && p.Start.Before(f.periods[0].Start) {
		return nil
	}
	i, _ := slices.BinarySearchFunc(f.periods, p.Start, func(a *period, t time.Time) int { return a.Start.Compare(t) })
	f.periods = slices.Insert(f.periods, i, p)
	if len(f.periods) > maxPeriods {
		f.periods = f.periods[1:]
	}
	return p
}

// newPeriod builds the period containing t: the shift instance, or the off-shift stretch
// from the previous instance's end (or local midnight) to the next change (or midnight).
func (f *lineFold) newPeriod(t time.Time) *period {
	cal := f.conf.cal
	if cal != nil {
		if in, ok := cal.At(f.conf.id, t); ok {
			return &period{Start: in.Start, End: in.End, Shift: true, ShiftID: in.ShiftID, Name: in.Name}
		}
	}
	loc := f.conf.loc
	if loc == nil {
		loc = time.UTC
	}
	y, m, d := t.In(loc).Date()
	start, end := time.Date(y, m, d, 0, 0, 0, 0, loc), time.Date(y, m, d+1, 0, 0, 0, 0, loc)
	if cal != nil {
		if prev, ok := cal.Previous(f.conf.id, t); ok && prev.End.After(start) && !prev.End.After(t) {
			start = prev.End
		}
		if next, ok := cal.NextChange(f.conf.id, t); ok && next.Before(end) {
			end = next
		}
	}
	if !end.After(t) { // defensive: never an empty period
		end = t.Add(time.Millisecond)
	}
	return &period{Start: start, End: end}
}

// state is the line state at wall-clock now.
func (f *lineFold) state(now time.Time) string {
	if f.conf.cal == nil {
		return StateNoShift
	}
	in, ok := f.conf.cal.At(f.conf.id, now)
	if !ok {
		return StateNoShift
	}
	for _, b := range in.Breaks {
		if !now.Before(b.Start) && now.Before(b.End) {
			return StatePlannedStop
		}
	}
	if f.offline {
		return StateOffline
	}
	if f.open != nil {
		return StateDown
	}
	if _, seen := f.tr.Last(); !seen {
		return StateNoData
	}
	return StateRunning
}

// figures computes OEE of period p as of now: planned time elapsed so far, the running
// stop's planned time counted as downtime, and the planned time before the period's first
// detection that no stop accounts for as unmonitored (docs/OEE.md).
func (f *lineFold) figures(p *period, now time.Time) oee.Result {
	var planned, down, unmon time.Duration
	if p.Shift && f.conf.cal != nil {
		end := p.End
		if now.Before(end) {
			end = now
		}
		planned = f.conf.cal.PlannedTime(f.conf.id, p.Start, end)
		down = p.Downtime
		// Stops coded with a planned reason leave planned time (docs/LOSSES.md).
		ps, _ := f.plannedStops(p, end, now)
		planned -= ps
		down -= ps
		var open time.Duration
		if f.open != nil && f.open.InstStart.Equal(p.Start) && now.After(f.open.Start) {
			open = f.conf.cal.PlannedTime(f.conf.id, f.open.Start, end)
			down += open
		}
		switch {
		case p.First.IsZero():
			unmon = planned - down
		case !p.Covered && p.First.After(p.Start):
			unmon = f.conf.cal.PlannedTime(f.conf.id, p.Start, earlier(p.First, end)) - p.Lead
		}
	}
	net, rejects := f.conf.idealTime(p.Products), f.conf.idealTime(p.Rejects)
	var known int64
	for _, n := range p.Rejects {
		known += n
	}
	// A period restored from a checkpoint of an older engine has no rejects by product:
	// those weigh the line's ideal cycle time.
	rejects += oee.NetRun(f.conf.ideal, p.Counts.Reject-known)
	return oee.ComputeNet(planned, max(unmon, 0), down, net, net-rejects, p.Counts)
}

// openSince is the running stop's start, if one is announced.
func (f *lineFold) openSince() (time.Time, bool) {
	if f.open == nil {
		return time.Time{}, false
	}
	return f.open.Start, true
}

// current returns the period containing now (an empty one if nothing happened in it yet).
func (f *lineFold) current(now time.Time) *period {
	if p := f.periodFor(now, false); p != nil {
		return p
	}
	return f.newPeriod(now)
}

// rateWindow counts detections per second of event time over the last minute.
type rateWindow struct {
	sec [60]int64
	n   [60]int64
}

func (r *rateWindow) add(t time.Time) {
	s := t.Unix()
	i := int(((s % 60) + 60) % 60)
	switch {
	case r.sec[i] == s:
	case r.sec[i] > s:
		return // older than the window
	default:
		r.sec[i], r.n[i] = s, 0
	}
	r.n[i]++
}

// perMinute is the number of detections in the minute up to now.
func (r *rateWindow) perMinute(now time.Time) int64 {
	s := now.Unix()
	var sum int64
	for i := range r.sec {
		if r.sec[i] > s-60 && r.sec[i] <= s {
			sum += r.n[i]
		}
	}
	return sum
}

// sortedCounts returns m as (id, count) pairs, biggest first (ties by id), at most limit.
func sortedCounts(m map[int64]int64, limit int) [][2]int64 {
	out := make([][2]int64, 0, len(m))
	for id, n := range m {
		out = append(out, [2]int64{id, n})
	}
	slices.SortFunc(out, func(a, b [2]int64) int {
		if c := cmp.Compare(b[1], a[1]); c != 0 {
			return c
		}
		return cmp.Compare(a[0], b[0])
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out
}
