package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/linepulse/linepulse/bus"
	"github.com/linepulse/linepulse/ingest/sim"
	"github.com/linepulse/linepulse/store/storetest"
)

var benchLineRe = regexp.MustCompile(`^ingest: [0-9]+ detections/s end-to-end, raw insert [0-9]+ rows/s, ratio [0-9]+\.[0-9]{2}, p99 commit latency [0-9]+ ms$`)

// newTestRun is a bench run of cfg whose state is cleaned up when the test ends.
func newTestRun(t *testing.T, cfg Config) *benchRun {
	r := &benchRun{ctx: context.Background(), log: cfg.Logger, cfg: cfg}
	t.Cleanup(func() {
		if err := r.cleanup(); err != nil {
			t.Error(err)
		}
	})
	return r
}

// tinyConfig is a bench of a second per phase on two lines.
func tinyConfig(t *testing.T, dir string) Config {
	cfg := DefaultConfig()
	cfg.Duration, cfg.LatencyDuration, cfg.Lines, cfg.Batch, cfg.Window, cfg.DataDir = time.Second, time.Second, 2, 20, 32, dir
	cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	return cfg
}

// TestBenchIngestRuns runs a tiny bench on each engine: it must finish, print the
// contract's last line, and leave neither its files nor its tenant behind.
func TestBenchIngestRuns(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		dir := t.TempDir()
		cfg := tinyConfig(t, dir)
		if e.Name == "mysql" {
			cfg.MySQL = e.Config(t).MySQLDSN
		}
		var out bytes.Buffer
		if err := Run(context.Background(), cfg, &out); err != nil {
			t.Fatalf("bench ingest: %v", err)
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if last := lines[len(lines)-1]; !benchLineRe.MatchString(last) {
			t.Fatalf("last line %q does not match %s\n%s", last, benchLineRe, out.String())
		}
		if left, _ := os.ReadDir(dir); len(left) != 0 {
			t.Errorf("bench left %d entries in its data directory", len(left))
		}

		out.Reset()
		cfg.Format, cfg.Batch = "json", 1
		if err := Run(context.Background(), cfg, &out); err != nil {
			t.Fatalf("bench ingest --format json: %v", err)
		}
		var res Result
		if err := json.Unmarshal(out.Bytes(), &res); err != nil {
			t.Fatalf("json output %q: %v", out.String(), err)
		}
		if res.Detections == 0 || res.RawRows == 0 || res.LatencyMessages == 0 || !benchLineRe.MatchString(res.Summary) || res.Batch != 1 || res.DiskFsyncPerSec <= 0 ||
			!(res.CPUPerDetectionUS > 0 && res.CPUCores > 0 && res.RawCPUPerRowUS > 0 && res.RawCPUCores > 0) {
			t.Fatalf("result %+v", res)
		}
	})
}

func TestBenchIngestRejectsBadConfig(t *testing.T) {
	for name, mutate := range map[string]func(*Config){
		"no lines":         func(c *Config) { c.Lines = 0 },
		"batch too large":  func(c *Config) { c.Batch = 1001 },
		"no latency share": func(c *Config) { c.LatencyShare = 0 },
	} {
		cfg := DefaultConfig()
		mutate(&cfg)
		if err := Run(context.Background(), cfg, &bytes.Buffer{}); err == nil || !strings.HasPrefix(err.Error(), "bench ingest:") {
			t.Errorf("%s: error %v", name, err)
		}
	}
}

// TestRawPhaseCountsBatchesPastItsBudget is the raw phase on a machine too slow for its
// budget: --duration is over before any batch commits, yet the batches in flight commit
// and count, so the phase measures rows, not 0 rows/s.
func TestRawPhaseCountsBatchesPastItsBudget(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		cfg := tinyConfig(t, t.TempDir())
		cfg.Duration, cfg.Pool, cfg.WriterBatch = time.Nanosecond, 2, 100
		if e.Name == "mysql" {
			cfg.MySQL = e.Config(t).MySQLDSN
		}
		r := newTestRun(t, cfg)
		if err := r.setupStore(); err != nil {
			t.Fatal(err)
		}
		r.start, r.res.Detections = time.Now().Add(-time.Minute), 1001
		if err := r.rawCeiling(); err != nil {
			t.Fatal(err)
		}
		// Each of the 2 workers owns one twin line and commits its first batch of 100.
		if r.res.RawRows != 200 || !(r.res.RawPerSec > 0) {
			t.Fatalf("raw phase: %d rows, %v rows/s", r.res.RawRows, r.res.RawPerSec)
		}

		r.cfg.Duration = time.Hour // with time enough, every detection of phase 1 is replayed
		if err := r.rawCeiling(); err != nil {
			t.Fatal(err)
		}
		if r.res.RawRows != 1001-200 {
			t.Fatalf("second raw phase: %d new rows, want the 801 not written yet", r.res.RawRows)
		}
	})
}

func TestReportNeverShowsInfOrNaN(t *testing.T) {
	res := Result{EndToEndPerSec: 1000, P99MS: 12} // neither a publish rate nor raw rows
	res.summarize()
	var out bytes.Buffer
	res.writeText(&out)
	if err := json.NewEncoder(&out).Encode(&res); err != nil {
		t.Fatalf("json: %v", err)
	}
	for _, bad := range []string{"Inf", "NaN"} {
		if strings.Contains(out.String(), bad) {
			t.Errorf("report shows %s:\n%s", bad, out.String())
		}
	}
	if v, ok := fraction(1, 0); ok || v != 0 {
		t.Errorf("fraction(1, 0) = %v, %v", v, ok)
	}
	if v, ok := fraction(3, 4); !ok || v != 0.75 {
		t.Errorf("fraction(3, 4) = %v, %v", v, ok)
	}
}

func TestShareSpreadsEveryRow(t *testing.T) {
	for _, c := range []struct {
		total int64
		n     int
	}{{0, 3}, {1, 3}, {1001, 2}, {103450, 8}} {
		var sum, lo, hi int64 = 0, c.total, 0
		for i := range c.n {
			p := share(c.total, c.n, i)
			sum, lo, hi = sum+p, min(lo, p), max(hi, p)
		}
		if sum != c.total || hi-lo > 1 {
			t.Errorf("share(%d, %d): sum %d, parts %d..%d", c.total, c.n, sum, lo, hi)
		}
	}
}

// TestBenchEdgeAdmitsAsServeDoes: the bench's edge judges every device message before
// storing it, as `linepulse serve`'s does, so its figures include that work: a message
// none of which could be stored is refused with an error reply.
func TestBenchEdgeAdmitsAsServeDoes(t *testing.T) {
	cfg := tinyConfig(t, t.TempDir())
	r := newTestRun(t, cfg)
	if err := r.setup(); err != nil {
		t.Fatal(err)
	}
	opts, err := sim.DeviceOptions(r.user, r.secret, r.log)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(r.b.ClientURL(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	msg, err := nc.Request(bus.DetSubject(r.slug, r.lines[0]), []byte(`{"not":"a detection"}`), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var ack struct {
		Error *jetstream.APIError `json:"error"`
	}
	if err := json.Unmarshal(msg.Data, &ack); err != nil || ack.Error == nil || ack.Error.Code != 400 {
		t.Fatalf("a malformed message was answered %q, want a 400 refusal", msg.Data)
	}
	if got := r.b.EdgeStats().Refused; got != 1 {
		t.Fatalf("edge refused %d messages, want 1", got)
	}
}
