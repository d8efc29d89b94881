package hub

import (
	"fmt"
	"sync/atomic"
	"time"
)

// sockState says who may write a connection's socket: at most one party at a time, so
// that frames never interleave. It is conn.own, guarded by conn.mu, and changes only
// through the named transitions below, each of which checks the state it starts from
// (sockEdges is the whole table):
//
//	transition   from                  to                               by
//	queue        idle                  queued, queuedUrgent (downtime)  dispatcher, attach, enqueueCtrl
//	queue        queued                queuedUrgent (downtime)          dispatcher
//	startWrite   queued, queuedUrgent  writing                          pool worker; another state: a stale entry, no-op
//	endWrite     writing               idle, queued, queuedUrgent       pool worker (queued again: its rounds used up)
//	goSlow       writing               slow                             pool worker, socket full
//	endSlow      slow                  idle                             slow goroutine: done, timed out or dead
//	abandon      writing, slow         idle                             the holder, on a write error
//	takeControl  idle                  control                          corkWriter; another state: the frame waits in conn.out
//	endControl   control               idle, queued, queuedUrgent       corkWriter
//
// Whoever leaves writing, slow or control looks, in the same critical section, at what
// was queued meanwhile (conn.out first) and writes it or queues the connection, so
// nothing waits for a holder that has gone; only a write error or a write timeout
// leaves bytes behind, for the close that follows.
//
// A transition that a caller asserts (it believes it holds the socket) but that does
// not hold is a bug of this package: it panics in tests (strictStates); in production
// it is logged, the state left alone and the socket closed, so that the client
// reconnects and resumes rather than receive interleaved frames.
//
// The connection's lifecycle (conn.life: open → closing → dead) is the other,
// independent, dimension: a closing connection still has its close frame written by
// whoever holds the socket.
type sockState uint8

const (
	sockIdle         sockState = iota // nobody holds the socket; something to write queues it
	sockQueued                        // in the writer pool's normal queue, waiting for a worker
	sockQueuedUrgent                  // also in the urgent queue: a downtime event is pending
	sockWriting                       // a pool worker writes with non-blocking write(2)s
	sockSlow                          // the connection's own goroutine writes under a deadline
	sockControl                       // coder/websocket writes a control frame (corkWriter)
	numSockStates
)

var sockStateNames = [numSockStates]string{"idle", "queued", "queuedUrgent", "writing", "slow", "control"}

func (s sockState) String() string {
	if s < numSockStates {
		return sockStateNames[s]
	}
	return fmt.Sprintf("sockState(%d)", s)
}

// stateSet is a set of sockStates.
type stateSet uint8

func states(ss ...sockState) stateSet {
	var set stateSet
	for _, s := range ss {
		set |= 1 << s
	}
	return set
}

func (set stateSet) has(s sockState) bool { return set&(1<<s) != 0 }

// sockEdges[from] are the states from may go to: the whole transition table.
var sockEdges = [numSockStates]stateSet{
	sockIdle:         states(sockQueued, sockQueuedUrgent, sockControl),
	sockQueued:       states(sockQueuedUrgent, sockWriting),
	sockQueuedUrgent: states(sockWriting),
	sockWriting:      states(sockIdle, sockQueued, sockQueuedUrgent, sockSlow),
	sockSlow:         states(sockIdle),
	sockControl:      states(sockIdle, sockQueued, sockQueuedUrgent),
}

// holding are the states in which somebody is writing the socket.
var holding = states(sockWriting, sockSlow, sockControl)

// strictStates makes a bad transition panic; the package's tests set it.
var strictStates atomic.Bool

// lifeState is a connection's lifecycle (conn.life, guarded by conn.mu); it only moves
// forward.
type lifeState uint8

const (
	lifeOpen    lifeState = iota
	lifeClosing           // a close is under way: no more data frames, control frames still go out
	lifeDead              // cleaned up: nothing is written any more, pool entries are dropped
)

// beginCloseLocked (open → closing) drops the pending data frames. It returns false
// when a close was already under way.
func (c *conn) beginCloseLocked() bool {
	if c.life != lifeOpen {
		return false
	}
	c.life = lifeClosing
	for _, s := range c.subs {
		s.latest = nil
	}
	clear(c.queue)
	c.queue = c.queue[:0]
	return true
}

// markDeadLocked (closing → dead, by the reader's clean-up, after beginCloseLocked):
// whoever holds the socket, or finds a pool entry of c, lets go of it without writing.
func (c *conn) markDeadLocked() { c.life = lifeDead }

// sched says what to do with a connection after a transition: nothing, or queue it in
// the writer pool's normal or urgent queue (the caller pushes it, with no lock held).
type sched uint8

const (
	schedNone sched = iota
	schedNormal
	schedUrgent
)

// moveLocked changes c.own to `to` if the table allows it from the current state. A
// refused move is a bug (see sockState); moveLocked then leaves the state alone and
// returns false. Every transition that ends a write wakes waitWritten.
func (c *conn) moveLocked(to sockState) bool {
	from := c.own
	if from >= numSockStates || !sockEdges[from].has(to) {
		c.badMoveLocked(from, to)
		return false
	}
	c.own = to
	if c.flushed != nil && !c.busyLocked() {
		close(c.flushed)
		c.flushed = nil
	}
	return true
}

func (c *conn) badMoveLocked(from, to sockState) {
	if strictStates.Load() {
		panic(fmt.Sprintf("hub: bad socket state transition %v → %v", from, to))
	}
	c.h.log.Error("hub: bug: bad socket state transition; closing the connection", "from", from.String(), "to", to.String(), "remote", c.ipKey)
	go func() { _ = c.rc.Conn.Close() }() // the reader then cleans up
}

// queueLocked (idle → queued, idle or queued → queuedUrgent) asks for a pool worker
// because something was queued; urgent when it is a downtime event. In any other
// state the holder, or the entry already in the pool, takes what is pending.
func (c *conn) queueLocked(urgent bool) sched {
	if c.life == lifeDead {
		return schedNone
	}
	switch {
	case urgent && (c.own == sockIdle || c.own == sockQueued):
		c.moveLocked(sockQueuedUrgent)
		return schedUrgent
	case c.own == sockIdle:
		c.moveLocked(sockQueued)
		return schedNormal
	}
	return schedNone
}

// startWriteLocked (queued or queuedUrgent → writing) lets the pool worker that took an
// entry of c write it. It returns false for a stale entry: c was taken by another
// entry meanwhile, is being written or has nothing pending.
func (c *conn) startWriteLocked() bool {
	if c.own != sockQueued && c.own != sockQueuedUrgent {
		return false
	}
	return c.moveLocked(sockWriting)
}

// requeueLocked says where a connection that (may) have something pending goes:
// the urgent queue when a downtime event waits, else the normal queue.
func (c *conn) requeueLocked() sched {
	if c.dtWait != 0 {
		if c.moveLocked(sockQueuedUrgent) {
			return schedUrgent
		}
	} else if c.moveLocked(sockQueued) {
		return schedNormal
	}
	return schedNone
}

// endWriteLocked (writing → idle, or → queued / queuedUrgent when again) ends a pool
// worker's turn; again when it used its rounds and more may be pending.
func (c *conn) endWriteLocked(again bool) sched {
	if !c.mustHoldLocked(states(sockWriting), sockIdle) {
		return schedNone
	}
	if again && c.life != lifeDead {
		return c.requeueLocked()
	}
	c.moveLocked(sockIdle)
	return schedNone
}

// goSlowLocked (writing → slow) hands the socket from a pool worker to the
// connection's slow goroutine.
func (c *conn) goSlowLocked() bool {
	return c.mustHoldLocked(states(sockWriting), sockSlow) && c.moveLocked(sockSlow)
}

// endSlowLocked (slow → idle) ends the slow goroutine: everything was written, the
// connection died or the write timed out.
func (c *conn) endSlowLocked() {
	if c.mustHoldLocked(states(sockSlow), sockIdle) {
		c.moveLocked(sockIdle)
	}
}

// abandonLocked (writing or slow → idle) drops the socket after a write error; the
// caller closes it.
func (c *conn) abandonLocked() {
	if c.mustHoldLocked(states(sockWriting, sockSlow), sockIdle) {
		c.moveLocked(sockIdle)
	}
}

// takeControlLocked (idle → control) lets coder/websocket write a control frame at
// once. It returns false when somebody holds the socket or an entry is queued: the
// frame then goes in c.out for that holder.
func (c *conn) takeControlLocked() bool {
	return c.own == sockIdle && c.moveLocked(sockControl)
}

// endControlLocked (control → idle, or → queued / queuedUrgent when something was
// queued meanwhile) ends coder/websocket's control-frame write.
func (c *conn) endControlLocked() sched {
	if !c.mustHoldLocked(states(sockControl), sockIdle) {
		return schedNone
	}
	if c.life != lifeDead && c.pendingLocked() {
		return c.requeueLocked()
	}
	c.moveLocked(sockIdle)
	return schedNone
}

// mustHoldLocked checks the caller's belief that c is in one of the states of want
// (that it holds the socket); when it is wrong, that is a bug (see sockState).
func (c *conn) mustHoldLocked(want stateSet, to sockState) bool {
	if want.has(c.own) {
		return true
	}
	c.badMoveLocked(c.own, to)
	return false
}

// pendingLocked reports whether anything waits to be written.
func (c *conn) pendingLocked() bool {
	return len(c.out) > 0 || len(c.dirty) > 0 || len(c.queue) > 0
}

// busyLocked reports whether bytes meant for the socket are still to be written by
// its holder: somebody writes, or a queued entry will write c.out (a close frame).
func (c *conn) busyLocked() bool {
	return holding.has(c.own) || (len(c.out) > 0 && (c.own == sockQueued || c.own == sockQueuedUrgent))
}

// waitWritten waits (at most d) until the socket is no longer busy, so that a close
// frame queued for the holder goes out before coder/websocket closes the socket. The
// transition that ends the write closes c.flushed.
func (c *conn) waitWritten(d time.Duration) {
	c.mu.Lock()
	if !c.busyLocked() {
		c.mu.Unlock()
		return
	}
	if c.flushed == nil {
		c.flushed = make(chan struct{})
	}
	done := c.flushed
	c.mu.Unlock()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}
