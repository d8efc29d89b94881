package stream

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/linepulse/linepulse/bus"
	"github.com/linepulse/linepulse/store"
)

// Late detections. The fold counts a detection older than the line's newest one but does
// not judge stops with it. When such a detection may fill or split a gap (it is older than
// the newest by more than the line's threshold), the engine schedules, debounced per line
// on its clock, the re-booking that linepulse recompute does: the line's events that start
// between a lookback before the earliest late detection and the newest detection are
// re-booked from the stored detections, and the events that changed are republished. The
// job runs in the line's persistence FIFO, so every event the fold booked before it is
// stored first and none booked before it can overwrite it. It waits for the writer's
// durable consumer to have acknowledged (committed) the late messages.

// lateJob is a pending re-booking of one line.
type lateJob struct {
	from     time.Time // earliest late detection
	seq      uint64    // last stream message holding a late detection
	to       time.Time // set when the job is queued: the line's newest detection
	hist     *History
	upserted []store.DowntimeEvent // result: events new or changed
	deleted  []store.DowntimeEvent // result: events no longer stops
	replaced []store.DowntimeEvent // result: the stored versions of the changed events
}

// noteLate records a late detection at at from stream message seq and (re)starts the
// line's debounce timer.
func (e *Engine) noteLate(ls *lineState, at time.Time, seq uint64) {
	if e.cfg.LateRecompute < 0 {
		return
	}
	if ls.late == nil {
		ls.late = &lateJob{from: at}
	}
	if at.Before(ls.late.from) {
		ls.late.from = at
	}
	ls.late.seq = max(ls.late.seq, seq)
	if ls.lateTimer == nil {
		ls.lateTimer = e.clk.AfterFunc(e.cfg.LateRecompute, func() { e.lateFired(ls) })
		return
	}
	ls.lateTimer.Reset(e.cfg.LateRecompute)
}

// lateFired runs on the timer's goroutine: it hands the line to the loop, as fire does.
func (e *Engine) lateFired(ls *lineState) {
	e.firedMu.Lock()
	e.lateDue = append(e.lateDue, ls)
	e.firedMu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// queueLate puts the line's pending job into its persistence FIFO (on the loop).
func (e *Engine) queueLate(ls *lineState) {
	j := ls.late
	if j == nil || !e.reg.registered(ls) {
		return
	}
	last, ok := ls.fold.tr.Last()
	if !ok || !j.from.Before(last) {
		ls.late = nil
		return
	}
	ls.late, ls.cpDirty = nil, true
	j.to, j.hist = last, e.hist
	e.m.lateRecomputes.Inc()
	e.enqueue(ls, &persistOp{tenantID: ls.ten.id, lineID: ls.id, start: j.from, late: j})
}

// errWriterBehind: the late detections are not committed yet; the job is retried.
var errWriterBehind = errors.New("stream: the writer has not committed the late detections yet")

// rebook runs a late job on the persister.
func (e *Engine) rebook(ctx context.Context, op *persistOp) error {
	j := op.late
	if err := e.writerCommitted(ctx, j.seq); err != nil {
		return err
	}
	// Recompute's range, to capped at now as Recompute caps it.
	from, to := j.from.Add(-recomputeLookback), earlier(j.to, e.now())
	if !from.Before(to) {
		return nil
	}
	tdb, err := e.st.Tenant(ctx, op.tenantID)
	if err != nil {
		return err
	}
	before, err := tdb.ListDowntime(ctx, op.lineID, from, to, store.DowntimeFilter{}, store.Page{Limit: store.MaxPageSize})
	if err != nil {
		return fmt.Errorf("stream: cannot re-book line %d: %w", op.lineID, err)
	}
	res, err := j.hist.Recompute(ctx, op.tenantID, op.lineID, from, to)
	if err != nil {
		return err
	}
	old := map[int64]store.DowntimeEvent{}
	for _, ev := range before {
		old[ev.Start.UnixMilli()] = ev
	}
	j.upserted, j.deleted, j.replaced = nil, nil, nil
	for _, ev := range res.Events {
		o, ok := old[ev.Start.UnixMilli()]
		delete(old, ev.Start.UnixMilli())
		if ok && o.End != nil && o.End.Equal(*ev.End) {
			continue
		}
		if ok {
			ev.ID = o.ID
			j.replaced = append(j.replaced, o)
		}
		j.upserted = append(j.upserted, ev)
	}
	for _, o := range old {
		j.deleted = append(j.deleted, o)
	}
	return nil
}

// writerCommitted reports errWriterBehind while the writer's durable consumer has not
// acknowledged stream message seq. Without such a consumer (no writer on this system)
// the delay alone has to do.
func (e *Engine) writerCommitted(ctx context.Context, seq uint64) error {
	if e.js == nil || e.cfg.WriterDurable == "" {
		return nil
	}
	c, err := e.js.Consumer(ctx, bus.DetStream, e.cfg.WriterDurable)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("stream: cannot read the writer's position: %w", err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		return fmt.Errorf("stream: cannot read the writer's position: %w", err)
	}
	if info.AckFloor.Stream < seq {
		return errWriterBehind
	}
	return nil
}

// lateDone republishes what a late job changed (on the loop).
func (e *Engine) lateDone(ls *lineState, j *lateJob) {
	chs := make([]change, 0, len(j.deleted)+len(j.upserted))
	for _, ev := range j.deleted {
		chs = append(chs, change{State: DowntimeCancelled, Start: ev.Start, ID: ev.ID})
	}
	for _, ev := range j.upserted {
		chs = append(chs, change{State: DowntimeEnded, Start: ev.Start, End: *ev.End, Duration: time.Duration(ev.DurationMS) * time.Millisecond, ID: ev.ID})
	}
	for _, c := range chs {
		e.announce(ls, c)
	}
	// The periods the engine keeps (the live tiles) take the corrected events too.
	for _, ev := range j.deleted {
		ls.fold.adjust(ev, -1)
	}
	for _, ev := range j.replaced {
		ls.fold.adjust(ev, -1)
	}
	for _, ev := range j.upserted {
		ls.fold.adjust(ev, 1)
	}
	ls.dirty, ls.cpDirty = true, true
	e.refreshCoded(ls) // moved ends: read the coded events again
}
