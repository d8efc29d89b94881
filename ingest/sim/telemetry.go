package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/linepulse/linepulse/bus"
	"github.com/linepulse/linepulse/telemetry"
)

// TelemetryConfig makes PublishTelemetry play a vision node's health.
type TelemetryConfig struct {
	Tenant, Node string
	Cameras      []string      // camera ids reported (status ok, about 25 frames/s)
	Every        time.Duration // period; default 10 s
	Seed         int64
	Now          func() time.Time // default time.Now
}

// PublishTelemetry publishes a plausible telemetry message (package telemetry) on
// lp.<tenant>.node.<node>.telemetry every period until ctx ends, starting at once.
func PublishTelemetry(ctx context.Context, nc *nats.Conn, cfg TelemetryConfig) error {
	if !telemetry.ValidName(cfg.Node) {
		return fmt.Errorf("sim: invalid node name %q", cfg.Node)
	}
	if cfg.Every <= 0 {
		cfg.Every = 10 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x7e1e))
	subject := bus.TelemetrySubject(cfg.Tenant, cfg.Node)
	t := time.NewTicker(cfg.Every)
	defer t.Stop()
	for {
		m := telemetry.Message{Node: cfg.Node, At: cfg.Now().UTC(), CPUPct: 30 + rng.Float64()*30, RAMPct: 50 + rng.Float64()*15,
			GPUTempC: 60 + rng.Float64()*10, GPUMemUsedBytes: (2 << 30) + rng.Int64N(1<<30), Cameras: []telemetry.Camera{}}
		for _, c := range cfg.Cameras {
			m.Cameras = append(m.Cameras, telemetry.Camera{ID: c, FPS: 24 + rng.Float64()*2, Status: "ok"})
		}
		data, err := json.Marshal(m)
		if err != nil {
			return err
		}
		if err := nc.Publish(subject, data); err != nil {
			return fmt.Errorf("sim: cannot publish telemetry: %w", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
