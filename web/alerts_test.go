package web_test

import (
	"bytes"
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/store/storetest"
)

// TestAlertingAPI: channels keep their secrets to themselves, rules answer 201 with their
// id, alerts are acknowledged once (audited), and the roles get what the table grants.
func TestAlertingAPI(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		ev := newEnv(t, e)
		admin := ev.token("acme", "tenant_admin")
		f := ev.plant(ev.acme, admin, "acme")
		const secret = "s-acme" // the fixture channel's secret

		// The secret is never answered, nor audited; an empty secret on PUT keeps it.
		ch := f.ids["notification-channels"]
		for _, path := range []string{"/api/v1/notification-channels", "/api/v1/notification-channels/" + itoa(ch)} {
			if got := ev.must(http.StatusOK, req{method: "GET", path: path, token: admin}, nil); bytes.Contains(got.body, []byte(secret)) {
				t.Fatalf("%s shows the secret: %s", path, got.body)
			}
		}
		put := map[string]any{"name": "renamed", "kind": "webhook", "config": map[string]any{"url": "https://example.test/x", "format": "slack"}}
		if got := ev.must(http.StatusOK, req{method: "PUT", path: "/api/v1/notification-channels/" + itoa(ch), token: admin, body: put}, nil); bytes.Contains(got.body, []byte(secret)) {
			t.Fatalf("PUT shows the secret: %s", got.body)
		}
		tdb, err := ev.st.Tenant(context.Background(), ev.acme.ID)
		if err != nil {
			t.Fatal(err)
		}
		stored, err := tdb.AlertChannels.Get(context.Background(), ch)
		if err != nil || stored.Config.Secret != secret || stored.Config.Format != "slack" {
			t.Fatalf("stored channel after PUT: %+v %v", stored, err)
		}
		entries, err := ev.st.AuditEntries(context.Background(), ev.acme.ID, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, en := range entries {
			if bytes.Contains(en.Details, []byte(secret)) {
				t.Fatalf("audit entry %s carries the secret: %s", en.Action, en.Details)
			}
		}

		// Rules: the contract's body, durations as strings; bad references refused.
		var rule store.AlertRule
		ev.must(http.StatusCreated, req{method: "POST", path: "/api/v1/alert-rules", token: admin, body: map[string]any{
			"name": "slow", "kind": "oee_below", "lines": []int64{f.line}, "after": "5m", "threshold": 0.6,
			"channels": []int64{ch}, "escalate_after": "10m", "escalate_channels": []int64{ch}}}, &rule)
		if rule.ID == 0 || rule.After.D().Minutes() != 5 || rule.EscalateAfter.D().Minutes() != 10 || !rule.Active || rule.Metric != "oee" {
			t.Fatalf("created rule: %+v", rule)
		}
		for _, bad := range []map[string]any{
			{"name": "x", "kind": "line_down", "lines": []int64{}, "after": "0s", "channels": []int64{ch + 100}},
			{"name": "x", "kind": "line_down", "lines": []int64{f.line + 100}, "after": "0s", "channels": []int64{ch}},
			{"name": "x", "kind": "line_down", "lines": []int64{}, "after": "soon", "channels": []int64{ch}},
			{"name": "x", "kind": "oee_below", "lines": []int64{}, "after": "1m", "threshold": 2, "channels": []int64{ch}},
			{"name": "x", "kind": "bogus", "lines": []int64{}, "after": "1m", "channels": []int64{ch}},
		} {
			if got := ev.do(req{method: "POST", path: "/api/v1/alert-rules", token: admin, body: bad}); got.code != http.StatusBadRequest {
				t.Errorf("bad rule %v: %s", bad, got)
			}
		}

		// Roles: supervisors read and acknowledge, operators only read, viewers neither;
		// only tenant admins change rules and channels.
		sup, op, viewer := ev.token("acme", "supervisor"), ev.token("acme", "operator"), ev.token("acme", "viewer")
		al := f.ids["alerts"]
		ev.must(http.StatusForbidden, req{method: "GET", path: "/api/v1/alerts", token: viewer}, nil)
		ev.must(http.StatusForbidden, req{method: "POST", path: "/api/v1/alerts/" + itoa(al) + "/ack", token: op, body: map[string]any{"comment": ""}}, nil)
		ev.must(http.StatusForbidden, req{method: "POST", path: "/api/v1/alert-rules", token: sup, body: map[string]any{}}, nil)
		var sum struct{ Firing, Acknowledged int64 }
		ev.must(http.StatusOK, req{method: "GET", path: "/api/v1/alerts/summary", token: op}, &sum)
		if sum.Firing != 1 || sum.Acknowledged != 0 {
			t.Fatalf("summary: %+v", sum)
		}
		var list struct{ Items []store.Alert }
		ev.must(http.StatusOK, req{method: "GET", path: "/api/v1/alerts?state=firing", token: op}, &list)
		if len(list.Items) != 1 || list.Items[0].ID != al {
			t.Fatalf("firing alerts: %+v", list)
		}

		var acked store.Alert
		ev.must(http.StatusOK, req{method: "POST", path: "/api/v1/alerts/" + itoa(al) + "/ack", token: sup, body: map[string]any{"comment": "on my way"}}, &acked)
		if acked.State != store.AlertAcknowledged || acked.AckComment != "on my way" || acked.AckedAt == nil || acked.AckedBy == 0 {
			t.Fatalf("acknowledged: %+v", acked)
		}
		ev.must(http.StatusConflict, req{method: "POST", path: "/api/v1/alerts/" + itoa(al) + "/ack", token: sup, body: map[string]any{"comment": ""}}, nil)
		if !contains(ev.auditActions(ev.acme.ID), "alert.ack") {
			t.Error("acknowledgement not audited")
		}
		ev.must(http.StatusOK, req{method: "GET", path: "/api/v1/alerts/summary", token: op}, &sum)
		if sum.Firing != 0 || sum.Acknowledged != 1 {
			t.Fatalf("summary after ack: %+v", sum)
		}
		// The signed link of an e-mail acknowledges its one alert, without credentials;
		// forged, expired or another alert's links do not.
		linkAlert := ev.alert(ev.acme, f, "by-link")
		other := ev.alert(ev.acme, f, "other")
		tok := ev.links.Token(ev.acme.ID, linkAlert, ch, ev.clock.Now().Add(time.Hour))
		for _, bad := range []string{tok + "x", ev.links.Token(ev.acme.ID, linkAlert, ch, ev.clock.Now().Add(-time.Second)),
			ev.links.Token(ev.beta.ID, linkAlert, ch, ev.clock.Now().Add(time.Hour))[:10] + tok[10:], "", "a.b"} {
			if got := ev.do(req{method: "POST", path: "/api/v1/alerts/ack-link", body: map[string]any{"token": bad, "comment": ""}}); got.code != http.StatusForbidden {
				t.Errorf("bad link %q: %s", bad, got)
			}
		}
		ev.must(http.StatusOK, req{method: "POST", path: "/api/v1/alerts/ack-link", body: map[string]any{"token": tok, "comment": "from my phone"}}, &acked)
		if acked.ID != linkAlert || acked.State != store.AlertAcknowledged || acked.AckComment != "from my phone" {
			t.Fatalf("acknowledged by link: %+v", acked)
		}
		if o, _ := tdb.GetAlert(context.Background(), other); o.State != store.AlertFiring {
			t.Fatalf("the link acknowledged another alert: %+v", o)
		}

		var dl struct{ Items []store.Delivery }
		ev.must(http.StatusOK, req{method: "GET", path: "/api/v1/alerts/" + itoa(al) + "/deliveries", token: op}, &dl)
		if dl.Items == nil {
			t.Fatalf("deliveries: %+v", dl)
		}
	})
}
