package query

import (
	"bytes"
	"context"
	"log/slog"
	"math"
	"reflect"
	"time"

	"github.com/linepulse/linepulse/loss"
	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/stream"
	"github.com/linepulse/linepulse/web"
	"github.com/linepulse/linepulse/web/ui/i18n"
)

// lossTimes are the loss-analysis figures of the report.
type lossTimes struct {
	shifts               int
	list, pareto, losses time.Duration
	pdf                  time.Duration // the shift report PDF of the last shift, gathered and rendered
	agree                bool
}

// lossBench times the shift list, the Pareto and the waterfall over the whole range from
// the rollups, and checks them: the shift list and the waterfall against the raw table,
// the Pareto's total over the last shifts against the downtime replayed from the raw
// detections (rawReps, one per inst).
func lossBench(ctx context.Context, h *stream.History, tenantID, lineID int64, from, to time.Time, insts []stream.ShiftRef, rawReps []stream.OEEReport, runs int, log *slog.Logger) (lossTimes, error) {
	var lt lossTimes
	now := time.Now() // one "now" for both sources: a running shift is reported up to it
	h = h.WithClock(func() time.Time { return now })
	var shifts, shiftsRaw []stream.ShiftSummary
	var rep, repRaw stream.LossReport
	var p loss.Pareto
	var err error
	steps := []struct {
		d  *time.Duration
		fn func() error
	}{
		{&lt.list, func() error { shifts, err = h.Shifts(ctx, tenantID, lineID, from, to); return err }},
		{&lt.pareto, func() error {
			p, err = h.Pareto(ctx, tenantID, []int64{lineID}, from, to, stream.GroupReason)
			return err
		}},
		{&lt.losses, func() error { rep, err = h.Losses(ctx, tenantID, lineID, from, to); return err }},
	}
	for _, st := range steps {
		if *st.d, err = timeRuns(runs, st.fn); err != nil {
			return lt, err
		}
	}
	lt.pdf, err = timeRuns(runs, func() error { return shiftPDF(ctx, h, tenantID, lineID, insts[len(insts)-1]) })
	if err != nil {
		return lt, err
	}
	log.Info("loss analysis timed; now from the raw table (slow)", "shift_list", lt.list, "pareto", lt.pareto, "losses", lt.losses)
	raw := h.WithRawSource()
	if shiftsRaw, err = raw.Shifts(ctx, tenantID, lineID, from, to); err != nil {
		return lt, err
	}
	if repRaw, err = raw.Losses(ctx, tenantID, lineID, from, to); err != nil {
		return lt, err
	}
	lt.shifts = len(shifts)
	lt.agree = reflect.DeepEqual(shifts, shiftsRaw) && reflect.DeepEqual(rep, repRaw) && math.Abs(p.TotalS-rep.OEE.DowntimeS) < 1e-6
	if !lt.agree {
		log.Warn("loss analysis: rollups and raw differ", "pareto_s", p.TotalS, "downtime_s", rep.OEE.DowntimeS)
	}
	// The Pareto of the last shifts from the booked events equals the downtime replayed
	// from the raw detections.
	last, err := h.Pareto(ctx, tenantID, []int64{lineID}, insts[0].Start, insts[len(insts)-1].End, stream.GroupReason)
	if err != nil {
		return lt, err
	}
	var replayed float64
	for _, r := range rawReps {
		replayed += r.DowntimeS
	}
	if math.Abs(last.TotalS-replayed) > 1e-6 {
		log.Warn("Pareto differs from the replayed downtime", "pareto_s", last.TotalS, "replayed_s", replayed)
		lt.agree = false
	}
	return lt, nil
}

// shiftPDF does what GET .../shifts/{instance}/report.pdf does: the instance, its Pareto,
// the rendering.
func shiftPDF(ctx context.Context, h *stream.History, tenantID, lineID int64, in stream.ShiftRef) error {
	d, err := h.Shift(ctx, tenantID, lineID, in.Instance)
	if err != nil {
		return err
	}
	p, err := h.Pareto(ctx, tenantID, []int64{lineID}, d.From, d.To, stream.GroupReason)
	if err != nil {
		return err
	}
	cat, err := i18n.Embedded()
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	return web.ShiftPDF(&buf, cat, "en", time.UTC, time.Now(), web.ShiftReport{Line: store.Line{Name: "bench"}, Shift: d, Pareto: p})
}
