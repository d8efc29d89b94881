package query

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/linepulse/linepulse/store/storetest"
)

// TestBenchQueryRuns loads a sparse day on each engine and checks the report: the
// rollups and the raw table agree, a second run reuses the load (and reports it as
// loaded, by the first run), and a run asking for other data refuses to mix it with the
// loaded one.
func TestBenchQueryRuns(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		st := e.Config(t)
		cfg := DefaultConfig()
		cfg.MySQL, cfg.DataDir, cfg.Days, cfg.Rate, cfg.Runs, cfg.Shifts = st.MySQLDSN, st.DataDir, 1, 0.05, 1, 2
		want := regexp.MustCompile(`(?m)^bench query: .*, 1 days of one line at 0.05/s = [1-9][0-9]* detections, [0-9]+ downtime events(; loaded in .*)?
hourly production over 1 days \([0-9]+ buckets\): rollups [0-9.]+ ms \(median of 1\), raw [0-9.]+ ms: [0-9]+x faster, answers agree: yes
OEE of the last 2 shifts: rollups [0-9.]+ ms \(median of 1\), raw [0-9.]+ ms: [0-9]+x faster, answers agree: yes
loss analysis over 1 days \(median of 1\): shift list \([0-9]+ instances\) [0-9.]+ ms, Pareto [0-9.]+ ms, waterfall [0-9.]+ ms; equal to the raw table and the replayed downtime: yes
shift report PDF of the last shift: [0-9.]+ ms \(median of 1\)$`)
		var first []string // the load line of each run: the second reuses the first's load
		for run := range 2 {
			var out bytes.Buffer
			if err := Run(context.Background(), cfg, &out); err != nil {
				t.Fatalf("run %d: %v\n%s", run, err, out.String())
			}
			if !want.MatchString(strings.TrimSpace(out.String())) {
				t.Fatalf("run %d:\n%s", run, out.String())
			}
			first = append(first, strings.SplitN(out.String(), "\n", 2)[0])
		}
		if first[0] != first[1] {
			t.Fatalf("the second run did not reuse the load:\n%s\n%s", first[0], first[1])
		}
		cfg.Days = 2
		if err := Run(context.Background(), cfg, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "use --reload") {
			t.Fatalf("other days on loaded data: %v", err)
		}
	})
}
