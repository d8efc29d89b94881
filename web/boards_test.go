package web_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/store/storetest"
	"github.com/linepulse/linepulse/web"
)

// TestViewerDashboard: the dashboard a page shows is the one asked for when the viewer may
// see it, else the kiosk's bound one, else the first made for the viewer's role, else none;
// another tenant's, a more powerful role's or (for a bound kiosk) any other is not found.
func TestViewerDashboard(t *testing.T) {
	sqliteOnly(t, func(t *testing.T, e storetest.Engine) {
		ev := newEnv(t, e)
		admin := ev.token("acme", "tenant_admin")
		line := idOf(t, ev.must(http.StatusCreated, req{method: "POST", path: "/api/v1/lines", token: admin, body: bodies("b", refs{})["lines"]}, nil))
		other := idOf(t, ev.must(http.StatusCreated, req{method: "POST", path: "/api/v1/lines", token: admin, body: bodies("c", refs{})["lines"]}, nil))
		dash := func(token, name, role string, widgets ...any) int64 {
			return idOf(t, ev.must(http.StatusCreated, req{method: "POST", path: "/api/v1/dashboards", token: token, body: map[string]any{
				"name": name, "role_access": role, "layout_config": map[string]any{"widgets": widgets}}}, nil))
		}
		w := func(typ string, x, y int, params map[string]any) map[string]any {
			return map[string]any{"widget_type": typ, "x": x, "y": y, "w": 6, "h": 2, "params": params}
		}
		forViewer := dash(admin, "Floor", "viewer",
			w("stop_timeline", 6, 0, map[string]any{"line_id": line}), w("kpi_tile", 0, 0, map[string]any{"line_id": other, "metric": "oee"}))
		forSupervisor := dash(admin, "Shift lead", "supervisor", w("clock_banner", 0, 0, map[string]any{}))
		foreign := dash(ev.token("beta", "tenant_admin"), "Beta", "viewer", w("clock_banner", 0, 0, map[string]any{}))

		viewer := func(token string) web.Viewer {
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Authorization", "Bearer "+token)
			v, ok := ev.api.Viewer(r)
			if !ok {
				t.Fatal("viewer not recognised")
			}
			return v
		}
		ctx := context.Background()
		pick := func(v web.Viewer, id int64) (int64, error) {
			d, found, err := ev.api.ViewerDashboard(ctx, v, id)
			if !found {
				return 0, err
			}
			return d.ID, err
		}
		vw, sup, op := viewer(ev.token("acme", "viewer")), viewer(ev.token("acme", "supervisor")), viewer(ev.token("acme", "operator"))
		for _, c := range []struct {
			name string
			v    web.Viewer
			id   int64
			want int64
		}{
			{"viewer's role", vw, 0, forViewer},
			{"supervisor's role", sup, 0, forSupervisor},
			{"no template for operators", op, 0, 0},
			{"supervisor opens a viewer's", sup, forViewer, forViewer},
		} {
			if got, err := pick(c.v, c.id); got != c.want || err != nil {
				t.Errorf("%s: dashboard %d (%v), want %d", c.name, got, err, c.want)
			}
		}
		for _, c := range []struct {
			name string
			v    web.Viewer
			id   int64
		}{{"viewer opens a supervisor's", vw, forSupervisor}, {"another tenant's", sup, foreign}, {"unknown", vw, 1 << 40}} {
			if _, err := pick(c.v, c.id); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s: %v, want not found", c.name, err)
			}
		}

		// Widgets in reading order; one naming a line outside the viewer's lines is marked.
		d, _, err := ev.api.ViewerDashboard(ctx, vw, forViewer)
		if err != nil || len(d.Widgets) != 2 || d.Widgets[0].WidgetType != "kpi_tile" || d.Widgets[1].WidgetType != "stop_timeline" || d.Widgets[0].Problem != "" {
			t.Fatalf("dashboard: %+v %v", d, err)
		}
		limited := vw
		limited.Lines = []int64{line}
		if d, _, _ := ev.api.ViewerDashboard(ctx, limited, forViewer); d.Widgets[0].Problem != "line_forbidden" || d.Widgets[1].Problem != "" || d.Widgets[1].LineID != line {
			t.Errorf("limited viewer: %+v", d.Widgets)
		}

		// A kiosk bound to the supervisors' dashboard shows it, and only it.
		var k web.KioskCreated
		ev.must(http.StatusCreated, req{method: "POST", path: "/api/v1/kiosks", token: admin, body: map[string]any{"name": "tv", "lines": []int64{}, "dashboard_id": forSupervisor}}, &k)
		kv, ok := ev.api.KioskViewer(ctx, k.Token)
		if !ok || kv.DashboardID != forSupervisor {
			t.Fatalf("kiosk viewer: %+v %v", kv, ok)
		}
		if got, err := pick(kv, 0); got != forSupervisor || err != nil {
			t.Errorf("bound kiosk: %d %v", got, err)
		}
		if _, err := pick(kv, forViewer); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("bound kiosk opens another dashboard: %v", err)
		}
		var unbound web.KioskCreated
		ev.must(http.StatusCreated, req{method: "POST", path: "/api/v1/kiosks", token: admin, body: map[string]any{"name": "tv2", "lines": []int64{}}}, &unbound)
		uv, _ := ev.api.KioskViewer(ctx, unbound.Token)
		if got, err := pick(uv, 0); got != 0 || err != nil {
			t.Errorf("unbound kiosk: %d %v, want the default", got, err)
		}
	})
}
