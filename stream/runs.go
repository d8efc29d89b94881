package stream

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/linepulse/linepulse/store"
)

// Run sources.
const (
	RunCamera   = "camera"   // the product seen changed
	RunOperator = "operator" // an operator set the product (POST /lines/{id}/runs)
)

// MaxRunsRange bounds GET /lines/{id}/runs: runs are read from the raw detections.
const MaxRunsRange = 31 * 24 * time.Hour

// Run is a stretch of a line's production of one product (docs/LOSSES.md).
type Run struct {
	ProductID   int64      `json:"product_id"`
	ProductName string     `json:"product_name"`
	Source      string     `json:"source"`           // camera or operator
	SetBy       int64      `json:"set_by,omitempty"` // the operator's user id
	Start       time.Time  `json:"start"`            // its first detection, or when an operator set it
	End         *time.Time `json:"end"`              // its last detection (null: none yet)
	Total       int64      `json:"total"`
	Good        int64      `json:"good"`
	Reject      int64      `json:"reject"`
	// IdealCycleMS is the product's ideal cycle time (the line's when it has none).
	IdealCycleMS int64 `json:"ideal_cycle_ms"`
}

// productOf is the product a detection counts for: its own, or, when the camera does not
// tell (0), the product an operator set last before it.
func productOf(d store.ProductSeen, marks []store.RunMark) int64 {
	if d.Product != 0 {
		return d.Product
	}
	i := sort.Search(len(marks), func(i int) bool { return marks[i].Start.After(d.At) })
	if i == 0 {
		return 0
	}
	return marks[i-1].ProductID
}

// buildRuns splits detections (in time order) into runs: a run starts when the product
// changes, and at every mark an operator set (marks in time order).
func buildRuns(dets []store.ProductSeen, marks []store.RunMark) []Run {
	var out []Run
	mi := 0
	for di := 0; di < len(dets) || mi < len(marks); {
		if mi < len(marks) && (di == len(dets) || !marks[mi].Start.After(dets[di].At)) {
			m := marks[mi]
			out = append(out, Run{ProductID: m.ProductID, Source: RunOperator, SetBy: m.SetBy, Start: m.Start})
			mi++
			continue
		}
		d := dets[di]
		di++
		p := productOf(d, marks)
		if n := len(out); n == 0 || out[n-1].ProductID != p {
			out = append(out, Run{ProductID: p, Source: RunCamera, Start: d.At})
		}
		r := &out[len(out)-1]
		at := d.At
		r.End = &at
		r.Total++
		if d.OK {
			r.Good++
		} else {
			r.Reject++
		}
	}
	return out
}

// Runs lists a line's product runs over [from, to): the runs its detections make (and
// the operator's marks), with their counts and ideal cycle times. A run in progress at
// from starts at its first detection in the range (or at the operator's mark before it).
func (h *History) Runs(ctx context.Context, tenantID, lineID int64, from, to time.Time) ([]Run, error) {
	if err := checkRange(from, to); err != nil {
		return nil, err
	}
	if to.Sub(from) > MaxRunsRange {
		return nil, invalid("range", "to", fmt.Sprintf("runs are listed over at most %d days", int(MaxRunsRange/(24*time.Hour))))
	}
	lc, err := h.lineCtx(ctx, tenantID, lineID)
	if err != nil {
		return nil, err
	}
	marks, err := lc.tdb.RunMarks(ctx, lineID, from, to)
	if err != nil {
		return nil, err
	}
	dets, err := lc.tdb.DetectionsInOrder(ctx, lineID, from, to)
	if err != nil {
		return nil, err
	}
	out := buildRuns(dets, marks)
	for i := range out {
		r := &out[i]
		if p, ok := lc.products[r.ProductID]; ok {
			r.ProductName = p.Name
		}
		r.IdealCycleMS = lc.ideal(r.ProductID).Milliseconds()
	}
	if out == nil {
		out = []Run{}
	}
	return out, nil
}

// SetRun records that an operator started a run of product on a line at at.
func (h *History) SetRun(ctx context.Context, tenantID, lineID, product, userID int64, at time.Time) (store.RunMark, error) {
	lc, err := h.lineCtx(ctx, tenantID, lineID)
	if err != nil {
		return store.RunMark{}, err
	}
	m := store.RunMark{LineID: lineID, ProductID: product, Start: at, SetBy: userID}
	if err := lc.tdb.AddRunMark(ctx, &m); err != nil {
		return store.RunMark{}, err
	}
	return m, nil
}

// changeovers tells which closed events are changeovers: the detection that starts the
// stop and the one that ends it count for different products (a booked stop lies in the
// gap between two consecutive detections, so a downtime event is a changeover whole or
// not at all, and no time counts twice). A stop cut by a shift's start or end is judged by
// the nearest detection within recomputeLookback. Open events are not judged yet. The
// edges come from the minute rollups (first and last detection of each row, to the
// millisecond); the raw table is read only where they cannot tell (History.raw: always).
func (h *History) changeovers(ctx context.Context, lc lineCtx, evs []store.DowntimeEvent) (map[int64]bool, error) {
	var closed []store.DowntimeEvent
	var minutes []int64
	lo, hi := time.Time{}, time.Time{}
	for _, ev := range evs {
		if ev.End == nil {
			continue
		}
		closed = append(closed, ev)
		minutes = append(minutes, minuteOf(ev.Start, false), minuteOf(*ev.End, false))
		if lo.IsZero() || ev.Start.Before(lo) {
			lo = ev.Start
		}
		hi = later(hi, *ev.End)
	}
	out := map[int64]bool{}
	if len(closed) == 0 {
		return out, nil
	}
	marks, err := lc.tdb.RunMarks(ctx, lc.line.ID, lo.Add(-recomputeLookback), hi.Add(time.Millisecond))
	if err != nil {
		return nil, err
	}
	rows := map[int64][]store.RollupEdge{}
	exact := map[int64]int64{} // raw: the product at each edge's millisecond (-1: several)
	if h.raw {
		ats := make([]time.Time, 0, 2*len(closed))
		for _, ev := range closed {
			ats = append(ats, ev.Start, *ev.End)
		}
		seen, err := lc.tdb.ProductsAt(ctx, lc.line.ID, ats)
		if err != nil {
			return nil, err
		}
		for _, d := range seen {
			if p, ok := exact[d.At.UnixMilli()]; ok && p != d.Product {
				d.Product = -1
			}
			exact[d.At.UnixMilli()] = d.Product
		}
	} else {
		slices.Sort(minutes)
		all, err := lc.tdb.RollupMinutes(ctx, lc.line.ID, slices.Compact(minutes))
		if err != nil {
			return nil, err
		}
		for _, r := range all {
			rows[r.Minute] = append(rows[r.Minute], r)
		}
	}
	edge := func(t time.Time, before bool) (int64, bool, error) {
		d, found, known := store.ProductSeen{}, false, false
		if p, ok := exact[t.UnixMilli()]; ok && p >= 0 {
			d, found, known = store.ProductSeen{At: t, Product: p}, true, true
		} else if !h.raw {
			var err error
			if d, found, known, err = rollupEdge(ctx, lc, rows, t, before); err != nil {
				return 0, false, err
			}
		}
		if !known {
			bound := t.Add(recomputeLookback)
			if before {
				bound = t.Add(-recomputeLookback)
			}
			var err error
			if d, found, err = lc.tdb.ProductBefore(ctx, lc.line.ID, t, bound, before); err != nil {
				return 0, false, err
			}
		}
		if !found {
			return 0, false, nil
		}
		return productOf(d, marks), true, nil
	}
	for _, ev := range closed {
		a, okA, err := edge(ev.Start, true)
		if err != nil {
			return nil, err
		}
		b, okB, err := edge(*ev.End, false)
		if err != nil {
			return nil, err
		}
		if okA && okB && a != b {
			out[ev.ID] = true
		}
	}
	return out, nil
}

// rollupEdge finds from the rollups the detection at or before t (before), or at or after
// t: one exactly at t, else the nearest in t's minute, else the nearest in the neighbour
// minute with production (within recomputeLookback). known is false when the rollups
// cannot tell (a row with detections on both sides of t, a row written before last_ms was
// kept, two products at the same millisecond); found is false when there is none.
func rollupEdge(ctx context.Context, lc lineCtx, rows map[int64][]store.RollupEdge, t time.Time, before bool) (d store.ProductSeen, found, known bool, err error) {
	m := minuteOf(t, false)
	ms := t.UnixMilli() - m*60000
	var exact []store.RollupEdge
	for _, r := range rows[m] {
		if r.FirstMS == ms || r.LastMS == ms {
			exact = append(exact, r)
		}
	}
	if len(exact) > 0 {
		d, known = pickEdge(exact, func(r store.RollupEdge) int64 { return ms }, 0)
		d.At = t
		return d, known, known, nil
	}
	// The nearest detection of t's minute on t's side, if every row says which side it is on.
	var near []store.RollupEdge
	for _, r := range rows[m] {
		switch {
		case r.FirstMS > ms && !before:
			near = append(near, r)
		case r.FirstMS > ms: // all after t
		case r.LastMS >= 0 && r.LastMS < ms && before:
			near = append(near, r)
		case r.LastMS >= 0 && r.LastMS < ms: // all before t
		default:
			return store.ProductSeen{}, false, false, nil
		}
	}
	if len(near) == 0 {
		span := int64(recomputeLookback / time.Minute)
		if near, err = lc.tdb.RollupNeighbour(ctx, lc.line.ID, m, span, before); err != nil || len(near) == 0 {
			return store.ProductSeen{}, false, err == nil, err
		}
		m = near[0].Minute
	}
	at := func(r store.RollupEdge) int64 { return r.FirstMS }
	sign := int64(1)
	if before {
		at, sign = func(r store.RollupEdge) int64 { return r.LastMS }, -1
	}
	for _, r := range near {
		if at(r) < 0 {
			return store.ProductSeen{}, false, false, nil
		}
	}
	d, known = pickEdge(near, at, sign)
	d.At = time.UnixMilli(m*60000 + d.At.UnixMilli()).UTC()
	return d, known, known, nil
}

// pickEdge picks the row whose instant (at) is the smallest (sign 1), the largest (-1) or
// any (0, all equal); ok is false when rows of different products share it. d.At holds the
// instant in milliseconds into the minute.
func pickEdge(rows []store.RollupEdge, at func(store.RollupEdge) int64, sign int64) (d store.ProductSeen, ok bool) {
	best := rows[0]
	for _, r := range rows[1:] {
		if sign*at(r) < sign*at(best) {
			best = r
		}
	}
	for _, r := range rows {
		if at(r) == at(best) && r.Product != best.Product {
			return store.ProductSeen{}, false
		}
	}
	return store.ProductSeen{At: time.UnixMilli(at(best)), Product: best.Product}, true
}
