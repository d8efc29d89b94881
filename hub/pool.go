package hub

import "sync"

// pool is the set of writer goroutines. Connections with something to write are queued
// once (socket state idle → queued) however many messages they have pending; a worker
// takes a share of the queue and flushes each connection with one write. A connection
// that gets a downtime event is also queued on the urgent queue (→ queuedUrgent),
// served first, so that alerts do not wait behind a backlog of KPI updates. An entry
// whose connection was taken by its other entry meanwhile is stale: flush skips it.
// Far fewer goroutine wake-ups than a writer goroutine per connection, and no
// per-connection goroutine stack while idle.
type pool struct {
	workers int // read-only

	mu      sync.Mutex
	cond    *sync.Cond // on mu
	normal  queue      // guarded by mu
	urgent  queue      // guarded by mu: connections with a downtime event pending, served first
	idle    int        // guarded by mu: workers waiting in take
	stopped bool       // guarded by mu
}

// queue is a FIFO of connections.
type queue struct {
	q    []*conn
	head int
}

func (q *queue) len() int { return len(q.q) - q.head }

// takeShare moves up to n connections from the front of q to dst.
func (q *queue) takeShare(dst []*conn, n int) []*conn {
	dst = append(dst, q.q[q.head:q.head+n]...)
	clear(q.q[q.head : q.head+n])
	q.head += n
	switch {
	case q.head == len(q.q):
		q.q, q.head = q.q[:0], 0
	case q.head > len(q.q)/2:
		k := copy(q.q, q.q[q.head:])
		clear(q.q[k:])
		q.q, q.head = q.q[:k], 0
	}
	return dst
}

// maxShare bounds the connections a worker takes at once: a downtime event queued
// meanwhile waits for at most this many writes per worker (~1 ms) before a worker
// looks at the urgent queue again.
const maxShare = 64

func newPool(workers int) *pool {
	p := &pool{workers: workers}
	p.cond = sync.NewCond(&p.mu)
	return p
}

func (p *pool) push(cs []*conn) { p.pushTo(&p.normal, cs) }

func (p *pool) pushUrgent(cs []*conn) { p.pushTo(&p.urgent, cs) }

func (p *pool) pushTo(q *queue, cs []*conn) {
	if len(cs) == 0 {
		return
	}
	p.mu.Lock()
	q.q = append(q.q, cs...)
	if p.idle > 0 {
		p.cond.Signal()
	}
	p.mu.Unlock()
}

// schedule queues c as sc (the answer of a socket-state transition) says.
func (p *pool) schedule(c *conn, sc sched) {
	q := &p.normal
	switch sc {
	case schedNone:
		return
	case schedUrgent:
		q = &p.urgent
	}
	p.mu.Lock()
	q.q = append(q.q, c)
	if p.idle > 0 {
		p.cond.Signal()
	}
	p.mu.Unlock()
}

// take waits for work and returns a fair share of the urgent queue, or else of the
// normal one (nil after stop).
func (p *pool) take(dst []*conn) []*conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.urgent.len() == 0 && p.normal.len() == 0 {
		if p.stopped {
			return nil
		}
		p.idle++
		p.cond.Wait()
		p.idle--
	}
	q := &p.urgent
	if q.len() == 0 {
		q = &p.normal
	}
	n := q.len()
	dst = q.takeShare(dst, min((n+p.workers-1)/p.workers, maxShare))
	if p.urgent.len()+p.normal.len() > 0 && p.idle > 0 {
		p.cond.Signal() // more left: wake another worker
	}
	return dst
}

func (p *pool) stop() {
	p.mu.Lock()
	p.stopped = true
	p.cond.Broadcast()
	p.mu.Unlock()
}

// run is one worker goroutine; it returns after stop once the queue is empty.
func (p *pool) run() {
	w := &worker{}
	var batch, again, urgent []*conn
	for {
		batch = p.take(batch[:0])
		if batch == nil {
			return
		}
		for _, c := range batch {
			switch c.flush(w) {
			case schedNormal:
				again = append(again, c)
			case schedUrgent:
				urgent = append(urgent, c)
			}
		}
		clear(batch)
		p.pushUrgent(urgent)
		p.push(again)
		clear(urgent)
		clear(again)
		again, urgent = again[:0], urgent[:0]
	}
}
