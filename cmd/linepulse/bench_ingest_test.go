package main

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/linepulse/linepulse/store/storetest"
)

var benchLineRe = regexp.MustCompile(`^ingest: [0-9]+ detections/s end-to-end, raw insert [0-9]+ rows/s, ratio [0-9]+\.[0-9]{2}, p99 commit latency [0-9]+ ms$`)

// TestBenchIngestRuns runs a tiny bench on each engine: it must finish, print the
// contract's last line, and leave neither its files nor its tenant behind.
func TestBenchIngestRuns(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		dir := t.TempDir()
		args := []string{"bench", "ingest", "--duration", "1s", "--latency-duration", "1s", "--lines", "2", "--batch", "20",
			"--window", "32", "--data-dir", dir, "--log-level", "warn"}
		if e.Name == "mysql" {
			args = append(args, "--mysql", e.Config(t).MySQLDSN)
		}
		code, out, errOut := runCLI(t, "", args...)
		if code != 0 {
			t.Fatalf("bench ingest exited %d: %s", code, errOut)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if last := lines[len(lines)-1]; !benchLineRe.MatchString(last) {
			t.Fatalf("last line %q does not match %s\n%s", last, benchLineRe, out)
		}
		if left, _ := os.ReadDir(dir); len(left) != 0 {
			t.Errorf("bench left %d entries in its data directory", len(left))
		}

		code, out, errOut = runCLI(t, "", append(args, "--format", "json", "--batch", "1")...)
		if code != 0 {
			t.Fatalf("bench ingest --format json exited %d: %s", code, errOut)
		}
		var res benchResult
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("json output %q: %v", out, err)
		}
		if res.Detections == 0 || res.RawRows == 0 || res.LatencyMessages == 0 || !benchLineRe.MatchString(res.Summary) || res.Batch != 1 || res.DiskFsyncPerSec <= 0 {
			t.Fatalf("result %+v", res)
		}
	})
}

func TestBenchIngestRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "ingest", "--lines", "0"},
		{"bench", "ingest", "--batch", "1001"},
		{"bench", "ingest", "--latency-rate", "0"},
	} {
		if code, _, errOut := runCLI(t, "", args...); code != 1 || !strings.Contains(errOut, "bench ingest:") {
			t.Errorf("%v: exit %d, %q", args, code, errOut)
		}
	}
}
