//go:build !unix

package hub

// initRaw: without a raw descriptor, writeNow reports "would block" and every write
// goes through the connection's blocking writer goroutine.
func (rc *rawConn) initRaw() {}
