package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/linepulse/linepulse/identity"
	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/store/storetest"
	"github.com/linepulse/linepulse/web"
)

// TestRolesOnEveryRoute checks every route against the role table: a role without the
// route's action gets 403, a role with it never does.
func TestRolesOnEveryRoute(t *testing.T) {
	sqliteOnly(t, func(t *testing.T, e storetest.Engine) {
		ev := newEnv(t, e)
		admin := ev.token("acme", "tenant_admin")
		f := ev.plant(ev.acme, admin, "acme")
		tokens := map[string]string{store.RolePlatformAdmin: ev.token("", "")}
		for _, role := range []string{store.RoleTenantAdmin, store.RoleSupervisor, store.RoleOperator, store.RoleViewer} {
			tokens[role] = ev.token("acme", role)
		}
		ids := map[string]int64{}
		for k, v := range f.ids {
			ids[k] = v
		}
		ids["tenants"], ids["tenant-users"] = ev.acme.ID, f.ids["users"]
		ids["queries"] = 1 // a recorded data query
		extra := map[string]string{"event": itoa(f.event), "tenant": itoa(ev.acme.ID), "key": "rbac.key", "instance": "2026-12-01.1", "target": itoa(f.line) + "." + itoa(f.ids["shifts"])}
		for _, r := range ev.api.Routes() {
			if r.Scope == web.ScopePublic || r.Method != "GET" && r.Method != "POST" {
				continue // writes that succeed would change the fixture; GET and POST suffice
			}
			if r.Path == "/api/v1/auth/logout" {
				continue
			}
			for role, tok := range tokens {
				p := identity.Principal{Role: role, TenantID: ev.acme.ID}
				if role == store.RolePlatformAdmin {
					p.TenantID = 0
				}
				allowed := web.Can(p, r.Action) && !(r.Scope == web.ScopeTenant && p.TenantID == 0) && !(r.Scope == web.ScopePlatform && p.TenantID != 0)
				var body any
				if r.Body != nil {
					b, _ := bodyFor(r, bodies("rbac"+role, f.refs()))
					body = b
				}
				path := fillPath(r, ids, extra)
				if r.Path == "/api/v1/lines/{id}/oee" {
					path += "?shift=current"
				}
				got := ev.do(req{method: r.Method, path: path, token: tok, body: body})
				if allowed == (got.code == http.StatusForbidden) {
					t.Errorf("%s %s as %s: allowed=%v but got %d %s", r.Method, r.Path, role, allowed, got.code, got.body)
				}
			}
		}
	})
}

func TestRoleTable(t *testing.T) {
	for _, c := range []struct {
		role, action string
		want         bool
	}{
		{store.RolePlatformAdmin, web.ActTenants, true},
		{store.RolePlatformAdmin, web.ActPlantRead, false},
		{store.RoleTenantAdmin, web.ActTenants, false},
		{store.RoleTenantAdmin, web.ActUsers, true},
		{store.RoleTenantAdmin, web.ActDevices, true},
		{store.RoleSupervisor, web.ActUsers, false},
		{store.RoleSupervisor, web.ActDowntimeCode, true},
		{store.RoleSupervisor, web.ActIncidentsWrite, true},
		{store.RoleSupervisor, web.ActPlantWrite, false},
		{store.RoleOperator, web.ActDowntimeCode, true},
		{store.RoleOperator, web.ActIncidentsCreate, true},
		{store.RoleOperator, web.ActIncidentsWrite, false},
		{store.RoleOperator, web.ActConfigRead, false},
		{store.RoleViewer, web.ActDataRead, true},
		{store.RoleViewer, web.ActIncidentsCreate, false},
		{store.RoleViewer, web.ActDowntimeCode, false},
		{"nonsense", web.ActSelf, false},
	} {
		if got := web.Can(identity.Principal{Role: c.role}, c.action); got != c.want {
			t.Errorf("%s %s: %v", c.role, c.action, got)
		}
	}
	kiosk := identity.Principal{Role: store.RoleTenantAdmin, Kiosk: true}
	if web.Can(kiosk, web.ActPlantWrite) || !web.Can(kiosk, web.ActLive) {
		t.Error("a kiosk is read-only whatever its role field says")
	}
	denied := identity.Principal{Role: store.RoleSupervisor, Deny: []string{web.ActDowntimeCode, web.ActSelf}}
	if web.Can(denied, web.ActDowntimeCode) || !web.Can(denied, web.ActSelf) {
		t.Error("deny list")
	}
}

// twoPlants sets up tenant acme with two lines of objects, as its admin.
func twoPlants(t *testing.T, e storetest.Engine) (ev *env, admin string, f1, f2 fixture) {
	ev = newEnv(t, e)
	admin = ev.token("acme", "tenant_admin")
	return ev, admin, ev.plant(ev.acme, admin, "one"), ev.plant(ev.acme, admin, "two")
}

func TestPermissionsLimitLinesAndActions(t *testing.T) {
	sqliteOnly(t, func(t *testing.T, e storetest.Engine) {
		ev, admin, f1, f2 := twoPlants(t, e)
		// A supervisor limited to line 1 who may not code downtime.
		ev.must(http.StatusCreated, req{method: "POST", path: "/api/v1/users", token: admin, body: map[string]any{
			"email": "limited@acme.test", "role": "supervisor", "password": password,
			"permissions": map[string]any{"lines": []int64{f1.line}, "deny": []string{web.ActDowntimeCode}}}}, nil)
		tok := ev.login("acme", "limited@acme.test").AccessToken
		var lines web.Page[store.Line]
		ev.must(http.StatusOK, req{method: "GET", path: "/api/v1/lines", token: tok}, &lines)
		if len(lines.Items) != 1 || lines.Items[0].ID != f1.line {
			t.Fatalf("lines: %+v", lines.Items)
		}
		ev.must(http.StatusNotFound, req{method: "GET", path: "/api/v1/lines/" + itoa(f2.line), token: tok}, nil)
		ev.must(http.StatusNotFound, req{method: "GET", path: "/api/v1/lines/" + itoa(f2.line) + "/production", token: tok}, nil)
		ev.must(http.StatusNotFound, req{method: "GET", path: "/api/v1/areas/" + itoa(f2.ids["areas"]), token: tok}, nil)
		ev.must(http.StatusNotFound, req{method: "GET", path: "/api/v1/areas?line_id=" + itoa(f2.line), token: tok}, nil)
		var areas web.Page[store.Area]
		ev.must(http.StatusOK, req{method: "GET", path: "/api/v1/areas", token: tok}, &areas)
		if len(areas.Items) != 1 || areas.Items[0].LineID != f1.line {
			t.Fatalf("areas: %+v", areas.Items)
		}
		var incidents web.Page[store.Incident]
		ev.must(http.StatusOK, req{method: "GET", path: "/api/v1/incidents", token: tok}, &incidents)
		if len(incidents.Items) != 1 {
			t.Fatalf("incidents: %+v", incidents.Items)
		}
		var cas web.Page[store.CameraArea]
		ev.must(http.StatusOK, req{method: "GET", path: "/api/v1/camera-areas", token: tok}, &cas)
		if len(cas.Items) != 1 {
			t.Fatalf("camera-areas: %+v", cas.Items)
		}
		got := ev.do(req{method: "POST", path: "/api/v1/incidents", token: tok, body: bodies("x", f2.refs())["incidents"]})
		if got.code != http.StatusForbidden {
			t.Fatalf("incident on a line outside the permissions: %d %s", got.code, got.body)
		}
		ev.must(http.StatusCreated, req{method: "POST", path: "/api/v1/incidents", token: tok, body: bodies("x", f1.refs())["incidents"]}, nil)
		got = ev.do(req{method: "PUT", path: "/api/v1/lines/" + itoa(f1.line) + "/downtime/" + itoa(f1.event) + "/reason", token: tok, body: map[string]any{"reason_code": f1.failureCode}})
		if got.code != http.StatusForbidden {
			t.Fatalf("denied action: %d %s", got.code, got.body)
		}
		var me web.Me
		ev.must(http.StatusOK, req{method: "GET", path: "/api/v1/me", token: tok}, &me)
		if slices.Contains(me.Actions, web.ActDowntimeCode) || !slices.Contains(me.Actions, web.ActIncidentsWrite) || len(me.Lines) != 1 {
			t.Fatalf("me: %+v", me)
		}
		// Unknown actions in deny, and lines of nowhere, are refused.
		got = ev.do(req{method: "POST", path: "/api/v1/users", token: admin, body: map[string]any{
			"email": "bad@acme.test", "role": "viewer", "password": password, "permissions": map[string]any{"deny": []string{"everything"}, "lines": []int64{999}}}})
		if got.code != http.StatusBadRequest {
			t.Fatalf("bad permissions: %d %s", got.code, got.body)
		}
	})
}

func TestUserManagement(t *testing.T) {
	sqliteOnly(t, func(t *testing.T, e storetest.Engine) {
		ev := newEnv(t, e)
		adminTR := ev.login("acme", "tenant_admin@acme.test")
		admin := adminTR.AccessToken
		root := ev.token("", "")
		var u store.User
		ev.must(http.StatusCreated, req{method: "POST", path: "/api/v1/users", token: admin, body: map[string]any{
			"email": "Worker@Acme.test", "role": "operator", "password": password}}, &u)
		if u.Email != "worker@acme.test" || u.TenantID != ev.acme.ID || !u.Active {
			t.Fatalf("created %+v", u)
		}
		got := ev.do(req{method: "GET", path: "/api/v1/users/" + itoa(u.ID), token: admin})
		if strings.Contains(string(got.body), "argon2") || strings.Contains(string(got.body), "password") {
			t.Fatalf("password material in %s", got.body)
		}
		// Role escalation to platform admin is refused.
		got = ev.do(req{method: "POST", path: "/api/v1/users", token: admin, body: map[string]any{"email": "evil@acme.test", "role": "platform_admin", "password": password}})
		if got.code != http.StatusBadRequest {
			t.Fatalf("platform_admin in a tenant: %d %s", got.code, got.body)
		}
		// Changing the password ends the user's sessions.
		worker := ev.login("acme", "worker@acme.test")
		ev.must(http.StatusOK, req{method: "PUT", path: "/api/v1/users/" + itoa(u.ID), token: admin, body: map[string]any{
			"email": "worker@acme.test", "name": "W", "role": "operator", "password": "another long password", "permissions": map[string]any{}, "active": true}}, nil)
		if got := ev.do(req{method: "GET", path: "/api/v1/me", token: worker.AccessToken}); got.code != http.StatusUnauthorized {
			t.Fatalf("session after password change: %d", got.code)
		}
		// A role change applies at the next request.
		worker = ev.do(req{method: "POST", path: "/api/v1/auth/login", body: web.LoginRequest{Tenant: "acme", Email: "worker@acme.test", Password: "another long password"}}).tokens(t)
		ev.must(http.StatusForbidden, req{method: "POST", path: "/api/v1/products", token: worker.AccessToken, body: map[string]any{"name": "p"}}, nil)
		ev.must(http.StatusOK, req{method: "PUT", path: "/api/v1/users/" + itoa(u.ID), token: admin, body: map[string]any{
			"email": "worker@acme.test", "name": "W", "role": "tenant_admin", "permissions": map[string]any{}, "active": true}}, nil)
		ev.must(http.StatusCreated, req{method: "POST", path: "/api/v1/products", token: worker.AccessToken, body: map[string]any{"name": "p"}}, nil)
		// No self-demotion, self-deactivation or self-deletion.
		me := adminTR.User.UserID
		ev.must(http.StatusBadRequest, req{method: "PUT", path: "/api/v1/users/" + itoa(me), token: admin, body: map[string]any{
			"email": "tenant_admin@acme.test", "name": "", "role": "viewer", "permissions": map[string]any{}, "active": true}}, nil)
		ev.must(http.StatusConflict, req{method: "DELETE", path: "/api/v1/users/" + itoa(me), token: admin}, nil)
		// Deleting a user ends its sessions and is audited with before/after.
		ev.must(http.StatusNoContent, req{method: "DELETE", path: "/api/v1/users/" + itoa(u.ID), token: admin}, nil)
		if got := ev.do(req{method: "GET", path: "/api/v1/me", token: worker.AccessToken}); got.code != http.StatusUnauthorized {
			t.Fatalf("session of a deleted user: %d", got.code)
		}
		acts := ev.auditActions(ev.acme.ID)
		for _, want := range []string{"user.create", "user.update", "user.delete", "config.product.create"} {
			if !contains(acts, want) {
				t.Errorf("audit lacks %s: %v", want, acts)
			}
		}
		// A platform admin bootstraps a tenant's first admin and sees platform users on /users.
		var ta store.User
		ev.must(http.StatusCreated, req{method: "POST", path: "/api/v1/tenants/" + itoa(ev.beta.ID) + "/users", token: root, body: map[string]any{
			"email": "boss@beta.test", "role": "tenant_admin", "password": password}}, &ta)
		if ta.TenantID != ev.beta.ID {
			t.Fatalf("bootstrap user %+v", ta)
		}
		ev.login("beta", "boss@beta.test")
		var plat web.Page[store.User]
		ev.must(http.StatusOK, req{method: "GET", path: "/api/v1/users", token: root}, &plat)
		if len(plat.Items) != 1 || plat.Items[0].Role != store.RolePlatformAdmin {
			t.Fatalf("platform users: %+v", plat.Items)
		}
		if !contains(ev.auditActions(0), "user.create") {
			t.Errorf("platform audit: %v", ev.auditActions(0))
		}
	})
}

func (r resp) tokens(t *testing.T) web.TokenResponse {
	t.Helper()
	if r.code != http.StatusOK {
		t.Fatalf("login: %d %s", r.code, r.body)
	}
	var tr web.TokenResponse
	r.json(t, &tr)
	return tr
}

func TestKioskTokens(t *testing.T) {
	sqliteOnly(t, func(t *testing.T, e storetest.Engine) {
		ev, admin, f1, f2 := twoPlants(t, e)
		var kc web.KioskCreated
		ev.must(http.StatusCreated, req{method: "POST", path: "/api/v1/kiosks", token: admin, body: map[string]any{"name": "TV 1", "lines": []int64{f1.line}, "dashboard_id": 0}}, &kc)
		if kc.Token == "" || !strings.Contains(kc.TVURL, kc.Token) {
			t.Fatalf("created %+v", kc)
		}
		got := ev.do(req{method: "GET", path: "/api/v1/kiosks/" + itoa(kc.ID), token: admin})
		if strings.Contains(string(got.body), kc.Token) {
			t.Fatal("the kiosk token is shown again")
		}
		var lines web.Page[store.Line]
		ev.must(http.StatusOK, req{method: "GET", path: "/api/v1/lines", kiosk: kc.Token}, &lines)
		if len(lines.Items) != 1 || lines.Items[0].ID != f1.line {
			t.Fatalf("kiosk lines %+v", lines.Items)
		}
		// The UI sends it as a Bearer token too.
		ev.must(http.StatusOK, req{method: "GET", path: "/api/v1/lines", token: kc.Token}, nil)
		ev.must(http.StatusOK, req{method: "GET", path: "/api/v1/lines/" + itoa(f1.line) + "/production", kiosk: kc.Token}, nil)
		ev.must(http.StatusNotFound, req{method: "GET", path: "/api/v1/lines/" + itoa(f2.line) + "/production", kiosk: kc.Token}, nil)
		ev.must(http.StatusForbidden, req{method: "POST", path: "/api/v1/products", kiosk: kc.Token, body: map[string]any{"name": "x"}}, nil)
		ev.must(http.StatusForbidden, req{method: "GET", path: "/api/v1/users", kiosk: kc.Token}, nil)
		ev.must(http.StatusForbidden, req{method: "GET", path: "/api/v1/incidents", kiosk: kc.Token}, nil)
		// AuthenticateWS: header, query parameter, cookie; anything else is refused.
		wsReq := func(mod func(*http.Request)) (identity.Principal, error) {
			r := httptest.NewRequest("GET", "/ws", nil)
			mod(r)
			return ev.api.AuthenticateWS(r)
		}
		p, err := wsReq(func(r *http.Request) { r.URL.RawQuery = "kiosk=" + kc.Token })
		if err != nil || !p.Kiosk || p.TenantSlug != "acme" || !p.CanSeeLine(f1.line) || p.CanSeeLine(f2.line) {
			t.Fatalf("ws kiosk: %+v %v", p, err)
		}
		if _, err := wsReq(func(r *http.Request) { r.Header.Set("Authorization", "Kiosk "+kc.Token) }); err != nil {
			t.Fatal(err)
		}
		viewer := ev.login("acme", "viewer@acme.test")
		p, err = wsReq(func(r *http.Request) { r.AddCookie(&http.Cookie{Name: web.AccessCookie, Value: viewer.AccessToken}) })
		if err != nil || p.UserID != viewer.User.UserID || p.Lines != nil || p.SessionID != viewer.SessionID {
			t.Fatalf("ws cookie: %+v %v", p, err)
		}
		if _, err := wsReq(func(r *http.Request) { r.URL.RawQuery = "kiosk=forged" }); err == nil {
			t.Fatal("forged kiosk token accepted")
		}
		if _, err := wsReq(func(*http.Request) {}); err == nil {
			t.Fatal("no credentials accepted")
		}
		// Revocation takes effect at once.
		ev.must(http.StatusNoContent, req{method: "DELETE", path: "/api/v1/kiosks/" + itoa(kc.ID), token: admin}, nil)
		ev.must(http.StatusUnauthorized, req{method: "GET", path: "/api/v1/lines", kiosk: kc.Token}, nil)
		if _, err := wsReq(func(r *http.Request) { r.URL.RawQuery = "kiosk=" + kc.Token }); err == nil {
			t.Fatal("revoked kiosk token accepted by the hub")
		}
		k, _ := ev.st.GetKioskToken(context.Background(), ev.acme.ID, kc.ID)
		if k.RevokedAt == nil || k.LastUsedAt == nil {
			t.Fatalf("kiosk row %+v", k)
		}
		// Dashboard binding: the kiosk sees only its dashboard.
		var bound web.KioskCreated
		ev.must(http.StatusCreated, req{method: "POST", path: "/api/v1/kiosks", token: admin, body: map[string]any{"name": "TV 2", "lines": []int64{}, "dashboard_id": f2.ids["dashboards"]}}, &bound)
		var dash web.Page[store.DashboardTemplate]
		ev.must(http.StatusOK, req{method: "GET", path: "/api/v1/dashboards", kiosk: bound.Token}, &dash)
		if len(dash.Items) != 1 || dash.Items[0].ID != f2.ids["dashboards"] {
			t.Fatalf("bound kiosk dashboards %+v", dash.Items)
		}
		if acts := ev.auditActions(ev.acme.ID); !contains(acts, "kiosk.create") || !contains(acts, "kiosk.delete") {
			t.Errorf("audit %v", acts)
		}
	})
}

func TestDashboardLayoutsAreValidated(t *testing.T) {
	sqliteOnly(t, func(t *testing.T, e storetest.Engine) {
		ev := newEnv(t, e)
		admin := ev.token("acme", "tenant_admin")
		f := ev.plant(ev.acme, admin, "acme")
		post := func(layout string) resp {
			return ev.do(req{method: "POST", path: "/api/v1/dashboards", token: admin,
				body: `{"name":"d","role_access":"viewer","layout_config":` + layout + `}`})
		}
		line := itoa(f.line)
		for layout, field := range map[string]string{
			`{"widgets":[{"widget_type":"kpi_tile","x":0,"y":0,"w":3,"h":2,"params":{"line_id":` + line + `}}]}`:                  "layout_config.widgets[0]",
			`{"widgets":[{"widget_type":"kpi_tile","x":0,"y":0,"w":3,"h":2,"params":{"line_id":` + line + `,"metric":"vibes"}}]}`: "layout_config.widgets[0]",
			`{"widgets":[{"widget_type":"kpi_tile","x":0,"y":0,"w":3,"h":2,"params":{"line_id":"1","metric":"oee"}}]}`:            "layout_config.widgets[0]",
			`{"widgets":[{"widget_type":"kpi_tile","x":0,"y":0,"w":3,"h":2,"params":{"line_id":999,"metric":"oee"}}]}`:            "layout_config.widgets[0]",
			`{"widgets":[{"widget_type":"no_such","x":0,"y":0,"w":3,"h":2,"params":{}}]}`:                                         "layout_config.widgets[0]",
			`{"widgets":[{"widget_type":"line_state","x":-1,"y":0,"w":3,"h":2,"params":{"line_id":` + line + `}}]}`:               "layout_config.widgets[0]",
			`{"widgets":[{"widget_type":"line_state","x":0,"y":0,"w":3,"h":2,"params":{"line_id":` + line + `,"extra":true}}]}`:   "layout_config.widgets[0]",
			`{"widgets":[{"widget_type":"line_state","x":0,"y":0,"w":3,"h":2,"color":"red","params":{"line_id":` + line + `}}]}`:  "layout_config",
			`{"cols":12}`: "layout_config",
			`[]`:          "layout_config",
			`"x"`:         "layout_config",
		} {
			got := post(layout)
			fs := errFields(got)
			if got.code != http.StatusBadRequest || len(fs) == 0 || !strings.HasPrefix(fs[0], field) {
				t.Errorf("layout %s: %d %s", layout, got.code, got.body)
			}
		}
		ok := post(`{"columns":12,"widgets":[{"widget_type":"production_chart","x":0,"y":0,"w":6,"h":4,"params":{"line_id":` + line + `,"interval":"hour","hours":24}}]}`)
		if ok.code != http.StatusCreated {
			t.Fatalf("valid layout: %d %s", ok.code, ok.body)
		}
		var ws web.Page[store.Widget]
		ev.must(http.StatusOK, req{method: "GET", path: "/api/v1/widgets", token: ev.token("acme", "viewer")}, &ws)
		if len(ws.Items) < 5 || !json.Valid(ws.Items[0].RequiredParams) {
			t.Fatalf("widgets %+v", ws.Items)
		}
		// Templates are visible to their role and more powerful ones.
		ev.must(http.StatusCreated, req{method: "POST", path: "/api/v1/dashboards", token: admin, body: map[string]any{"name": "sup only", "role_access": "supervisor",
			"layout_config": map[string]any{"widgets": []any{}}}}, nil)
		var views web.Page[store.DashboardTemplate]
		ev.must(http.StatusOK, req{method: "GET", path: "/api/v1/dashboards", token: ev.token("acme", "viewer")}, &views)
		for _, d := range views.Items {
			if d.RoleAccess != "viewer" {
				t.Errorf("viewer sees %s", d.Name)
			}
		}
		ev.must(http.StatusOK, req{method: "GET", path: "/api/v1/dashboards", token: ev.token("acme", "supervisor")}, &views)
		if len(views.Items) != 3 {
			t.Errorf("supervisor sees %d templates", len(views.Items))
		}
	})
}
