package hub

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/linepulse/linepulse/bus/bustest"
	"github.com/linepulse/linepulse/internal/testkit"
)

func init() { strictStates.Store(true) } // a bad socket-state transition panics in every test of the package

// wait bounds every wait for an outcome; generous, never a speed assertion.
const wait = 20 * time.Second

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// bareConn is a connection without a socket, for the pure transition logic.
func bareConn(own sockState) *conn {
	return &conn{h: &Hub{log: quietLog()}, own: own}
}

// transition is one named transition, run with c.mu held; it reports what the caller
// would be told (a sched, a bool or nothing).
type transition struct {
	name string
	run  func(c *conn) string
}

var transitions = []transition{
	{"queue", func(c *conn) string { return fmt.Sprint(c.queueLocked(false)) }},
	{"queue(urgent)", func(c *conn) string { return fmt.Sprint(c.queueLocked(true)) }},
	{"startWrite", func(c *conn) string { return fmt.Sprint(c.startWriteLocked()) }},
	{"endWrite", func(c *conn) string { return fmt.Sprint(c.endWriteLocked(false)) }},
	{"endWrite(again)", func(c *conn) string { return fmt.Sprint(c.endWriteLocked(true)) }},
	{"goSlow", func(c *conn) string { return fmt.Sprint(c.goSlowLocked()) }},
	{"endSlow", func(c *conn) string { c.endSlowLocked(); return "" }},
	{"abandon", func(c *conn) string { c.abandonLocked(); return "" }},
	{"takeControl", func(c *conn) string { return fmt.Sprint(c.takeControlLocked()) }},
	{"endControl", func(c *conn) string { return fmt.Sprint(c.endControlLocked()) }},
}

// try runs tr on c and returns the new state and answer, or "bug" when it panicked.
func try(c *conn, tr transition) (got string) {
	defer func() {
		if r := recover(); r != nil {
			if !strings.Contains(fmt.Sprint(r), "bad socket state transition") {
				panic(r)
			}
			got = "bug"
		}
	}()
	c.mu.Lock()
	defer c.mu.Unlock()
	answer := tr.run(c)
	return strings.TrimSpace(c.own.String() + " " + answer)
}

func TestSockTransitions(t *testing.T) {
	// sched values print as numbers: 0 none, 1 normal queue, 2 urgent queue.
	want := map[string][numSockStates]string{
		//                  idle               queued             queuedUrgent      writing             slow      control
		"queue":           {"queued 1", "queued 0", "queuedUrgent 0", "writing 0", "slow 0", "control 0"},
		"queue(urgent)":   {"queuedUrgent 2", "queuedUrgent 2", "queuedUrgent 0", "writing 0", "slow 0", "control 0"},
		"startWrite":      {"idle false", "writing true", "writing true", "writing false", "slow false", "control false"},
		"endWrite":        {"bug", "bug", "bug", "idle 0", "bug", "bug"},
		"endWrite(again)": {"bug", "bug", "bug", "queued 1", "bug", "bug"},
		"goSlow":          {"bug", "bug", "bug", "slow true", "bug", "bug"},
		"endSlow":         {"bug", "bug", "bug", "bug", "idle", "bug"},
		"abandon":         {"bug", "bug", "bug", "idle", "idle", "bug"},
		"takeControl":     {"control true", "queued false", "queuedUrgent false", "writing false", "slow false", "control false"},
		"endControl":      {"bug", "bug", "bug", "bug", "bug", "idle 0"},
	}
	for _, tr := range transitions {
		for from := range numSockStates {
			got := try(bareConn(from), tr)
			if w := want[tr.name][from]; got != w {
				t.Errorf("%s from %v: got %q, want %q", tr.name, from, got, w)
			}
		}
	}
	// Every move the named transitions make is an edge of the table, and every edge of
	// the table is made by some transition (no dead entries).
	made := [numSockStates]stateSet{}
	for _, tr := range transitions {
		for from := range numSockStates {
			for _, dt := range []int64{0, 1} {
				for _, pending := range []bool{false, true} {
					c := bareConn(from)
					c.dtWait = dt
					if pending {
						c.queue = []*frame{pingFrame}
					}
					if got := try(c, tr); got != "bug" && c.own != from {
						made[from] |= states(c.own)
					}
				}
			}
		}
	}
	if made != sockEdges {
		t.Errorf("transitions make the edges %b, the table has %b", made, sockEdges)
	}
}

func TestSockRequeueAndDead(t *testing.T) {
	for _, tc := range []struct {
		name  string
		from  sockState
		setup func(c *conn)
		tr    string
		want  string
	}{
		{"a worker with its rounds used up and a downtime event waiting goes to the urgent queue", sockWriting, func(c *conn) { c.dtWait = 1 }, "endWrite(again)", "queuedUrgent 2"},
		{"control frame written, something queued meanwhile", sockControl, func(c *conn) { c.dirty = []*sub{{}} }, "endControl", "queued 1"},
		{"control frame written, a downtime event queued meanwhile", sockControl, func(c *conn) { c.queue = []*frame{{kind: kindDowntime}}; c.dtWait = 1 }, "endControl", "queuedUrgent 2"},
		{"control frame written, bytes left for the socket", sockControl, func(c *conn) { c.out = []byte{1} }, "endControl", "queued 1"},
		{"dead: nothing is queued", sockIdle, func(c *conn) { c.life = lifeDead }, "queue(urgent)", "idle 0"},
		{"dead: a worker does not requeue", sockWriting, func(c *conn) { c.life = lifeDead; c.dtWait = 1 }, "endWrite(again)", "idle 0"},
		{"dead: a control write does not requeue", sockControl, func(c *conn) { c.life = lifeDead; c.out = []byte{1} }, "endControl", "idle 0"},
		{"closing: the close frame still goes out", sockControl, func(c *conn) { c.life = lifeClosing; c.out = []byte{1} }, "endControl", "queued 1"},
	} {
		c := bareConn(tc.from)
		tc.setup(c)
		for _, tr := range transitions {
			if tr.name == tc.tr {
				if got := try(c, tr); got != tc.want {
					t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
				}
			}
		}
	}
}

func TestBadTransitionInProduction(t *testing.T) {
	strictStates.Store(false)
	defer strictStates.Store(true)
	var logged strings.Builder
	a, b := net.Pipe()
	defer b.Close()
	c := &conn{h: &Hub{log: slog.New(slog.NewTextHandler(&syncWriter{w: &logged}, nil))}, rc: &rawConn{Conn: a}, own: sockQueued}
	c.mu.Lock()
	sc := c.endWriteLocked(false)
	own := c.own
	c.mu.Unlock()
	if sc != schedNone || own != sockQueued {
		t.Fatalf("a refused transition changed the state or queued the connection: %v, %v", own, sc)
	}
	// The socket is closed: the peer sees the end of the stream.
	if _, err := b.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("peer read: %v, want EOF", err)
	}
	if !strings.Contains(logged.String(), "bad socket state transition") {
		t.Fatalf("not logged: %q", logged.String())
	}
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func TestWaitWrittenWakesOnTransition(t *testing.T) {
	for _, from := range []sockState{sockWriting, sockSlow, sockControl} {
		c := bareConn(from)
		done := make(chan struct{})
		go func() { c.waitWritten(time.Hour); close(done) }()
		eventually(t, "waiter registered", func() bool {
			c.mu.Lock()
			defer c.mu.Unlock()
			return c.flushed != nil
		})
		c.mu.Lock()
		switch from {
		case sockWriting:
			c.endWriteLocked(false)
		case sockSlow:
			c.endSlowLocked()
		case sockControl:
			c.endControlLocked()
		}
		c.mu.Unlock()
		select {
		case <-done:
		case <-time.After(wait):
			t.Fatalf("waitWritten did not return when %v ended", from)
		}
	}
	// A queued connection with a close frame in c.out is busy until its worker wrote it.
	c := bareConn(sockQueued)
	c.out = []byte{0x88, 0}
	done := make(chan struct{})
	go func() { c.waitWritten(time.Hour); close(done) }()
	eventually(t, "waiter registered", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.flushed != nil
	})
	c.mu.Lock()
	c.startWriteLocked() // still busy: the waiter stays
	if c.flushed == nil {
		t.Fatal("queued → writing woke the waiter")
	}
	c.out = nil
	c.endWriteLocked(false)
	c.mu.Unlock()
	<-done
	// Idle: at once; never released: after the bound.
	bareConn(sockIdle).waitWritten(time.Hour)
	bareConn(sockWriting).waitWritten(time.Millisecond)
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testkit.CheckFor(t, wait, time.Millisecond, func() error { return testkit.Unless(cond(), "not yet: %s", what) })
}

// noAuth and noLines satisfy New; the tests below open connections without them.
type (
	noAuth  struct{ Authenticator }
	noLines struct{ LineChecker }
)

// sockHub is a hub whose writer pool runs only when the test drives it (drain), or
// with workers when asked, and whose connections skip authentication.
type sockHub struct {
	t     *testing.T
	h     *Hub
	srv   *httptest.Server
	conns chan *conn
}

func newSockHub(t *testing.T, workers int, mutate func(*Config)) *sockHub {
	t.Helper()
	b := bustest.Run(t)
	nc, err := b.Connect("hub")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	cfg := Config{Logger: quietLog(), SendBuffer: 4096, QueueSize: 1 << 20}
	if mutate != nil {
		mutate(&cfg)
	}
	h, err := New(cfg, nc, noAuth{}, noLines{})
	if err != nil {
		t.Fatal(err)
	}
	h.runCtx = context.Background()
	for range workers {
		go h.pool.run()
	}
	s := &sockHub{t: t, h: h, conns: make(chan *conn, 1)}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := h.upgrade(w, r)
		if err != nil {
			t.Errorf("upgrade: %v", err)
			return
		}
		h.mu.Lock()
		h.startLocked(c)
		h.mu.Unlock()
		s.conns <- c
	}))
	t.Cleanup(func() {
		s.srv.Close()
		h.pool.stop()
		h.readers.Wait()
	})
	return s
}

// dial connects a client whose socket receive buffer is small (the server's socket is
// full after a few KiB) and returns it with the server's connection.
func (s *sockHub) dial() (*websocket.Conn, *conn) {
	s.t.Helper()
	hc := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return errors.Join(err, serr)
	}}).DialContext}}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(s.srv.URL, "http"), &websocket.DialOptions{HTTPClient: hc})
	if err != nil {
		s.t.Fatal(err)
	}
	ws.SetReadLimit(16 << 20)
	s.t.Cleanup(func() { ws.CloseNow() })
	return ws, <-s.conns
}

// drain plays a pool worker: it flushes the queued entries, urgent ones first, until
// both queues are empty, and returns how many it took.
func (s *sockHub) drain() int {
	p := s.h.pool
	w := &worker{}
	n := 0
	for ; ; n++ {
		p.mu.Lock()
		q := &p.urgent
		if q.len() == 0 {
			q = &p.normal
		}
		if q.len() == 0 {
			p.mu.Unlock()
			return n
		}
		c := q.takeShare(nil, 1)[0]
		p.mu.Unlock()
		p.schedule(c, c.flush(w))
	}
}

func (c *conn) state() (sockState, lifeState, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.own, c.life, len(c.out)
}

func bigFrame(seq uint64, size int) *frame {
	p := fmt.Appendf(nil, `{"type":"kpi","line":1,"seq":%d,"pad":"%s"}`, seq, strings.Repeat("x", size))
	return &frame{kind: kindKPI, line: 1, seq: seq, data: textFrame(p)}
}

func readText(t *testing.T, ws *websocket.Conn) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	_, b, err := ws.Read(ctx)
	return string(b), err
}

// startClose starts closing c with CloseTooSlow, as the slow-client path does, and
// waits until coder/websocket's close frame waits in c.out for the socket's holder.
func startClose(t *testing.T, c *conn) {
	t.Helper()
	go c.closeWith(CloseTooSlow, "too slow")
	eventually(t, "close frame queued for the holder", func() bool { _, _, out := c.state(); return out > 0 })
}

// expectGone waits until c's reader cleaned up and checks that nobody holds the socket
// and, when written, that no bytes were left behind for it.
func (s *sockHub) expectGone(c *conn, written bool) {
	s.t.Helper()
	eventually(s.t, "connection cleaned up", func() bool { return s.h.Stats().Connections == 0 })
	if own, life, out := c.state(); own != sockIdle || life != lifeDead || written && out > 0 {
		s.t.Fatalf("after close: %v %v, %d bytes left", own, life, out)
	}
}

func expectClose(t *testing.T, ws *websocket.Conn, what string) {
	t.Helper()
	if _, err := readText(t, ws); websocket.CloseStatus(err) != CloseTooSlow {
		t.Fatalf("client: %v, want close 4008%s", err, what)
	}
}

// A close started while the connection waits in the pool: its worker writes the close
// frame and nothing of the data that was queued.
func TestCloseWhileQueued(t *testing.T) {
	s := newSockHub(t, 0, nil)
	ws, c := s.dial()
	c.enqueueCtrl(errorFrame(CodeBadRequest, "", 0, "dropped by the close"))
	if own, _, _ := c.state(); own != sockQueued {
		t.Fatalf("after enqueue: %v", own)
	}
	startClose(t, c)
	if n := s.drain(); n != 1 {
		t.Fatalf("drained %d entries, want 1", n)
	}
	expectClose(t, ws, " and no data frame before it")
	s.expectGone(c, true)
}

// The client goes away while the connection waits in the pool: the worker lets go of
// it without writing.
func TestDeadWhileQueued(t *testing.T) {
	s := newSockHub(t, 0, nil)
	ws, c := s.dial()
	c.enqueueCtrl(errorFrame(CodeBadRequest, "", 0, "never written"))
	ws.CloseNow()
	eventually(t, "connection cleaned up", func() bool { return s.h.Stats().Connections == 0 })
	s.drain()
	s.expectGone(c, true)
	if w := s.h.Stats().Writes; w != 0 {
		t.Fatalf("%d writes to a dead connection", w)
	}
}

// A downtime event for a queued connection puts it in the urgent queue too: the first
// entry writes everything in one write, the other is stale and does nothing.
func TestUrgentEntryAndStaleEntry(t *testing.T) {
	s := newSockHub(t, 0, nil)
	ws, c := s.dial()
	c.enqueueCtrl(errorFrame(CodeBadRequest, "", 0, "first"))
	tp := &topic{key: topicKey{"t", 1}, h: s.h, ring: newRing(0), refs: 1}
	sb := &sub{c: c, t: tp, line: 1}
	tp.subs = []*sub{sb}
	c.mu.Lock()
	c.subs = append(c.subs, sb)
	c.mu.Unlock()
	dt := &frame{kind: kindDowntime, line: 1, seq: 1, data: textFrame([]byte(`{"type":"downtime","line":1,"seq":1}`))}
	if sc := c.deliver(sb, dt, time.Now()); sc != schedUrgent {
		t.Fatalf("deliver: %v, want the urgent queue", sc)
	}
	s.h.pool.schedule(c, schedUrgent)
	if own, _, _ := c.state(); own != sockQueuedUrgent {
		t.Fatalf("after a downtime event: %v", own)
	}
	// a second downtime event: already in the urgent queue
	dt2 := &frame{kind: kindDowntime, line: 1, seq: 2, data: textFrame([]byte(`{"type":"downtime","line":1,"seq":2}`))}
	if sc := c.deliver(sb, dt2, time.Now()); sc != schedNone {
		t.Fatalf("second deliver: %v, want none", sc)
	}
	if n := s.drain(); n != 2 {
		t.Fatalf("drained %d entries, want 2 (urgent, then the stale normal one)", n)
	}
	if st := s.h.Stats(); st.Writes != 1 || st.MessagesOut != 3 {
		t.Fatalf("%d writes of %d frames, want 1 of 3", st.Writes, st.MessagesOut)
	}
	for _, want := range []string{`"message":"first"`, `"seq":1`, `"seq":2`} {
		if m, err := readText(t, ws); err != nil || !strings.Contains(m, want) {
			t.Fatalf("client: %.60s %v, want %s", m, err, want)
		}
	}
}

// fillSocket queues a frame larger than the socket buffers of both ends and lets a
// worker write it: the rest goes to the slow goroutine, blocked until the client reads.
func (s *sockHub) fillSocket(c *conn) {
	s.t.Helper()
	c.enqueueCtrl(bigFrame(1, 1<<20))
	s.drain()
	if own, _, _ := c.state(); own != sockSlow {
		s.t.Fatalf("a full socket: %v, want slow", own)
	}
}

// The race the state machine exists for: the slow goroutine finishes its write while a
// close starts. The close frame waits in c.out and the slow goroutine writes it before
// it lets go of the socket.
func TestSlowWriteFinishesWhileClosing(t *testing.T) {
	s := newSockHub(t, 0, func(c *Config) { c.WriteTimeout = time.Hour })
	ws, c := s.dial()
	s.fillSocket(c)
	startClose(t, c)
	m, err := readText(t, ws)
	if err != nil || !strings.HasPrefix(m, `{"type":"kpi","line":1,"seq":1,`) || len(m) < 1<<20 {
		t.Fatalf("client: %d bytes %.40s, %v; want the whole frame", len(m), m, err)
	}
	expectClose(t, ws, " after the frame")
	s.expectGone(c, true)
}

// The slow write times out while a close is under way: not even the close frame gets
// through, the socket is closed and the connection cleaned up.
func TestSlowWriteTimesOutWhileClosing(t *testing.T) {
	s := newSockHub(t, 0, func(c *Config) { c.WriteTimeout = time.Hour })
	ws, c := s.dial()
	s.fillSocket(c)
	startClose(t, c)
	_ = c.rc.SetWriteDeadline(time.Now()) // the deadline passes now
	s.expectGone(c, false)                // the rest of the frame and the close frame stay unwritten
	for {
		if _, err := readText(t, ws); err != nil {
			if st := websocket.CloseStatus(err); st != -1 {
				t.Fatalf("client got close %d, want the socket closed without a close frame", st)
			}
			break
		}
	}
	if n := s.h.Stats().SlowDisconnects; n != 0 {
		t.Fatalf("slow disconnects %d: the close was already counted by whoever started it", n)
	}
}

// A pong coder/websocket writes while the connection waits in the pool goes out
// through the pool worker, ahead of the data.
func TestControlFrameWhileQueued(t *testing.T) {
	s := newSockHub(t, 0, nil)
	ws, c := s.dial()
	c.enqueueCtrl(errorFrame(CodeBadRequest, "", 0, "after the pong"))
	got := make(chan string, 1)
	go func() {
		m, err := readText(t, ws) // the client's reader processes the pong
		got <- fmt.Sprint(m, err)
	}()
	pinged := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		pinged <- ws.Ping(ctx)
	}()
	eventually(t, "pong queued for the worker", func() bool { _, _, out := c.state(); return out > 0 })
	s.drain()
	if err := <-pinged; err != nil {
		t.Fatalf("ping: %v", err)
	}
	if m := <-got; !strings.Contains(m, "after the pong") {
		t.Fatalf("client: %s", m)
	}
	if own, _, out := c.state(); own != sockIdle || out != 0 {
		t.Fatalf("after drain: %v out %d", own, out)
	}
}

// Everything at once, with real workers, in waves: several goroutines queue frames
// while the client does not read, until the socket is full and the slow goroutine holds
// it; then the client reads the wave, and the socket goes back to idle. Meanwhile the
// hub and the client ping each other. Interleaved frames would break the client's
// parser; a lost wake-up would leave frames unsent.
func TestWritePathUnderContention(t *testing.T) {
	s := newSockHub(t, 2, nil)
	ws, c := s.dial()
	const waves, producers, each = 8, 4, 25
	pad := strings.Repeat("p", 4<<10)
	read := make(chan int)      // the client reads this many frames
	errs := make(chan error, 2) // nil after each wave, or what went wrong
	go func() {                 // the client: every producer's frames, complete and in order
		next := make([]int64, producers)
		for n := range read {
			for range n {
				m, err := readText(t, ws)
				if err != nil {
					errs <- err
					return
				}
				var p, seq int64
				if _, err := fmt.Sscanf(m, `{"type":"error","code":"bad_request","line":%d,"message":"%d `, &seq, &p); err != nil || p < 0 || p >= producers || seq != next[p]+1 {
					errs <- fmt.Errorf("frame %.80s: %v (want seq %v)", m, err, next)
					return
				}
				next[p]++
			}
			errs <- nil
		}
		for { // keep reading: the client's pings need their pongs read
			if _, _, err := ws.Read(context.Background()); err != nil {
				return
			}
		}
	}()
	pinged := make(chan error, 1)
	go func() {
		for {
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			err := ws.Ping(ctx)
			cancel()
			if err != nil {
				pinged <- err
				return
			}
		}
	}()
	seq := 0
	for range waves {
		var wg sync.WaitGroup
		for p := range producers {
			wg.Go(func() {
				for i := range each {
					c.enqueueCtrl(errorFrame(CodeBadRequest, "", int64(seq+i+1), fmt.Sprintf("%d %s", p, pad)))
				}
				c.enqueueCtrl(pingFrame)
			})
		}
		wg.Wait()
		seq += each
		eventually(t, "socket full", func() bool { own, _, _ := c.state(); return own == sockSlow })
		read <- producers * each
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
		eventually(t, "socket idle", func() bool { own, _, out := c.state(); return own == sockIdle && out == 0 })
	}
	close(read)
	select {
	case err := <-pinged:
		t.Fatalf("ping: %v", err)
	default:
	}
}
