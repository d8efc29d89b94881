//go:build unix

package hub

import (
	"errors"
	"io"
	"syscall"
)

// initRaw keeps the socket's syscall.RawConn so that writeNow can write without
// blocking and without a timer: one write(2), no deadline.
func (rc *rawConn) initRaw() {
	sc, ok := rc.Conn.(syscall.Conn)
	if !ok {
		return
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return
	}
	rc.sc = raw
	rc.wfn = rc.rawWrite
}

// rawWrite is called by RawConn.Write with the non-blocking descriptor; returning true
// every time means "do not wait for writability".
func (rc *rawConn) rawWrite(fd uintptr) bool {
	for rc.wn < len(rc.wbuf) {
		n, err := syscall.Write(int(fd), rc.wbuf[rc.wn:])
		if n > 0 {
			rc.wn += n
		}
		switch {
		case err == nil && n > 0:
		case errors.Is(err, syscall.EINTR):
		case errors.Is(err, syscall.EAGAIN):
			return true
		case err != nil:
			rc.werr = err
			return true
		default:
			rc.werr = io.ErrShortWrite
			return true
		}
	}
	return true
}
