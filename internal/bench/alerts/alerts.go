// Package alerts is `linepulse bench alerts`: the latency of a "line stopped" alert from
// the moment it is due to the webhook request arriving. In one process: an embedded NATS
// server, SQLite in a temporary directory, the KPI engine and the alert engine; Lines
// lines (threshold Threshold) run under Rules line_down rules (after After, each watching
// its share of the lines) with one webhook channel to a receiver on loopback. Every line
// gets a detection every Every (250 ms) through a Warmup (the stops the engine saw before
// any detection fire and resolve meanwhile), then stops, the stops spread over Spread; a
// stop's latency is the webhook's arrival minus (last detection + Threshold + After).
// Reports p50, p99 and max. JetStream does not fsync every message here (one detection a
// message would measure the disk, not alerting; edges batch).
package alerts

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/linepulse/linepulse/alert"
	"github.com/linepulse/linepulse/bus"
	"github.com/linepulse/linepulse/detection"
	"github.com/linepulse/linepulse/internal/clock"
	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/stream"
)

// Config of a run.
type Config struct {
	Lines     int
	Rules     int
	Threshold time.Duration
	After     time.Duration
	Spread    time.Duration // the stops are spread over this long
	Warmup    time.Duration // every line runs this long before the first stop
	Every     time.Duration // each running line sends one detection this often
	Timeout   time.Duration
	Format    string // text or json
	Logger    *slog.Logger
}

// DefaultConfig is the target setting: 200 lines, 20 rules.
func DefaultConfig() Config {
	return Config{Lines: 200, Rules: 20, Threshold: 2 * time.Second, After: time.Second, Spread: 10 * time.Second, Warmup: 10 * time.Second, Every: 250 * time.Millisecond, Timeout: 2 * time.Minute, Format: "text"}
}

// Result of a run (milliseconds).
type Result struct {
	Lines     int     `json:"lines"`
	Rules     int     `json:"rules"`
	Threshold string  `json:"threshold"`
	After     string  `json:"after"`
	Stops     int     `json:"stops"`
	P50MS     float64 `json:"p50_ms"`
	P99MS     float64 `json:"p99_ms"`
	MaxMS     float64 `json:"max_ms"`
}

// Run measures and writes the result to w.
func Run(ctx context.Context, cfg Config, w io.Writer) error {
	if cfg.Lines <= 0 || cfg.Rules <= 0 || cfg.Rules > cfg.Lines {
		return fmt.Errorf("bench alerts: need 1 <= rules <= lines")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	quiet := slog.New(slog.DiscardHandler)
	dir, err := os.MkdirTemp("", "linepulse-bench-alerts-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	st, err := store.Open(ctx, store.Config{DataDir: dir, Logger: quiet})
	if err != nil {
		return err
	}
	defer st.Close()
	ten := store.Tenant{Slug: "bench", Name: "Bench", Config: store.TenantConfig{Timezone: "UTC", RetentionDays: 90}}
	if err := st.CreateTenant(ctx, &ten); err != nil {
		return err
	}
	tdb, err := st.Tenant(ctx, ten.ID)
	if err != nil {
		return err
	}
	if err := tdb.Shifts.Create(ctx, &store.Shift{Name: "Day", StartTime: "00:00", EndTime: "00:00", IsOvernight: true, Active: true}); err != nil {
		return err
	}
	product := store.Product{Name: "p"}
	if err := tdb.Products.Create(ctx, &product); err != nil {
		return err
	}
	type benchLine struct{ id, area int64 }
	lines := make([]benchLine, cfg.Lines)
	for i := range lines {
		l := store.Line{Name: fmt.Sprint("line ", i+1), Availability: 0.9, Performance: 0.9, Quality: 0.9,
			DowntimeThresholdMS: cfg.Threshold.Milliseconds(), IdealCycleTimeMS: 10, MicroStopMinMS: 100, Active: true}
		if err := tdb.CreateLine(ctx, &l); err != nil {
			return err
		}
		a := store.Area{LineID: l.ID, Name: "a", X2: 1, Y2: 1}
		if err := tdb.Areas.Create(ctx, &a); err != nil {
			return err
		}
		lines[i] = benchLine{l.ID, a.ID}
	}

	// The receiver: arrival time of each firing, by line and stop start (a line that has not
	// produced yet when the engine starts may raise an earlier stop of its own).
	type stop struct {
		line  int64
		start int64 // ms
	}
	var mu sync.Mutex
	arrived := map[stop]time.Time{}
	recv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		now := time.Now()
		var p alert.Payload
		if err := json.NewDecoder(r.Body).Decode(&p); err == nil && p.State == store.AlertFiring {
			k := stop{p.Line.ID, p.StartedAt.UnixMilli()}
			mu.Lock()
			if _, ok := arrived[k]; !ok {
				arrived[k] = now
			}
			mu.Unlock()
		}
		rw.WriteHeader(http.StatusNoContent)
	}))
	defer recv.Close()
	ch := store.AlertChannel{Name: "bench", Kind: store.ChannelWebhook, Config: store.ChannelConfig{URL: recv.URL, Secret: "bench"}}
	if err := tdb.AlertChannels.Create(ctx, &ch); err != nil {
		return err
	}
	per := cfg.Lines / cfg.Rules
	for i := range cfg.Rules {
		var watch []int64
		for _, l := range lines[i*per : min((i+1)*per, cfg.Lines)] {
			watch = append(watch, l.id)
		}
		if i == cfg.Rules-1 {
			for _, l := range lines[(i+1)*per:] {
				watch = append(watch, l.id)
			}
		}
		r := store.AlertRule{Name: fmt.Sprint("rule ", i+1), Kind: store.RuleLineDown, Lines: watch, After: store.Duration(cfg.After), Channels: []int64{ch.ID}, Active: true}
		if err := tdb.AlertRules.Create(ctx, &r); err != nil {
			return err
		}
	}

	bc := bus.DefaultConfig()
	bc.Listen, bc.StoreDir, bc.Logger = "127.0.0.1:-1", dir+"/js", quiet
	bc.SyncAlways = false // an fsync per one-detection message is not what is measured here
	b, err := bus.New(bc)
	if err != nil {
		return err
	}
	if err := b.Start(ctx); err != nil {
		return err
	}
	defer b.Close()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	start := func(name string, run func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := run(ctx); err != nil && ctx.Err() == nil {
				cfg.Logger.Error("bench alerts: "+name+" stopped", "err", err)
			}
		}()
	}
	enc, err := b.Connect("bench-engine")
	if err != nil {
		return err
	}
	defer enc.Close()
	eng, err := stream.NewEngine(stream.Config{Heartbeat: time.Second, Logger: quiet}, enc, st, store.NewMetaCache(st))
	if err != nil {
		return err
	}
	start("kpi engine", eng.Run)
	anc, err := b.Connect("bench-alerts")
	if err != nil {
		return err
	}
	defer anc.Close()
	al, err := alert.New(alert.Config{Store: st, NC: anc, Logger: quiet})
	if err != nil {
		return err
	}
	start("alert engine", al.Run)
	<-al.Ready()
	pub, err := b.Connect("bench-edges")
	if err != nil {
		return err
	}
	defer pub.Close()

	// The engine must know every line before the edges start (it learns the plant model
	// when it starts and on changes): wait for each line's KPI heartbeat.
	var kmu sync.Mutex
	known := map[string]bool{}
	ksub, err := pub.Subscribe("lp.bench.line.*.kpi", func(m *nats.Msg) {
		kmu.Lock()
		known[m.Subject] = true
		kmu.Unlock()
	})
	if err != nil {
		return err
	}
	for {
		kmu.Lock()
		n := len(known)
		kmu.Unlock()
		if n == len(lines) {
			break
		}
		if !clock.Sleep(ctx, 50*time.Millisecond) {
			return fmt.Errorf("bench alerts: the engine knows %d of %d lines", n, len(lines))
		}
	}
	_ = ksub.Unsubscribe()

	// Every line runs through the warm-up (the stops the engine saw before the first
	// detections fire and resolve), then stops at its point of the spread.
	last := make([]time.Time, len(lines))
	t0 := time.Now().Add(cfg.Warmup)
	var pw sync.WaitGroup
	for i, l := range lines {
		pw.Add(1)
		go func() {
			defer pw.Done()
			stopAt := t0.Add(time.Duration(i) * cfg.Spread / time.Duration(len(lines)))
			for k := uint64(1); ; k++ {
				now := time.Now().UTC().Truncate(time.Millisecond)
				d := store.Detection{ID: k, At: now, Area: l.area, Product: product.ID, OK: true}
				if err := pub.Publish(bus.DetSubject("bench", l.id), detection.AppendJSON(nil, d)); err != nil {
					return
				}
				last[i] = now
				if now.After(stopAt) {
					return
				}
				if !clock.Sleep(ctx, cfg.Every) {
					return
				}
			}
		}()
	}
	pw.Wait()
	deadline := time.Now().Add(cfg.Timeout)
	measured := func() int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for i, l := range lines {
			if _, ok := arrived[stop{l.id, last[i].UnixMilli()}]; ok {
				n++
			}
		}
		return n
	}
	for {
		n := measured()
		if n == len(lines) {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("bench alerts: only %d of %d stops alerted within %v", n, len(lines), cfg.Timeout)
		}
		clock.Sleep(ctx, 50*time.Millisecond)
	}
	var lat []time.Duration
	mu.Lock()
	for i, l := range lines {
		lat = append(lat, arrived[stop{l.id, last[i].UnixMilli()}].Sub(last[i].Add(cfg.Threshold+cfg.After)))
	}
	mu.Unlock()
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	q := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	res := Result{Lines: cfg.Lines, Rules: cfg.Rules, Threshold: cfg.Threshold.String(), After: cfg.After.String(), Stops: len(lat),
		P50MS: ms(q(0.5)), P99MS: ms(q(0.99)), MaxMS: ms(lat[len(lat)-1])}
	if cfg.Format == "json" {
		return json.NewEncoder(w).Encode(res)
	}
	_, err = fmt.Fprintf(w, "alert latency, %d lines, %d line_down rules (threshold %s, after %s), %d stops: from last detection + threshold + after to the webhook's arrival p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
		res.Lines, res.Rules, res.Threshold, res.After, res.Stops, res.P50MS, res.P99MS, res.MaxMS)
	return err
}
