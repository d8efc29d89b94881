package alert_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/linepulse/linepulse/alert"
	"github.com/linepulse/linepulse/internal/testkit"
	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/store/storetest"
)

const wait = 20 * time.Second

// TestWebhookReceiverDownStillGetsFiringAndResolvedOnce is the acceptance test: a stop
// fires a line_down alert and its end resolves it; the receiver refuses the first three
// attempts and still gets one signed firing and one signed resolved, once each, every
// attempt of one notification with the same idempotency key, every attempt logged.
func TestWebhookReceiverDownStillGetsFiringAndResolvedOnce(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		r := newRig(t, e)
		rc := newReceiver(t, 3)
		const secret = "hook secret"
		ch := r.channel(store.AlertChannel{Name: "ops", Kind: store.ChannelWebhook, Config: store.ChannelConfig{URL: rc.URL + "/hook", Secret: secret}})
		rule := r.rule(store.AlertRule{Name: "Line stopped", Kind: store.RuleLineDown, Severity: "critical", Channels: []int64{ch}})
		r.start(nil)

		start := time.Now().Add(-45 * time.Second).UTC().Truncate(time.Millisecond)
		r.downtime(r.line.ID, "started", 0, start, nil, "")
		testkit.CheckFor(t, wait, 5*time.Millisecond, func() error {
			return testkit.Unless(len(rc.delivered()) == 1, "delivered %d", len(rc.delivered()))
		})
		end := start.Add(90 * time.Second)
		r.downtime(r.line.ID, "ended", 7, start, &end, "")
		testkit.CheckFor(t, wait, 5*time.Millisecond, func() error {
			return testkit.Unless(len(rc.delivered()) == 2 && r.settled(), "delivered %d", len(rc.delivered()))
		})

		got := rc.delivered()
		if got[0].Payload.State != "firing" || got[1].Payload.State != "resolved" {
			t.Fatalf("states: %s then %s", got[0].Payload.State, got[1].Payload.State)
		}
		for _, g := range rc.all() {
			if g.Signature != alert.Sign([]byte(secret), g.Raw) {
				t.Errorf("bad signature %q on %s", g.Signature, g.Raw)
			}
		}
		p := got[0].Payload
		if p.Rule != "Line stopped" || p.Kind != "line_down" || p.Tenant != "acme" || p.Line.ID != r.line.ID || p.Line.Name != "Filler 1" ||
			!p.StartedAt.Equal(start) || p.URL == "" || p.ID == 0 {
			t.Errorf("firing payload: %+v", p)
		}
		all := rc.all()
		if len(all) != 5 {
			t.Fatalf("%d requests, want 3 refused + 2 accepted", len(all))
		}
		for i := range 4 {
			if all[i].Key != all[0].Key || all[i].Event != "firing" {
				t.Errorf("attempt %d of the firing: key %q event %q", i+1, all[i].Key, all[i].Event)
			}
		}
		if all[4].Key == all[0].Key {
			t.Error("resolved reuses the firing's idempotency key")
		}

		al, err := r.tdb.GetAlert(context.Background(), p.ID)
		if err != nil || al.State != store.AlertResolved || al.RuleID != rule.ID {
			t.Fatalf("alert: %+v %v", al, err)
		}
		log, err := r.tdb.Deliveries(context.Background(), al.ID)
		if err != nil || len(log) != 5 {
			t.Fatalf("delivery log: %+v %v", log, err)
		}
		for i, d := range log {
			wantOK := i >= 3
			if d.OK != wantOK || d.Attempt != map[bool]int{true: 1, false: i + 1}[i == 4] {
				t.Errorf("delivery %d: %+v", i, d)
			}
			if !d.OK && (d.StatusCode != 503 || d.Error == "") {
				t.Errorf("failed delivery %d: %+v", i, d)
			}
		}
	})
}

// TestTwoInstancesDeliverOnce: two engines on one NATS and one database see the same
// stops; every notification arrives once.
func TestTwoInstancesDeliverOnce(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		r := newRig(t, e)
		rc := newReceiver(t, 0)
		ch := r.channel(store.AlertChannel{Name: "ops", Kind: store.ChannelWebhook, Config: store.ChannelConfig{URL: rc.URL, Secret: "s"}})
		r.rule(store.AlertRule{Name: "stopped", Kind: store.RuleLineDown, Channels: []int64{ch}})
		r.start(func(c *alert.Config) { c.Holder = "one" })
		r.start(func(c *alert.Config) { c.Holder = "two" })

		lines := []int64{r.line.ID}
		for i := range 4 {
			lines = append(lines, r.newLine(fmt.Sprint("line ", i)).ID)
		}
		start := time.Now().UTC().Truncate(time.Millisecond)
		for _, l := range lines {
			r.downtime(l, "started", 0, start, nil, "")
		}
		end := start.Add(time.Minute)
		for i, l := range lines {
			r.downtime(l, "ended", int64(i+1), start, &end, "")
		}
		testkit.CheckFor(t, wait, 5*time.Millisecond, func() error {
			return testkit.Unless(len(rc.delivered()) == 2*len(lines) && r.settled(), "delivered %d", len(rc.delivered()))
		})
		seen := map[string]int{}
		for _, g := range rc.all() {
			seen[fmt.Sprint(g.Payload.Line.ID, g.Payload.State)]++
		}
		for _, l := range lines {
			for _, s := range []string{"firing", "resolved"} {
				if n := seen[fmt.Sprint(l, s)]; n != 1 {
					t.Errorf("line %d %s delivered %d times", l, s, n)
				}
			}
		}
		alerts, err := r.tdb.ListAlerts(context.Background(), "", store.Page{})
		if err != nil || len(alerts) != len(lines) {
			t.Fatalf("%d alerts for %d stops: %v", len(alerts), len(lines), err)
		}
	})
}

// TestPermanentlyFailingChannelIsFlagged: a notification that keeps failing past MaxAge
// gives up, is marked failed, and flags its channel for the tenant admin.
func TestPermanentlyFailingChannelIsFlagged(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		r := newRig(t, e)
		rc := newReceiver(t, 1<<30) // never up
		ch := r.channel(store.AlertChannel{Name: "dead", Kind: store.ChannelWebhook, Config: store.ChannelConfig{URL: rc.URL}})
		r.rule(store.AlertRule{Name: "stopped", Kind: store.RuleLineDown, Channels: []int64{ch}})
		r.start(func(c *alert.Config) { c.MaxAge = 30 * time.Millisecond })
		r.downtime(r.line.ID, "started", 0, time.Now().UTC(), nil, "")
		ctx := context.Background()
		testkit.CheckFor(t, wait, 5*time.Millisecond, func() error {
			c, err := r.tdb.AlertChannels.Get(ctx, ch)
			return testkit.Unless(err == nil && c.Failing && c.LastError != "" && r.settled(), "channel %+v", c)
		})
		alerts, _ := r.tdb.ListAlerts(ctx, "", store.Page{})
		notes, _ := r.tdb.Notifications(ctx, alerts[0].ID)
		if len(notes) != 1 || notes[0].State != store.NoteFailed || notes[0].Attempts < 1 {
			t.Fatalf("outbox: %+v", notes)
		}
	})
}
