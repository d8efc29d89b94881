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
// Writing: at most one goroutine writes the socket at a time (writing). Usually that is
// a writer-pool worker, which gathers everything pending and writes it with one
// non-blocking write(2); when the socket is full the rest goes to a goroutine of the
// connection (slow mode) that writes with a deadline, while new KPI updates coalesce.
// owned means "queued in the pool or being written": the dispatcher queues a
// connection only when it is not owned. A connection may also sit in the urgent queue;
// an entry that finds another goroutine writing, or nothing pending, is a no-op.
type conn struct {
	h       *Hub
	ws      *websocket.Conn
	rc      *rawConn
	p       identity.Principal
	ipKey   string
	userKey string
	lim     *rate.Limiter

	lastPing int64 // unix ns, janitor only

	mu       sync.Mutex
	subs     []*sub
	dirty    []*sub   // subs with a pending latest KPI
	queue    []*frame // ordered frames that are never coalesced
	out      []byte   // control frames coder/websocket wrote while the socket was owned
	owned    bool     // queued in the writer pool or being written
	writing  bool     // a goroutine is writing the socket (pool worker, slow writer, control frame)
	urgent   bool     // queued in the pool's urgent queue
	slow     bool     // the writer is the blocking writer of this connection
	closing  bool     // a close is under way: no more data frames
	dead     bool     // cleaned up
	queued   int      // frames queued by the dispatcher or errors since the last collect
	dtWait   int64    // unix ns: oldest downtime event queued and not collected (0 = none)
	dtFlight int64    // unix ns: oldest downtime event collected and not yet written
}

// sub is one line a connection is subscribed to.
type sub struct {
	c    *conn
	t    *topic
	line int64
	idx  int // position in t.subs, -1 once detached (guarded by t.mu)

	// guarded by c.mu
	seq    uint64 // highest seq queued for the client
	latest *frame // pending KPI, newer than every frame of the line in c.queue
	dirty  bool   // in c.dirty
}

// Answers of deliver: what the dispatcher does with the connection.
const (
	schedNone   = iota
	schedNormal // queue it in the writer pool
	schedUrgent // queue it in the urgent queue (a downtime event is pending)
)

// deliver queues f for s. It runs in the dispatcher with t.mu held and reports whether
// and how the connection must be handed to the writer pool.
func (c *conn) deliver(s *sub, f *frame, now time.Time) int {
	c.mu.Lock()
	if c.closing || s.idx < 0 {
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
		if c.slow {
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
	if f.kind == kindDowntime && !c.urgent && !c.slow && !c.dead {
		c.urgent = true
		c.owned = true
		c.mu.Unlock()
		return schedUrgent
	}
	if c.takeLocked() {
		return schedNormal
	}
	return schedNone
}

// takeLocked claims the socket for the writer pool if nobody owns it.
func (c *conn) takeLocked() bool {
	if c.owned || c.dead {
		c.mu.Unlock()
		return false
	}
	c.owned = true
	c.mu.Unlock()
	return true
}

// setDeadlineLocked (re)arms the slow writer's deadline: WriteTimeout from now, or
// sooner when a downtime event has waited DowntimeDeadline.
func (c *conn) setDeadlineLocked(now time.Time) {
	d := now.Add(c.h.cfg.WriteTimeout)
	if c.closing {
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
func (c *conn) attach(t *topic, frames []*frame, last uint64) (attached, schedule bool) {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return false, false
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
	if len(frames) == 0 {
		c.mu.Unlock()
		return true, false
	}
	return true, c.takeLocked()
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
	if !c.closing {
		dst = append(dst, c.queue...)
	}
	for _, s := range c.dirty {
		if s.latest != nil && !c.closing {
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

// flush writes what is pending on c; the calling pool worker owns the socket. It
// returns true when c is still owned and must be queued again.
func (c *conn) flush(w *worker) bool {
	c.mu.Lock()
	if c.writing {
		c.mu.Unlock() // another goroutine writes: it takes what is pending before it stops
		return false
	}
	c.writing = true
	c.urgent = false
	c.mu.Unlock()
	for range flushRounds {
		c.mu.Lock()
		if c.dead {
			c.owned, c.writing = false, false
			c.mu.Unlock()
			return false
		}
		frames := c.collectLocked(w.frames[:0])
		out := c.out
		c.out = nil
		if len(frames) == 0 && len(out) == 0 {
			c.dtFlight = 0
			c.owned, c.writing = false, false
			c.mu.Unlock()
			w.frames = frames
			return false
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
			return false
		}
		if n < len(data) {
			c.goSlow(data[n:], frames)
			clear(frames)
			w.frames = frames[:0]
			return false
		}
		c.h.account(frames, c.h.cfg.Now())
		clear(frames)
		w.frames = frames[:0]
	}
	c.mu.Lock()
	c.writing = false // still owned: queued again by the caller
	c.mu.Unlock()
	return true
}

// goSlow hands the socket to a goroutine of this connection that writes rest (and
// whatever follows) with blocking writes under a deadline.
func (c *conn) goSlow(rest []byte, frames []*frame) {
	buf := bytes.Clone(rest)
	fs := slices.Clone(frames)
	c.mu.Lock()
	c.slow = true
	c.mu.Unlock()
	go c.slowLoop(buf, fs)
}

func (c *conn) slowLoop(buf []byte, frames []*frame) {
	for {
		c.mu.Lock()
		if c.dead {
			c.owned, c.slow, c.writing = false, false, false
			c.mu.Unlock()
			return
		}
		c.setDeadlineLocked(c.h.cfg.Now())
		c.mu.Unlock()
		n, err := c.rc.Conn.Write(buf)
		if err != nil {
			if !isTimeout(err) {
				c.fail(err)
				return
			}
			c.mu.Lock()
			closing := c.closing
			// the socket is mid-frame: what is left of it must precede anything else
			c.out = append(bytes.Clone(buf[n:]), c.out...)
			c.owned, c.slow, c.writing = false, false, false
			c.mu.Unlock()
			_ = c.rc.SetWriteDeadline(time.Time{})
			if closing {
				_ = c.rc.Conn.Close() // not even the close frame gets through
				return
			}
			c.h.stats.slowDisconnects.Add(1)
			c.h.log.Info("hub: client too slow: write deadline", "remote", c.ipKey)
			c.closeWith(CloseTooSlow, "too slow")
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
			c.owned, c.slow, c.writing = false, false, false
			c.mu.Unlock()
			_ = c.rc.SetWriteDeadline(time.Time{})
			return
		}
		c.mu.Unlock()
		buf = append(buf[:0], out...)
		for _, f := range frames {
			buf = append(buf, f.data...)
		}
	}
}

// release gives the socket back after a synchronous control-frame write, handing it to
// the pool if something was queued meanwhile.
func (c *conn) release() {
	c.mu.Lock()
	c.owned, c.writing = false, false
	if c.dead || (len(c.out) == 0 && len(c.dirty) == 0 && len(c.queue) == 0) {
		c.mu.Unlock()
		return
	}
	if c.takeLocked() {
		c.h.pool.push1(c)
	}
}

// waitWritten waits (at most d) until no goroutine owns the socket, so that a close
// frame queued for the owner goes out before coder/websocket closes the socket.
func (c *conn) waitWritten(d time.Duration) {
	deadline := time.Now().Add(d)
	for {
		c.mu.Lock()
		busy := c.writing || (c.owned && len(c.out) > 0)
		c.mu.Unlock()
		if !busy || time.Now().After(deadline) {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// fail closes the socket after a write error; the reader then cleans up.
func (c *conn) fail(err error) {
	c.mu.Lock()
	c.closing = true
	c.owned, c.slow, c.writing = false, false, false
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
	if c.closing {
		c.mu.Unlock()
		return
	}
	c.closing = true
	for _, s := range c.subs {
		s.latest = nil
	}
	clear(c.queue)
	c.queue = c.queue[:0]
	c.mu.Unlock()
	t := time.AfterFunc(closeGrace, func() { _ = c.rc.Conn.Close() })
	_ = c.ws.Close(code, reason)
	t.Stop()
}

// enqueueCtrl queues an error or ping frame behind what is queued.
func (c *conn) enqueueCtrl(f *frame) {
	c.mu.Lock()
	if c.closing {
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
	if c.takeLocked() {
		c.h.pool.push1(c)
	}
}

func (c *conn) sendError(code, op string, line int64, msg string) {
	c.enqueueCtrl(errorFrame(code, op, line, msg))
}

func (c *conn) isClosing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closing
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
			if _, sched := s.t.attach(c, true, seq); sched {
				c.h.pool.push1(c)
			}
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
	attached, sched := t.attach(c, resume, seq)
	if !attached {
		c.h.releaseTopic(t)
	}
	if sched {
		c.h.pool.push1(c)
	}
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
