package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/linepulse/linepulse/audit"
	"github.com/linepulse/linepulse/identity"
	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/store/storetest"
	"github.com/linepulse/linepulse/stream"
	"github.com/linepulse/linepulse/web"
)

func TestDataEndpoints(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		ev := newEnv(t, e)
		ctx := context.Background()
		admin := ev.token("acme", "tenant_admin")
		f := ev.plant(ev.acme, admin, "acme")
		base := ev.clock.Now().Add(-3 * time.Hour).Truncate(time.Hour)
		var batch []store.Detection
		for i := 0; i < 90; i++ {
			batch = append(batch, store.Detection{ID: uint64(i + 1), At: base.Add(time.Duration(i) * time.Minute), Area: f.ids["areas"], Product: f.ids["products"], OK: i%10 != 0})
		}
		ev.write(ev.acme.ID, f.line, batch)
		viewer := ev.token("acme", "viewer")
		lp := "/api/v1/lines/" + itoa(f.line)
		q := url.Values{"from": {base.Format(time.RFC3339)}, "to": {base.Add(2 * time.Hour).Format(time.RFC3339)}, "interval": {"hour"}}
		var prod web.ProductionResponse
		ev.must(http.StatusOK, req{method: "GET", path: lp + "/production?" + q.Encode(), token: viewer}, &prod)
		if len(prod.Items) != 2 || prod.Items[0].Total != 60 || prod.Items[1].Total != 30 || prod.Items[0].Reject != 6 {
			t.Fatalf("production %+v", prod.Items)
		}
		var rep stream.OEEReport
		ev.must(http.StatusOK, req{method: "GET", path: lp + "/oee?from=" + url.QueryEscape(base.Format(time.RFC3339)) + "&to=" + url.QueryEscape(base.Add(2*time.Hour).Format(time.RFC3339)), token: viewer}, &rep)
		if rep.Total != 90 || rep.Good != 81 {
			t.Fatalf("oee %+v", rep)
		}
		if got := ev.do(req{method: "GET", path: lp + "/oee?shift=previous&from=" + url.QueryEscape(base.Format(time.RFC3339)), token: viewer}); got.code != http.StatusBadRequest {
			t.Fatalf("shift with from: %d", got.code)
		}
		if got := ev.do(req{method: "GET", path: lp + "/oee?shift=current", token: viewer}); got.code != http.StatusOK && got.code != http.StatusNotFound {
			t.Fatalf("shift=current: %d %s", got.code, got.body)
		}
		var downs web.Page[store.DowntimeEvent]
		ev.must(http.StatusOK, req{method: "GET", path: lp + "/downtime", token: viewer}, &downs)
		if len(downs.Items) != 1 || downs.Items[0].ID != f.event || downs.Items[0].ReasonCode != "" {
			t.Fatalf("downtime %+v", downs.Items)
		}
		// Reason coding: viewers may not, operators may; unknown codes are refused.
		reason := lp + "/downtime/" + itoa(f.event) + "/reason"
		ev.must(http.StatusForbidden, req{method: "PUT", path: reason, token: viewer, body: map[string]any{"reason_code": f.failureCode}}, nil)
		op := ev.login("acme", "operator@acme.test")
		got := ev.do(req{method: "PUT", path: reason, token: op.AccessToken, body: map[string]any{"reason_code": "NOPE"}})
		if got.code != http.StatusBadRequest || !slices.Contains(errFields(got), "reason_code") {
			t.Fatalf("unknown reason: %d %s", got.code, got.body)
		}
		var ev2 store.DowntimeEvent
		ev.must(http.StatusOK, req{method: "PUT", path: reason, token: op.AccessToken, body: map[string]any{"reason_code": f.failureCode, "comment": "belt"}}, &ev2)
		if ev2.ReasonCode != f.failureCode || ev2.CodedBy != op.User.UserID {
			t.Fatalf("coded %+v", ev2)
		}
		ev.must(http.StatusNotFound, req{method: "PUT", path: lp + "/downtime/999/reason", token: op.AccessToken, body: map[string]any{"reason_code": f.failureCode}}, nil)
		if !contains(ev.auditActions(ev.acme.ID), "downtime.reason") {
			t.Fatal("reason edit not audited")
		}
		// Each data query is in USER_QUERY with its filters.
		qs, err := ev.st.ListQueries(ctx, ev.acme.ID, store.Page{})
		if err != nil || len(qs) < 4 {
			t.Fatalf("user queries %d %v", len(qs), err)
		}
		if qs[0].Line != f.line || qs[0].IntervalType != "hour" || qs[0].StartDate == nil || !strings.Contains(qs[0].SQLQuery, "/production") {
			t.Fatalf("query row %+v", qs[0])
		}
		// Incidents link to downtime events of their own line only.
		inc := bodies("x", f.refs())["incidents"]
		inc["downtime_event_id"] = 999
		got = ev.do(req{method: "POST", path: "/api/v1/incidents", token: op.AccessToken, body: inc})
		if got.code != http.StatusBadRequest || !slices.Contains(errFields(got), "downtime_event_id") {
			t.Fatalf("incident with unknown event: %d %s", got.code, got.body)
		}
		inc["downtime_event_id"] = f.event
		var incident store.Incident
		ev.must(http.StatusCreated, req{method: "POST", path: "/api/v1/incidents", token: op.AccessToken, body: inc}, &incident)
		if incident.ReportedBy != op.User.UserID || incident.DowntimeEventID != f.event {
			t.Fatalf("incident %+v", incident)
		}
		ev.must(http.StatusForbidden, req{method: "DELETE", path: "/api/v1/incidents/" + itoa(incident.ID), token: op.AccessToken}, nil)
		ev.must(http.StatusNoContent, req{method: "DELETE", path: "/api/v1/incidents/" + itoa(incident.ID), token: ev.token("acme", "supervisor")}, nil)
	})
}

func TestShiftsAreCheckedAgainstTheCalendar(t *testing.T) {
	sqliteOnly(t, func(t *testing.T, e storetest.Engine) {
		ev := newEnv(t, e)
		admin := ev.token("acme", "tenant_admin")
		f := ev.plant(ev.acme, admin, "acme") // a 06:00-14:00 shift on the line
		overlap := bodies("late", f.refs())["shifts"]
		overlap["start_time"], overlap["end_time"], overlap["breaks"] = "13:00", "21:00", []any{}
		got := ev.do(req{method: "POST", path: "/api/v1/shifts", token: admin, body: overlap})
		if got.code != http.StatusBadRequest {
			t.Fatalf("overlapping shift: %d %s", got.code, got.body)
		}
		overlap["start_time"] = "14:00"
		ev.must(http.StatusCreated, req{method: "POST", path: "/api/v1/shifts", token: admin, body: overlap}, nil)
		bad := bodies("bad", f.refs())["shifts"]
		bad["line_id"], bad["breaks"] = 0, []any{map[string]string{"start": "23:00", "end": "23:30"}}
		if got := ev.do(req{method: "POST", path: "/api/v1/shifts", token: admin, body: bad}); got.code != http.StatusBadRequest {
			t.Fatalf("break outside its shift: %d %s", got.code, got.body)
		}
		// Replacing a shift is checked without its old self.
		var s store.Shift
		ev.must(http.StatusOK, req{method: "GET", path: "/api/v1/shifts/" + itoa(f.ids["shifts"]), token: admin}, &s)
		s.EndTime = "13:30"
		ev.must(http.StatusOK, req{method: "PUT", path: "/api/v1/shifts/" + itoa(s.ID), token: admin, body: s}, nil)
	})
}

func TestDeviceCredentials(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		ev := newEnv(t, e, func(c *web.APIConfig) { c.NATSURL = "nats://plant.example:4222" })
		ctx := context.Background()
		admin := ev.token("acme", "tenant_admin")
		var line store.Line
		ev.must(http.StatusCreated, req{method: "POST", path: "/api/v1/lines", token: admin, body: bodies("l", refs{})["lines"]}, &line)
		var dc web.DeviceCreated
		ev.must(http.StatusCreated, req{method: "POST", path: "/api/v1/devices", token: admin, body: map[string]any{"name": "cam-node-1", "lines": []int64{line.ID}}}, &dc)
		cr := dc.Credentials
		if cr.User != "acme.cam-node-1" || cr.Password == "" || cr.URL != "nats://plant.example:4222" || !strings.Contains(cr.NatsCLI, cr.User) {
			t.Fatalf("credentials %+v", cr)
		}
		// The secret is shown once: never again, never stored in clear.
		got := ev.do(req{method: "GET", path: "/api/v1/devices/" + itoa(dc.Device.ID), token: admin})
		if strings.Contains(string(got.body), cr.Password) {
			t.Fatal("secret shown again")
		}
		// The NATS authenticator accepts it.
		da := identity.NewDeviceAuth(ev.st, identity.DeviceAuthConfig{})
		d, err := da.AuthenticateDevice(ctx, cr.User, cr.Password)
		if err != nil || d.Tenant != "acme" || len(d.Lines) != 1 || d.Lines[0] != line.ID {
			t.Fatalf("device auth %+v %v", d, err)
		}
		// Supervisors may list, not issue.
		sup := ev.token("acme", "supervisor")
		ev.must(http.StatusOK, req{method: "GET", path: "/api/v1/devices", token: sup}, nil)
		ev.must(http.StatusForbidden, req{method: "POST", path: "/api/v1/devices", token: sup, body: map[string]any{"name": "x"}}, nil)
		ev.must(http.StatusConflict, req{method: "POST", path: "/api/v1/devices", token: admin, body: map[string]any{"name": "cam-node-1"}}, nil)
		// Revocation: refused from then on, live connections closed.
		ev.must(http.StatusNoContent, req{method: "DELETE", path: "/api/v1/devices/" + itoa(dc.Device.ID), token: admin}, nil)
		if _, err := da.AuthenticateDevice(ctx, cr.User, cr.Password); err == nil {
			t.Fatal("revoked device authenticated")
		}
		if len(ev.disconnected) != 1 || ev.disconnected[0] != "acme.cam-node-1" {
			t.Fatalf("disconnect %v", ev.disconnected)
		}
		acts := ev.auditActions(ev.acme.ID)
		if !contains(acts, "device.create") || !contains(acts, "device.delete") {
			t.Fatalf("audit %v", acts)
		}
		for _, e := range must(ev.st.AuditEntries(ctx, ev.acme.ID, 0, 100)) {
			if strings.Contains(string(e.Details), cr.Password) {
				t.Fatal("device secret in the audit log")
			}
		}
	})
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestOpenAPIMatchesRoutes(t *testing.T) {
	sqliteOnly(t, func(t *testing.T, e storetest.Engine) {
		ev := newEnv(t, e)
		got := ev.must(http.StatusOK, req{method: "GET", path: "/api/v1/openapi.json"}, nil)
		var doc struct {
			OpenAPI    string                                `json:"openapi"`
			Paths      map[string]map[string]json.RawMessage `json:"paths"`
			Components struct {
				Schemas map[string]json.RawMessage `json:"schemas"`
			} `json:"components"`
		}
		got.json(t, &doc)
		if doc.OpenAPI != "3.1.0" {
			t.Fatalf("openapi %q", doc.OpenAPI)
		}
		inDoc := map[string]bool{}
		for p, ops := range doc.Paths {
			for m := range ops {
				inDoc[strings.ToUpper(m)+" "+p] = true
			}
		}
		routes := ev.api.Routes()
		for _, r := range routes {
			key := r.Method + " " + r.Path
			if !inDoc[key] {
				t.Errorf("route %s missing from the document", key)
			}
			delete(inDoc, key)
			// The mux serves it: a request never falls through to "no such endpoint".
			path := strings.NewReplacer("{id}", "1", "{event}", "1", "{tenant}", "1", "{key}", "k").Replace(r.Path)
			if got := ev.do(req{method: r.Method, path: path}); got.errCode() == web.CodeRouteNotFound || got.errCode() == web.CodeMethodNotAllowed {
				t.Errorf("route %s is not served: %d %s", key, got.code, got.body)
			}
		}
		for key := range inDoc {
			t.Errorf("the document describes %s, which is not a route", key)
		}
		// Every schema reference resolves.
		for _, ref := range refsIn(got.body) {
			name := strings.TrimPrefix(ref, "#/components/schemas/")
			if _, ok := doc.Components.Schemas[name]; !ok {
				t.Errorf("dangling $ref %s", ref)
			}
		}
		if len(routes) < 80 {
			t.Errorf("only %d routes", len(routes))
		}
		t.Logf("%d routes, all in the document and served", len(routes))
	})
}

func refsIn(doc []byte) []string {
	var out []string
	s := string(doc)
	for {
		i := strings.Index(s, `"$ref": "`)
		if i < 0 {
			return out
		}
		s = s[i+9:]
		out = append(out, s[:strings.IndexByte(s, '"')])
	}
}

func TestAuditEndpointsAndChain(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		ev := newEnv(t, e)
		admin := ev.token("acme", "tenant_admin")
		ev.plant(ev.acme, admin, "acme")
		var page web.Page[store.AuditEntry]
		ev.must(http.StatusOK, req{method: "GET", path: "/api/v1/audit?limit=5", token: admin}, &page)
		if len(page.Items) != 5 || page.NextAfter == nil || page.Items[0].Seq != 1 || page.Items[0].Action != "login.success" {
			t.Fatalf("audit page %+v", page)
		}
		ev.must(http.StatusOK, req{method: "GET", path: "/api/v1/audit?after=" + itoa(*page.NextAfter), token: admin}, &page)
		if page.Items[0].Seq != 6 {
			t.Fatalf("second page starts at %d", page.Items[0].Seq)
		}
		var rep web.AuditReport
		ev.must(http.StatusOK, req{method: "GET", path: "/api/v1/audit/verify", token: admin}, &rep)
		if !rep.OK || rep.Entries < 15 || rep.AnchorSeq != rep.LastSeq {
			t.Fatalf("verify %+v", rep)
		}
		var logins web.Page[store.UserLogin]
		ev.must(http.StatusOK, req{method: "GET", path: "/api/v1/logins", token: admin}, &logins)
		if len(logins.Items) != 1 {
			t.Fatalf("logins %+v", logins.Items)
		}
		ev.must(http.StatusForbidden, req{method: "GET", path: "/api/v1/audit", token: ev.token("acme", "supervisor")}, nil)
		// Platform actions and config changes go to the platform chain.
		root := ev.token("", "")
		ev.must(http.StatusOK, req{method: "PUT", path: "/api/v1/config/ui.theme", token: root, body: map[string]any{"value": "dark"}}, nil)
		ev.must(http.StatusNoContent, req{method: "DELETE", path: "/api/v1/config/ui.theme", token: root}, nil)
		var ten store.Tenant
		ev.must(http.StatusCreated, req{method: "POST", path: "/api/v1/tenants", token: root, body: bodies("gamma", refs{})["tenants"]}, &ten)
		ten.Name, ten.Slug = "Gamma", "other"
		ev.must(http.StatusBadRequest, req{method: "PUT", path: "/api/v1/tenants/" + itoa(ten.ID), token: root, body: ten}, nil)
		acts := ev.auditActions(0)
		for _, want := range []string{"login.success", "system_config.set", "system_config.delete", "tenant.create"} {
			if !contains(acts, want) {
				t.Errorf("platform audit lacks %s: %v", want, acts)
			}
		}
		for _, tid := range []int64{0, ev.acme.ID} {
			if rep, err := audit.Verify(context.Background(), ev.st, tid, 3); err != nil || !rep.OK {
				t.Errorf("chain %d: %+v %v", tid, rep, err)
			}
		}
	})
}
