package ingest_test

import (
	"context"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/linepulse/linepulse/ingest"
	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/store/storetest"
)

// TestExactlyOnceAfterAbruptStop: 100,000 detections with unique ids; the writer is
// stopped abruptly while batches are in flight (MySQL: its NATS connection is closed, so
// committed batches lose their acknowledgements; SQLite: its context is cancelled); a
// new writer with the same durable takes over while 10 % of the detections are
// re-published under new Nats-Msg-Ids. The tables hold exactly 100,000 and the rollups
// sum to 100,000.
func TestExactlyOnceAfterAbruptStop(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		const (
			lines   = 4
			perLine = 25_000
			perMsg  = 100
			total   = lines * perLine
		)
		st := e.Open(t)
		p := newPlant(t, st, "acme", lines)
		b := newBus(t)
		pub := newPublisher(t, b)
		for _, l := range p.lines {
			pub.publishAll(t, "acme", l, dets(1, perLine), perMsg, "first")
		}
		// Short AckWait: messages the first writer held come back quickly. Small holding
		// limits: the first writer cannot take everything before it is stopped.
		cfg := ingest.WriterConfig{BatchSize: 500, AckWait: 2 * time.Second, MaxAckPending: 40, MaxPendingBytes: 1 << 20}

		nc1 := connect(t, b, "writer-1")
		w1 := startWriter(t, cfg, nc1, st)
		eventually(t, "a third stored", func() bool { return w1.w.Stats().Stored >= total/3 })
		var err1 error
		if e.Name == "mysql" {
			nc1.Close() // abrupt: acknowledgements of what commits from now on are lost
			err1 = w1.wait(t)
		} else {
			err1 = w1.stop(t) // cancel while batches are in flight
		}
		s1 := w1.w.Stats()
		t.Logf("first writer: %+v (Run: %v)", s1, err1)
		if s1.Stored >= total {
			t.Fatalf("first writer stored everything (%d) before the stop: the test proves nothing", s1.Stored)
		}

		w2 := startWriter(t, cfg, connect(t, b, "writer-2"), st)
		for _, l := range p.lines {
			pub.publishAll(t, "acme", l, dets(1, perLine/10), perMsg, "again")
		}
		eventually(t, "everything stored and acknowledged", func() bool {
			r, _ := p.totals(t)
			return r == total && consumerIdle(t, b, ingest.DefaultDurable)
		})
		if err := w2.stop(t); err != nil {
			t.Fatalf("second writer: %v", err)
		}
		s2 := w2.w.Stats()
		t.Logf("second writer: %+v", s2)
		rows, rollup := p.totals(t)
		if rows != total || rollup != total {
			t.Fatalf("stored %d, rollups %d, want exactly %d", rows, rollup, total)
		}
		if s1.Stored+s2.Stored != total {
			t.Fatalf("writers inserted %d + %d, want %d", s1.Stored, s2.Stored, total)
		}
		if s2.Duplicates < total/10 {
			t.Fatalf("second writer saw %d duplicates, want at least the %d re-published", s2.Duplicates, total/10)
		}
	})
}

// TestDatabaseOutage: MariaDB is unreachable for 20 s while detections keep coming (the
// writer reaches it through a TCP proxy that the test closes and re-opens): nothing is
// lost, nothing is duplicated, Run never returns, and the lag metric shows the backlog.
func TestDatabaseOutage(t *testing.T) {
	var eng *storetest.Engine
	for _, e := range storetest.Engines(t) {
		if e.Name == "mysql" {
			eng = &e
		}
	}
	if eng == nil {
		t.Skip("MySQL suite skipped (see the warning above): the outage test needs MariaDB")
	}
	cfg := eng.Config(t)
	direct, err := store.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { direct.Close() })
	p := newPlant(t, direct, "acme", 2)

	dsn, err := mysql.ParseDSN(cfg.MySQLDSN)
	if err != nil {
		t.Fatal(err)
	}
	px := startProxy(t, dsn.Addr)
	dsn.Addr = px.addr
	viaProxy := cfg
	viaProxy.MySQLDSN = dsn.FormatDSN()
	st, err := store.Open(context.Background(), viaProxy)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })

	b := newBus(t)
	pub := newPublisher(t, b)
	reg := prometheus.NewRegistry()
	w := startWriter(t, ingest.WriterConfig{Registerer: reg}, connect(t, b, "writer"), st)

	// 20 detections per message, 2 lines, every 25 ms, for 26 s: ~42,000 detections.
	const perMsg = 20
	stopPub := make(chan struct{})
	pubDone := make(chan uint64)
	go func() {
		next := uint64(1)
		tick := time.NewTicker(25 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stopPub:
				pubDone <- next - 1
				return
			case <-tick.C:
			}
			for _, l := range p.lines {
				if err := pub.publish("acme", l, dets(next, perMsg), perMsg, "o"); err != nil {
					t.Errorf("publisher: %v", err)
				}
			}
			next += perMsg
		}
	}()

	time.Sleep(3 * time.Second)
	if w.w.Stats().Stored == 0 {
		t.Fatal("nothing stored before the outage")
	}
	px.down()
	outage := time.Now()
	lagSeen := false
	for time.Since(outage) < 20*time.Second {
		if v, _ := metricValue(t, reg, "linepulse_ingest_consumer_lag", nil); v > 0 {
			lagSeen = true
		}
		if w.returned() {
			t.Fatalf("Run returned during the outage: %v", w.err)
		}
		time.Sleep(250 * time.Millisecond)
	}
	errorsDuring := w.w.Stats().DBErrors
	px.up()
	time.Sleep(3 * time.Second)
	close(stopPub)
	last := <-pubDone
	want := int64(last) * int64(len(p.lines))

	eventually(t, "everything stored after the outage", func() bool {
		r, _ := p.totals(t)
		return r == want && consumerIdle(t, b, ingest.DefaultDurable)
	})
	rows, rollup := p.totals(t)
	if rows != want || rollup != want {
		t.Fatalf("stored %d, rollups %d, want %d", rows, rollup, want)
	}
	s := w.w.Stats()
	t.Logf("writer: %+v, db errors during the outage %d", s, errorsDuring)
	if errorsDuring == 0 {
		t.Fatal("no database error during the outage: the proxy did not cut the writer off")
	}
	if !lagSeen {
		t.Fatal("linepulse_ingest_consumer_lag never showed the backlog during the outage")
	}
	// A COMMIT whose reply the outage cut off is retried and finds its rows stored:
	// they count as duplicates, not twice.
	if s.Stored > uint64(want) || s.Stored+s.Duplicates < uint64(want) {
		t.Fatalf("writer inserted %d (+%d duplicates), want %d", s.Stored, s.Duplicates, want)
	}
	if err := w.stop(t); err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// proxy forwards TCP connections to a target; down closes the listener and every
// connection (the database "stops"), up listens again on the same address.
type proxy struct {
	t      testing.TB
	addr   string
	target string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

func startProxy(t testing.TB, target string) *proxy {
	p := &proxy{t: t, addr: "127.0.0.1:0", target: target, conns: map[net.Conn]struct{}{}}
	p.up()
	t.Cleanup(func() { p.down(); p.wg.Wait() })
	return p
}

func (p *proxy) up() {
	p.mu.Lock()
	defer p.mu.Unlock()
	var ln net.Listener
	var err error
	for range 100 { // the port can take a moment to be free again
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		p.t.Fatalf("proxy: %v", err)
	}
	p.ln, p.addr = ln, ln.Addr().String()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.wg.Add(1)
			go func() { defer p.wg.Done(); p.serve(c) }()
		}
	}()
}

func (p *proxy) serve(c net.Conn) {
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	if !p.track(c, s) {
		return
	}
	done := make(chan struct{}, 2)
	go func() { io.Copy(s, c); done <- struct{}{} }()
	go func() { io.Copy(c, s); done <- struct{}{} }()
	<-done
	c.Close()
	s.Close()
	<-done
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, s)
	p.mu.Unlock()
}

// track registers a connection pair unless the proxy went down meanwhile.
func (p *proxy) track(c, s net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln == nil {
		c.Close()
		s.Close()
		return false
	}
	p.conns[c], p.conns[s] = struct{}{}, struct{}{}
	return true
}

func (p *proxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
}
