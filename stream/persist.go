package stream

import (
	"context"
	"encoding/json"
	"time"

	"github.com/linepulse/linepulse/internal/clock"
	"github.com/linepulse/linepulse/store"
)

// Downtime persistence runs beside the fold: each line has a FIFO of operations on its
// downtime table (book an open event, close it, withdraw it), one in flight at a time so
// they apply in order; a later operation on the same event replaces a queued earlier one.
// While the database is down the queue waits (and is checkpointed) and the loop keeps
// folding, publishing and alerting.

const (
	persistTimeout    = 5 * time.Second
	persistBackoffMin = time.Second
	persistBackoffMax = 30 * time.Second
)

type persistOp struct {
	tenantID, lineID int64
	start            time.Time
	event            *store.DowntimeEvent // nil: withdraw the open event at start
	late             *lateJob             // set: re-book the line (late.go), event unused
	micro            *store.MicroStopRow  // set: store a minute's micro-stops (microstops.go), event unused
	inflight         bool
}

type persistResult struct {
	op  *persistOp
	id  int64
	err error
}

func (e *Engine) enqueue(ls *lineState, op *persistOp) {
	kept := ls.pending[:0]
	for _, p := range ls.pending {
		if p.inflight || !p.start.Equal(op.start) || p.late != nil || op.late != nil || (p.micro == nil) != (op.micro == nil) {
			kept = append(kept, p)
		}
	}
	ls.pending = append(kept, op)
	e.pendLines[ls] = struct{}{}
	e.pump(ls, e.now())
	e.m.persistQueue.Set(float64(e.queued()))
}

func (e *Engine) queued() int {
	n := 0
	for ls := range e.pendLines {
		n += len(ls.pending)
	}
	return n
}

// pump hands the line's next operation to the persister when none is in flight.
func (e *Engine) pump(ls *lineState, now time.Time) {
	if len(ls.pending) == 0 || ls.pending[0].inflight || now.Before(ls.retryAt) {
		return
	}
	select {
	case e.persistCh <- ls.pending[0]:
		ls.pending[0].inflight = true
	default: // persister busy: the retry tick sends it
	}
}

func (e *Engine) pumpAll() {
	now := e.now()
	for ls := range e.pendLines {
		if !e.reg.registered(ls) {
			delete(e.pendLines, ls)
			continue
		}
		e.pump(ls, now)
	}
}

func (e *Engine) handleResult(r persistResult) {
	ls := e.reg.lineByID(r.op.tenantID, r.op.lineID)
	if ls == nil || len(ls.pending) == 0 || ls.pending[0] != r.op {
		return
	}
	ts := ls.ten
	if r.err != nil {
		r.op.inflight = false
		ls.failures++
		ls.backoff = min(max(2*ls.backoff, persistBackoffMin), persistBackoffMax)
		ls.retryAt = e.now().Add(ls.backoff)
		e.m.persistErrors.Inc()
		if ls.failures == 1 || ls.failures%20 == 0 {
			e.log.Warn("cannot store downtime event; queued for retry", "tenant", ts.slug, "line", ls.id,
				"start", r.op.start, "queued", len(ls.pending), "failures", ls.failures, "err", r.err)
		}
		return
	}
	if ls.failures > 0 {
		e.log.Info("downtime events stored again", "tenant", ts.slug, "line", ls.id, "after_failures", ls.failures)
	}
	ls.failures, ls.backoff, ls.retryAt = 0, 0, time.Time{}
	ls.pending = ls.pending[1:]
	ls.cpDirty = true
	if r.op.late != nil {
		e.lateDone(ls, r.op.late)
	}
	if o := ls.fold.open; o != nil && r.op.event != nil && r.op.micro == nil && o.Start.Equal(r.op.start) {
		o.ID = r.id
	}
	if len(ls.pending) == 0 {
		delete(e.pendLines, ls)
	}
	e.pump(ls, e.now())
	e.m.persistQueue.Set(float64(e.queued()))
}

// persister executes operations one at a time.
func (e *Engine) persister(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case op := <-e.persistCh:
			r := persistResult{op: op}
			r.id, r.err = e.apply(ctx, op)
			select {
			case e.resultCh <- r:
			case <-ctx.Done():
				return
			}
		}
	}
}

func (e *Engine) apply(ctx context.Context, op *persistOp) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, persistTimeout)
	defer cancel()
	tdb, err := e.st.Tenant(ctx, op.tenantID)
	if err != nil {
		return 0, err
	}
	if op.late != nil {
		return 0, e.rebook(ctx, op)
	}
	if m := op.micro; m != nil {
		return 0, tdb.ReplaceMicroStops(ctx, op.lineID, store.MinuteRange{From: m.Minute, To: m.Minute + 1}, []store.MicroStopRow{*m})
	}
	if op.event == nil {
		_, err := tdb.DeleteOpenDowntime(ctx, op.lineID, op.start)
		return 0, err
	}
	ev := *op.event
	if err := tdb.UpsertDowntime(ctx, op.lineID, &ev); err != nil {
		return 0, err
	}
	return ev.ID, nil
}

// ---- checkpoints ----

type cpJob struct {
	writes []cpWrite
	seq    uint64
}

// checkpoint hands the changed state to the checkpointer unless one is being written.
func (e *Engine) checkpoint() {
	if e.cpBusy {
		return
	}
	job := e.cpSnapshot(e.cpAll)
	e.cpAll = false
	e.sinceCP = 0
	e.cpBusy = true
	e.cpCh <- job // capacity 1 and cpBusy was false: never blocks
}

// cpSnapshot serialises the lines (all, or the changed ones) and changed plant models.
func (e *Engine) cpSnapshot(all bool) cpJob {
	job := cpJob{seq: e.lastSeq}
	for ts := range e.reg.all() {
		if ts.metaDirty || all {
			if data, err := json.Marshal(ts.meta); err == nil && len(data) <= maxCPValue {
				job.writes = append(job.writes, cpWrite{cpMetaPfx + ts.slug, data})
				ts.metaDirty = false
			} else if err == nil {
				e.log.Warn("plant model too large to checkpoint; a restart with the database down will not know it", "tenant", ts.slug, "bytes", len(data))
				ts.metaDirty = false
			}
		}
		for _, ls := range ts.lines {
			if !ls.cpDirty && !all {
				continue
			}
			cp := ls.fold.snapshot()
			cp.Tenant, cp.Seq, cp.StreamSeq = ts.slug, ls.seq, max(e.lastSeq, ls.floor)
			if j := ls.late; j != nil {
				cp.Late = &rebookCP{From: j.from, Seq: j.seq}
			}
			for _, op := range ls.pending {
				p := persistCP{Start: op.start, Delete: op.event == nil && op.late == nil && op.micro == nil, Micro: op.micro}
				if j := op.late; j != nil {
					p.Rebook = &rebookCP{From: j.from, To: j.to, Seq: j.seq}
				}
				if op.event != nil {
					p.End, p.DurationMS = op.event.End, op.event.DurationMS
				}
				cp.Pending = append(cp.Pending, p)
			}
			data, err := json.Marshal(cp)
			if err != nil {
				e.log.Error("cannot encode checkpoint", "tenant", ts.slug, "line", ls.id, "err", err)
				continue
			}
			if len(data) > maxCPValue {
				e.log.Warn("line checkpoint too large; trimming product and area detail", "tenant", ts.slug, "line", ls.id, "bytes", len(data))
				for i := range cp.Periods {
					cp.Periods[i].Products, cp.Periods[i].Areas = nil, nil
				}
				data, _ = json.Marshal(cp)
			}
			job.writes = append(job.writes, cpWrite{lineKeyCP(ts.slug, ls.id), data})
			ls.cpDirty = false
		}
	}
	return job
}

func (e *Engine) checkpointer(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case job := <-e.cpCh:
			start := e.now()
			c, cancel := context.WithTimeout(ctx, 30*time.Second)
			err := writeCheckpoint(c, e.js, job.writes, job.seq)
			cancel()
			e.m.checkpointDur.Observe(e.now().Sub(start).Seconds())
			select {
			case e.cpDone <- err:
			case <-ctx.Done():
				return
			}
		}
	}
}

// restoreLine loads a line's checkpoint and its last published sequence.
func (e *Engine) restoreLine(ls *lineState) {
	key := lineKey{ls.ten.slug, ls.id}
	cp, ok := e.restored[key]
	if ok {
		delete(e.restored, key)
		ls.fold.restore(cp)
		ls.seq, ls.floor = cp.Seq, cp.StreamSeq
		if e.resetFloors {
			ls.floor = 0
		}
		for _, p := range cp.Pending {
			op := &persistOp{tenantID: ls.ten.id, lineID: ls.id, start: p.Start}
			switch r := p.Rebook; {
			case r != nil:
				op.late = &lateJob{from: r.From, to: r.To, seq: r.Seq, hist: e.hist}
			case p.Micro != nil:
				op.micro = p.Micro
			case !p.Delete:
				op.event = &store.DowntimeEvent{Start: p.Start, End: p.End, DurationMS: p.DurationMS}
			}
			ls.pending = append(ls.pending, op)
		}
		if len(ls.pending) > 0 {
			e.pendLines[ls] = struct{}{}
		}
		if r := cp.Late; r != nil {
			e.noteLate(ls, r.From, r.Seq)
		}
	}
	// Messages published after the checkpoint carried later sequences: continue after the
	// latest KPI snapshot, and skip one number so a downtime message published after that
	// snapshot is never reused (a client sees a gap and resyncs, never a repeat).
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if en, err := e.kpiKV.Get(ctx, KPIKey(ls.ten.slug, ls.id)); err == nil {
		var k struct {
			Seq uint64 `json:"seq"`
		}
		if json.Unmarshal(en.Value(), &k) == nil && k.Seq > ls.seq {
			ls.seq = k.Seq
		}
		ls.seq++
	} else if ok {
		ls.seq++
	}
}

// finalCheckpoint waits for a running checkpoint and writes everything that changed.
func (e *Engine) finalCheckpoint() {
	if e.cpBusy {
		err, ok := clock.RecvWithin(e.clk, 30*time.Second, e.cpDone)
		if !ok {
			e.log.Error("checkpoint did not finish; state since the last good checkpoint will be replayed")
			return
		}
		e.cpAll = e.cpAll || err != nil
		e.cpBusy = false
	}
	job := e.cpSnapshot(e.cpAll)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := writeCheckpoint(ctx, e.js, job.writes, job.seq); err != nil {
		e.log.Error("final checkpoint failed; the stream since the last checkpoint will be replayed", "err", err)
		return
	}
	e.m.checkpoints.WithLabelValues("ok").Inc()
}
