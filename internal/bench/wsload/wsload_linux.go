//go:build linux

package wsload

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const maxLinesPerClient = 8

// client is one connection; its state is touched by its loop only, except slow.
type client struct {
	fd     int
	nlines uint8
	lines  [maxLinesPerClient]int32
	last   [maxLinesPerClient]uint64
	pend   []byte
	closed bool
	slow   atomic.Bool
}

type loop struct {
	epfd int
	ep   syscall.RawConn // the epoll descriptor in Go's netpoller
	file *os.File
	buf  []byte

	mu  sync.Mutex // guards w
	w   Window
	out []byte // pong scratch
}

// Gen is a set of clients.
type Gen struct {
	cfg     Config
	clients []client
	loops   []*loop
	subs    int
	stop    atomic.Bool
	wg      sync.WaitGroup
}

// New allocates every client's state up front (so that memory measured after Connect
// is the server's) and chooses each client's lines.
func New(cfg Config) (*Gen, error) {
	if cfg.Path == "" {
		cfg.Path = "/ws"
	}
	if cfg.MinLines <= 0 {
		cfg.MinLines = 1
	}
	if cfg.MaxLines <= 0 {
		cfg.MaxLines = 5
	}
	cfg.MaxLines = min(cfg.MaxLines, maxLinesPerClient, cfg.Lines)
	cfg.MinLines = min(cfg.MinLines, cfg.MaxLines)
	if cfg.Loops <= 0 {
		cfg.Loops = 2
	}
	if cfg.DialConcurrency <= 0 {
		cfg.DialConcurrency = 64
	}
	if cfg.Clients <= 0 || cfg.Lines <= 0 || cfg.Token == nil {
		return nil, errors.New("wsload: Clients, Lines and Token are required")
	}
	g := &Gen{cfg: cfg, clients: make([]client, cfg.Clients)}
	rng := rand.New(rand.NewPCG(cfg.Seed, 7))
	for i := range g.clients {
		c := &g.clients[i]
		c.fd = -1
		n := cfg.MinLines + rng.IntN(cfg.MaxLines-cfg.MinLines+1)
		perm := rng.Perm(cfg.Lines)
		for j := range n {
			c.lines[j] = int32(perm[j] + 1)
		}
		c.nlines = uint8(n)
		g.subs += n
	}
	for range cfg.Loops {
		fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
		if err == nil {
			err = syscall.SetNonblock(fd, true)
		}
		if err != nil {
			g.Close()
			return nil, fmt.Errorf("wsload: epoll: %w", err)
		}
		// A blocking epoll_wait would hold a P until sysmon notices (up to 10 ms), stalling
		// the server goroutines of this process: wait in the netpoller instead (an epoll
		// descriptor is readable when it has events) and harvest with a zero timeout.
		l := &loop{epfd: fd, file: os.NewFile(uintptr(fd), "epoll"), buf: make([]byte, 256<<10), out: make([]byte, 0, 256)}
		if l.ep, err = l.file.SyscallConn(); err != nil {
			g.Close()
			return nil, fmt.Errorf("wsload: epoll: %w", err)
		}
		g.loops = append(g.loops, l)
	}
	return g, nil
}

// Subscriptions is the number of (client, line) subscriptions: the snapshots to expect.
func (g *Gen) Subscriptions() int { return g.subs }

// Connect opens every client (handshake, subscribe) and starts the read loops.
func (g *Gen) Connect(ctx context.Context) error {
	ap, err := net.ResolveTCPAddr("tcp4", g.cfg.Addr)
	if err != nil {
		return fmt.Errorf("wsload: %w", err)
	}
	sa := &syscall.SockaddrInet4{Port: ap.Port}
	copy(sa.Addr[:], ap.IP.To4())
	for _, l := range g.loops {
		g.wg.Go(func() { g.run(l) })
	}
	work := make(chan int)
	errc := make(chan error, 1)
	var wg sync.WaitGroup
	for range g.cfg.DialConcurrency {
		wg.Go(func() {
			own := *sa // syscall.Connect writes into its Sockaddr: one per dialer
			for i := range work {
				if err := g.open(i, &own); err != nil {
					select {
					case errc <- fmt.Errorf("wsload: client %d: %w", i, err):
					default:
					}
				}
			}
		})
	}
	var ferr error
feed:
	for i := range g.clients {
		select {
		case work <- i:
		case ferr = <-errc:
			break feed
		case <-ctx.Done():
			ferr = ctx.Err()
			break feed
		}
	}
	close(work)
	wg.Wait()
	if ferr == nil {
		select {
		case ferr = <-errc:
		default:
		}
	}
	return ferr
}

func (g *Gen) open(i int, sa *syscall.SockaddrInet4) error {
	c := &g.clients[i]
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("socket: %w", err)
	}
	tv := syscall.NsecToTimeval(int64(30 * time.Second))
	_ = syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv)
	_ = syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_SNDTIMEO, &tv)
	if g.cfg.RcvBuf > 0 {
		_ = syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUF, g.cfg.RcvBuf)
	}
	if err := connect(fd, sa); err != nil {
		syscall.Close(fd)
		return fmt.Errorf("connect: %w", err)
	}
	var key [16]byte
	_, _ = crand.Read(key[:])
	req := "GET " + g.cfg.Path + " HTTP/1.1\r\nHost: " + g.cfg.Addr +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " +
		base64.StdEncoding.EncodeToString(key[:]) + "\r\nAuthorization: Bearer " + g.cfg.Token(i) + "\r\n\r\n"
	if err := writeAll(fd, []byte(req)); err != nil {
		syscall.Close(fd)
		return fmt.Errorf("handshake: %w", err)
	}
	var resp []byte
	buf := make([]byte, 1024)
	for {
		n, err := syscall.Read(fd, buf)
		if err == syscall.EINTR {
			continue
		}
		if n <= 0 {
			syscall.Close(fd)
			return fmt.Errorf("handshake: no response (%v)", err)
		}
		resp = append(resp, buf[:n]...)
		if bytes.Contains(resp, []byte("\r\n\r\n")) {
			break
		}
		if len(resp) > 8<<10 {
			syscall.Close(fd)
			return errors.New("handshake: response too long")
		}
	}
	end := bytes.Index(resp, []byte("\r\n\r\n")) + 4
	if !bytes.HasPrefix(resp, []byte("HTTP/1.1 101")) {
		syscall.Close(fd)
		line, _, _ := bytes.Cut(resp, []byte("\r\n"))
		return fmt.Errorf("handshake refused: %s", line)
	}
	sub := []byte(`{"op":"subscribe","lines":[`)
	for j := range int(c.nlines) {
		if j > 0 {
			sub = append(sub, ',')
		}
		sub = strconv.AppendInt(sub, int64(c.lines[j]), 10)
	}
	sub = append(sub, "]}"...)
	if err := writeAll(fd, maskedFrame(nil, 0x1, sub)); err != nil {
		syscall.Close(fd)
		return fmt.Errorf("subscribe: %w", err)
	}
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return err
	}
	l := g.loops[i%len(g.loops)]
	l.mu.Lock()
	c.fd = fd
	c.pend = append(c.pend[:0], resp[end:]...)
	l.mu.Unlock()
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP, Fd: int32(fd), Pad: int32(i)}
	if err := syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return fmt.Errorf("epoll add: %w", err)
	}
	return nil
}

// connect is a blocking connect(2) that survives the runtime's preemption signals: an
// interrupted connect goes on in the background and reports EALREADY, then EISCONN.
func connect(fd int, sa syscall.Sockaddr) error {
	err := syscall.Connect(fd, sa)
	for err == syscall.EINTR || err == syscall.EALREADY {
		time.Sleep(time.Millisecond)
		err = syscall.Connect(fd, sa)
	}
	if err == syscall.EISCONN {
		return nil
	}
	return err
}

func writeAll(fd int, b []byte) error {
	for len(b) > 0 {
		n, err := syscall.Write(fd, b)
		if err != nil {
			if err == syscall.EINTR {
				continue
			}
			return err
		}
		b = b[n:]
	}
	return nil
}

// maskedFrame appends a client frame (clients must mask, RFC 6455 §5.3).
func maskedFrame(b []byte, op byte, p []byte) []byte {
	b = append(b, 0x80|op)
	switch n := len(p); {
	case n <= 125:
		b = append(b, 0x80|byte(n))
	default:
		b = binary.BigEndian.AppendUint16(append(b, 0x80|126), uint16(n))
	}
	var key [4]byte
	binary.LittleEndian.PutUint32(key[:], rand.Uint32()|1)
	b = append(b, key[:]...)
	for i, x := range p {
		b = append(b, x^key[i&3])
	}
	return b
}

func (g *Gen) run(l *loop) {
	events := make([]syscall.EpollEvent, 256)
	var n int
	wait := func(fd uintptr) bool {
		var err error
		n, err = syscall.EpollWait(int(fd), events, 0)
		return err == nil && n > 0 || g.stop.Load()
	}
	for !g.stop.Load() {
		if err := l.ep.Read(wait); err != nil {
			return
		}
		l.mu.Lock()
		for _, ev := range events[:n] {
			c := &g.clients[ev.Pad]
			if !c.closed && !c.slow.Load() && c.fd >= 0 {
				g.read(l, c)
			}
		}
		l.mu.Unlock()
	}
}

func (g *Gen) read(l *loop, c *client) {
	for {
		n, err := syscall.Read(c.fd, l.buf)
		if n > 0 {
			now := time.Now().UnixNano()
			data := l.buf[:n]
			if len(c.pend) > 0 {
				c.pend = append(c.pend, data...)
				data = c.pend
			}
			rest := g.parse(l, c, data, now)
			switch {
			case c.closed:
				return
			case len(rest) == 0:
				c.pend = nil // idle clients keep no buffer
			default:
				c.pend = append(c.pend[:0], rest...) // may overlap: append moves like copy
			}
			if n < len(l.buf) {
				return
			}
			continue
		}
		if err == syscall.EINTR {
			continue
		}
		if err == syscall.EAGAIN {
			return
		}
		g.end(l, c)
		return
	}
}

func (g *Gen) end(l *loop, c *client) {
	if c.closed {
		return
	}
	c.closed = true
	l.w.Ended++
	_ = syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_DEL, c.fd, nil)
}

// parse handles every complete frame of data and returns the incomplete tail.
func (g *Gen) parse(l *loop, c *client, data []byte, now int64) []byte {
	for len(data) >= 2 {
		op, ln, hl := data[0]&0x0F, int(data[1]&0x7F), 2
		switch ln {
		case 126:
			if len(data) < 4 {
				return data
			}
			ln, hl = int(binary.BigEndian.Uint16(data[2:4])), 4
		case 127:
			if len(data) < 10 {
				return data
			}
			ln, hl = int(binary.BigEndian.Uint64(data[2:10])), 10
		}
		if len(data) < hl+ln {
			return data
		}
		p := data[hl : hl+ln]
		data = data[hl+ln:]
		l.w.Msgs++
		switch op {
		case 0x1:
			g.text(l, c, p, now)
		case 0x8:
			code := 1005
			if len(p) >= 2 {
				code = int(binary.BigEndian.Uint16(p))
			}
			if l.w.Closes == nil {
				l.w.Closes = map[int]int{}
			}
			l.w.Closes[code]++
			g.end(l, c)
			return nil
		case 0x9:
			l.out = maskedFrame(l.out[:0], 0xA, p)
			_, _ = syscall.Write(c.fd, l.out)
		}
	}
	return data
}

// text reads type, line and seq from the head of a frame: the contract puts them first
// ({"type":"kpi","line":1,"seq":2,...}).
func (g *Gen) text(l *loop, c *client, p []byte, now int64) {
	typ, p, ok := strField(p, `{"type":"`)
	if !ok {
		return
	}
	switch typ {
	case "snapshot":
		l.w.Snapshots++
	case "error":
		l.w.Errors++
		return
	case "kpi", "downtime":
	default:
		return
	}
	line, p, ok := intField(p, `,"line":`)
	if !ok {
		return
	}
	seq, p, ok := intField(p, `,"seq":`)
	if !ok {
		return
	}
	for j := range int(c.nlines) {
		if uint64(c.lines[j]) != line {
			continue
		}
		switch last := c.last[j]; {
		case typ == "snapshot":
		case seq <= last:
			l.w.Disorder++
		case last > 0 && seq > last+1:
			l.w.Gaps++
		}
		c.last[j] = seq
	}
	if typ == "snapshot" {
		return
	}
	if typ == "kpi" {
		l.w.KPIs++
	}
	var at int64
	if ns, _, ok := intField(p, `,"pub_ns":`); ok {
		at = int64(ns)
	} else if g.cfg.PublishedAt != nil {
		at = g.cfg.PublishedAt(int64(line), seq)
	}
	if at > 0 {
		if typ == "kpi" {
			l.w.KPI.Record(time.Duration(now - at))
		} else {
			l.w.Downtime.Record(time.Duration(now - at))
		}
	}
}

func strField(p []byte, prefix string) (string, []byte, bool) {
	if !bytes.HasPrefix(p, []byte(prefix)) {
		return "", p, false
	}
	p = p[len(prefix):]
	i := bytes.IndexByte(p, '"')
	if i < 0 || i > 16 {
		return "", p, false
	}
	return string(p[:i]), p[i+1:], true
}

func intField(p []byte, prefix string) (uint64, []byte, bool) {
	if !bytes.HasPrefix(p, []byte(prefix)) {
		return 0, p, false
	}
	p = p[len(prefix):]
	var v uint64
	i := 0
	for ; i < len(p) && p[i] >= '0' && p[i] <= '9'; i++ {
		v = v*10 + uint64(p[i]-'0')
	}
	return v, p[i:], i > 0
}

// Window returns what the clients saw since the previous call.
func (g *Gen) Window() Window {
	var w Window
	for _, l := range g.loops {
		l.mu.Lock()
		w.merge(&l.w)
		l.w = Window{}
		l.mu.Unlock()
	}
	return w
}

// MakeSlow makes a fraction of the clients stop reading for good (their sockets fill up)
// and returns how many.
func (g *Gen) MakeSlow(fraction float64, seed uint64) int {
	n := int(fraction * float64(len(g.clients)))
	rng := rand.New(rand.NewPCG(seed, 11))
	made := 0
	for _, i := range rng.Perm(len(g.clients))[:n] {
		c := &g.clients[i]
		if !c.slow.Swap(true) {
			made++
			if c.fd >= 0 { // level-triggered: a socket left unread must leave the set
				_ = syscall.EpollCtl(g.loops[i%len(g.loops)].epfd, syscall.EPOLL_CTL_DEL, c.fd, nil)
			}
		}
	}
	return made
}

// IsSlow reports whether client i was made slow.
func (g *Gen) IsSlow(i int) bool { return g.clients[i].slow.Load() }

// ProcessCPU is the CPU time (user + system) this process used so far, in seconds.
func ProcessCPU() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// RaiseFileLimit raises RLIMIT_NOFILE to its hard limit (10,000 clients and their
// server ends need 20,000 descriptors) and returns the new limit.
func RaiseFileLimit() (uint64, error) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, err
	}
	if rl.Max < 1<<16 { // privileged processes may raise the hard limit too
		up := syscall.Rlimit{Cur: 1 << 16, Max: 1 << 16}
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &up) == nil {
			return up.Cur, nil
		}
	}
	rl.Cur = rl.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, err
	}
	return rl.Cur, nil
}

// Close stops the loops and resets every connection (SO_LINGER 0: no TIME_WAIT left behind).
func (g *Gen) Close() {
	g.stop.Store(true)
	for _, l := range g.loops {
		_ = l.file.SetReadDeadline(time.Now()) // wake the loop parked in the netpoller
	}
	g.wg.Wait()
	for i := range g.clients {
		c := &g.clients[i]
		if c.fd >= 0 {
			_ = syscall.SetsockoptLinger(c.fd, syscall.SOL_SOCKET, syscall.SO_LINGER, &syscall.Linger{Onoff: 1, Linger: 0})
			_ = syscall.Close(c.fd)
			c.fd = -1
		}
	}
	for _, l := range g.loops {
		_ = l.file.Close()
	}
}
