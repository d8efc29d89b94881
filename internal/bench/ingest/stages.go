package ingest

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// stageOrder is the pipeline order of the stages the edge and the writer report
// (bus.Config.Observe, ingest.WriterConfig.Observe).
var stageOrder = []string{"edge.gather", "edge.store", "writer.deliver", "writer.queue", "writer.commit"}

// StageTiming is the p50 and p99 of one stage in milliseconds, and how many times it ran.
type StageTiming struct {
	Count int     `json:"count"`
	P50MS float64 `json:"p50_ms"`
	P99MS float64 `json:"p99_ms"`
}

// stages collects stage timings while a phase records.
type stages struct {
	mu        sync.Mutex
	recording bool
	d         map[string][]time.Duration
}

func (s *stages) observe(stage string, d time.Duration) {
	s.mu.Lock()
	if s.recording {
		s.d[stage] = append(s.d[stage], d)
	}
	s.mu.Unlock()
}

// record forgets what was collected and starts collecting.
func (s *stages) record() {
	s.mu.Lock()
	s.recording, s.d = true, map[string][]time.Duration{}
	s.mu.Unlock()
}

// stop stops collecting and returns each stage's percentiles.
func (s *stages) stop() map[string]StageTiming {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recording = false
	out := map[string]StageTiming{}
	for k, d := range s.d {
		out[k] = StageTiming{Count: len(d), P50MS: ms(percentile(d, 0.50)), P99MS: ms(percentile(d, 0.99))}
	}
	return out
}

// formatStages is "edge.gather p50 1.0/p99 2.0 ms (n), ..." in pipeline order.
func formatStages(t map[string]StageTiming) string {
	var parts []string
	names := append([]string(nil), stageOrder...)
	for k := range t {
		if !slices.Contains(names, k) {
			names = append(names, k)
		}
	}
	for _, k := range names {
		if v, ok := t[k]; ok {
			parts = append(parts, fmt.Sprintf("%s p50 %.1f/p99 %.1f ms (%d)", k, v.P50MS, v.P99MS, v.Count))
		}
	}
	return strings.Join(parts, ", ")
}
