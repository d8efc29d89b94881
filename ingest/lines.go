package ingest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/linepulse/linepulse/detection"
)

// pendingMsg is a message whose detections wait in a line's queue.
type pendingMsg struct {
	msg  jetstream.Msg
	rows []detection.Detection
	size int64     // its weight in the pending-bytes account
	at   time.Time // when it was received (on the writer's clock), for FlushInterval
}

// lineWriter owns the queue of one (tenant, line) and the one goroutine that writes it:
// there is never more than one transaction per line at a time.
type lineWriter struct {
	w      *Writer
	ts     *tenantState
	tenant int64
	line   int64
	sig    chan struct{}         // "look again": rows arrived in an empty queue, or it is full
	batch  []detection.Detection // the batch being assembled or written; line goroutine only

	mu       sync.Mutex // guards the fields below; held briefly, never with another lock
	queue    []pendingMsg
	queued   int          // detections in queue
	due      bool         // flush without waiting for FlushInterval (the writer caught up)
	inflight []pendingMsg // messages of the batch being written (for keepAlive)
}

// lineWriter returns the writer of (tenant, line), starting its goroutine on first use.
// Called from the fetch goroutine only.
func (w *Writer) lineWriter(ts *tenantState, line int64) *lineWriter {
	k := lineKey{ts.id, line}
	w.mu.Lock()
	defer w.mu.Unlock()
	if l, ok := w.lines[k]; ok {
		return l
	}
	l := &lineWriter{w: w, ts: ts, tenant: ts.id, line: line, sig: make(chan struct{}, 1)}
	w.lines[k] = l
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		l.run()
	}()
	return l
}

// add queues a message's detections (copied). It reports whether the line was not
// yet due for a flush (the writer then flushes it soon, once caught up).
func (l *lineWriter) add(rows []detection.Detection, p pendingMsg) bool {
	p.rows = append([]detection.Detection(nil), rows...)
	l.mu.Lock()
	wasEmpty := len(l.queue) == 0
	l.queue = append(l.queue, p)
	l.queued += len(rows)
	full := l.queued >= l.w.cfg.BatchSize
	due := l.due
	l.mu.Unlock()
	if wasEmpty || full {
		l.wake()
	}
	return !due
}

// flushSoon makes the line flush what it holds as soon as its transaction in flight,
// if any, has committed.
func (l *lineWriter) flushSoon() {
	l.mu.Lock()
	l.due = l.queued > 0 // a batch that filled up may have taken everything
	l.mu.Unlock()
	l.wake()
}

func (l *lineWriter) wake() {
	select {
	case l.sig <- struct{}{}:
	default:
	}
}

// touch keeps messages received before old alive (InProgress).
func (l *lineWriter) touch(old time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, set := range [][]pendingMsg{l.inflight, l.queue} {
		for _, p := range set {
			if p.at.Before(old) {
				_ = p.msg.InProgress()
			}
		}
	}
}

// run flushes the batch whenever it is full or its oldest message waited FlushInterval,
// until the writer stops; then it flushes everything it holds.
func (l *lineWriter) run() {
	w := l.w
	for {
		l.mu.Lock()
		n, due := l.queued, l.due
		var first time.Time
		if len(l.queue) > 0 {
			first = l.queue[0].at
		}
		l.mu.Unlock()
		if w.soft.Err() != nil {
			for l.flush() {
			}
			return
		}
		switch {
		case n >= w.cfg.BatchSize || (n > 0 && due):
			l.flush()
		case n > 0:
			wait := first.Add(w.cfg.FlushInterval).Sub(w.clk.Now())
			if wait <= 0 {
				l.flush()
				continue
			}
			t := w.clk.NewTimer(wait)
			select {
			case <-l.sig:
			case <-t.C():
			case <-w.soft.Done():
			}
			t.Stop()
		default:
			select {
			case <-l.sig:
			case <-w.soft.Done():
			}
		}
	}
}

// flush writes one batch (whole messages, at most BatchSize detections unless a single
// message is larger) and acknowledges its messages after the commit. It reports whether
// it took anything.
func (l *lineWriter) flush() bool {
	w := l.w
	l.mu.Lock()
	k, n := 0, 0
	for k < len(l.queue) && (k == 0 || n+len(l.queue[k].rows) <= w.cfg.BatchSize) {
		n += len(l.queue[k].rows)
		k++
	}
	if k == 0 {
		l.mu.Unlock()
		return false
	}
	msgs := append([]pendingMsg(nil), l.queue[:k]...)
	clear(l.queue[:k]) // no references from the consumed part of the array
	l.queue = l.queue[k:]
	l.queued -= n
	l.due = l.due && l.queued > 0
	batch := l.batch[:0]
	for i := range msgs {
		batch = append(batch, msgs[i].rows...)
		msgs[i].rows = nil
	}
	l.inflight = msgs
	l.mu.Unlock()
	if w.cfg.Observe != nil {
		w.cfg.Observe("writer.queue", w.clk.Now().Sub(msgs[0].at))
	}

	err := l.write(batch)
	switch {
	case err == nil:
		for _, p := range msgs {
			w.ack(p.msg, p.size)
		}
	case errors.Is(err, errLineGone):
		w.deadLetterMessages(l.ts.slug, msgs, fmt.Sprintf("line %d was deleted before its detections were stored", l.line))
	default: // the writer is stopping and the database did not come back in time
		for _, p := range msgs {
			_ = p.msg.Nak()
			w.releaseBytes(p.size)
		}
	}
	l.mu.Lock()
	l.inflight = nil
	l.mu.Unlock()
	l.batch = batch[:0]
	return true
}

var errLineGone = errors.New("ingest: line no longer exists")

// write stores a batch, retrying with capped exponential backoff until it commits, the
// line turns out to be deleted (errLineGone), or the writer's hard deadline passes.
func (l *lineWriter) write(batch []detection.Detection) error {
	w := l.w
	var (
		firstFail time.Time
		lastWarn  time.Time
	)
	for attempt := 0; ; attempt++ {
		err := l.writeOnce(batch)
		if err == nil {
			if attempt > 0 {
				w.log.Info("ingest: database writes resumed", "tenant", l.ts.slug, "line", l.line, "attempts", attempt+1, "after", w.clk.Now().Sub(firstFail).Round(time.Millisecond))
			}
			return nil
		}
		w.count.dbErrors.Add(1)
		if w.hard.Err() != nil {
			return fmt.Errorf("ingest: writer stopped before line %d's batch was stored: %w", l.line, err)
		}
		now := w.clk.Now()
		if attempt == 0 {
			firstFail = now
		}
		switch {
		case retryableLock(err):
			w.log.Debug("ingest: lock conflict; retrying", "tenant", l.ts.slug, "line", l.line, "err", err)
		case now.Sub(lastWarn) >= warnEvery:
			lastWarn = now
			w.log.Warn("ingest: cannot store detections; retrying (nothing is acknowledged meanwhile)",
				"tenant", l.ts.slug, "line", l.line, "rows", len(batch), "attempt", attempt+1, "failing_for", now.Sub(firstFail).Round(time.Millisecond), "err", err)
		}
		if attempt >= 2 && attempt%3 == 2 {
			ctx, cancel := context.WithTimeout(w.hard, 5*time.Second)
			exists := w.lineExists(ctx, l.tenant, l.line)
			cancel()
			if !exists {
				return errLineGone
			}
		}
		if !w.clk.Sleep(w.hard, backoff(attempt)) {
			return fmt.Errorf("ingest: writer stopped before line %d's batch was stored: %w", l.line, err)
		}
	}
}

func (l *lineWriter) writeOnce(batch []detection.Detection) error {
	w := l.w
	ctx, cancel := context.WithTimeout(w.hard, writeTimeout)
	defer cancel()
	start := w.clk.Now()
	tdb, pool, err := l.ts.writer(ctx, l.tenant, w.st, w.cfg.PoolSize)
	if err != nil {
		return err
	}
	res, err := tdb.WriteDetections(ctx, pool, l.line, batch)
	if err != nil {
		return err
	}
	took := w.clk.Now().Sub(start)
	w.m.flush.Observe(took.Seconds())
	if w.cfg.Observe != nil {
		w.cfg.Observe("writer.commit", took)
	}
	w.m.batchSize.Observe(float64(len(batch)))
	w.count.batches.Add(1)
	w.count.stored.Add(uint64(res.Inserted))
	w.count.duplicates.Add(uint64(res.Duplicates))
	return nil
}

// retryableLock reports MySQL deadlocks (1213) and lock wait timeouts (1205): expected
// under contention, retried quietly.
func retryableLock(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && (me.Number == 1213 || me.Number == 1205)
}
