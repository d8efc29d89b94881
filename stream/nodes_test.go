package stream

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/linepulse/linepulse/bus"
	"github.com/linepulse/linepulse/internal/clock"
	"github.com/linepulse/linepulse/internal/testkit"
	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/store/storetest"
)

// TestNodeSilenceIsOffline: a line whose vision node stops sending telemetry and
// detections goes offline (not down) once the node is silent past node.offline_after_s;
// the stop that begins then is marked node_offline; SYSTEM_MONITOR has the node's
// (downsampled) figures and the node directory shows it offline with its last figures.
func TestNodeSilenceIsOffline(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		start, loc := testStart(t), testZone(t)
		r := newRig(t, e, rigOpts{tz: loc.String(), shifts: shiftAround(start, loc), lines: 2, threshold: 10 * time.Second, micro: time.Second, ideal: 100 * time.Millisecond})
		watched, other := r.lines[0].ID, r.lines[1].ID
		areas, err := r.tdb.Areas.All(ctx)
		if err != nil {
			t.Fatal(err)
		}
		cam := store.Camera{Name: "cam-1", Node: "edge-1"}
		if err := r.tdb.Cameras.Create(ctx, &cam); err != nil {
			t.Fatal(err)
		}
		for _, a := range areas {
			if a.LineID == watched {
				if err := r.tdb.CameraAreas.Create(ctx, &store.CameraArea{CameraID: cam.ID, AreaID: a.ID, Status: "active"}); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := r.st.SetConfig(ctx, ConfigOfflineAfter, store.JSON(`3`)); err != nil {
			t.Fatal(err)
		}
		set, err := LoadNodeSettings(ctx, r.st)
		if err != nil || set.OfflineAfter != 3*time.Second || set.TelemetryInterval != 10*time.Second || set.MonitorEvery != time.Minute {
			t.Fatalf("settings %+v %v", set, err)
		}
		clk := clock.NewFake(start)
		x := r.start(Config{Clock: clk, PublishRate: 20, Heartbeat: 200 * time.Millisecond, CheckpointEvery: time.Second})

		telemetry := func(cpu float64) {
			msg := fmt.Sprintf(`{"node":"edge-1","at":%q,"cpu_pct":%v,"ram_pct":50,"gpu_temp_c":61.5,"gpu_mem_used_bytes":1024,"cameras":[{"id":"cam-1","fps":25,"status":"ok"}]}`,
				clk.Now().UTC().Format(time.RFC3339Nano), cpu)
			if err := r.nc.Publish(bus.TelemetrySubject("acme", "edge-1"), []byte(msg)); err != nil {
				t.Fatal(err)
			}
			r.nc.Flush()
		}
		// The engine is subscribed once it publishes.
		advancing(t, clk, 10*time.Millisecond, 0, func() error { return testkit.Unless(r.seen.kpis(watched) > 0, "no KPI update yet") })
		// A second of production with telemetry: running.
		for i := range 10 {
			telemetry(float64(40 + i))
			d := store.Detection{ID: uint64(i + 1), At: clk.Now().UTC().Truncate(time.Millisecond), Area: 1, Product: 1, OK: true}
			r.publish(watched, []store.Detection{d}, true)
			r.publish(other, []store.Detection{d}, true)
			testkit.CheckFor(t, waitLong, poll, func() error {
				s := x.line(t, watched)
				return testkit.Unless(s.total == int64(i+1), "folded %d", s.total)
			})
			clk.Advance(100 * time.Millisecond)
		}
		advancing(t, clk, 10*time.Millisecond, time.Second, func() error {
			k, ok := r.seen.lastKPI(watched)
			return testkit.Unless(ok && k.State == StateRunning, "last KPI %+v", k.State)
		})
		// Both stop. Past 3 s of silence the watched line is offline; its stop (due 10 s
		// after the last detection) is marked; the line without nodes goes down.
		advancing(t, clk, 100*time.Millisecond, 0, func() error {
			k, _ := r.seen.lastKPI(watched)
			o, _ := r.seen.lastKPI(other)
			return testkit.Unless(k.State == StateOffline && o.State == StateDown, "watched %s, other %s", k.State, o.State)
		})
		testkit.CheckFor(t, waitLong, poll, func() error {
			ms := r.seen.downtime(watched)
			return testkit.Unless(len(ms) > 0 && ms[0].Event.State == DowntimeStarted && ms[0].Event.NodeOffline, "watched line's downtime messages %+v", ms)
		})
		if ms := r.seen.downtime(other); len(ms) == 0 || ms[0].Event.NodeOffline {
			t.Errorf("other line's downtime %+v", ms)
		}

		// One SYSTEM_MONITOR row (downsampled to a minute), with the first figures.
		testkit.CheckFor(t, waitLong, poll, func() error {
			rows, err := r.tdb.Monitor.All(ctx)
			if err != nil {
				return err
			}
			return testkit.Unless(len(rows) == 1 && rows[0].Node == "edge-1" && rows[0].CPUUsage == 40 && rows[0].GPUTemp == 61.5, "system_monitor %+v", rows)
		})
		// The directory: edge-1 offline, its last figures, the line it watches.
		dir, err := OpenNodeDirectory(ctx, r.nc, r.st, r.meta)
		if err != nil {
			t.Fatal(err)
		}
		dir.now = clk.Now
		testkit.CheckFor(t, waitLong, poll, func() error {
			ns, err := dir.Nodes(ctx, r.ten.ID)
			if err != nil {
				return err
			}
			b, _ := json.Marshal(ns)
			return testkit.Unless(len(ns) == 1 && ns[0].Node == "edge-1" && ns[0].State == NodeOffline && ns[0].CPUPct == 49 && ns[0].SilentS > 3 &&
				len(ns[0].Lines) == 1 && ns[0].Lines[0] == watched && len(ns[0].Cameras) == 1, "nodes %s", b)
		})
		// Another tenant sees none of it.
		other2 := store.Tenant{Slug: "zeta", Name: "Zeta", Config: store.TenantConfig{Timezone: "UTC", RetentionDays: 365}}
		if err := r.st.CreateTenant(ctx, &other2); err != nil {
			t.Fatal(err)
		}
		if ns, err := dir.Nodes(ctx, other2.ID); err != nil || len(ns) != 0 {
			t.Errorf("other tenant's nodes %+v %v", ns, err)
		}
		// The node comes back: online again.
		telemetry(12)
		advancing(t, clk, 10*time.Millisecond, time.Second, func() error {
			k, _ := r.seen.lastKPI(watched)
			return testkit.Unless(k.State != StateOffline, "still offline")
		})
	})
}
