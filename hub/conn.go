package hub

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/time/rate"

	"github.com/linepulse/linepulse/identity"
)

// conn is one WebSocket client. Its outbound state is bounded: per subscribed line the
// latest KPI frame (coalesced), and one ordered queue of the frames that must not be
// dropped (errors, snapshots, resume replays, downtime events), so that replies come
// in request order and each line's frames in seq order.
//
// Writing: at most one party writes the socket at a time, and c.own (sockState) says
// which. Usually that is a writer-pool worker, which gathers everything pending and
// writes it with one non-blocking write(2); when the socket is full the rest goes to a
// goroutine of the connection (slow mode) that writes with a deadline, while new KPI
// updates coalesce. The dispatcher queues a connection in the pool only when it is
// idle (or, for a downtime event, merely queued); a pool entry that finds the
// connection no longer queued is stale and does nothing.
type conn struct {
	// set before the reader starts, read-only afterwards
	h       *Hub
	ws      *websocket.Conn
	rc      *rawConn
	p       identity.Principal
	ipKey   string
	userKey string
	lim     *rate.Limiter // the reader's only

	lastPing int64 // unix ns; the janitor's only

	mu       sync.Mutex
	subs     []*sub        // guarded by mu
	dirty    []*sub        // guarded by mu: subs with a pending latest KPI
	queue    []*frame      // guarded by mu: ordered frames that are never coalesced
	out      []byte        // guarded by mu: bytes for the socket's next holder to write first (control frames, the rest of a cut frame)
	own      sockState     // guarded by mu: who may write the socket; changed by the transitions of sockstate.go only
	life     lifeState     // guarded by mu: open → closing → dead
	flushed  chan struct{} // guarded by mu: closed when the socket is no longer busy (waitWritten)
	queued   int           // guarded by mu: frames queued by the dispatcher or errors since the last collect
	dtWait   int64         // guarded by mu: unix ns, oldest downtime event queued and not collected (0 = none)
	dtFlight int64         // guarded by mu: unix ns, oldest downtime event collected and not yet written
}

// sub is one line a connection is subscribed to.
type sub struct {
	c    *conn
	t    *topic
	line int64
	idx  int // guarded by t.mu: position in t.subs, -1 once detached

	seq    uint64 // guarded by c.mu: highest seq queued for the client
	latest *frame // guarded by c.mu: pending KPI, newer than every frame of the line in c.queue
	dirty  bool   // guarded by c.mu: in c.dirty
}

// deliver queues f for s. It runs in the dispatcher with t.mu held and reports whether
// and how the connection must be handed to the writer pool.
func (c *conn) deliver(s *sub, f *frame, now time.Time) sched {
	c.mu.Lock()
	if c.life != lifeOpen || s.idx < 0 {
		c.mu.Unlock()
		return schedNone
	}
	if f.reset {
		s.seq = 0
	}
	if f.seq <= s.seq {
		c.mu.Unlock() // already queued as part of a snapshot or a resume
		return schedNone
	}
	s.seq = f.seq
	if f.kind == kindKPI {
		if s.latest != nil {
			c.h.stats.coalesced.Add(1)
		}
		s.latest = f
		if !s.dirty {
			s.dirty = true
			c.dirty = append(c.dirty, s)
		}
	} else {
		if s.latest != nil { // keep the line's order: the older KPI goes first
			c.queue = append(c.queue, s.latest)
			s.latest = nil
			c.queued++
		}
		c.queue = append(c.queue, f)
		c.queued++
		if c.dtWait == 0 {
			c.dtWait = now.UnixNano()
		}
		if c.own == sockSlow {
			c.setDeadlineLocked(now)
		}
	}
	if c.queued > c.h.cfg.QueueSize {
		c.mu.Unlock()
		c.h.stats.slowDisconnects.Add(1)
		c.h.log.Info("hub: client too slow: queue overflow", "remote", c.ipKey, "queued", c.h.cfg.QueueSize)
		go c.closeWith(CloseTooSlow, "too slow")
		return schedNone
	}
	sc := c.queueLocked(f.kind == kindDowntime)
	c.mu.Unlock()
	return sc
}

// setDeadlineLocked (re)arms the slow writer's deadline: WriteTimeout from now, or
// sooner when a downtime event has waited DowntimeDeadline.
func (c *conn) setDeadlineLocked(now time.Time) {
	d := now.Add(c.h.cfg.WriteTimeout)
	if c.life != lifeOpen {
		d = now.Add(closeGrace)
	}
	for _, at := range [2]int64{c.dtWait, c.dtFlight} {
		if at != 0 {
			if dl := time.Unix(0, at).Add(c.h.cfg.DowntimeDeadline); dl.Before(d) {
				d = dl
			}
		}
	}
	_ = c.rc.SetWriteDeadline(d)
}

// attach adds (or, for a resume of a line already subscribed, resets) the subscription
// of t's line with frames queued first. It runs with t.mu held.
func (c *conn) attach(t *topic, frames []*frame, last uint64) (attached bool, sc sched) {
	c.mu.Lock()
	if c.life != lifeOpen {
		c.mu.Unlock()
		return false, schedNone
	}
	s := c.findSubLocked(t.key.line)
	if s == nil {
		s = &sub{c: c, t: t, line: t.key.line, idx: len(t.subs)}
		t.subs = append(t.subs, s)
		c.subs = append(c.subs, s)
		c.h.stats.subscriptions.Add(1)
	} else {
		c.dropLineLocked(s) // a resume restarts the line's stream
	}
	c.queue = append(c.queue, frames...)
	s.seq = last
	if len(frames) > 0 {
		sc = c.queueLocked(false)
	}
	c.mu.Unlock()
	return true, sc
}

// dropLineLocked forgets the pending data frames of s's line.
func (c *conn) dropLineLocked(s *sub) {
	s.latest = nil
	c.queue = slices.DeleteFunc(c.queue, func(f *frame) bool {
		return f.line == s.line && f.kind != kindError && f.kind != kindPing
	})
}

func (c *conn) findSubLocked(line int64) *sub {
	for _, s := range c.subs {
		if s.line == line {
			return s
		}
	}
	return nil
}

// collectLocked moves every pending frame into dst, in the order it must be written.
func (c *conn) collectLocked(dst []*frame) []*frame {
	open := c.life == lifeOpen
	if open {
		dst = append(dst, c.queue...)
	}
	for _, s := range c.dirty {
		if s.latest != nil && open {
			dst = append(dst, s.latest)
		}
		s.latest = nil
		s.dirty = false
	}
	clear(c.queue)
	c.queue = c.queue[:0]
	clear(c.dirty)
	c.dirty = c.dirty[:0]
	c.queued = 0
	if c.dtWait != 0 {
		if c.dtFlight == 0 {
			c.dtFlight = c.dtWait
		}
		c.dtWait = 0
	}
	return dst
}

// worker is the reusable scratch space of one writer-pool goroutine.
type worker struct {
	buf    []byte
	frames []*frame
}

// flushRounds bounds how many gather-and-write rounds a worker spends on one connection
// before it goes to the back of the queue.
const flushRounds = 4

// flush writes what is pending on c for the pool worker that took an entry of c from
// the pool. It returns where c goes next: back in the pool when the worker used its
// rounds and more may be pending, else nowhere.
func (c *conn) flush(w *worker) sched {
	c.mu.Lock()
	if !c.startWriteLocked() {
		c.mu.Unlock() // a stale entry
		return schedNone
	}
	for range flushRounds {
		if c.life == lifeDead {
			c.endWriteLocked(false)
			c.mu.Unlock()
			return schedNone
		}
		frames := c.collectLocked(w.frames[:0])
		out := c.out
		c.out = nil
		if len(frames) == 0 && len(out) == 0 {
			c.dtFlight = 0
			c.endWriteLocked(false)
			c.mu.Unlock()
			w.frames = frames
			return schedNone
		}
		c.mu.Unlock()
		var data []byte
		if len(out) == 0 && len(frames) == 1 {
			data = frames[0].data // the shared frame itself: no copy
		} else {
			data = append(w.buf[:0], out...)
			for _, f := range frames {
				data = append(data, f.data...)
			}
			w.buf = data
		}
		n, err := c.rc.writeNow(data)
		if err != nil {
			clear(frames)
			w.frames = frames[:0]
			c.fail(err)
			return schedNone
		}
		if n < len(data) {
			c.goSlow(data[n:], frames)
			clear(frames)
			w.frames = frames[:0]
			return schedNone
		}
		c.h.account(frames, c.h.cfg.Now())
		clear(frames)
		w.frames = frames[:0]
		c.mu.Lock()
	}
	sc := c.endWriteLocked(true)
	c.mu.Unlock()
	return sc
}

// goSlow hands the socket to a goroutine of this connection that writes rest (and
// whatever follows) with blocking writes under a deadline.
func (c *conn) goSlow(rest []byte, frames []*frame) {
	buf := bytes.Clone(rest)
	fs := slices.Clone(frames)
	c.mu.Lock()
	ok := c.goSlowLocked()
	c.mu.Unlock()
	if ok {
		go c.slowLoop(buf, fs)
	}
}

func (c *conn) slowLoop(buf []byte, frames []*frame) {
	for {
		c.mu.Lock()
		if c.life == lifeDead {
			c.endSlowLocked()
			c.mu.Unlock()
			return
		}
		c.setDeadlineLocked(c.h.cfg.Now())
		c.mu.Unlock()
		n, err := c.rc.Conn.Write(buf)
		if err != nil {
			if isTimeout(err) {
				c.writeTimedOut(buf[n:])
			} else {
				c.fail(err)
			}
			return
		}
		now := c.h.cfg.Now()
		c.h.account(frames, now)
		c.mu.Lock()
		c.dtFlight = 0
		frames = c.collectLocked(frames[:0])
		out := c.out
		c.out = nil
		if len(frames) == 0 && len(out) == 0 {
			_ = c.rc.SetWriteDeadline(time.Time{}) // before the next holder's writes
			c.endSlowLocked()
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		buf = append(buf[:0], out...)
		for _, f := range frames {
			buf = append(buf, f.data...)
		}
	}
}

// writeTimedOut ends slow mode after a write deadline passed with rest of the socket's
// current frame unwritten: the client is closed with CloseTooSlow, or, when a close
// was already under way, the socket is closed at once.
func (c *conn) writeTimedOut(rest []byte) {
	c.mu.Lock()
	wasOpen := c.beginCloseLocked()
	// the socket is mid-frame: what is left of it must precede anything else
	c.out = append(bytes.Clone(rest), c.out...)
	_ = c.rc.SetWriteDeadline(time.Time{})
	c.endSlowLocked()
	c.mu.Unlock()
	if !wasOpen {
		_ = c.rc.Conn.Close() // not even the close frame gets through
		return
	}
	c.h.stats.slowDisconnects.Add(1)
	c.h.log.Info("hub: client too slow: write deadline", "remote", c.ipKey)
	c.closeHandshake(CloseTooSlow, "too slow")
}

// fail closes the socket after a write error of its holder; the reader then cleans up.
func (c *conn) fail(err error) {
	c.mu.Lock()
	c.beginCloseLocked()
	c.abandonLocked()
	c.mu.Unlock()
	c.h.log.Debug("hub: write failed; closing", "remote", c.ipKey, "err", err)
	_ = c.rc.Conn.Close()
}

// closeGrace bounds a close handshake started by the server.
const closeGrace = 2 * time.Second

// closeWith starts a close handshake with code: pending data is dropped, the close
// frame queued behind what is being written, and the socket closed after closeGrace
// whatever the peer does.
func (c *conn) closeWith(code websocket.StatusCode, reason string) {
	c.mu.Lock()
	open := c.beginCloseLocked()
	c.mu.Unlock()
	if open {
		c.closeHandshake(code, reason)
	}
}

// closeHandshake has coder/websocket write the close frame (through corkWriter, behind
// what the socket's holder is writing) and wait for the peer's; the socket is closed
// after closeGrace whatever the peer does.
func (c *conn) closeHandshake(code websocket.StatusCode, reason string) {
	t := time.AfterFunc(closeGrace, func() { _ = c.rc.Conn.Close() })
	_ = c.ws.Close(code, reason)
	t.Stop()
}

// enqueueCtrl queues an error or ping frame behind what is queued.
func (c *conn) enqueueCtrl(f *frame) {
	c.mu.Lock()
	if c.life != lifeOpen {
		c.mu.Unlock()
		return
	}
	if c.queued++; c.queued > c.h.cfg.QueueSize {
		c.mu.Unlock()
		c.h.stats.slowDisconnects.Add(1)
		go c.closeWith(CloseTooSlow, "too slow")
		return
	}
	c.queue = append(c.queue, f)
	sc := c.queueLocked(false)
	c.mu.Unlock()
	c.h.pool.schedule(c, sc)
}

func (c *conn) sendError(code, op string, line int64, msg string) {
	c.enqueueCtrl(errorFrame(code, op, line, msg))
}

func (c *conn) isClosing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.life != lifeOpen
}

// readLoop reads client messages until the connection ends, then cleans up. Pings,
// pongs and close frames are handled inside coder/websocket's Read.
func (c *conn) readLoop(ctx context.Context) {
	defer c.h.removeConn(c)
	for {
		typ, data, err := c.ws.Read(context.Background())
		if err != nil {
			if st := websocket.CloseStatus(err); st == -1 && !errors.Is(err, context.Canceled) {
				c.h.log.Debug("hub: connection ended", "remote", c.ipKey, "err", err)
			}
			return
		}
		if c.isClosing() {
			continue // wait for the close handshake to finish
		}
		if !c.lim.AllowN(c.h.cfg.Now(), 1) {
			go c.closeWith(ClosePolicy, "too many messages")
			continue
		}
		if typ != websocket.MessageText {
			go c.closeWith(websocket.StatusUnsupportedData, "text frames only")
			continue
		}
		m, perr := DecodeClientMessage(data)
		if perr != nil {
			c.sendError(perr.Code, "", 0, perr.Message)
			continue
		}
		switch m.Op {
		case OpSubscribe:
			for _, l := range m.Lines {
				c.subscribe(ctx, OpSubscribe, l, 0)
			}
		case OpResume:
			c.subscribe(ctx, OpResume, m.Line, m.Seq)
		case OpUnsubscribe:
			for _, l := range m.Lines {
				c.unsubscribe(l)
			}
		}
	}
}

// subscribe authorizes line for the principal and attaches the connection to it.
func (c *conn) subscribe(ctx context.Context, op string, line int64, seq uint64) {
	resume := op == OpResume
	c.mu.Lock()
	s := c.findSubLocked(line)
	n := len(c.subs)
	c.mu.Unlock()
	if s != nil {
		if resume {
			_, sc := s.t.attach(c, true, seq)
			c.h.pool.schedule(c, sc)
		}
		return // subscribing twice is a no-op
	}
	if n >= c.h.cfg.MaxSubscriptions {
		c.sendError(CodeTooManySubscriptions, op, line, fmt.Sprintf("at most %d lines per connection", c.h.cfg.MaxSubscriptions))
		return
	}
	// The same answer whether the line does not exist or is not visible: no probing.
	if !c.p.CanSeeLine(line) || !c.h.lines.LineExists(ctx, c.p.TenantID, line) {
		c.sendError(CodeForbidden, op, line, fmt.Sprintf("line %d does not exist or is not visible to you", line))
		return
	}
	t, err := c.h.acquireTopic(ctx, c.p.TenantSlug, line)
	if err != nil {
		c.h.log.Warn("hub: cannot subscribe", "tenant", c.p.TenantSlug, "line", line, "err", err)
		c.sendError(CodeUnavailable, op, line, "live updates are unavailable right now; retry later")
		return
	}
	attached, sc := t.attach(c, resume, seq)
	if !attached {
		c.h.releaseTopic(t)
	}
	c.h.pool.schedule(c, sc)
}

func (c *conn) unsubscribe(line int64) {
	c.mu.Lock()
	s := c.findSubLocked(line)
	c.mu.Unlock()
	if s == nil {
		return
	}
	c.detach(s)
}

// detach removes s from its topic and from the connection (t.mu, then c.mu).
func (c *conn) detach(s *sub) {
	t := s.t
	t.mu.Lock()
	c.mu.Lock()
	if i := slices.Index(c.subs, s); i >= 0 {
		c.subs = slices.Delete(c.subs, i, i+1)
		c.h.stats.subscriptions.Add(-1)
	}
	c.dropLineLocked(s)
	c.mu.Unlock()
	t.detachLocked(s)
	t.mu.Unlock()
	c.h.releaseTopic(t)
}
