package sim

import (
	"context"
	"testing"
	"time"

	"github.com/linepulse/linepulse/bus"
	"github.com/linepulse/linepulse/bus/bustest"
	"github.com/linepulse/linepulse/telemetry"
)

// TestPublishTelemetry: what the simulator publishes passes the strict decoder.
func TestPublishTelemetry(t *testing.T) {
	b := bustest.Run(t)
	nc, err := b.Connect("test")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	sub, err := nc.SubscribeSync(bus.TelemetrySubject("acme", "edge-1"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- PublishTelemetry(ctx, nc, TelemetryConfig{Tenant: "acme", Node: "edge-1", Cameras: []string{"cam-1"}, Every: 20 * time.Millisecond, Seed: 1})
	}()
	for range 2 {
		m, err := sub.NextMsg(10 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		got, err := telemetry.Decode(m.Data, "edge-1")
		if err != nil || len(got.Cameras) != 1 || got.CPUPct < 30 || got.CPUPct > 60 {
			t.Fatalf("telemetry %s: %+v %v", m.Data, got, err)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
