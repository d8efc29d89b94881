package hub

import (
	"bufio"
	"bytes"
	"errors"
	"net"
	"net/http"
	"sync/atomic"
	"syscall"
	"time"
)

// Buffer sizes of a hijacked connection. Client messages are small, and data frames
// never go through coder/websocket's bufio.Writer (see conn.flush), only control frames
// (≤ 2+8+125 bytes), so each of those reaches corkWriter in one Write call.
const (
	readBufSize  = 512
	writeBufSize = 256
)

// hijackWriter lets websocket.Accept hijack a rawConn instead of the bare net.Conn, so
// that the hub owns the socket's write side and the buffer sizes.
type hijackWriter struct {
	http.ResponseWriter
	h  *Hub
	rc *rawConn
}

// Hijack implements http.Hijacker.
func (w *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	if tc, ok := nc.(*net.TCPConn); ok && w.h.cfg.SendBuffer > 0 {
		_ = tc.SetWriteBuffer(w.h.cfg.SendBuffer)
	}
	rc := &rawConn{Conn: nc, now: w.h.cfg.Now}
	if n := brw.Reader.Buffered(); n > 0 {
		b, _ := brw.Reader.Peek(n)
		rc.pending = bytes.Clone(b) // frames the client sent right behind the handshake
	}
	rc.lastRead.Store(w.h.cfg.Now().UnixNano())
	rc.initRaw()
	w.rc = rc
	return rc, bufio.NewReadWriter(bufio.NewReaderSize(rc, readBufSize), bufio.NewWriterSize(corkWriter{rc}, writeBufSize)), nil
}

// rawConn is the hijacked TCP connection. Reads record the time of the last byte
// received (idle detection without a timer per connection); writes happen only through
// the socket's current holder (conn.own), never concurrently.
type rawConn struct {
	net.Conn
	c        *conn // set right after Accept, before any write
	now      func() time.Time
	pending  []byte       // the reader's only
	lastRead atomic.Int64 // unix ns

	// non-blocking write state: sc and wfn set by initRaw, the rest used by the pool
	// worker holding the socket (conn.own == sockWriting) only
	sc   syscall.RawConn
	wfn  func(fd uintptr) bool
	wbuf []byte
	wn   int
	werr error
}

// Read serves the bytes buffered during the handshake first.
func (rc *rawConn) Read(p []byte) (int, error) {
	if len(rc.pending) > 0 {
		n := copy(p, rc.pending)
		rc.pending = rc.pending[n:]
		return n, nil
	}
	n, err := rc.Conn.Read(p)
	if n > 0 {
		rc.lastRead.Store(rc.now().UnixNano())
	}
	return n, err
}

// Close is what coder/websocket calls when it is done with the connection (after its
// close handshake, or right after answering the peer's close frame). The socket's
// holder, or a queued worker, may still have coder's last control frame in conn.out to
// write: wait for that, at most closeFlushWait.
func (rc *rawConn) Close() error {
	if c := rc.c; c != nil {
		c.waitWritten(closeFlushWait)
	}
	return rc.Conn.Close()
}

// closeFlushWait bounds how long Close waits for an owner to write the queued close frame.
const closeFlushWait = 250 * time.Millisecond

// writeNow writes as much of p as the socket accepts without blocking. n < len(p) with
// a nil error means "would block": the caller hands the rest to a blocking writer.
func (rc *rawConn) writeNow(p []byte) (int, error) {
	if rc.sc == nil {
		return 0, nil // no raw descriptor (e.g. TLS): every write goes the blocking way
	}
	rc.wbuf, rc.wn, rc.werr = p, 0, nil
	err := rc.sc.Write(rc.wfn)
	n, werr := rc.wn, rc.werr
	rc.wbuf, rc.werr = nil, nil
	if err == nil {
		err = werr
	}
	return n, err
}

// corkWriter receives what coder/websocket's bufio.Writer flushes: whole control
// frames (pong, close). It writes them at once when the socket is idle (idle → control;
// coder expects that: it closes the socket right after answering a close frame), else
// it queues them in conn.out for the holder or the queued entry's worker, which writes
// them before it releases the socket. It runs under coder's write lock.
type corkWriter struct{ rc *rawConn }

func (w corkWriter) Write(p []byte) (int, error) {
	c := w.rc.c
	c.mu.Lock()
	if c.life == lifeDead {
		c.mu.Unlock()
		return 0, net.ErrClosed
	}
	if !c.takeControlLocked() {
		c.out = append(c.out, p...) // the holder, or the worker of the queued entry, writes it
		c.mu.Unlock()
		return len(p), nil
	}
	data := p
	if len(c.out) > 0 { // the rest of a frame cut by a write timeout goes first
		data = append(c.out, p...)
		c.out = nil
	}
	c.mu.Unlock()
	_, err := w.rc.Conn.Write(data) // bounded by coder's own 5 s control-frame timeout
	c.mu.Lock()
	sc := c.endControlLocked()
	c.mu.Unlock()
	c.h.pool.schedule(c, sc)
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
