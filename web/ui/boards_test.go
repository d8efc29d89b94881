package ui

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/web"
)

// fakeBoards is fakeViewers that also picks dashboards: board 7 for everyone, and it is
// the one that applies to supervisors and to kiosk k7.
type fakeBoards struct{ fakeViewers }

func (fakeBoards) ViewerDashboard(_ context.Context, v web.Viewer, id int64) (web.DashboardView, bool, error) {
	if id == 0 && (v.Role == "supervisor" || v.DashboardID == 7) {
		id = 7
	}
	switch id {
	case 0:
		return web.DashboardView{}, false, nil
	case 7:
		w := func(typ string, x int, params string, problem string) web.PlacedWidget {
			return web.PlacedWidget{LayoutWidget: web.LayoutWidget{WidgetType: typ, X: x, W: 6, H: 2, Params: json.RawMessage(params)}, LineID: 1, Problem: problem}
		}
		return web.DashboardView{ID: 7, Name: "Hall <7>", Columns: 12, Widgets: []web.PlacedWidget{
			w("kpi_tile", 0, `{"line_id":1,"metric":"oee","title":"Filler \"A\""}`, ""), w("stop_timeline", 6, `{"line_id":1}`, "line_forbidden")}}, true, nil
	}
	return web.DashboardView{}, false, store.ErrNotFound
}

// TestDashboardPages: /dashboards/{id}, the dashboard of a role and the TV of a bound kiosk
// render the template's widgets, each with data-widget, and nothing else; others get the
// default tiles, an unknown id a 404.
func TestDashboardPages(t *testing.T) {
	builtUI(t)
	fv := fakeBoards{fakeViewers{
		users: map[string]web.Viewer{
			"sup": {UserID: 1, TenantID: 1, Role: "supervisor", Actions: []string{web.ActLive, web.ActDashboardsRead}},
			"op":  {UserID: 2, TenantID: 1, Role: "operator", Actions: []string{web.ActLive, web.ActDashboardsRead}},
			"adm": {UserID: 3, TenantID: 1, Role: "tenant_admin", Actions: []string{web.ActLive, web.ActDashboardsRead, web.ActDashboardsWrite}},
		},
		kiosks: map[string]web.Viewer{"k7": {TenantID: 1, Kiosk: true, Role: "viewer", DashboardID: 7}, "k0": {TenantID: 1, Kiosk: true, Role: "viewer"}},
	}}
	u, err := New(Config{Logger: slog.New(slog.DiscardHandler), Viewers: fv})
	if err != nil {
		t.Fatal(err)
	}
	h := u.Handler()
	widgets := regexp.MustCompile(`data-widget="([a-z_]+)"`)
	for _, c := range []struct {
		target, cookie string
		status         int
		want           string // data-widget types, comma-separated
	}{
		{"/dashboards/7", "op", 200, "kpi_tile,stop_timeline"},
		{"/dashboards/7", "adm", 200, "kpi_tile,stop_timeline"},
		{"/", "sup", 200, "kpi_tile,stop_timeline"},
		{"/", "op", 200, ""},
		{"/tv?kiosk=k7", "", 200, "kpi_tile,stop_timeline"},
		{"/tv?kiosk=k0", "", 200, ""},
		{"/dashboards/8", "op", 404, ""},
		{"/dashboards/x", "op", 404, ""},
		{"/dashboards", "op", 200, ""},
		{"/dashboards/7/edit", "op", 403, ""},
		{"/dashboards/7/edit", "adm", 200, ""},
	} {
		r := httptest.NewRequest("GET", c.target, nil)
		if c.cookie != "" {
			r.AddCookie(&http.Cookie{Name: web.AccessCookie, Value: c.cookie})
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		var got []string
		for _, m := range widgets.FindAllStringSubmatch(w.Body.String(), -1) {
			got = append(got, m[1])
		}
		if w.Code != c.status || strings.Join(got, ",") != c.want {
			t.Errorf("GET %s as %q: %d with widgets %q, want %d with %q", c.target, c.cookie, w.Code, got, c.status, c.want)
		}
		if c.want != "" {
			body := w.Body.String()
			for _, s := range []string{`data-params="{&#34;line_id&#34;:1,&#34;metric&#34;:&#34;oee&#34;,&#34;title&#34;:&#34;Filler \&#34;A\&#34;&#34;}"`, "This widget shows a line you may not see."} {
				if !strings.Contains(body, s) {
					t.Errorf("GET %s: no %s in the page", c.target, s)
				}
			}
			if strings.Contains(body, `href="/dashboards/7/edit"`) != (c.cookie == "adm") {
				t.Errorf("GET %s as %q: the edit link is shown only to who may edit", c.target, c.cookie)
			}
			if !strings.HasPrefix(c.target, "/tv") && !strings.Contains(body, "Hall &lt;7&gt;") {
				t.Errorf("GET %s: no escaped dashboard name", c.target)
			}
		}
	}
}
