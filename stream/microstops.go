package stream

import (
	"time"

	"github.com/linepulse/linepulse/store"
)

// Micro-stops in history. The fold judges a gap between detections a micro-stop
// (oee.Classify) when the detection that ends it arrives; it books it in that detection's
// period (the live figures) and in that detection's minute (store.MicroStopRow), which the
// engine stores as an absolute row (the minute's total so far) through the line's
// persistence queue. Advancing detections come in time order, so a minute is final once a
// later one has a micro-stop; a replay or linepulse recompute writes the same rows, and a
// restart resumes the current minute from the checkpoint. History sums the rows
// (History.OEE, shift lists, the loss waterfall).

// microLost is the time a micro-stop lost: the gap's planned time less one ideal cycle
// of the unit that ends the gap (at its product's ideal cycle time; it took that time too), never negative.
func (f *lineFold) microLost(from, to time.Time, product int64) time.Duration {
	if f.conf.cal == nil {
		return 0
	}
	return max(f.conf.cal.PlannedTime(f.conf.id, from, to)-store.IdealCycle(f.conf.ideal, f.conf.products, product), 0)
}

// noteMicro books the micro-stop of the gap [from, to), ended by a unit of product, in p
// and in to's minute.
func (f *lineFold) noteMicro(p *period, from, to time.Time, product int64) {
	lost := f.microLost(from, to, product)
	p.Micro++
	p.MicroDur += lost
	m := minuteOf(to, false)
	if m != f.micro.Minute {
		if f.microLog != nil && f.micro.Count > 0 {
			*f.microLog = append(*f.microLog, f.micro)
		}
		f.micro = store.MicroStopRow{Minute: m}
	}
	f.micro.Count++
	f.micro.DurationMS += lost.Milliseconds()
	f.microDirty = true
}

// microRows ends a collecting fold's log: every minute it booked.
func (f *lineFold) microRows() []store.MicroStopRow {
	var out []store.MicroStopRow
	if f.microLog != nil {
		out = *f.microLog
	}
	if f.micro.Count > 0 {
		out = append(out, f.micro)
	}
	return out
}

// storeMicro queues the current minute's row when it changed (on the loop).
func (e *Engine) storeMicro(ls *lineState) {
	if !ls.fold.microDirty {
		return
	}
	ls.fold.microDirty = false
	row := ls.fold.micro
	e.enqueue(ls, &persistOp{tenantID: ls.ten.id, lineID: ls.id, start: time.Unix(row.Minute*60, 0).UTC(), micro: &row})
}
