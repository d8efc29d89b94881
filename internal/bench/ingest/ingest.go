package ingest

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/linepulse/linepulse/bus"
	lpingest "github.com/linepulse/linepulse/ingest"
	"github.com/linepulse/linepulse/ingest/sim"
	"github.com/linepulse/linepulse/store"
)

// Config is what `linepulse bench ingest` is configured with: each field is the flag of
// the same name, except LatencyShare (--latency-rate).
type Config struct {
	MySQL   string // MySQL/MariaDB DSN (a throwaway tenant database is created and dropped); "" = SQLite
	DataDir string // parent of the temporary JetStream store and SQLite files; "" = the system temp dir
	Format  string // "json", or text

	Duration        time.Duration // phase 1 (publishing flat out); also the raw phase's budget
	LatencyDuration time.Duration // phase 2; 0 = half of Duration, at least 5s
	LatencyShare    float64       // phase 2's pace as a fraction of phase 1's end-to-end rate, in (0, 1]

	Lines      int // lines of the throwaway tenant (and as many twin lines for the raw phase)
	Batch      int // detections per message, 1..sim.MaxBatch
	Publishers int // publishing connections; 0 = min(Lines, 4)
	Window     int // messages in flight without acknowledgement, per publisher
	SyncAlways bool

	Pool        int           // writer connections (the raw phase uses as many)
	WriterBatch int           // writer batch size (the raw phase inserts batches of this size)
	Flush       time.Duration // writer flush interval
	HoldPartial bool          // the writer's HoldPartial
	CPUProfile  string        // write a CPU profile of phase 1 (the whole process) here; "" = none

	Logger *slog.Logger // progress; nil = discarded
}

// DefaultConfig returns the defaults of the command's flags.
func DefaultConfig() Config {
	return Config{
		Format: "text", Duration: 30 * time.Second, LatencyShare: 0.5,
		Lines: 8, Batch: 50, Window: 512, SyncAlways: true,
		Pool: lpingest.DefaultPoolSize, WriterBatch: lpingest.DefaultBatchSize, Flush: lpingest.DefaultFlushInterval,
	}
}

// The latency phase reads the database each latencyPoll (a few queries per line and
// round): often enough for a 10 ms resolution, rarely enough not to load it.
const (
	drainTimeout = 5 * time.Minute
	pollGap      = 2 * time.Millisecond
	latencyPoll  = 10 * time.Millisecond
)

// Result holds the figures of one run.
type Result struct {
	Engine        string  `json:"engine"`
	Lines         int     `json:"lines"`
	Batch         int     `json:"batch"`
	Publishers    int     `json:"publishers"`
	Pool          int     `json:"writer_connections"`
	Detections    int64   `json:"detections"`
	PublishPerSec float64 `json:"publish_per_s"`
	// AckedMsgsPerSec is the acknowledged messages per second of phase 1 (durable ones
	// with SyncAlways): PublishPerSec / Batch.
	AckedMsgsPerSec float64 `json:"acked_messages_per_s"`
	// EdgeWrites durable writes (group commits) stored EdgeMessages messages in phase 1.
	EdgeWrites        int64   `json:"edge_writes"`
	EdgeMessages      int64   `json:"edge_messages"`
	EndToEndPerSec    float64 `json:"end_to_end_per_s"`
	LatencyRatePerSec float64 `json:"latency_phase_rate_per_s"`
	LatencyDetections int64   `json:"latency_phase_detections"`
	LatencyMessages   int     `json:"latency_phase_messages"`
	P50MS             float64 `json:"p50_commit_latency_ms"`
	P99MS             float64 `json:"p99_commit_latency_ms"`
	RawRows           int64   `json:"raw_rows"`
	RawPerSec         float64 `json:"raw_insert_rows_per_s"`
	Ratio             float64 `json:"ratio"` // end-to-end / raw; 0 when the raw phase committed no row
	DiskFsyncPerSec   float64 `json:"disk_fsync_per_s"`
	// The writer's commit rate while the publishers ran and while it drained what they
	// left: far apart when reads of the stream wait behind its fsyncs.
	CommitWhilePublishingPerSec float64 `json:"commit_while_publishing_per_s"`
	CommitAfterPublishingPerSec float64 `json:"commit_after_publishing_per_s"`
	// CPU time of this process (publishers, NATS, edge, writer; SQLite too, not a MySQL
	// server) per detection, and the cores it kept busy, in phase 1 and the raw phase.
	CPUPerDetectionUS float64 `json:"cpu_us_per_detection"`
	CPUCores          float64 `json:"cpu_cores"`
	RawCPUPerRowUS    float64 `json:"raw_cpu_us_per_row"`
	RawCPUCores       float64 `json:"raw_cpu_cores"`
	// Stage timings of the edge and the writer in phase 1 (flat out) and phase 2 (paced).
	ThroughputStages   map[string]StageTiming `json:"throughput_stages"`
	LatencyStages      map[string]StageTiming `json:"latency_stages"`
	Summary            string                 `json:"summary"`
	rawBatch, rawLines int
}

// benchRun is the state of one bench ingest run.
type benchRun struct {
	ctx    context.Context
	log    *slog.Logger
	cfg    Config
	st     *store.Store
	tdb    *store.TenantDB
	slug   string
	b      *bus.Bus
	user   string
	secret string
	lines  []int64 // lines the pipeline writes
	raw    []int64 // twin lines for the raw ceiling
	writer *lpingest.Writer
	// stopWriter stops the writer and returns Run's error.
	stopWriter func() error
	start      time.Time // phase 1 timeline start (the raw phase replays it)
	stages     stages
	res        Result
}

// Run runs the three phases and writes the report to out: text, or one JSON Result.
func Run(ctx context.Context, cfg Config, out io.Writer) (err error) {
	if cfg.Lines < 1 || cfg.Batch < 1 || cfg.Batch > sim.MaxBatch || cfg.Duration <= 0 || cfg.Pool < 1 || cfg.WriterBatch < 1 {
		return fmt.Errorf("bench ingest: need --lines >= 1, --batch 1..%d, --duration > 0, --pool >= 1, --writer-batch >= 1", sim.MaxBatch)
	}
	if !(cfg.LatencyShare > 0 && cfg.LatencyShare <= 1) {
		return errors.New("bench ingest: --latency-rate must be within (0, 1]")
	}
	if cfg.Publishers <= 0 {
		cfg.Publishers = min(cfg.Lines, 4)
	}
	cfg.Publishers = min(cfg.Publishers, cfg.Lines)
	if cfg.LatencyDuration <= 0 {
		cfg.LatencyDuration = max(cfg.Duration/2, 5*time.Second)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	r := &benchRun{ctx: ctx, log: cfg.Logger, cfg: cfg}
	r.res = Result{Lines: cfg.Lines, Batch: cfg.Batch, Publishers: cfg.Publishers, Pool: cfg.Pool}
	defer func() { err = errors.Join(err, r.cleanup()) }()
	if err := r.setup(); err != nil {
		return err
	}
	if cfg.SyncAlways {
		if r.res.DiskFsyncPerSec, err = fsyncRate(r.cfg.DataDir, time.Second); err != nil {
			return err
		}
	}
	if err := r.throughput(); err != nil {
		return err
	}
	if err := r.latency(); err != nil {
		return err
	}
	if err := r.rawCeiling(); err != nil {
		return err
	}
	res := &r.res
	res.summarize()
	if cfg.Format == "json" {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	res.writeText(out)
	return nil
}

// summarize sets Ratio and Summary, the report's last line.
func (res *Result) summarize() {
	ratio := "no ratio (the raw phase committed no row)"
	res.Ratio = 0
	res.AckedMsgsPerSec = res.PublishPerSec / float64(max(res.Batch, 1))
	if v, ok := fraction(res.EndToEndPerSec, res.RawPerSec); ok {
		res.Ratio, ratio = v, fmt.Sprintf("ratio %.2f", v)
	}
	res.Summary = fmt.Sprintf("ingest: %.0f detections/s end-to-end, raw insert %.0f rows/s, %s, p99 commit latency %.0f ms",
		res.EndToEndPerSec, res.RawPerSec, ratio, res.P99MS)
}

// writeText is the human report: one line per phase, the summary last.
func (res *Result) writeText(out io.Writer) {
	fmt.Fprintf(out, "engine %s, %d lines, %d detections per message, %d publishers, %d writer connections\n",
		res.Engine, res.Lines, res.Batch, res.Publishers, res.Pool)
	if res.DiskFsyncPerSec > 0 {
		fmt.Fprintf(out, "disk: %.0f fsync/s in the JetStream directory; with an fsync per message, durable publishing would stay below about %.0f detections/s\n",
			res.DiskFsyncPerSec, res.DiskFsyncPerSec*float64(res.Batch))
	}
	ofFsync := ""
	if v, ok := fraction(res.AckedMsgsPerSec, res.DiskFsyncPerSec); ok {
		ofFsync = fmt.Sprintf(", %.1f× the disk's fsync rate", v)
	}
	perWrite := ""
	if v, ok := fraction(float64(res.EdgeMessages), float64(res.EdgeWrites)); ok {
		perWrite = fmt.Sprintf("; the edge stored %d messages in %d writes (%.1f per fsync)", res.EdgeMessages, res.EdgeWrites, v)
	}
	fmt.Fprintf(out, "acknowledged: %.0f messages/s, %.0f detections/s%s%s\n", res.AckedMsgsPerSec, res.PublishPerSec, ofFsync, perWrite)
	ofPublish := "no publish rate"
	if v, ok := fraction(res.EndToEndPerSec, res.PublishPerSec); ok {
		ofPublish = fmt.Sprintf("%.2f of the publish rate", v)
	}
	fmt.Fprintf(out, "end-to-end: %d detections published at %.0f/s, all committed: %.0f detections/s (%s)\n",
		res.Detections, res.PublishPerSec, res.EndToEndPerSec, ofPublish)
	fmt.Fprintf(out, "writer: %.0f detections/s committed while publishing, %.0f/s draining the backlog afterwards\n",
		res.CommitWhilePublishingPerSec, res.CommitAfterPublishingPerSec)
	fmt.Fprintf(out, "stages flat out: %s\n", formatStages(res.ThroughputStages))
	fmt.Fprintf(out, "stages at %.0f/s: %s\n", res.LatencyRatePerSec, formatStages(res.LatencyStages))
	fmt.Fprintf(out, "latency at %.0f/s: %d detections in %d messages, publish→commit p50 %.1f ms, p99 %.1f ms\n",
		res.LatencyRatePerSec, res.LatencyDetections, res.LatencyMessages, res.P50MS, res.P99MS)
	fmt.Fprintf(out, "raw: %d rows in batches of %d into %d twin lines over %d connections: %.0f rows/s\n",
		res.RawRows, res.rawBatch, res.rawLines, res.Pool, res.RawPerSec)
	server := ""
	if res.Engine == "mysql" {
		server = " (the MySQL server's own CPU not counted)"
	}
	fmt.Fprintf(out, "cpu of this process%s: phase 1 %.2f µs a detection on %.2f cores, raw %.2f µs a row on %.2f cores\n",
		server, res.CPUPerDetectionUS, res.CPUCores, res.RawCPUPerRowUS, res.RawCPUCores)
	fmt.Fprintln(out, res.Summary)
}

// setupStore makes the temporary directory, opens the store, creates the throwaway
// tenant, its lines and their twins.
func (r *benchRun) setupStore() error {
	ctx, cfg := r.ctx, r.cfg
	parent := cfg.DataDir
	if parent != "" {
		if err := os.MkdirAll(parent, 0o755); err != nil {
			return err
		}
	}
	dir, err := os.MkdirTemp(parent, "linepulse-bench-*")
	if err != nil {
		return fmt.Errorf("bench ingest: temporary directory: %w", err)
	}
	r.cfg.DataDir = dir // removed by cleanup
	quiet := r.log.With("component", "bench")
	if r.st, err = store.Open(ctx, store.Config{MySQLDSN: cfg.MySQL, DataDir: filepath.Join(dir, "db"), Logger: quiet}); err != nil {
		return err
	}
	if err := r.st.MigrateAll(ctx); err != nil {
		return err
	}
	r.res.Engine = "sqlite"
	if cfg.MySQL != "" {
		r.res.Engine = "mysql"
	}
	r.slug = "bench-" + strings.ToLower(rand.Text()[:8])
	ten := store.Tenant{Slug: r.slug, Name: "bench ingest (throwaway)"}
	if err := r.st.CreateTenant(ctx, &ten); err != nil {
		return err
	}
	if r.tdb, err = r.st.Tenant(ctx, ten.ID); err != nil {
		return err
	}
	for i := range 2 * cfg.Lines {
		l := store.Line{Name: fmt.Sprintf("bench %d", i+1), Availability: 1, Performance: 1, Quality: 1,
			DowntimeThresholdMS: 30000, IdealCycleTimeMS: 1, Active: true}
		if err := r.tdb.CreateLine(ctx, &l); err != nil {
			return err
		}
		if i < cfg.Lines {
			r.lines = append(r.lines, l.ID)
		} else {
			r.raw = append(r.raw, l.ID)
		}
	}
	return nil
}

// setup opens the store with the throwaway tenant, starts the bus on a loopback port
// and the writer.
func (r *benchRun) setup() error {
	if err := r.setupStore(); err != nil {
		return err
	}
	ctx, cfg := r.ctx, r.cfg
	quiet := r.log.With("component", "bench")
	r.user, r.secret = bus.DeviceUser(r.slug, "bench"), rand.Text()
	bcfg := bus.DefaultConfig()
	bcfg.Listen, bcfg.StoreDir, bcfg.SyncAlways = "127.0.0.1:0", filepath.Join(cfg.DataDir, "jetstream"), cfg.SyncAlways
	bcfg.Devices = benchDevice{user: r.user, secret: r.secret}
	bcfg.Admit = lpingest.NewAdmission(r.st, nil).Admit // as serve: the edge decodes every message before storing it
	bcfg.Observe = r.stages.observe
	bcfg.Logger = slog.New(minLevel{r.log.Handler(), slog.LevelWarn})
	var err error
	if r.b, err = bus.New(bcfg); err != nil {
		return err
	}
	if err := r.b.Start(ctx); err != nil {
		return err
	}
	nc, err := r.b.Connect("linepulse-bench-writer")
	if err != nil {
		return err
	}
	r.writer, err = lpingest.NewWriter(lpingest.WriterConfig{BatchSize: cfg.WriterBatch, FlushInterval: cfg.Flush, HoldPartial: cfg.HoldPartial, PoolSize: cfg.Pool, Logger: quiet,
		Observe: r.stages.observe}, nc, r.st)
	if err != nil {
		nc.Close()
		return err
	}
	wctx, stopWriter := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- r.writer.Run(wctx); nc.Close() }()
	r.stopWriter = func() error { stopWriter(); return <-done }
	r.log.Info("bench ingest: ready", "engine", r.res.Engine, "tenant", r.slug, "nats", r.b.ClientURL(), "lines", cfg.Lines, "batch", cfg.Batch)
	return nil
}

// cleanup stops the writer and the bus, drops the throwaway tenant and removes the
// temporary directory.
func (r *benchRun) cleanup() error {
	var errs []error
	if r.stopWriter != nil {
		errs = append(errs, r.stopWriter())
	}
	if r.b != nil {
		errs = append(errs, r.b.Close())
	}
	if r.st != nil {
		if r.tdb != nil {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			errs = append(errs, r.st.DeleteTenant(ctx, r.tdb.ID()))
			cancel()
		}
		errs = append(errs, r.st.Close())
	}
	if r.cfg.DataDir != "" && strings.Contains(filepath.Base(r.cfg.DataDir), "linepulse-bench-") {
		errs = append(errs, os.RemoveAll(r.cfg.DataDir))
	}
	return errors.Join(errs...)
}

// benchDevice authenticates the bench's one device.
type benchDevice struct{ user, secret string }

func (d benchDevice) AuthenticateDevice(_ context.Context, user, password string) (bus.Device, error) {
	if user != d.user || subtle.ConstantTimeCompare([]byte(password), []byte(d.secret)) != 1 {
		return bus.Device{}, errors.New("bench: unknown device")
	}
	tenant, name, _ := bus.ParseDeviceUser(user)
	return bus.Device{Tenant: tenant, Name: name}, nil
}

// minLevel raises a handler's minimum level (the embedded NATS server is chatty at info).
type minLevel struct {
	slog.Handler
	min slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(a []slog.Attr) slog.Handler {
	return minLevel{h.Handler.WithAttrs(a), h.min}
}
func (h minLevel) WithGroup(n string) slog.Handler { return minLevel{h.Handler.WithGroup(n), h.min} }

// fraction is a/b, or false when b is not positive: a report never shows +Inf or NaN.
func fraction(a, b float64) (float64, bool) {
	if !(b > 0) || math.IsInf(a, 0) || math.IsNaN(a) {
		return 0, false
	}
	return a / b, true
}
