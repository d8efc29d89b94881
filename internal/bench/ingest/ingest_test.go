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

	"github.com/linepulse/linepulse/store/storetest"
)

var benchLineRe = regexp.MustCompile(`^ingest: [0-9]+ detections/s end-to-end, raw insert [0-9]+ rows/s, ratio [0-9]+\.[0-9]{2}, p99 commit latency [0-9]+ ms$`)

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
		if res.Detections == 0 || res.RawRows == 0 || res.LatencyMessages == 0 || !benchLineRe.MatchString(res.Summary) || res.Batch != 1 || res.DiskFsyncPerSec <= 0 {
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
