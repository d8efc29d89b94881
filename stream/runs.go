package stream

import (
	"context"
	"fmt"
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
// the nearest detection within recomputeLookback. Open events are not judged yet.
func (h *History) changeovers(ctx context.Context, lc lineCtx, evs []store.DowntimeEvent) (map[int64]bool, error) {
	var edges []time.Time
	lo, hi := time.Time{}, time.Time{}
	for _, ev := range evs {
		if ev.End == nil {
			continue
		}
		edges = append(edges, ev.Start, *ev.End)
		if lo.IsZero() || ev.Start.Before(lo) {
			lo = ev.Start
		}
		hi = later(hi, *ev.End)
	}
	out := map[int64]bool{}
	if len(edges) == 0 {
		return out, nil
	}
	marks, err := lc.tdb.RunMarks(ctx, lc.line.ID, lo.Add(-recomputeLookback), hi.Add(time.Millisecond))
	if err != nil {
		return nil, err
	}
	seen, err := lc.tdb.ProductsAt(ctx, lc.line.ID, edges)
	if err != nil {
		return nil, err
	}
	at := map[int64]int64{} // ms → product; the first detection at an instant
	for i := len(seen) - 1; i >= 0; i-- {
		at[seen[i].At.UnixMilli()] = productOf(seen[i], marks)
	}
	edge := func(t time.Time, before bool) (int64, bool, error) {
		if p, ok := at[t.UnixMilli()]; ok {
			return p, true, nil
		}
		bound := t.Add(recomputeLookback)
		if before {
			bound = t.Add(-recomputeLookback)
		}
		d, ok, err := lc.tdb.ProductBefore(ctx, lc.line.ID, t, bound, before)
		if err != nil || !ok {
			return 0, false, err
		}
		return productOf(d, marks), true, nil
	}
	for _, ev := range evs {
		if ev.End == nil {
			continue
		}
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
