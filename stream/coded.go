package stream

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/linepulse/linepulse/bus"
	"github.com/linepulse/linepulse/store"
)

// Planned reasons in the live figures. A stop coded with a planned reason leaves planned
// time (docs/LOSSES.md) in the engine's periods as in history. Reason codes live in the
// database (the API codes stored events), so the engine keeps, per line, the coded events
// of the periods it holds, read from the database:
//   - when the line's oldest or newest kept period changes (a start or restart, which
//     therefore needs no checkpoint of them; a replay; a shift change),
//   - when the API announces a coding on bus.DowntimeCodedSubject (any web instance
//     publishes it through NotifyCoded),
//   - after a re-booking of late detections (ends may have moved),
//   - again on the retry tick while a read fails, and every Config.CodedRefresh without a
//     notice (one lost on the bus, a coding by an instance without NATS).
// A failure's kind is looked up when the figures are computed, so re-classifying a reason
// in the catalogue applies at the next plant-model refresh.

// CodedNotice says which line's coding changed (the message on bus.DowntimeCodedSubject).
type CodedNotice struct {
	Tenant int64 `json:"tenant"`
	Line   int64 `json:"line"`
}

// NotifyCoded tells the engine (wherever it runs) that a line's event was coded.
func NotifyCoded(nc *nats.Conn, tenantID, lineID int64) error {
	data, _ := json.Marshal(CodedNotice{Tenant: tenantID, Line: lineID})
	if err := nc.Publish(bus.DowntimeCodedSubject, data); err != nil {
		return fmt.Errorf("stream: cannot announce a coded stop: %w", err)
	}
	return nil
}

// codedReads bounds the engine's concurrent reads of coded events; maxStaleReads the
// re-reads of a line whose coded stop was read open after the fold ended it.
const (
	codedReads    = 4
	maxStaleReads = 30
)

// codedStop is a stored event with a reason code.
type codedStop struct {
	Start time.Time
	End   *time.Time // nil: still open
	Code  string
}

// plannedStops is the planned time, in p up to end, of the stops coded with a planned
// reason, and how many of them are closed (booked in p.Events). An open one counts while
// it is the running stop, as the running stop counts in downtime.
func (f *lineFold) plannedStops(p *period, end, now time.Time) (time.Duration, int64) {
	if f.conf.cal == nil || !p.Shift {
		return 0, 0
	}
	var d time.Duration
	var closed int64
	for _, c := range f.coded {
		if !p.contains(c.Start) || !f.conf.failures[c.Code].Planned() {
			continue
		}
		e := now
		switch {
		case c.End != nil:
			e = *c.End
			closed++
		case f.open == nil || !f.open.Start.Equal(c.Start):
			continue // closed meanwhile: its end comes with the next read
		}
		if e.After(end) {
			e = end
		}
		if e.After(c.Start) {
			d += f.conf.cal.PlannedTime(f.conf.id, later(c.Start, p.Start), e)
		}
	}
	return d, closed
}

// settle keeps the coded events in step with what the fold announces: an ended stop gets
// its end, a cancelled one goes.
func (f *lineFold) settle(c change) {
	for i := range f.coded {
		if !f.coded[i].Start.Equal(c.Start) {
			continue
		}
		switch c.State {
		case DowntimeEnded:
			end := c.End
			f.coded[i].End = &end
		case DowntimeCancelled:
			f.coded = append(f.coded[:i], f.coded[i+1:]...)
		}
		return
	}
}

// codedResult is a finished read of a line's coded events.
type codedResult struct {
	ls  *lineState
	evs []store.DowntimeEvent
	err error
}

// subscribeCoded listens for CodedNotice; the loop refreshes the line.
func (e *Engine) subscribeCoded() (*nats.Subscription, error) {
	sub, err := e.nc.Subscribe(bus.DowntimeCodedSubject, func(m *nats.Msg) {
		var n CodedNotice
		if json.Unmarshal(m.Data, &n) != nil || n.Tenant <= 0 || n.Line <= 0 {
			return
		}
		select {
		case e.codedNote <- n:
		default: // the loop is far behind: the line is refreshed on the next notice or restart
			e.log.Warn("coded-stop notice dropped; engine busy", "tenant", n.Tenant, "line", n.Line)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("stream: cannot subscribe to %s: %w", bus.DowntimeCodedSubject, err)
	}
	return sub, nil
}

// codedSpan is the oldest and newest kept period's starts, which a read covers.
func codedSpan(f *lineFold) [2]time.Time {
	if len(f.periods) == 0 {
		return [2]time.Time{}
	}
	return [2]time.Time{f.periods[0].Start, f.periods[len(f.periods)-1].Start}
}

// refreshCodedIfMoved reads the coded events when the kept periods moved since the last
// read (after folding, and when a line is added or restored).
func (e *Engine) refreshCodedIfMoved(ls *lineState) {
	if sp := codedSpan(ls.fold); !sp[0].IsZero() && sp != ls.codedSpan && !ls.codedBusy {
		e.refreshCoded(ls)
	}
}

// refreshCoded reads the line's coded events again (on the loop; the read runs aside).
func (e *Engine) refreshCoded(ls *lineState) {
	if ls.codedBusy {
		ls.codedAgain = true
		return
	}
	if len(ls.fold.periods) == 0 {
		return
	}
	ls.codedBusy, ls.codedAgain, ls.codedSpan, ls.codedReadAt = true, false, codedSpan(ls.fold), e.now()
	delete(e.codedDue, ls)
	tenantID, lineID, from, to := ls.ten.id, ls.id, ls.fold.periods[0].Start, e.now().Add(time.Second)
	go func() {
		select {
		case e.codedSem <- struct{}{}:
		case <-e.loopDone:
			return
		}
		defer func() { <-e.codedSem }()
		ctx, cancel := context.WithTimeout(context.Background(), persistTimeout)
		defer cancel()
		r := codedResult{ls: ls}
		tdb, err := e.st.Tenant(ctx, tenantID)
		if err == nil {
			r.evs, err = tdb.DowntimeBetween(ctx, lineID, from, to)
		}
		r.err = err
		select {
		case e.codedCh <- r:
		case <-e.loopDone:
		}
	}()
}

// codedRead installs a read's result (on the loop).
func (e *Engine) codedRead(r codedResult) {
	ls := r.ls
	ls.codedBusy = false
	if !e.reg.registered(ls) {
		return
	}
	if r.err != nil {
		e.codedDue[ls] = struct{}{} // the retry tick reads again
		e.log.Warn("cannot read coded downtime events; retrying", "tenant", ls.ten.slug, "line", ls.id, "err", r.err)
		return
	}
	ls.fold.coded = ls.fold.coded[:0]
	stale := false
	for _, ev := range r.evs {
		if ev.ReasonCode == "" {
			continue
		}
		ls.fold.coded = append(ls.fold.coded, codedStop{Start: ev.Start, End: ev.End, Code: ev.ReasonCode})
		if o := ls.fold.open; ev.End == nil && (o == nil || !o.Start.Equal(ev.Start)) {
			stale = true
		}
	}
	// An event read open that the fold has ended: its end is being stored; read again on
	// the retry tick, a bounded number of times (a row left open for good must not cost a
	// read every second).
	switch {
	case !stale:
		ls.codedStale = 0
	case ls.codedStale < maxStaleReads:
		ls.codedStale++
		e.codedDue[ls] = struct{}{}
	}
	ls.dirty = true
	if ls.codedAgain {
		e.refreshCoded(ls)
	}
}

// codedNoticed refreshes the line a notice names (on the loop).
func (e *Engine) codedNoticed(n CodedNotice) {
	if ls := e.reg.lineByID(n.Tenant, n.Line); ls != nil {
		e.refreshCoded(ls)
	}
}

// retryCoded re-reads the lines whose last read failed (retry tick).
func (e *Engine) retryCoded() {
	for ls := range e.codedDue {
		e.refreshCoded(ls)
	}
	stale := e.now().Add(-e.cfg.CodedRefresh)
	for ts := range e.reg.all() {
		for _, ls := range ts.lines {
			if !ls.codedBusy && len(ls.fold.periods) > 0 && ls.codedReadAt.Before(stale) {
				e.refreshCoded(ls)
			}
		}
	}
}
