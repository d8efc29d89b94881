package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/linepulse/linepulse/bus"
	"github.com/linepulse/linepulse/hub"
	"github.com/linepulse/linepulse/hub/wsload"
	"github.com/linepulse/linepulse/identity"
	"github.com/linepulse/linepulse/internal/clock"
	"github.com/linepulse/linepulse/stream"
)

// fanoutFlags are the options of `linepulse bench fanout`.
type fanoutFlags struct {
	clients, lines, loops, workers, payload *int
	rcvBuf                                  *int
	rate, slow, downtimeRate                *float64
	duration, warmup, window                *time.Duration
	url, natsURL, token, tenant, pacing     *string
	cpuProfile, trace                       *string
	loadChild, localClients, baseline       *bool
}

func benchFanoutCommand() *command {
	c := &command{name: "bench fanout", short: "measure WebSocket fan-out: latency, throughput, memory per connection, slow clients", flags: newFlags("bench fanout")}
	f := fanoutFlags{
		clients:      c.flags.Int("clients", 10000, "WebSocket clients, each on 1-5 random lines"),
		lines:        c.flags.Int("lines", 50, "lines publishing KPI updates (ids 1..N)"),
		rate:         c.flags.Float64("rate", 4, "KPI updates per second per line"),
		duration:     c.flags.Duration("duration", 60*time.Second, "measurement time of each phase (without and with slow clients)"),
		warmup:       c.flags.Duration("warmup", 5*time.Second, "load before measuring"),
		window:       c.flags.Duration("window", 10*time.Second, "interval of the per-window report (lag growth)"),
		slow:         c.flags.Float64("slow", 0.01, "fraction of clients that stop reading in the second phase; 0 = skip it"),
		downtimeRate: c.flags.Float64("downtime-rate", 1, "downtime events per second (over all lines), taking seq numbers like KPI updates"),
		payload:      c.flags.Int("payload", 700, "approximate KPI message size in bytes"),
		loops:        c.flags.Int("loops", 2, "epoll goroutines of the load generator"),
		rcvBuf:       c.flags.Int("client-rcvbuf", 0, "SO_RCVBUF of each client socket in bytes (0 = the OS default, autotuned)"),
		workers:      c.flags.Int("workers", 0, "hub writer goroutines (0 = GOMAXPROCS)"),
		url:          c.flags.String("url", "", "ws://host:port/ws of an external server (default: an in-process bus + hub on 127.0.0.1)"),
		natsURL:      c.flags.String("nats-url", "", "with --url: the NATS server to publish on"),
		token:        c.flags.String("token", "", "with --url: Bearer token for every client"),
		tenant:       c.flags.String("tenant", "bench", "tenant slug of the lines"),
		pacing:       c.flags.String("pacing", "engine", "KPI update timing within each 1/rate period: engine (each line in its slot, as the KPI engine publishes), burst (every line at once) or even (evenly spaced, one line at a time)"),
		cpuProfile:   c.flags.String("cpuprofile", "", "write a CPU profile of the server process during the first measured phase to this file"),
		trace:        c.flags.String("trace", "", "write an execution trace of the server process during the first measured phase (go tool trace)"),
		loadChild:    c.flags.Bool("load-child", false, "internal: run only the clients of --url, driven over stdin/stdout by the parent bench"),
		baseline:     c.flags.Bool("baseline", false, "serve with the naive design instead of package hub (a goroutine and a 16-slot channel per connection, one coder/websocket Write per message), for comparison"),
		localClients: c.flags.Bool("local-clients", false, "run the clients in this process instead of a child (≤ ~9,000 clients: one process may hold 20,000 sockets here)"),
	}
	c.run = func(cc *cliContext) error {
		if *f.loadChild {
			return fanoutChild(cc, f)
		}
		return benchFanout(cc, f)
	}
	return c
}

// fanoutAuth trusts "Bearer bench": the bench command's in-process server only.
type fanoutAuth struct{ tenant string }

func (a fanoutAuth) AuthenticateWS(r *http.Request) (identity.Principal, error) {
	if r.Header.Get("Authorization") != "Bearer "+fanoutToken {
		return identity.Principal{}, errors.New("bench: unknown token")
	}
	return identity.Principal{UserID: 1, TenantID: 1, TenantSlug: a.tenant, Role: "viewer"}, nil
}

const fanoutToken = "bench"

type fanoutLines struct{ n int64 }

func (l fanoutLines) LineExists(_ context.Context, tenantID, lineID int64) bool {
	return tenantID == 1 && lineID >= 1 && lineID <= l.n
}

type fanoutTarget struct {
	wsURL string
	pubNC *nats.Conn
	hub   *hub.Hub
	reg   *prometheus.Registry
	close func()
}

// fanoutLoad is the client side: in this process (external server) or in a child
// process (in-process server: the sandbox allows 20,000 descriptors per process, and
// 10,000 clients plus their 10,000 server ends do not fit in one).
type fanoutLoad interface {
	Subscriptions() int
	Window() (wsload.Window, error)
	MakeSlow(fraction float64) (int, error)
	Close()
}

func benchFanout(cc *cliContext, f fanoutFlags) error {
	if *f.clients <= 0 || *f.lines <= 0 || *f.rate <= 0 || *f.duration <= 0 {
		return errors.New("--clients, --lines, --rate and --duration must be positive")
	}
	if *f.pacing != "engine" && *f.pacing != "burst" && *f.pacing != "even" {
		return fmt.Errorf("--pacing %q: want engine, burst or even", *f.pacing)
	}
	if _, err := wsload.RaiseFileLimit(); err != nil {
		return fmt.Errorf("cannot raise the open-file limit: %w", err)
	}
	out := cc.stdout
	ctx := cc.ctx
	tgt, err := fanoutSetup(cc, f)
	if err != nil {
		return err
	}
	defer tgt.close()
	fmt.Fprintf(out, "bench fanout: %d clients on 1-5 of %d lines, %d lines × %.3g updates/s (%s pacing) + %.3g downtime events/s, %d-byte KPI messages, GOMAXPROCS %d, load average %s\n",
		*f.clients, *f.lines, *f.lines, *f.rate, *f.pacing, *f.downtimeRate, *f.payload, runtime.GOMAXPROCS(0), loadAverage())

	before := fanoutMem()
	t0 := time.Now()
	var load fanoutLoad
	if tgt.hub != nil && !*f.localClients {
		load, err = startFanoutChild(ctx, f, tgt.wsURL)
	} else if tgt.hub != nil {
		load, err = startFanoutLocal(ctx, f, tgt.wsURL, fanoutToken)
	} else {
		load, err = startFanoutLocal(ctx, f, tgt.wsURL, *f.token)
	}
	if err != nil {
		return err
	}
	defer load.Close()
	connectTime := time.Since(t0)
	after := fanoutMem()
	kib := "n/a"
	if tgt.hub != nil {
		per := func(a, b uint64) float64 { return float64(int64(a)-int64(b)) / float64(*f.clients) / 1024 }
		heap := per(after.HeapInuse, before.HeapInuse)
		stack := per(after.StackInuse, before.StackInuse)
		kib = fmt.Sprintf("%.1f", heap+stack)
		fmt.Fprintf(out, "%d subscriptions connected, subscribed and snapshotted in %v; server memory per idle connection: %.1f KiB (heap %.1f + goroutine stacks %.1f; runtime Sys %.1f); server goroutines %d\n",
			load.Subscriptions(), connectTime.Round(time.Millisecond), heap+stack, heap, stack, per(after.Sys, before.Sys), runtime.NumGoroutine())
	} else {
		fmt.Fprintf(out, "%d subscriptions connected, subscribed and snapshotted in %v\n", load.Subscriptions(), connectTime.Round(time.Millisecond))
	}

	pctx, stopPub := context.WithCancel(ctx)
	var pwg sync.WaitGroup
	var pubErr error
	pwg.Go(func() { pubErr = fanoutPublish(pctx, tgt.pubNC, f) })
	defer func() { stopPub(); pwg.Wait() }()

	if !clock.Sleep(ctx, *f.warmup) {
		return ctx.Err()
	}
	if _, err := load.Window(); err != nil {
		return err
	}
	stopProfile, err := fanoutProfile(f)
	if err != nil {
		return err
	}
	statsA, cpuA := tgt.stats(), wsload.ProcessCPU()
	a, err := fanoutPhase(ctx, out, load, "phase 1: every client reading", *f.duration, *f.window)
	stopProfile()
	if err != nil {
		return err
	}
	statsA2, cpuA2 := tgt.stats(), wsload.ProcessCPU()
	fanoutSummary(out, &a, *f.duration)
	if tgt.hub != nil {
		fmt.Fprintf(out, "  server process: %.0f %% of a core, %.2f µs CPU per delivered frame; load generator: %.0f %% of a core\n",
			(cpuA2-cpuA)/f.duration.Seconds()*100, (cpuA2-cpuA)*1e6/float64(max(a.Msgs, 1)), a.CPU/f.duration.Seconds()*100)
		if !*f.baseline {
			frames, writes := statsA2.MessagesOut-statsA.MessagesOut, statsA2.Writes-statsA.Writes
			fmt.Fprintf(out, "  hub: %d frames in %d socket writes (%.2f per write), %d KPI updates coalesced, publish→socket write p99 %s\n",
				frames, writes, float64(frames)/float64(max(writes, 1)), statsA2.Coalesced-statsA.Coalesced, fanoutHistQuantile(tgt.reg, "linepulse_hub_send_latency_seconds", 0.99))
		}
	}

	if *f.slow > 0 {
		n, err := load.MakeSlow(*f.slow)
		if err != nil {
			return err
		}
		statsB := tgt.stats()
		b, err := fanoutPhase(ctx, out, load, fmt.Sprintf("phase 2: %d clients (%.3g %%) stop reading", n, *f.slow*100), *f.duration, *f.window)
		if err != nil {
			return err
		}
		statsB2 := tgt.stats()
		fanoutSummary(out, &b, *f.duration)
		if tgt.hub != nil && !*f.baseline {
			fmt.Fprintf(out, "  hub: %d slow clients disconnected (close %d), %d KPI updates coalesced\n",
				statsB2.SlowDisconnects-statsB.SlowDisconnects, hub.CloseTooSlow, statsB2.Coalesced-statsB.Coalesced)
		}
		fmt.Fprintf(out, "  effect of %d slow clients on the others: kpi p99 %s → %s, downtime p99 %s → %s, msgs/s %.0f → %.0f\n",
			n, fanoutMS(a.KPI.Quantile(0.99)), fanoutMS(b.KPI.Quantile(0.99)), fanoutMS(a.Downtime.Quantile(0.99)), fanoutMS(b.Downtime.Quantile(0.99)),
			float64(a.Msgs)/f.duration.Seconds(), float64(b.Msgs)/f.duration.Seconds())
	}
	stopPub()
	pwg.Wait()
	if pubErr != nil && !errors.Is(pubErr, context.Canceled) {
		return pubErr
	}
	fmt.Fprintf(out, "fanout: %d clients, %.0f msgs/s, p99 %s ms, %s KiB/conn\n",
		*f.clients, float64(a.Msgs)/f.duration.Seconds(), strings.TrimSuffix(fanoutMS(a.KPI.Quantile(0.99)), " ms"), kib)
	return nil
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

func fanoutProfile(f fanoutFlags) (stop func(), err error) {
	var stops []func()
	stop = func() {
		for _, s := range stops {
			s()
		}
	}
	if *f.cpuProfile != "" {
		pf, err := os.Create(*f.cpuProfile)
		if err != nil {
			return stop, err
		}
		if err := pprof.StartCPUProfile(pf); err != nil {
			pf.Close()
			return stop, err
		}
		stops = append(stops, func() { pprof.StopCPUProfile(); pf.Close() })
	}
	if *f.trace != "" {
		tf, err := os.Create(*f.trace)
		if err != nil {
			return stop, err
		}
		if err := trace.Start(tf); err != nil {
			tf.Close()
			return stop, err
		}
		stops = append(stops, func() { trace.Stop(); tf.Close() })
	}
	return stop, nil
}

// localLoad runs the clients in this process.
type localLoad struct{ g *wsload.Gen }

func startFanoutLocal(ctx context.Context, f fanoutFlags, wsURL, token string) (*localLoad, error) {
	u, err := url.Parse(wsURL)
	if err != nil {
		return nil, err
	}
	g, err := wsload.New(wsload.Config{
		Addr: u.Host, Path: u.Path, Token: func(int) string { return token },
		Clients: *f.clients, Lines: *f.lines, Seed: 1, Loops: *f.loops, RcvBuf: *f.rcvBuf,
	})
	if err != nil {
		return nil, err
	}
	if err := g.Connect(ctx); err != nil {
		g.Close()
		return nil, err
	}
	var setup wsload.Window
	deadline := time.Now().Add(2 * time.Minute)
	for setup.Snapshots < int64(g.Subscriptions()) {
		if time.Now().After(deadline) || ctx.Err() != nil {
			g.Close()
			return nil, fmt.Errorf("only %d of %d snapshots arrived (errors %d, closes %v)", setup.Snapshots, g.Subscriptions(), setup.Errors, setup.Closes)
		}
		time.Sleep(20 * time.Millisecond)
		w := g.Window()
		setup.Merge(&w)
	}
	return &localLoad{g: g}, nil
}

func (l *localLoad) Subscriptions() int { return l.g.Subscriptions() }
func (l *localLoad) Window() (wsload.Window, error) {
	w := l.g.Window()
	return w, nil
}
func (l *localLoad) MakeSlow(fr float64) (int, error) { return l.g.MakeSlow(fr, 2), nil }
func (l *localLoad) Close()                           { l.g.Close() }

// childLoad runs the clients in a child process (`bench fanout --load-child`), asked
// for each window over its stdin, answering with one JSON line on its stdout.
type childLoad struct {
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Scanner
	subs int
	cpu  float64
}

type childReply struct {
	Subs   int           `json:"subs,omitempty"`
	Slow   int           `json:"slow,omitempty"`
	Window wsload.Window `json:"window"`
	CPU    float64       `json:"cpu"`
	Err    string        `json:"error,omitempty"`
}

func startFanoutChild(ctx context.Context, f fanoutFlags, wsURL string) (*childLoad, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, exe, "bench", "fanout", "--load-child", "--url", wsURL, "--token", fanoutToken,
		"--clients", strconv.Itoa(*f.clients), "--lines", strconv.Itoa(*f.lines), "--loops", strconv.Itoa(*f.loops),
		"--client-rcvbuf", strconv.Itoa(*f.rcvBuf), "--log-level", "warn")
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	outp, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("cannot start the load generator: %w", err)
	}
	c := &childLoad{cmd: cmd, in: in, out: bufio.NewScanner(outp)}
	c.out.Buffer(make([]byte, 1<<20), 16<<20)
	r, err := c.reply()
	if err != nil {
		c.Close()
		return nil, err
	}
	c.subs = r.Subs
	return c, nil
}

func (c *childLoad) reply() (childReply, error) {
	var r childReply
	if !c.out.Scan() {
		return r, fmt.Errorf("load generator ended: %v", c.out.Err())
	}
	if err := json.Unmarshal(c.out.Bytes(), &r); err != nil {
		return r, fmt.Errorf("load generator: %w", err)
	}
	if r.Err != "" {
		return r, errors.New("load generator: " + r.Err)
	}
	return r, nil
}

func (c *childLoad) ask(cmd string) (childReply, error) {
	if _, err := io.WriteString(c.in, cmd+"\n"); err != nil {
		return childReply{}, err
	}
	return c.reply()
}

func (c *childLoad) Subscriptions() int { return c.subs }

func (c *childLoad) Window() (wsload.Window, error) {
	r, err := c.ask("window")
	r.Window.CPU = r.CPU - c.cpu
	c.cpu = r.CPU
	return r.Window, err
}

func (c *childLoad) MakeSlow(fr float64) (int, error) {
	r, err := c.ask("slow " + strconv.FormatFloat(fr, 'g', -1, 64))
	return r.Slow, err
}

func (c *childLoad) Close() {
	_ = c.in.Close() // the child exits at end of input
	done := make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Kill()
		<-done
	}
}

// fanoutChild is the --load-child side of childLoad.
func fanoutChild(cc *cliContext, f fanoutFlags) error {
	enc := json.NewEncoder(cc.stdout)
	if _, err := wsload.RaiseFileLimit(); err != nil {
		return enc.Encode(&childReply{Err: err.Error()})
	}
	l, err := startFanoutLocal(cc.ctx, f, *f.url, *f.token)
	if err != nil {
		return enc.Encode(&childReply{Err: err.Error()})
	}
	defer l.Close()
	if err := enc.Encode(&childReply{Subs: l.Subscriptions(), CPU: wsload.ProcessCPU()}); err != nil {
		return err
	}
	sc := bufio.NewScanner(cc.stdin)
	for sc.Scan() {
		cmd, arg, _ := strings.Cut(sc.Text(), " ")
		var r childReply
		switch cmd {
		case "window":
			r.Window, _ = l.Window()
		case "slow":
			fr, err := strconv.ParseFloat(arg, 64)
			if err != nil {
				r.Err = err.Error()
			} else {
				r.Slow, _ = l.MakeSlow(fr)
			}
		default:
			r.Err = "unknown command " + cmd
		}
		r.CPU = wsload.ProcessCPU()
		if err := enc.Encode(&r); err != nil {
			return err
		}
	}
	return sc.Err()
}

func (t *fanoutTarget) stats() hub.Stats {
	if t.hub == nil {
		return hub.Stats{}
	}
	return t.hub.Stats()
}

func fanoutMem() runtime.MemStats {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m
}

func fanoutMS(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64) + " ms"
}

// fanoutPhase measures for d, printing one line per window.
func fanoutPhase(ctx context.Context, out io.Writer, load fanoutLoad, title string, d, window time.Duration) (wsload.Window, error) {
	fmt.Fprintln(out, title)
	if _, err := load.Window(); err != nil {
		return wsload.Window{}, err
	}
	var total wsload.Window
	start := time.Now()
	for el := time.Duration(0); el < d; {
		step := min(window, d-el)
		if !clock.Sleep(ctx, step) {
			return total, ctx.Err()
		}
		w, err := load.Window()
		if err != nil {
			return total, err
		}
		el = time.Since(start)
		fmt.Fprintf(out, "  %6s  %8.0f msgs/s  kpi p50 %s p99 %s max %s  downtime p99 %s (%d)\n",
			el.Round(time.Second), float64(w.Msgs)/step.Seconds(), fanoutMS(w.KPI.Quantile(0.5)), fanoutMS(w.KPI.Quantile(0.99)), fanoutMS(w.KPI.Max()),
			fanoutMS(w.Downtime.Quantile(0.99)), w.Downtime.Count())
		total.Merge(&w)
	}
	return total, nil
}

func fanoutSummary(out io.Writer, w *wsload.Window, d time.Duration) {
	fmt.Fprintf(out, "  total: %.0f msgs/s delivered; kpi latency p50 %s p99 %s max %s (%d); downtime p50 %s p99 %s max %s (%d); seq gaps (coalesced) %d, out of order %d, errors %d, closes %v\n",
		float64(w.Msgs)/d.Seconds(), fanoutMS(w.KPI.Quantile(0.5)), fanoutMS(w.KPI.Quantile(0.99)), fanoutMS(w.KPI.Max()), w.KPI.Count(),
		fanoutMS(w.Downtime.Quantile(0.5)), fanoutMS(w.Downtime.Quantile(0.99)), fanoutMS(w.Downtime.Max()), w.Downtime.Count(),
		w.Gaps, w.Disorder, w.Errors, w.Closes)
}

// fanoutHistQuantile reads a quantile (bucket upper bound) of a registered histogram.
func fanoutHistQuantile(reg *prometheus.Registry, name string, q float64) string {
	mfs, err := reg.Gather()
	if err != nil {
		return "?"
	}
	for _, mf := range mfs {
		if mf.GetName() != name || len(mf.GetMetric()) == 0 {
			continue
		}
		h := mf.GetMetric()[0].GetHistogram()
		rank := q * float64(h.GetSampleCount())
		for _, b := range h.GetBucket() {
			if float64(b.GetCumulativeCount()) >= rank {
				return "≤ " + fanoutMS(time.Duration(b.GetUpperBound()*float64(time.Second)))
			}
		}
		return "> " + fanoutMS(time.Duration(h.GetBucket()[len(h.GetBucket())-1].GetUpperBound()*float64(time.Second)))
	}
	return "?"
}

// fanoutSetup starts the in-process bus, hub and HTTP server, or connects to --url.
func fanoutSetup(cc *cliContext, f fanoutFlags) (*fanoutTarget, error) {
	if *f.url != "" {
		u, err := url.Parse(*f.url)
		if err != nil || u.Scheme != "ws" || u.Port() == "" || net.ParseIP(u.Hostname()).To4() == nil {
			return nil, fmt.Errorf("--url %q: want ws://<IPv4>:port/path (the load generator speaks plain ws over IPv4)", *f.url)
		}
		if *f.natsURL == "" || *f.token == "" {
			return nil, errors.New("--url needs --nats-url (to publish) and --token (for the clients)")
		}
		nc, err := nats.Connect(*f.natsURL, nats.Name("linepulse bench fanout"))
		if err != nil {
			return nil, fmt.Errorf("cannot connect to %s: %w", *f.natsURL, err)
		}
		return &fanoutTarget{wsURL: *f.url, pubNC: nc, close: nc.Close}, nil
	}
	dir, err := os.MkdirTemp("", "linepulse-bench-fanout-")
	if err != nil {
		return nil, err
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	bcfg := bus.DefaultConfig()
	bcfg.Listen, bcfg.StoreDir, bcfg.SyncAlways, bcfg.Logger = "-", dir, false, quiet
	b, err := bus.New(bcfg)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	var closers []func()
	cleanup := func() {
		for _, c := range slices.Backward(closers) {
			c()
		}
	}
	closers = append(closers, func() { os.RemoveAll(dir) })
	if err := b.Start(cc.ctx); err != nil {
		cleanup()
		return nil, err
	}
	closers = append(closers, func() { _ = b.Close() })
	hnc, err := b.Connect("hub")
	if err != nil {
		cleanup()
		return nil, err
	}
	closers = append(closers, hnc.Close)
	pnc, err := b.Connect("bench-publisher")
	if err != nil {
		cleanup()
		return nil, err
	}
	closers = append(closers, pnc.Close)
	if err := fanoutSeedKPIs(cc.ctx, pnc, *f.tenant, *f.lines, *f.payload); err != nil {
		cleanup()
		return nil, err
	}
	reg := prometheus.NewRegistry()
	h, err := hub.New(hub.Config{
		MaxConnsPerIP: -1, MaxConnsPerUser: -1, Workers: *f.workers,
		Logger: cc.log, Registerer: reg,
	}, hnc, fanoutAuth{tenant: *f.tenant}, fanoutLines{n: int64(*f.lines)})
	if err != nil {
		cleanup()
		return nil, err
	}
	hctx, stopHub := context.WithCancel(context.WithoutCancel(cc.ctx))
	hdone := make(chan error, 1)
	go func() { hdone <- h.Run(hctx) }()
	closers = append(closers, func() { stopHub(); <-hdone })
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		cleanup()
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /ws", h)
	if *f.baseline {
		nh, err := newNaiveHub(cc.ctx, pnc, *f.tenant)
		if err != nil {
			cleanup()
			return nil, err
		}
		mux = http.NewServeMux()
		mux.Handle("GET /ws", nh)
		closers = append(closers, nh.close)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: nil}
	go func() { _ = srv.Serve(ln) }()
	closers = append(closers, func() { _ = srv.Close() })
	for { // wait until Run accepts upgrades
		resp, err := http.Get("http://" + ln.Addr().String() + "/ws")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusServiceUnavailable {
				break
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return &fanoutTarget{
		wsURL: "ws://" + ln.Addr().String() + "/ws", pubNC: pnc, hub: h, reg: reg,
		close: cleanup,
	}, nil
}

// fanoutSeedKPIs creates the LP_KPI bucket and stores seq 1 of every line, as the stream
// engine would, so that subscribers get real snapshots.
func fanoutSeedKPIs(ctx context.Context, nc *nats.Conn, tenant string, lines, size int) error {
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: hub.KPIBucket, Storage: jetstream.MemoryStorage})
	if err != nil {
		return fmt.Errorf("cannot create the %s bucket: %w", hub.KPIBucket, err)
	}
	var b []byte
	for l := 1; l <= lines; l++ {
		b = fanoutKPI(b[:0], int64(l), 1, 0, size)
		if _, err := kv.Put(ctx, hub.KPIKey(tenant, int64(l)), b); err != nil {
			return err
		}
	}
	return nil
}

// fanoutKPI appends a contract-shaped KPI update of about size bytes.
func fanoutKPI(b []byte, line int64, seq uint64, pubNS int64, size int) []byte {
	start := len(b)
	n := int64(seq)
	b = append(b, `{"type":"kpi","line":`...)
	b = strconv.AppendInt(b, line, 10)
	b = append(b, `,"seq":`...)
	b = strconv.AppendUint(b, seq, 10)
	if pubNS > 0 {
		b = append(b, `,"pub_ns":`...) // the bench's own field: the clients compute latency from it
		b = strconv.AppendInt(b, pubNS, 10)
	}
	b = append(b, `,"at":"`...)
	b = time.Now().UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
	b = append(b, `","shift":{"id":2,"name":"Turno B","start":"2025-01-01T14:00:00.000Z","end":"2025-01-01T22:00:00.000Z"},"state":"running","counts":{"total":`...)
	b = strconv.AppendInt(b, n*3, 10)
	b = append(b, `,"good":`...)
	b = strconv.AppendInt(b, n*3-n/20, 10)
	b = append(b, `,"reject":`...)
	b = strconv.AppendInt(b, n/20, 10)
	b = append(b, `},"rate_per_min":57.3,"availability":0.9412,"performance":0.8876,"quality":0.9833,"oee":0.8214,"performance_over_100":false,"planned_s":14400,"run_s":13553,"downtime_s":847,"micro_stops":12,"products":[{"id":1,"name":"Botella 500ml","color":"#1f77b4","count":`...)
	b = strconv.AppendInt(b, n, 10)
	b = append(b, `},{"id":2,"name":"Botella 1L","color":"#ff7f0e","count":`...)
	b = strconv.AppendInt(b, n, 10)
	b = append(b, `},{"id":3,"name":"Garrafa 5L","color":"#2ca02c","count":`...)
	b = strconv.AppendInt(b, n, 10)
	b = append(b, `}],"areas":[{"id":1,"name":"Llenado","count":`...)
	b = strconv.AppendInt(b, n*3, 10)
	b = append(b, `},{"id":2,"name":"Taponado","count":`...)
	b = strconv.AppendInt(b, n*3, 10)
	b = append(b, `},{"id":3,"name":"Etiquetado","count":`...)
	b = strconv.AppendInt(b, n*3, 10)
	b = append(b, `},{"id":4,"name":"Inspección","count":`...)
	b = strconv.AppendInt(b, n*3, 10)
	b = append(b, `}],"stream_seq":`...)
	b = strconv.AppendInt(b, n*41, 10)
	if pad := size - (len(b) - start) - 10; pad > 0 {
		b = append(b, `,"_":"`...)
		b = append(b, strings.Repeat(" ", pad)...)
		b = append(b, '"')
	}
	return append(b, '}')
}

func fanoutDowntime(b []byte, line int64, seq uint64, pubNS int64, started bool) []byte {
	b = append(b, `{"type":"downtime","line":`...)
	b = strconv.AppendInt(b, line, 10)
	b = append(b, `,"seq":`...)
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, `,"pub_ns":`...)
	b = strconv.AppendInt(b, pubNS, 10)
	now := time.Now().UTC().Format("2006-01-02T15:04:05.000Z07:00")
	if started {
		return append(b, `,"event":{"id":0,"state":"started","start":"`+now+`","end":null,"duration_ms":0,"reason_code":""}}`...)
	}
	return append(b, `,"event":{"id":42,"state":"ended","start":"`+now+`","end":"`+now+`","duration_ms":31000,"reason_code":""}}`...)
}

// fanoutPublish publishes lines × rate KPI updates per second and downtime-rate
// downtime events (on the lines in turn, taking seq numbers like KPI updates). The KPI
// updates of one period (1/rate s) go out in slots: with --pacing engine as stream.Engine
// publishes them (each line in its slot of stream.PublishSlots), with --pacing burst all
// in one slot, with --pacing even one line per slot. Downtime events come at
// downtime-rate, each at a random moment of its interval (the engine sends them when a
// line's timer fires, unrelated to its slots). Each message carries Lp-Published-At.
func fanoutPublish(ctx context.Context, nc *nats.Conn, f fanoutFlags) error {
	lines := *f.lines
	slots, slotOf := fanoutSlots(*f.pacing, lines, *f.rate)
	bySlot := make([][]int64, slots)
	for l := 1; l <= lines; l++ {
		s := slotOf(int64(l))
		bySlot[s] = append(bySlot[s], int64(l))
	}
	kpiEvery := time.Duration(float64(time.Second) / *f.rate / float64(slots))
	downEvery := time.Duration(math.MaxInt64)
	if *f.downtimeRate > 0 {
		downEvery = time.Duration(float64(time.Second) / *f.downtimeRate)
	}
	seqs := make([]uint64, lines+1)
	for l := range seqs {
		seqs[l] = 1 // seq 1 is in the KV
	}
	started := make([]bool, lines+1)
	var buf []byte
	publish := func(line int64, downtime bool) error {
		seqs[line]++
		subj := bus.KPISubject(*f.tenant, line)
		now := time.Now().UnixNano()
		if downtime {
			subj = bus.DowntimeSubject(*f.tenant, line)
			started[line] = !started[line]
			buf = fanoutDowntime(buf[:0], line, seqs[line], now, started[line])
		} else {
			buf = fanoutKPI(buf[:0], line, seqs[line], now, *f.payload)
		}
		m := &nats.Msg{Subject: subj, Data: buf, Header: nats.Header{hub.HeaderPublishedAt: []string{strconv.FormatInt(now, 10)}}}
		if err := nc.PublishMsg(m); err != nil {
			return fmt.Errorf("publish: %w", err)
		}
		return nil
	}
	start := time.Now()
	kpiTick, downTick := int64(0), int64(0)
	downAt := func(i int64) time.Time {
		if downEvery == math.MaxInt64 {
			return time.Unix(1<<62, 0) // never
		}
		return start.Add(time.Duration(i)*downEvery + rand.N(downEvery))
	}
	downDue := downAt(0)
	for {
		kpiDue := start.Add(time.Duration(kpiTick) * kpiEvery)
		due := kpiDue
		if downDue.Before(due) {
			due = downDue
		}
		if d := time.Until(due); d > 0 {
			if !clock.Sleep(ctx, d) {
				return ctx.Err()
			}
		} else if ctx.Err() != nil {
			return ctx.Err()
		}
		if downDue.Before(kpiDue) {
			if err := publish(downTick%int64(lines)+1, true); err != nil {
				return err
			}
			downTick++
			downDue = downAt(downTick)
			continue
		}
		for _, line := range bySlot[kpiTick%int64(slots)] {
			if err := publish(line, false); err != nil {
				return err
			}
		}
		kpiTick++
	}
}

// fanoutSlots cuts a publish period into slots for --pacing and says which slot a line
// publishes in.
func fanoutSlots(pacing string, lines int, rate float64) (int, func(line int64) int) {
	switch pacing {
	case "burst":
		return 1, func(int64) int { return 0 }
	case "even":
		return lines, func(l int64) int { return int(l-1) % lines }
	default: // engine; the bench's lines belong to tenant 1
		slots := stream.PublishSlots(rate)
		return slots, func(l int64) int { return stream.PublishSlot(1, l, slots) }
	}
}

// naiveHub is the design the hub is measured against (--baseline): per connection a
// writer goroutine fed by a 16-slot channel, one coder/websocket Write per message;
// a full channel drops the message. Snapshots come from the same KV bucket.
type naiveHub struct {
	sub    *nats.Subscription
	kv     jetstream.KeyValue
	tenant string
	mu     sync.RWMutex
	lines  map[int64]map[*naiveConn]struct{}
}

type naiveConn struct{ ch chan []byte }

func newNaiveHub(ctx context.Context, nc *nats.Conn, tenant string) (*naiveHub, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	kv, err := js.KeyValue(ctx, hub.KPIBucket)
	if err != nil {
		return nil, err
	}
	h := &naiveHub{kv: kv, tenant: tenant, lines: map[int64]map[*naiveConn]struct{}{}}
	h.sub, err = nc.Subscribe("lp."+tenant+".line.*.*", func(m *nats.Msg) {
		_, line, kind, err := bus.ParseLineSubject(m.Subject)
		if err != nil || kind == bus.KindDet {
			return
		}
		h.mu.RLock()
		for c := range h.lines[line] {
			select {
			case c.ch <- m.Data:
			default: // full: dropped
			}
		}
		h.mu.RUnlock()
	})
	return h, err
}

func (h *naiveHub) close() { _ = h.sub.Unsubscribe() }

func (h *naiveHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+fanoutToken {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	ws, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	c := &naiveConn{ch: make(chan []byte, 16)}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		defer cancel()
		for {
			select {
			case m := <-c.ch:
				wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
				err := ws.Write(wctx, websocket.MessageText, m)
				wcancel()
				if err != nil {
					ws.CloseNow()
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	var mine []int64
	defer func() {
		cancel()
		h.mu.Lock()
		for _, l := range mine {
			delete(h.lines[l], c)
		}
		h.mu.Unlock()
		ws.CloseNow()
	}()
	for {
		_, data, err := ws.Read(ctx)
		if err != nil {
			return
		}
		m, perr := hub.DecodeClientMessage(data)
		if perr != nil || m.Op != hub.OpSubscribe {
			continue
		}
		for _, l := range m.Lines {
			h.mu.Lock()
			if h.lines[l] == nil {
				h.lines[l] = map[*naiveConn]struct{}{}
			}
			h.lines[l][c] = struct{}{}
			h.mu.Unlock()
			mine = append(mine, l)
			snap := []byte(`{"type":"snapshot","line":` + strconv.FormatInt(l, 10) + `,"seq":0,"state":"unknown"}`)
			if e, err := h.kv.Get(ctx, hub.KPIKey(h.tenant, l)); err == nil {
				snap = append([]byte(`{"type":"snapshot"`), bytes.TrimPrefix(e.Value(), []byte(`{"type":"kpi"`))...)
			}
			c.ch <- snap
		}
	}
}
