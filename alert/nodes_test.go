package alert_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/linepulse/linepulse/alert"
	"github.com/linepulse/linepulse/internal/clock"
	"github.com/linepulse/linepulse/internal/testkit"
	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/store/storetest"
)

// watch maps a camera of node to an area of line, so the node is one of the line's vision
// nodes (camera.node -> camera_area -> area).
func watch(t *testing.T, tdb *store.TenantDB, line int64, node string) {
	t.Helper()
	ctx := context.Background()
	a := store.Area{LineID: line, Name: "zone " + node, X2: 1, Y2: 1}
	if err := tdb.Areas.Create(ctx, &a); err != nil {
		t.Fatal(err)
	}
	cam := store.Camera{Name: "cam " + node, Node: node}
	if err := tdb.Cameras.Create(ctx, &cam); err != nil {
		t.Fatal(err)
	}
	if err := tdb.CameraAreas.Create(ctx, &store.CameraArea{CameraID: cam.ID, AreaID: a.ID, Status: "active"}); err != nil {
		t.Fatal(err)
	}
}

// telemetry publishes a node's health message as a vision node does.
func (r *rig) telemetry(tenant, node string, at time.Time) {
	r.t.Helper()
	r.publish("lp."+tenant+".node."+node+".telemetry", map[string]any{"node": node, "at": at.UTC(), "cpu_pct": 10, "ram_pct": 20})
}

// TestNodeOfflineFiresOnceAndResolves: a node silent for the rule's after fires once on
// its line and resolves when heard again; a rule on another line stays quiet, and the same
// node name in another tenant neither keeps it alive nor resolves it.
func TestNodeOfflineFiresOnceAndResolves(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		fake := clock.NewFake(time.Now().UTC().Truncate(time.Millisecond))
		r := newRig(t, e, func(c *store.Config) { c.Now = fake.Now })
		ctx := context.Background()
		watch(t, r.tdb, r.line.ID, "edge-01")
		packer := r.newLine("Packer")
		rc, elsewhere := newReceiver(t, 0), newReceiver(t, 0)
		r.rule(store.AlertRule{Name: "camera box silent", Kind: store.RuleNodeOffline, Lines: []int64{r.line.ID}, After: store.Duration(time.Minute),
			Channels: []int64{r.channel(store.AlertChannel{Name: "ops", Kind: store.ChannelWebhook, Config: store.ChannelConfig{URL: rc.URL}})}})
		r.rule(store.AlertRule{Name: "packer nodes", Kind: store.RuleNodeOffline, Lines: []int64{packer.ID}, After: store.Duration(time.Minute),
			Channels: []int64{r.channel(store.AlertChannel{Name: "packer", Kind: store.ChannelWebhook, Config: store.ChannelConfig{URL: elsewhere.URL}})}})

		// Tenant beta has a node of the same name on a rule of its own.
		beta := storetest.Tenant(t, r.st, "beta")
		bl := store.Line{Name: "Beta line", Availability: 0.9, Performance: 0.9, Quality: 0.9, DowntimeThresholdMS: 30000, IdealCycleTimeMS: 1000, Active: true}
		if err := beta.CreateLine(ctx, &bl); err != nil {
			t.Fatal(err)
		}
		watch(t, beta, bl.ID, "edge-01")
		rb := newReceiver(t, 0)
		bch := store.AlertChannel{Name: "beta ops", Kind: store.ChannelWebhook, Config: store.ChannelConfig{URL: rb.URL}}
		if err := beta.AlertChannels.Create(ctx, &bch); err != nil {
			t.Fatal(err)
		}
		if err := beta.AlertRules.Create(ctx, &store.AlertRule{Name: "beta nodes", Kind: store.RuleNodeOffline, Active: true, After: store.Duration(time.Hour), Channels: []int64{bch.ID}}); err != nil {
			t.Fatal(err)
		}
		r.start(func(c *alert.Config) { c.Clock = fake })

		r.telemetry("acme", "edge-01", fake.Now())
		// Timers run inside Advance: the alert is open as soon as the silence passes after.
		testkit.CheckFor(t, wait, 5*time.Millisecond, func() error {
			fake.Advance(20 * time.Second)
			open, err := r.tdb.OpenAlerts(ctx)
			if err != nil {
				return err
			}
			return testkit.Unless(len(open) == 1, "%d open alerts", len(open))
		})
		open, err := r.tdb.OpenAlerts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if al := open[0]; al.Kind != store.RuleNodeOffline || al.Subject != "edge-01" || al.LineID != r.line.ID || al.Value < 60 {
			t.Fatalf("alert: %+v", al)
		}
		testkit.CheckFor(t, wait, 5*time.Millisecond, func() error {
			return testkit.Unless(len(rc.delivered()) == 1 && r.settled(), "delivered %d", len(rc.delivered()))
		})
		fake.Advance(5 * time.Minute) // still silent: no second firing
		if n := len(rc.delivered()); n != 1 {
			t.Fatalf("%d notifications while silent, want 1", n)
		}

		// Beta's edge-01 speaks: once beta's timer is armed, acme's alert is still open.
		before := fake.Waiters()
		r.telemetry("beta", "edge-01", fake.Now())
		testkit.CheckFor(t, wait, 5*time.Millisecond, func() error {
			return testkit.Unless(fake.Waiters() > before, "beta's telemetry not handled yet")
		})
		if got, err := r.tdb.GetAlert(ctx, open[0].ID); err != nil || got.State != store.AlertFiring {
			t.Fatalf("after beta's telemetry: %+v, %v", got, err)
		}

		r.telemetry("acme", "edge-01", fake.Now())
		testkit.CheckFor(t, wait, 5*time.Millisecond, func() error {
			return testkit.Unless(len(rc.delivered()) == 2 && r.settled(), "delivered %d", len(rc.delivered()))
		})
		got := rc.delivered()
		if got[0].Payload.State != store.AlertFiring || got[1].Payload.State != store.AlertResolved ||
			got[0].Payload.Kind != "node_offline" || got[0].Payload.Line.ID != r.line.ID || got[0].Payload.Subject != "edge-01" || got[1].Payload.ID != got[0].Payload.ID {
			t.Fatalf("payloads: %+v then %+v", got[0].Payload, got[1].Payload)
		}
		if n, m := len(elsewhere.all()), len(rb.all()); n != 0 || m != 0 {
			t.Fatalf("the packer rule got %d, tenant beta got %d requests", n, m)
		}
	})
}

// TestNodeOfflineFromLastKnownStatus: a node already silent when the engine starts (its
// LP_NODES entry, as the stream engine writes it) fires without any new message, and
// resolves when it is heard again.
func TestNodeOfflineFromLastKnownStatus(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		fake := clock.NewFake(time.Now().UTC().Truncate(time.Millisecond))
		r := newRig(t, e, func(c *store.Config) { c.Now = fake.Now })
		ctx := context.Background()
		watch(t, r.tdb, r.line.ID, "edge-07")
		rc := newReceiver(t, 0)
		r.rule(store.AlertRule{Name: "silent node", Kind: store.RuleNodeOffline, After: store.Duration(time.Minute),
			Channels: []int64{r.channel(store.AlertChannel{Name: "ops", Kind: store.ChannelWebhook, Config: store.ChannelConfig{URL: rc.URL}})}})

		js, err := jetstream.New(r.nc)
		if err != nil {
			t.Fatal(err)
		}
		kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "LP_NODES", History: 1})
		if err != nil {
			t.Fatal(err)
		}
		last := fake.Now().Add(-2 * time.Minute)
		put := func(key, node string) {
			data, _ := json.Marshal(map[string]any{"node": node, "last_seen": last, "at": last, "state": "online", "cameras": []any{}})
			if _, err := kv.Put(ctx, key, data); err != nil {
				t.Fatal(err)
			}
		}
		put("acme.edge-07", "edge-07")
		put("beta.edge-07", "edge-07") // an unknown tenant: ignored
		put("acme.edge-99", "edge-07") // key and value disagree: ignored
		r.start(func(c *alert.Config) { c.Clock = fake })

		testkit.CheckFor(t, wait, 5*time.Millisecond, func() error {
			return testkit.Unless(len(rc.delivered()) == 1 && r.settled(), "delivered %d", len(rc.delivered()))
		})
		if p := rc.delivered()[0].Payload; p.State != store.AlertFiring || !p.StartedAt.Equal(last) || p.Line.ID != r.line.ID {
			t.Fatalf("firing: %+v", p)
		}
		r.telemetry("acme", "edge-07", fake.Now())
		testkit.CheckFor(t, wait, 5*time.Millisecond, func() error {
			return testkit.Unless(len(rc.delivered()) == 2 && r.settled(), "delivered %d", len(rc.delivered()))
		})
		if p := rc.delivered()[1].Payload; p.State != store.AlertResolved {
			t.Fatalf("resolved: %+v", p)
		}
	})
}

// TestNodeOfflineRuleCreatedWhileSilent: a rule created after the node's last message still
// reports it (the engine remembers the nodes it heard).
func TestNodeOfflineRuleCreatedWhileSilent(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		fake := clock.NewFake(time.Now().UTC().Truncate(time.Millisecond))
		r := newRig(t, e, func(c *store.Config) { c.Now = fake.Now })
		watch(t, r.tdb, r.line.ID, "edge-03")
		first, later := newReceiver(t, 0), newReceiver(t, 0)
		r.rule(store.AlertRule{Name: "first", Kind: store.RuleNodeOffline, After: store.Duration(24 * time.Hour),
			Channels: []int64{r.channel(store.AlertChannel{Name: "first", Kind: store.ChannelWebhook, Config: store.ChannelConfig{URL: first.URL}})}})
		eng := r.start(func(c *alert.Config) { c.Clock = fake })

		before := fake.Waiters()
		r.telemetry("acme", "edge-03", fake.Now())
		testkit.CheckFor(t, wait, 5*time.Millisecond, func() error {
			return testkit.Unless(fake.Waiters() > before, "telemetry not handled yet")
		})
		fake.Advance(5 * time.Minute)
		r.rule(store.AlertRule{Name: "later", Kind: store.RuleNodeOffline, After: store.Duration(time.Minute),
			Channels: []int64{r.channel(store.AlertChannel{Name: "later", Kind: store.ChannelWebhook, Config: store.ChannelConfig{URL: later.URL}})}})
		eng.Invalidate(r.tdb.ID())
		r.telemetry("acme", "edge-other", fake.Now()) // any message reloads the rules
		testkit.CheckFor(t, wait, 5*time.Millisecond, func() error {
			fake.Advance(time.Second)
			return testkit.Unless(len(later.delivered()) == 1 && r.settled(), "delivered %d", len(later.delivered()))
		})
		if p := later.delivered()[0].Payload; p.State != store.AlertFiring || p.Rule != "later" || p.Value < 300 {
			t.Fatalf("firing: %+v", p)
		}
		if n := len(first.all()); n != 0 {
			t.Fatalf("the day-long rule got %d requests", n)
		}
	})
}

// TestNodeOfflineTwoInstancesOnce: two engines on one NATS and one database hear the same
// node; its silence and return arrive once each.
func TestNodeOfflineTwoInstancesOnce(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		fake := clock.NewFake(time.Now().UTC().Truncate(time.Millisecond))
		r := newRig(t, e, func(c *store.Config) { c.Now = fake.Now })
		ctx := context.Background()
		watch(t, r.tdb, r.line.ID, "edge-05")
		rc := newReceiver(t, 0)
		r.rule(store.AlertRule{Name: "silent", Kind: store.RuleNodeOffline, After: store.Duration(time.Minute),
			Channels: []int64{r.channel(store.AlertChannel{Name: "ops", Kind: store.ChannelWebhook, Config: store.ChannelConfig{URL: rc.URL}})}})
		// The fake clock jumps 20 s per poll: a claim outliving the jumps keeps a slow send
		// (a loaded machine) from being taken over and sent again by the other instance.
		r.start(func(c *alert.Config) { c.Clock, c.Holder, c.ClaimTTL = fake, "one", 24*time.Hour })
		r.start(func(c *alert.Config) { c.Clock, c.Holder, c.ClaimTTL = fake, "two", 24*time.Hour })

		r.telemetry("acme", "edge-05", fake.Now())
		testkit.CheckFor(t, wait, 5*time.Millisecond, func() error {
			fake.Advance(20 * time.Second)
			return testkit.Unless(len(rc.delivered()) == 1 && r.settled(), "delivered %d", len(rc.delivered()))
		})
		r.telemetry("acme", "edge-05", fake.Now())
		testkit.CheckFor(t, wait, 5*time.Millisecond, func() error {
			return testkit.Unless(len(rc.delivered()) == 2 && r.settled(), "delivered %d", len(rc.delivered()))
		})
		if got := rc.all(); len(got) != 2 || got[0].Payload.State != store.AlertFiring || got[1].Payload.State != store.AlertResolved {
			t.Fatalf("%d requests: %+v", len(got), got)
		}
		alerts, err := r.tdb.ListAlerts(ctx, "", store.Page{})
		if err != nil || len(alerts) != 1 {
			t.Fatalf("%d alerts: %v", len(alerts), err)
		}
	})
}
