package fanout

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/linepulse/linepulse/hub"
	"github.com/linepulse/linepulse/internal/bench/wsload"
	"github.com/linepulse/linepulse/internal/clock"
)

// Config is what `linepulse bench fanout` is configured with: each field is the flag of
// the same name (RcvBuf: --client-rcvbuf, NATSURL: --nats-url, DowntimeRate:
// --downtime-rate, CPUProfile: --cpuprofile, LocalClients: --local-clients).
type Config struct {
	Clients      int           // WebSocket clients, each on 1-5 random lines
	Lines        int           // lines publishing KPI updates (ids 1..Lines)
	Rate         float64       // KPI updates per second per line
	DowntimeRate float64       // downtime events per second over all lines; 0 = none
	Payload      int           // approximate KPI message size in bytes
	Pacing       string        // "engine", "burst" or "even" (see publish)
	Duration     time.Duration // measurement time of each phase
	Warmup       time.Duration // load before measuring
	Window       time.Duration // interval of the per-window report
	Slow         float64       // fraction of clients that stop reading in phase 2; 0 = no phase 2

	Loops   int // epoll goroutines of the load generator
	RcvBuf  int // SO_RCVBUF of each client socket; 0 = the OS default
	Workers int // hub writer goroutines; 0 = GOMAXPROCS

	// URL, NATSURL and Token measure an external server (ws://<IPv4>:port/path, the NATS
	// server to publish on, the clients' Bearer token); with URL empty the bench serves
	// an in-process bus and hub on 127.0.0.1.
	URL, NATSURL, Token string
	Tenant              string // tenant slug of the lines

	Baseline     bool // serve the naive design (baseline.go) instead of package hub
	LocalClients bool // run the clients in this process instead of a child process

	// Child is the command line (program first) of a process that calls RunChild on its
	// stdin and stdout: the load generator of an in-process server, unless LocalClients.
	Child       []string
	ChildStderr io.Writer // the child's stderr; nil = discarded

	CPUProfile, Trace string       // files for a CPU profile / execution trace of phase 1; "" = none
	Logger            *slog.Logger // the in-process hub's log; nil = discarded
}

// DefaultConfig returns the defaults of the command's flags.
func DefaultConfig() Config {
	return Config{
		Clients: 10000, Lines: 50, Rate: 4, DowntimeRate: 1, Payload: 700, Pacing: "engine",
		Duration: 60 * time.Second, Warmup: 5 * time.Second, Window: 10 * time.Second, Slow: 0.01,
		Loops: 2, Tenant: "bench",
	}
}

// loadGen is the client side: in this process (external server) or in a child
// process (in-process server: the sandbox allows 20,000 descriptors per process, and
// 10,000 clients plus their 10,000 server ends do not fit in one).
type loadGen interface {
	Subscriptions() int
	Window() (wsload.Window, error)
	MakeSlow(fraction float64) (int, error)
	Close()
}

// Run sets up the server, connects the clients, publishes, measures phase 1 (every
// client reading) and phase 2 (a fraction stops reading), and reports to out.
func Run(ctx context.Context, cfg Config, out io.Writer) error {
	if cfg.Clients <= 0 || cfg.Lines <= 0 || cfg.Rate <= 0 || cfg.Duration <= 0 {
		return errors.New("--clients, --lines, --rate and --duration must be positive")
	}
	if cfg.Pacing != "engine" && cfg.Pacing != "burst" && cfg.Pacing != "even" {
		return fmt.Errorf("--pacing %q: want engine, burst or even", cfg.Pacing)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if _, err := wsload.RaiseFileLimit(); err != nil {
		return fmt.Errorf("cannot raise the open-file limit: %w", err)
	}
	tgt, err := setup(ctx, cfg)
	if err != nil {
		return err
	}
	defer tgt.close()
	fmt.Fprintf(out, "bench fanout: %d clients on 1-5 of %d lines, %d lines × %.3g updates/s (%s pacing) + %.3g downtime events/s, %d-byte KPI messages, GOMAXPROCS %d, load average %s\n",
		cfg.Clients, cfg.Lines, cfg.Lines, cfg.Rate, cfg.Pacing, cfg.DowntimeRate, cfg.Payload, runtime.GOMAXPROCS(0), loadAverage())

	before := memStats()
	t0 := time.Now()
	var load loadGen
	if tgt.hub != nil && !cfg.LocalClients {
		load, err = startChild(ctx, cfg, tgt.wsURL)
	} else if tgt.hub != nil {
		load, err = startLocal(ctx, loadConfig(cfg, tgt.wsURL, benchToken))
	} else {
		load, err = startLocal(ctx, loadConfig(cfg, tgt.wsURL, cfg.Token))
	}
	if err != nil {
		return err
	}
	defer load.Close()
	connectTime := time.Since(t0)
	after := memStats()
	kib := "n/a"
	if tgt.hub != nil {
		per := func(a, b uint64) float64 { return float64(int64(a)-int64(b)) / float64(cfg.Clients) / 1024 }
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
	pwg.Go(func() { pubErr = publish(pctx, tgt.pubNC, cfg) })
	defer func() { stopPub(); pwg.Wait() }()

	if !clock.Sleep(ctx, cfg.Warmup) {
		return ctx.Err()
	}
	if _, err := load.Window(); err != nil {
		return err
	}
	stopProfile, err := startProfile(cfg)
	if err != nil {
		return err
	}
	statsA, cpuA := tgt.stats(), wsload.ProcessCPU()
	a, err := measure(ctx, out, load, "phase 1: every client reading", cfg.Duration, cfg.Window)
	stopProfile()
	if err != nil {
		return err
	}
	statsA2, cpuA2 := tgt.stats(), wsload.ProcessCPU()
	summary(out, &a, cfg.Duration)
	if tgt.hub != nil {
		fmt.Fprintf(out, "  server process: %.0f %% of a core, %.2f µs CPU per delivered frame; load generator: %.0f %% of a core\n",
			(cpuA2-cpuA)/cfg.Duration.Seconds()*100, (cpuA2-cpuA)*1e6/float64(max(a.Msgs, 1)), a.CPU/cfg.Duration.Seconds()*100)
		if !cfg.Baseline {
			frames, writes := statsA2.MessagesOut-statsA.MessagesOut, statsA2.Writes-statsA.Writes
			fmt.Fprintf(out, "  hub: %d frames in %d socket writes (%.2f per write), %d KPI updates coalesced, publish→socket write p99 %s\n",
				frames, writes, float64(frames)/float64(max(writes, 1)), statsA2.Coalesced-statsA.Coalesced, histQuantile(tgt.reg, "linepulse_hub_send_latency_seconds", 0.99))
		}
	}

	if cfg.Slow > 0 {
		n, err := load.MakeSlow(cfg.Slow)
		if err != nil {
			return err
		}
		statsB := tgt.stats()
		b, err := measure(ctx, out, load, fmt.Sprintf("phase 2: %d clients (%.3g %%) stop reading", n, cfg.Slow*100), cfg.Duration, cfg.Window)
		if err != nil {
			return err
		}
		statsB2 := tgt.stats()
		summary(out, &b, cfg.Duration)
		if tgt.hub != nil && !cfg.Baseline {
			fmt.Fprintf(out, "  hub: %d slow clients disconnected (close %d), %d KPI updates coalesced\n",
				statsB2.SlowDisconnects-statsB.SlowDisconnects, hub.CloseTooSlow, statsB2.Coalesced-statsB.Coalesced)
		}
		fmt.Fprintf(out, "  effect of %d slow clients on the others: kpi p99 %s → %s, downtime p99 %s → %s, msgs/s %.0f → %.0f\n",
			n, fmtMS(a.KPI.Quantile(0.99)), fmtMS(b.KPI.Quantile(0.99)), fmtMS(a.Downtime.Quantile(0.99)), fmtMS(b.Downtime.Quantile(0.99)),
			float64(a.Msgs)/cfg.Duration.Seconds(), float64(b.Msgs)/cfg.Duration.Seconds())
	}
	stopPub()
	pwg.Wait()
	if pubErr != nil && !errors.Is(pubErr, context.Canceled) {
		return pubErr
	}
	fmt.Fprintf(out, "fanout: %d clients, %.0f msgs/s, p99 %s ms, %s KiB/conn\n",
		cfg.Clients, float64(a.Msgs)/cfg.Duration.Seconds(), strings.TrimSuffix(fmtMS(a.KPI.Quantile(0.99)), " ms"), kib)
	return nil
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

// startProfile starts the CPU profile and the execution trace Config asks for.
func startProfile(cfg Config) (stop func(), err error) {
	var stops []func()
	stop = func() {
		for _, s := range stops {
			s()
		}
	}
	for _, p := range []struct {
		path        string
		start       func(io.Writer) error
		stopProfile func()
	}{{cfg.CPUProfile, pprof.StartCPUProfile, pprof.StopCPUProfile}, {cfg.Trace, trace.Start, trace.Stop}} {
		if p.path == "" {
			continue
		}
		f, err := os.Create(p.path)
		if err != nil {
			stop()
			return func() {}, err
		}
		if err := p.start(f); err != nil {
			f.Close()
			stop()
			return func() {}, err
		}
		stops = append(stops, func() { p.stopProfile(); f.Close() })
	}
	return stop, nil
}

func memStats() runtime.MemStats {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m
}

func fmtMS(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64) + " ms"
}

// measure measures for d, printing one line per window.
func measure(ctx context.Context, out io.Writer, load loadGen, title string, d, window time.Duration) (wsload.Window, error) {
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
			el.Round(time.Second), float64(w.Msgs)/step.Seconds(), fmtMS(w.KPI.Quantile(0.5)), fmtMS(w.KPI.Quantile(0.99)), fmtMS(w.KPI.Max()),
			fmtMS(w.Downtime.Quantile(0.99)), w.Downtime.Count())
		total.Merge(&w)
	}
	return total, nil
}

func summary(out io.Writer, w *wsload.Window, d time.Duration) {
	fmt.Fprintf(out, "  total: %.0f msgs/s delivered; kpi latency p50 %s p99 %s max %s (%d); downtime p50 %s p99 %s max %s (%d); seq gaps (coalesced) %d, out of order %d, errors %d, closes %v\n",
		float64(w.Msgs)/d.Seconds(), fmtMS(w.KPI.Quantile(0.5)), fmtMS(w.KPI.Quantile(0.99)), fmtMS(w.KPI.Max()), w.KPI.Count(),
		fmtMS(w.Downtime.Quantile(0.5)), fmtMS(w.Downtime.Quantile(0.99)), fmtMS(w.Downtime.Max()), w.Downtime.Count(),
		w.Gaps, w.Disorder, w.Errors, w.Closes)
}

// histQuantile reads a quantile (bucket upper bound) of a registered histogram.
func histQuantile(reg *prometheus.Registry, name string, q float64) string {
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
				return "≤ " + fmtMS(time.Duration(b.GetUpperBound()*float64(time.Second)))
			}
		}
		return "> " + fmtMS(time.Duration(h.GetBucket()[len(h.GetBucket())-1].GetUpperBound()*float64(time.Second)))
	}
	return "?"
}
