package hub

import "sync"

// pool is the set of writer goroutines. Connections with something to write are queued
// once (conn.owned) however many messages they have pending; a worker takes a share of
// the queue and flushes each connection with one write. Far fewer goroutine wake-ups
// than a writer goroutine per connection, and no per-connection goroutine stack while idle.
type pool struct {
	mu      sync.Mutex
	cond    *sync.Cond
	q       []*conn
	head    int
	idle    int
	workers int
	stopped bool
}

func newPool(workers int) *pool {
	p := &pool{workers: workers}
	p.cond = sync.NewCond(&p.mu)
	return p
}

func (p *pool) push(cs []*conn) {
	if len(cs) == 0 {
		return
	}
	p.mu.Lock()
	p.q = append(p.q, cs...)
	if p.idle > 0 {
		p.cond.Signal()
	}
	p.mu.Unlock()
}

func (p *pool) push1(c *conn) {
	p.mu.Lock()
	p.q = append(p.q, c)
	if p.idle > 0 {
		p.cond.Signal()
	}
	p.mu.Unlock()
}

// take waits for work and returns a fair share of the queue (nil after stop).
func (p *pool) take(dst []*conn) []*conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.head == len(p.q) {
		if p.stopped {
			return nil
		}
		p.idle++
		p.cond.Wait()
		p.idle--
	}
	n := len(p.q) - p.head
	share := min((n+p.workers-1)/p.workers, 1024)
	dst = append(dst, p.q[p.head:p.head+share]...)
	clear(p.q[p.head : p.head+share])
	p.head += share
	switch {
	case p.head == len(p.q):
		p.q, p.head = p.q[:0], 0
	case p.head > len(p.q)/2:
		k := copy(p.q, p.q[p.head:])
		clear(p.q[k:])
		p.q, p.head = p.q[:k], 0
	}
	if p.head < len(p.q) && p.idle > 0 {
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
	var batch, again []*conn
	for {
		batch = p.take(batch[:0])
		if batch == nil {
			return
		}
		for _, c := range batch {
			if c.flush(w) {
				again = append(again, c)
			}
		}
		clear(batch)
		p.push(again)
		clear(again)
		again = again[:0]
	}
}
