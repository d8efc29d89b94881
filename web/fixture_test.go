package web_test

import (
	"context"
	"encoding/base64"
	"log/slog"
	"net/http"
	"time"

	"github.com/linepulse/linepulse/store"
)

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// fixture holds one of every object of a tenant, created through the API.
type fixture struct {
	ids         map[string]int64 // by Route.Resource
	line        int64
	event       int64 // a downtime event of line
	failureCode string
	kiosk       string // kiosk token value
}

// refs are the ids a request body may reference.
type refs struct {
	line, area, camera, failure, dashboard, event, channel, product, shift, mailChannel int64
	failureCode                                                                         string
}

func (f fixture) refs() refs {
	return refs{line: f.line, area: f.ids["areas"], camera: f.ids["cameras"], failure: f.ids["failures"],
		dashboard: f.ids["dashboards"], event: f.event, channel: f.ids["notification-channels"], product: f.ids["products"],
		mailChannel: f.ids["mail-channel"], failureCode: f.failureCode, shift: f.ids["shifts"]}
}

// bodies returns a complete, valid body per resource (create and replace), named with
// name and referencing r.
func bodies(name string, r refs) map[string]map[string]any {
	at := "2025-03-01T10:00:00Z"
	return map[string]map[string]any{
		"lines": {"name": name + " line", "description": "d", "availability": 0.9, "performance": 0.95, "quality": 0.99,
			"downtime_threshold_ms": 30000, "ideal_cycle_time_ms": 1000, "micro_stop_min_ms": 5000, "active": true},
		"areas":    {"line_id": r.line, "name": name + " area", "coord_x1": 0, "coord_y1": 0, "coord_x2": 10, "coord_y2": 10},
		"products": {"name": name + " product", "sku": "SKU1", "product_weight": 1.5, "product_color": "#ff0000", "ideal_cycle_ms": 2500},
		"shifts": {"line_id": r.line, "name": name + " shift", "start_time": "06:00", "end_time": "14:00", "is_overnight": false,
			"days_implemented": []int{1, 2, 3, 4, 5}, "breaks": []any{map[string]string{"start": "10:00", "end": "10:15"}}, "active": true},
		"filters":  {"name": name + " filter", "filter_type": "select", "field": "line_id", "default_value": nil, "additional_filter": map[string]any{}, "position": 1},
		"failures": {"code": "F-" + name, "name": name + " failure", "type_failure": map[string]any{"kind": "mechanical"}, "description": "x"},
		"incidents": {"line_id": r.line, "downtime_event_id": r.event, "failure_id": r.failure, "title": name + " incident",
			"description": "jam", "solution": "", "has_solution": false, "occurred_at": at, "resolved_at": nil},
		"cameras":       {"name": name + "-cam", "node": "node1", "model": "m"},
		"camera-areas":  {"camera_id": r.camera, "area_id": r.area, "status": "active"},
		"camera-events": {"camera_id": r.camera, "action": "restart", "reason": name + " test", "gpu_usage": 0.5, "occurred_at": at},
		"devices":       {"name": name + "-dev", "lines": []int64{r.line}},
		"kiosks":        {"name": name + " tv", "lines": []int64{r.line}, "dashboard_id": r.dashboard},
		"floorplan": {"content_type": "image/svg+xml", "data": base64.StdEncoding.EncodeToString([]byte(
			`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 60"><title>` + name + ` plan</title><rect width="10" height="10"/></svg>`))},
		"dashboards": {"name": name + " dash", "role_access": "viewer", "layout_config": map[string]any{"widgets": []any{
			map[string]any{"widget_type": "kpi_tile", "x": 0, "y": 0, "w": 3, "h": 2, "params": map[string]any{"line_id": r.line, "metric": "oee"}}}}},
		"users": {"email": name + "-u@example.test", "name": name, "role": "operator", "password": "a long password",
			"permissions": map[string]any{"lines": []int64{r.line}}, "active": true},
		"tenant-users": {"email": name + "-admin@example.test", "name": name, "role": "tenant_admin", "password": "a long password",
			"permissions": map[string]any{}, "active": true},
		"tenants":     {"slug": name + "-co", "name": name + " Co", "config_tenant": map[string]any{"timezone": "UTC", "retention_days": 90}, "active": true},
		"config":      {"value": map[string]any{"name": name}},
		"tenant":      {"name": name + " plant", "timezone": "Europe/Madrid", "retention_days": 400, "language": "es"},
		"me-language": {"language": "es"},
		"reason":      {"reason_code": r.failureCode, "comment": name},
		"runs":        {"product_id": r.product},
		"targets":     {"line_id": r.line, "shift_id": r.shift, "quantity": 100},
		"notification-channels": {"name": name + " hook", "kind": "webhook",
			"config": map[string]any{"url": "https://example.test/" + name, "secret": "s-" + name, "format": "generic"}},
		"alert-rules": {"name": name + " rule", "kind": "line_down", "severity": "critical", "lines": []int64{r.line}, "after": "30s",
			"channels": []int64{r.channel}, "active": true},
		"alerts":  {"comment": name + " ack"},
		"queries": {"name": name + " view"},
		"mail-channel": {"name": name + " mail", "kind": "email",
			"config": map[string]any{"host": "smtp.example.test", "port": 587, "from": "lp@example.test", "to": []string{"a@example.test"}}},
		"report-schedules": {"name": name + " reports", "kind": "shift_end", "channel_id": r.mailChannel, "recipients": []string{"boss@example.test"},
			"lines": []int64{r.line}, "hour": 6, "language": "es", "active": true},
	}
}

// createOrder lists resources in dependency order.
var createOrder = []string{"lines", "areas", "products", "failures", "shifts", "filters", "cameras", "camera-areas",
	"camera-events", "dashboards", "devices", "kiosks", "users", "notification-channels", "alert-rules", "report-schedules"}

// plant creates one of every tenant object through the API as the tenant's admin.
func (ev *env) plant(ten store.Tenant, admin, name string) fixture {
	ev.t.Helper()
	ctx := context.Background()
	f := fixture{ids: map[string]int64{}, failureCode: "F-" + name}
	for _, res := range createOrder {
		r := f.refs()
		b := bodies(name, r)[res]
		if res == "incidents" {
			continue
		}
		got := ev.must(http.StatusCreated, req{method: "POST", path: "/api/v1/" + res, token: admin, body: b}, nil)
		f.ids[res] = idOf(ev.t, got)
		switch res {
		case "lines":
			f.line = f.ids["lines"]
			tdb, err := ev.st.Tenant(ctx, ten.ID)
			if err != nil {
				ev.t.Fatal(err)
			}
			start := ev.clock.Now().Add(-2 * time.Hour).Truncate(time.Second)
			end := start.Add(10 * time.Minute)
			de := store.DowntimeEvent{Start: start, End: &end, DurationMS: 600000}
			if err := tdb.UpsertDowntime(ctx, f.line, &de); err != nil {
				ev.t.Fatal(err)
			}
			f.event = de.ID
		case "notification-channels": // and an e-mail one, for the report schedules
			got := ev.must(http.StatusCreated, req{method: "POST", path: "/api/v1/notification-channels", token: admin, body: bodies(name, r)["mail-channel"]}, nil)
			f.ids["mail-channel"] = idOf(ev.t, got)
		case "kiosks":
			var kc struct {
				Token string `json:"token"`
			}
			got.json(ev.t, &kc)
			f.kiosk = kc.Token
		}
	}
	got := ev.must(http.StatusCreated, req{method: "POST", path: "/api/v1/incidents", token: admin, body: bodies(name, f.refs())["incidents"]}, nil)
	f.ids["incidents"] = idOf(ev.t, got)
	f.ids["widgets"] = 1
	ev.must(http.StatusOK, req{method: "PUT", path: "/api/v1/floorplan", token: admin, body: bodies(name, f.refs())["floorplan"]}, nil)
	f.ids["alerts"] = ev.alert(ten, f, name)
	return f
}

// alert records a firing alert of the fixture's rule (alerts are raised by the evaluator,
// not the API).
func (ev *env) alert(ten store.Tenant, f fixture, name string) int64 {
	ev.t.Helper()
	tdb, err := ev.st.Tenant(context.Background(), ten.ID)
	if err != nil {
		ev.t.Fatal(err)
	}
	al := store.Alert{RuleID: f.ids["alert-rules"], LineID: f.line, Occurrence: name, Kind: store.RuleLineDown, Severity: "critical",
		Subject: name, StartedAt: ev.clock.Now()}
	if _, err := tdb.OpenAlert(context.Background(), &al, []int64{f.ids["notification-channels"]}); err != nil {
		ev.t.Fatal(err)
	}
	return al.ID
}
