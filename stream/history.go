package stream

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/stream/oee"
	"github.com/linepulse/linepulse/stream/shiftcal"
)

// Intervals of History.Production.
const (
	IntervalMinute = "minute"
	IntervalHour   = "hour"
	IntervalDay    = "day"
	IntervalShift  = "shift"
)

// Limits of history queries: a longer range or more buckets is an invalid request.
const (
	MaxHistoryRange = 400 * 24 * time.Hour
	MaxBuckets      = 50000
)

// History answers the API's questions about the past from the minute rollups and the
// booked downtime events, bucketed in the tenant's local time. Every figure is at minute
// resolution: a range that does not start or end on a whole minute includes the whole
// minutes it touches.
type History struct {
	st   *store.Store
	meta *store.MetaCache
	raw  bool
	now  func() time.Time

	mu   sync.Mutex
	cals map[int64]calEntry // by tenant: the calendar of the latest metadata seen
}

type calEntry struct {
	meta *store.Meta
	cal  *shiftcal.Calendar
	loc  *time.Location
	err  error
}

// NewHistory makes a History over the store and the metadata cache.
func NewHistory(st *store.Store, meta *store.MetaCache) *History {
	return &History{st: st, meta: meta, now: time.Now, cals: map[int64]calEntry{}}
}

// WithRawSource returns a History that reads the raw detection tables instead of the
// rollups (slow: for checking and benchmarking the rollups).
func (h *History) WithRawSource() *History {
	return &History{st: h.st, meta: h.meta, raw: true, now: h.now, cals: map[int64]calEntry{}}
}

// WithClock returns a History whose "now" (the end of a still-open downtime event, the
// current shift) comes from now.
func (h *History) WithClock(now func() time.Time) *History {
	return &History{st: h.st, meta: h.meta, raw: h.raw, now: now, cals: map[int64]calEntry{}}
}

// ProductionBucket is the production of one bucket [Start, End).
type ProductionBucket struct {
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
	Label  string    `json:"label"` // local time ("2006-01-02 15:04 MST"), date, or "date shift"
	Total  int64     `json:"total"`
	Good   int64     `json:"good"`
	Reject int64     `json:"reject"`
}

// ShiftRef names a shift instance.
type ShiftRef struct {
	ID       int64     `json:"id"`
	Instance string    `json:"instance,omitempty"` // "2026-12-01.1": see InstanceID
	Name     string    `json:"name"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
}

// OEEReport is OEE over a range or a shift instance. Times are seconds; ratios fractions.
type OEEReport struct {
	From      time.Time `json:"from"`
	To        time.Time `json:"to"`
	Shift     *ShiftRef `json:"shift"`
	PlannedS  float64   `json:"planned_s"`
	RunS      float64   `json:"run_s"`
	DowntimeS float64   `json:"downtime_s"`
	// UnmonitoredS is planned time with no data, left out of A/P/Q (docs/OEE.md).
	UnmonitoredS       float64 `json:"unmonitored_s"`
	Availability       float64 `json:"availability"`
	Performance        float64 `json:"performance"`
	Quality            float64 `json:"quality"`
	OEE                float64 `json:"oee"`
	PerformanceOver100 bool    `json:"performance_over_100"`
	Total              int64   `json:"total"`
	Good               int64   `json:"good"`
	Reject             int64   `json:"reject"`
	Events             int64   `json:"events"` // unplanned downtime events in the range
	// PlannedStopS is the time of stops coded with a planned reason: outside PlannedS.
	PlannedStopS float64 `json:"planned_stop_s"`
	// MicroStops and MicroStopS are the micro-stops closed in the range and the time they
	// lost (docs/LOSSES.md), from the engine's micro-stop rows at minute resolution.
	MicroStops int64   `json:"micro_stops"`
	MicroStopS float64 `json:"micro_stop_s"`
}

func reportOf(r oee.Result, from, to time.Time) OEEReport {
	return OEEReport{
		From: from.UTC(), To: to.UTC(),
		PlannedS: r.PlannedTime.Seconds(), RunS: r.RunTime.Seconds(), DowntimeS: r.Downtime.Seconds(),
		UnmonitoredS: r.Unmonitored.Seconds(),
		Availability: r.Availability, Performance: r.Performance, Quality: r.Quality, OEE: r.OEE,
		PerformanceOver100: r.PerformanceOver100,
		Total:              r.Counts.Total, Good: r.Counts.Good, Reject: r.Counts.Reject,
	}
}

// lineCtx is what every query needs.
type lineCtx struct {
	tdb  *store.TenantDB
	line store.Line
	cal  *shiftcal.Calendar
	loc  *time.Location
	cerr error // the calendar could not be built
	// failures is the reason catalogue by code (kinds and the tree).
	failures map[string]store.Failure
	products map[int64]store.Product // each product's ideal cycle time
	targets  map[int64]int64         // the line's production targets by shift id
}

// perProduct says some product has an ideal cycle time of its own.
func (lc lineCtx) perProduct() bool {
	for _, p := range lc.products {
		if p.IdealCycleMS > 0 {
			return true
		}
	}
	return false
}

// ideal is the ideal cycle time of a product on the line (its own, else the line's).
func (lc lineCtx) ideal(product int64) time.Duration {
	return store.IdealCycle(lc.line.IdealCycleTime(), lc.products, product)
}

// made is what a range produced: the counts and the ideal time of the units, each at its
// product's ideal cycle time.
type made struct {
	c           oee.Counts
	net         time.Duration // Σ ideal × total: net run time
	rejectIdeal time.Duration // Σ ideal × rejects
}

// add counts a rollup row (by product).
func (m *made) add(lc lineCtx, r store.ProductionRow) {
	m.c.Total += r.Total
	m.c.Good += r.Good
	m.c.Reject += r.Reject
	ideal := lc.ideal(r.Product)
	m.net += oee.NetRun(ideal, r.Total)
	m.rejectIdeal += oee.NetRun(ideal, r.Reject)
}

func (h *History) lineCtx(ctx context.Context, tenantID, lineID int64) (lineCtx, error) {
	m, err := h.meta.Get(ctx, tenantID)
	if err != nil {
		return lineCtx{}, err
	}
	l, ok := m.Lines[lineID]
	if !ok {
		// A line created by another process: read the model again once.
		h.meta.Invalidate(tenantID)
		if m, err = h.meta.Get(ctx, tenantID); err != nil {
			return lineCtx{}, err
		}
		if l, ok = m.Lines[lineID]; !ok {
			return lineCtx{}, fmt.Errorf("stream: line %d: %w", lineID, store.ErrNotFound)
		}
	}
	tdb, err := h.st.Tenant(ctx, tenantID)
	if err != nil {
		return lineCtx{}, err
	}
	h.mu.Lock()
	ce, ok := h.cals[tenantID]
	if !ok || ce.meta != m {
		ce = calEntry{meta: m}
		ce.loc, ce.err = loadZone(m.Tenant.Config.Timezone)
		if ce.err == nil {
			ce.cal, ce.err = Calendar(m.Tenant.Config.Timezone, m.Shifts)
		}
		h.cals[tenantID] = ce
	}
	h.mu.Unlock()
	if ce.loc == nil {
		return lineCtx{}, fmt.Errorf("stream: tenant configuration: %w", ce.err)
	}
	return lineCtx{tdb: tdb, line: l, cal: ce.cal, loc: ce.loc, cerr: ce.err, failures: m.Failures, products: m.Products, targets: lineTargets(m, lineID)}, nil
}

func (lc lineCtx) calendar() (*shiftcal.Calendar, error) {
	if lc.cerr != nil {
		return nil, fmt.Errorf("stream: the shift configuration is invalid, fix it first: %w", lc.cerr)
	}
	return lc.cal, nil
}

func checkRange(from, to time.Time) error {
	switch {
	case from.IsZero() || to.IsZero():
		return invalid("range", "from", "from and to are required")
	case !to.After(from):
		return invalid("range", "to", "must be after from")
	case to.Sub(from) > MaxHistoryRange:
		return invalid("range", "to", fmt.Sprintf("the range is longer than %d days", int(MaxHistoryRange/(24*time.Hour))))
	}
	return nil
}

// Production returns a line's production in [from, to) per minute, local hour, local day
// or shift instance (interval), every bucket present (zeros included), clipped to
// [from, to). Shift buckets cover only the shift instances; production outside shifts is
// not in them.
func (h *History) Production(ctx context.Context, tenantID, lineID int64, from, to time.Time, interval string) ([]ProductionBucket, error) {
	if err := checkRange(from, to); err != nil {
		return nil, err
	}
	lc, err := h.lineCtx(ctx, tenantID, lineID)
	if err != nil {
		return nil, err
	}
	buckets, err := lc.buckets(from, to, interval)
	if err != nil {
		return nil, err
	}
	if len(buckets) == 0 {
		return []ProductionBucket{}, nil
	}
	step := stepFor(buckets)
	rows, err := h.production(ctx, lc, buckets[0].Start, buckets[len(buckets)-1].End, step)
	if err != nil {
		return nil, err
	}
	foldRows(buckets, rows, step)
	return buckets, nil
}

func (h *History) production(ctx context.Context, lc lineCtx, from, to time.Time, step int) ([]store.ProductionRow, error) {
	if h.raw {
		return lc.tdb.ProductionRaw(ctx, lc.line.ID, from, to, step)
	}
	return lc.tdb.ProductionRollup(ctx, lc.line.ID, from, to, step)
}

// productionByProduct is production with one row per group and product. When no product
// has an ideal cycle time of its own every unit runs at the line's: the rows by group
// (product 0, the line's) say the same with fewer rows.
func (h *History) productionByProduct(ctx context.Context, lc lineCtx, from, to time.Time, step int) ([]store.ProductionRow, error) {
	if !lc.perProduct() {
		return h.production(ctx, lc, from, to, step)
	}
	if h.raw {
		return lc.tdb.ProductionRawByProduct(ctx, lc.line.ID, from, to, step)
	}
	return lc.tdb.ProductionRollupByProduct(ctx, lc.line.ID, from, to, step)
}

// buckets lays out the empty buckets of [from, to).
func (lc lineCtx) buckets(from, to time.Time, interval string) ([]ProductionBucket, error) {
	var out []ProductionBucket
	add := func(s, e time.Time, label string) error {
		s, e = later(s, from), earlier(e, to)
		if !e.After(s) {
			return nil
		}
		if len(out) >= MaxBuckets {
			return invalid("range", "interval", fmt.Sprintf("more than %d buckets: use a coarser interval or a shorter range", MaxBuckets))
		}
		out = append(out, ProductionBucket{Start: s.UTC(), End: e.UTC(), Label: label})
		return nil
	}
	loc := lc.loc
	switch interval {
	case IntervalMinute:
		for t := from.Truncate(time.Minute); t.Before(to); t = t.Add(time.Minute) {
			if err := add(t, t.Add(time.Minute), t.In(loc).Format("2006-01-02 15:04 MST")); err != nil {
				return nil, err
			}
		}
	case IntervalHour:
		for t := localTrunc(from, loc, false); t.Before(to); {
			next := localTrunc(t.Add(time.Hour), loc, false)
			if !next.After(t) { // defensive (zones with odd transitions)
				next = t.Add(time.Hour)
			}
			if err := add(t, next, t.In(loc).Format("2006-01-02 15:04 MST")); err != nil {
				return nil, err
			}
			t = next
		}
	case IntervalDay:
		for t := localTrunc(from, loc, true); t.Before(to); {
			y, m, d := t.In(loc).Date()
			next := time.Date(y, m, d+1, 0, 0, 0, 0, loc)
			if err := add(t, next, t.In(loc).Format(time.DateOnly)); err != nil {
				return nil, err
			}
			t = next
		}
	case IntervalShift:
		cal, err := lc.calendar()
		if err != nil {
			return nil, err
		}
		for _, in := range cal.Instances(lc.line.ID, from, to) {
			if err := add(in.Start, in.End, in.Date+" "+in.Name); err != nil {
				return nil, err
			}
		}
	default:
		return nil, invalid("production_query", "interval", fmt.Sprintf("unknown interval %q: use minute, hour, day or shift", interval))
	}
	return out, nil
}

// localTrunc truncates t to the start of its local hour (or day).
func localTrunc(t time.Time, loc *time.Location, day bool) time.Time {
	lt := t.In(loc)
	y, m, d := lt.Date()
	if day {
		return time.Date(y, m, d, 0, 0, 0, 0, loc)
	}
	// Truncate in absolute time by the local minutes past the hour, so a repeated local
	// hour (DST fall-back) stays two buckets.
	return lt.Add(-time.Duration(lt.Minute())*time.Minute - time.Duration(lt.Second())*time.Second - time.Duration(lt.Nanosecond()))
}

// stepFor picks the largest rollup group (minutes) that never straddles a bucket edge.
func stepFor(b []ProductionBucket) int {
	for i := len(store.ProductionSteps) - 1; i >= 0; i-- {
		step := int64(store.ProductionSteps[i]) * 60
		ok := true
		for _, x := range b {
			if x.Start.Unix()%step != 0 || x.End.Unix()%step != 0 || x.Start.Nanosecond() != 0 || x.End.Nanosecond() != 0 {
				ok = false
				break
			}
		}
		if ok {
			return store.ProductionSteps[i]
		}
	}
	return 1
}

// foldRows adds each group to the bucket it lies in (buckets and rows sorted by time).
func foldRows(b []ProductionBucket, rows []store.ProductionRow, step int) {
	i := 0
	span := time.Duration(step) * time.Minute
	for _, r := range rows {
		t := r.Start()
		for i < len(b) && !t.Before(b[i].End) {
			i++
		}
		if i == len(b) {
			return
		}
		if t.Add(span).After(b[i].Start) { // inside, or the partial minute before an unaligned start
			b[i].Total += r.Total
			b[i].Good += r.Good
			b[i].Reject += r.Reject
		}
	}
}

// OEE computes OEE over [from, to) up to now (a range reaching past now reports what has
// elapsed, its To is now): planned time from the shift calendar, downtime from the booked
// events clipped to planned time (an open event runs until now), counts from the rollups.
// A range that is exactly a shift instance is named in Shift.
func (h *History) OEE(ctx context.Context, tenantID, lineID int64, from, to time.Time) (OEEReport, error) {
	if err := checkRange(from, to); err != nil {
		return OEEReport{}, err
	}
	lc, err := h.lineCtx(ctx, tenantID, lineID)
	if err != nil {
		return OEEReport{}, err
	}
	rep, err := h.oee(ctx, lc, from, untilNow(from, to, h.now()))
	if err != nil {
		return OEEReport{}, err
	}
	rep.Shift = lc.instanceAt(from, to)
	return rep, nil
}

func (h *History) oee(ctx context.Context, lc lineCtx, from, to time.Time) (OEEReport, error) {
	sp, m, err := h.gather(ctx, lc, from, to)
	if err != nil {
		return OEEReport{}, err
	}
	ms, err := h.microIn(ctx, lc, from, to)
	if err != nil {
		return OEEReport{}, err
	}
	rep := lc.report(sp, m, from, to)
	ms.set(&rep)
	return rep, nil
}

// Monitored says the report has monitored planned time (run + downtime): without it A,
// P, Q and OEE are unknown, not 0 (docs/OEE.md).
func (r OEEReport) Monitored() bool { return r.RunS+r.DowntimeS > 0 }

// microSum is the micro-stops of a range.
type microSum struct {
	n int64
	d time.Duration
}

func (m microSum) set(rep *OEEReport) { rep.MicroStops, rep.MicroStopS = m.n, m.d.Seconds() }

// sumMicro adds the rows of the whole minutes overlapping [from, to) (rows sorted).
func sumMicro(rows []store.MicroStopRow, from, to time.Time) microSum {
	lo, hi := minuteOf(from, false), minuteOf(to, true)
	var m microSum
	for _, r := range rows {
		if r.Minute >= lo && r.Minute < hi {
			m.n += r.Count
			m.d += time.Duration(r.DurationMS) * time.Millisecond
		}
	}
	return m
}

// microIn is the micro-stops closed in the whole minutes overlapping [from, to), as the
// engine booked them (microstops.go).
func (h *History) microIn(ctx context.Context, lc lineCtx, from, to time.Time) (microSum, error) {
	rows, err := lc.tdb.MicroStops(ctx, lc.line.ID, store.MinuteRange{From: minuteOf(from, false), To: minuteOf(to, true)})
	if err != nil {
		return microSum{}, err
	}
	return sumMicro(rows, from, to), nil
}

// gather reads what OEE and the loss waterfall are computed from.
func (h *History) gather(ctx context.Context, lc lineCtx, from, to time.Time) (stopSet, made, error) {
	sp, err := h.stopsIn(ctx, lc, from, to)
	if err != nil {
		return stopSet{}, made{}, err
	}
	m, err := h.counts(ctx, lc, from, to)
	return sp, m, err
}

func (lc lineCtx) report(sp stopSet, m made, from, to time.Time) OEEReport {
	plannedTime := sp.plannedTime
	var down, plannedStops time.Duration
	var events int64
	for _, st := range sp.stops {
		// A stop coded with a planned reason leaves planned time (docs/LOSSES.md).
		if lc.failures[st.ev.ReasonCode].Planned() {
			plannedStops += st.d
			continue
		}
		down += st.d
		events++
	}
	plannedTime -= plannedStops
	rep := reportOf(oee.ComputeNet(plannedTime, sp.unmonitored, down, m.net, m.net-m.rejectIdeal, m.c), from, to)
	rep.Events = events
	rep.PlannedStopS = plannedStops.Seconds()
	return rep
}

// firstData is where the range's monitored time begins (docs/OEE.md): from, when the line
// made something within its downtime threshold before from (production running across the
// range's start); else the line's first detection in [from, to); else to. Planned time
// before it that no downtime event covers is unmonitored.
func (h *History) firstData(ctx context.Context, lc lineCtx, from, to time.Time) (time.Time, error) {
	f, err := h.firstDataOf(ctx, lc, []ProductionBucket{{Start: from, End: to}})
	if err != nil {
		return time.Time{}, err
	}
	return f[0], nil
}

// firstDataOf is firstData of many ranges of a line ([Start, End) of each span) from one
// store query: the production just before each range (within the downtime threshold) and
// the first inside it.
func (h *History) firstDataOf(ctx context.Context, lc lineCtx, spans []ProductionBucket) ([]time.Time, error) {
	thr := lc.line.DowntimeThreshold()
	ranges := make([][2]time.Time, 0, 2*len(spans))
	for _, sp := range spans {
		ranges = append(ranges, [2]time.Time{sp.Start, sp.End})
		if thr > 0 {
			ranges = append(ranges, [2]time.Time{sp.Start.Add(-thr), sp.Start})
		}
	}
	firsts, err := lc.tdb.FirstProductions(ctx, lc.line.ID, ranges)
	if err != nil {
		return nil, err
	}
	out := make([]time.Time, len(spans))
	for i, sp := range spans {
		k := i
		if thr > 0 {
			k = 2 * i
			if !firsts[k+1].IsZero() { // produced just before: monitored from the start
				out[i] = sp.Start
				continue
			}
		}
		if firsts[k].IsZero() {
			out[i] = sp.End
		} else {
			out[i] = later(firsts[k], sp.Start)
		}
	}
	return out, nil
}

// PlannedOverlap is the length of [s, e) inside the intervals (planned production time as
// shiftcal.Calendar.PlannedIntervals returns it): how much of a downtime event counts.
func PlannedOverlap(s, e time.Time, ivs []shiftcal.Interval) time.Duration {
	var d time.Duration
	for _, iv := range ivs {
		a, b := later(s, iv.Start), earlier(e, iv.End)
		if b.After(a) {
			d += b.Sub(a)
		}
	}
	return d
}

// Shift selectors of ShiftOEE.
const (
	ShiftCurrent  = "current"
	ShiftPrevious = "previous"
)

// ShiftOEE is the OEE of the current shift instance (up to now) or of the previous one
// (whole). It fails with store.ErrNotFound when there is no such shift.
func (h *History) ShiftOEE(ctx context.Context, tenantID, lineID int64, which string, now time.Time) (OEEReport, error) {
	if which != ShiftCurrent && which != ShiftPrevious {
		return OEEReport{}, invalid("oee_query", "shift", fmt.Sprintf("unknown shift %q: use current or previous", which))
	}
	lc, err := h.lineCtx(ctx, tenantID, lineID)
	if err != nil {
		return OEEReport{}, err
	}
	cal, err := lc.calendar()
	if err != nil {
		return OEEReport{}, err
	}
	var in shiftcal.Instance
	var ok bool
	if which == ShiftCurrent {
		in, ok = cal.Current(lineID, now)
	} else {
		in, ok = cal.Previous(lineID, now)
	}
	if !ok {
		return OEEReport{}, fmt.Errorf("stream: no %s shift on line %d: %w", which, lineID, store.ErrNotFound)
	}
	return h.instanceOEE(ctx, lc, in, now)
}

// Downtime lists a line's downtime events overlapping [from, to), paged by id.
func (h *History) Downtime(ctx context.Context, tenantID, lineID int64, from, to time.Time, f store.DowntimeFilter, p store.Page) ([]store.DowntimeEvent, error) {
	if err := checkRange(from, to); err != nil {
		return nil, err
	}
	lc, err := h.lineCtx(ctx, tenantID, lineID)
	if err != nil {
		return nil, err
	}
	evs, err := lc.tdb.ListDowntime(ctx, lineID, from, to, f, p)
	if err != nil {
		return nil, err
	}
	if evs == nil {
		evs = []store.DowntimeEvent{}
	}
	return evs, nil
}

// ShiftInstances lists the shift instances of a line overlapping [from, to) (for reports
// and the bench).
func (h *History) ShiftInstances(ctx context.Context, tenantID, lineID int64, from, to time.Time) ([]ShiftRef, error) {
	lc, err := h.lineCtx(ctx, tenantID, lineID)
	if err != nil {
		return nil, err
	}
	cal, err := lc.calendar()
	if err != nil {
		return nil, err
	}
	var out []ShiftRef
	for _, in := range cal.Instances(lineID, from, to) {
		out = append(out, *refOf(in))
	}
	return out, nil
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
