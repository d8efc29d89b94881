package stream

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// Each term as lease holder makes a new engine on the same registry: it must keep
// counting in the same series.
func TestMetricsSurviveASecondEngine(t *testing.T) {
	reg := prometheus.NewRegistry()
	first, err := newMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	first.messages.Add(2)
	first.downtime.WithLabelValues("started").Inc()
	second, err := newMetrics(reg)
	if err != nil {
		t.Fatalf("second engine: %v", err)
	}
	second.messages.Add(3)
	second.downtime.WithLabelValues("started").Inc()
	if got := testutil.ToFloat64(first.messages); got != 5 {
		t.Fatalf("messages_total = %v, want 5", got)
	}
	if got := testutil.ToFloat64(first.downtime.WithLabelValues("started")); got != 2 {
		t.Fatalf("downtime_messages_total{started} = %v, want 2", got)
	}
	if n, err := testutil.GatherAndCount(reg, "linepulse_stream_messages_total"); err != nil || n != 1 {
		t.Fatalf("series of messages_total: %d, %v", n, err)
	}
}
