package stream

import (
	"context"
	"fmt"
	"time"

	"github.com/linepulse/linepulse/store"
)

// recomputeLookback is how far before the range Recompute reads detections, so the first
// gap of the range is judged from the detection before it (a stop running into the range).
const recomputeLookback = 26 * time.Hour

// RecomputeResult is what Recompute did.
type RecomputeResult struct {
	Detections int                   `json:"detections"`  // detections read, lookback included
	Events     []store.DowntimeEvent `json:"events"`      // the events of the range now
	Deleted    int64                 `json:"deleted"`     // events removed (no longer stops)
	MicroStops int64                 `json:"micro_stops"` // micro-stops of the range's minutes now
}

// Recompute re-books a line's downtime events that start in [from, to) from its stored
// detections, in event-time order, by the same fold the live engine runs (linepulse
// recompute): data that arrived late or out of order, older than the engine's replay
// window, ends up with the events an in-order delivery would have booked. Rollups need no
// re-computation (they are sums). Events that keep their start keep their id and reason
// code. to is capped at now; a stop still running at to is not booked.
func (h *History) Recompute(ctx context.Context, tenantID, lineID int64, from, to time.Time) (RecomputeResult, error) {
	if now := h.now(); to.After(now) {
		to = now
	}
	if err := checkRange(from, to); err != nil {
		return RecomputeResult{}, err
	}
	lc, err := h.lineCtx(ctx, tenantID, lineID)
	if err != nil {
		return RecomputeResult{}, err
	}
	cal, err := lc.calendar()
	if err != nil {
		return RecomputeResult{}, err
	}
	if err := ValidateLine(lc.line); err != nil {
		return RecomputeResult{}, err
	}
	times, err := lc.tdb.DetectionTimes(ctx, lineID, from.Add(-recomputeLookback), to)
	if err != nil {
		return RecomputeResult{}, err
	}
	f := newLineFold(lineConf{id: lineID, cal: cal, loc: lc.loc, threshold: lc.line.DowntimeThreshold(),
		minMicro: time.Duration(lc.line.MicroStopMinMS) * time.Millisecond, ideal: lc.line.IdealCycleTime()})
	f.microLog = new([]store.MicroStopRow)
	var chs []change
	for _, at := range times {
		chs = append(chs, f.observe(store.Detection{At: at, OK: true}, at)...)
	}
	tail, _ := f.tick(to) // stops running into shift ends already past
	chs = append(chs, tail...)
	res := RecomputeResult{Detections: len(times), Events: []store.DowntimeEvent{}}
	for _, c := range chs {
		if c.State != DowntimeEnded || c.Start.Before(from) || !c.Start.Before(to) {
			continue
		}
		end := c.End
		res.Events = append(res.Events, store.DowntimeEvent{LineID: lineID, Start: c.Start, End: &end, DurationMS: c.Duration.Milliseconds()})
	}
	if res.Deleted, err = lc.tdb.ReplaceDowntime(ctx, lineID, from, to, res.Events); err != nil {
		return RecomputeResult{}, fmt.Errorf("stream: cannot recompute line %d: %w", lineID, err)
	}
	// The micro-stops of the range's whole minutes (the detections read start a lookback
	// before, so the first minute's are complete too).
	mr := store.MinuteRange{From: minuteOf(from, false), To: minuteOf(to, true)}
	var rows []store.MicroStopRow
	for _, m := range f.microRows() {
		if m.Minute >= mr.From && m.Minute < mr.To {
			rows = append(rows, m)
			res.MicroStops += m.Count
		}
	}
	if err := lc.tdb.ReplaceMicroStops(ctx, lineID, mr, rows); err != nil {
		return RecomputeResult{}, fmt.Errorf("stream: cannot recompute line %d: %w", lineID, err)
	}
	return res, nil
}
