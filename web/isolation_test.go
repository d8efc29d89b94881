package web_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/linepulse/linepulse/store/storetest"
	"github.com/linepulse/linepulse/web"
)

// marker names every object of tenant B: it must never appear in an answer to tenant A.
const marker = "betasecret"

// fillPath puts ids into a route's path parameters.
func fillPath(r web.Route, ids map[string]int64, extra map[string]string) string {
	p := r.Path
	for _, name := range []string{"id", "event", "tenant", "key", "instance", "target"} {
		ph := "{" + name + "}"
		if !strings.Contains(p, ph) {
			continue
		}
		v, ok := extra[name]
		if name == "id" {
			v, ok = itoa(ids[r.Resource]), ids[r.Resource] != 0
		}
		if !ok {
			panic("no value for " + ph + " in " + r.Path)
		}
		p = strings.Replace(p, ph, v, 1)
	}
	return p
}

// bodyFor picks the request body of a route from bodies().
func bodyFor(r web.Route, b map[string]map[string]any) (map[string]any, bool) {
	if r.Body == nil {
		return nil, true
	}
	key := r.Resource
	switch {
	case strings.HasSuffix(r.Path, "/reason"):
		key = "reason"
	case strings.HasSuffix(r.Path, "/runs"):
		key = "runs"
	case strings.HasPrefix(r.Path, "/api/v1/config/"):
		key = "config"
	case r.Tag == "auth":
		return map[string]any{}, true
	}
	v, ok := b[key]
	return v, ok
}

// snapshot reads everything tenant B has, as B's admin: lists, every fixture object, and
// its audit chain length.
func (ev *env) snapshot(token string, f fixture, tenantID int64) string {
	ev.t.Helper()
	var buf bytes.Buffer
	for _, r := range ev.api.Routes() {
		if r.Method != "GET" || r.Scope == web.ScopePlatform || r.Scope == web.ScopePublic {
			continue
		}
		var path string
		switch {
		case !strings.Contains(r.Path, "{"):
			path = r.Path
		case r.Path == "/api/v1/lines/{id}/downtime":
			path = "/api/v1/lines/" + itoa(f.line) + "/downtime?from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z"
		case strings.HasSuffix(r.Path, "/{id}") && f.ids[r.Resource] != 0:
			path = fillPath(r, f.ids, nil)
		default:
			continue
		}
		if path == "/api/v1/audit/verify" || path == "/api/v1/queries" {
			continue // the query history grows with every data query, the snapshot's own included
		}
		got := ev.do(req{method: "GET", path: path, token: token})
		buf.WriteString(r.Method + " " + path + " " + itoa(int64(got.code)) + "\n")
		buf.Write(got.body)
	}
	buf.WriteString(strings.Join(ev.auditActions(tenantID), ","))
	return buf.String()
}

// TestEveryRouteKeepsTenantsApart walks every registered route: without credentials it is
// refused; as tenant A's admin, aimed at tenant B's objects (ids in the path, references
// in the body), it neither reads nor changes them.
func TestEveryRouteKeepsTenantsApart(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		ev := newEnv(t, e)
		adminA := ev.token("acme", "tenant_admin")
		adminB := ev.token("beta", "tenant_admin")
		ev.plant(ev.acme, adminA, "acme")
		ev.plant(ev.beta, adminB, marker+"1")
		ev.plant(ev.beta, adminB, marker+"2")
		// B's ids now exceed A's in every table, even after the walk creates one more of each in A.
		fb := ev.plant(ev.beta, adminB, marker)
		beforeB := ev.snapshot(adminB, fb, ev.beta.ID)
		if !strings.Contains(beforeB, marker) {
			t.Fatal("the snapshot of tenant B does not show its objects")
		}
		extra := map[string]string{"event": itoa(fb.event), "tenant": itoa(ev.beta.ID), "key": "walk.key", "instance": "2026-12-01.1", "target": itoa(fb.line) + "." + itoa(fb.ids["shifts"])}
		idsB := map[string]int64{}
		for k, v := range fb.ids {
			idsB[k] = v
		}
		idsB["tenants"], idsB["tenant-users"] = ev.beta.ID, fb.ids["users"]
		idsB["queries"] = 1 // a recorded data query
		refsB := fb.refs()
		walked := 0
		for _, r := range ev.api.Routes() {
			path := fillPath(r, idsB, extra)
			body, ok := bodyFor(r, bodies("walk", refsB))
			if !ok {
				t.Errorf("%s %s: no test body for resource %q: extend bodies()", r.Method, r.Path, r.Resource)
				continue
			}
			if r.Method == "GET" && r.Path == "/api/v1/lines/{id}/oee" {
				path += "?shift=current"
			}
			var reqBody any
			if r.Body != nil {
				reqBody = body
			}
			// 1. Unauthenticated.
			if r.Scope != web.ScopePublic {
				got := ev.do(req{method: r.Method, path: path, body: reqBody})
				if got.code != http.StatusUnauthorized || got.errCode() != web.CodeUnauthorized {
					t.Errorf("%s %s without credentials: %d %s", r.Method, path, got.code, got.body)
				}
			}
			if r.Path == "/api/v1/auth/logout" {
				continue // ends the session: checked below with its own token
			}
			// 2. Tenant A's admin, aimed at tenant B.
			got := ev.do(req{method: r.Method, path: path, token: adminA, body: reqBody})
			walked++
			switch {
			case r.Scope == web.ScopePublic:
			case r.Scope == web.ScopePlatform:
				if got.code != http.StatusForbidden {
					t.Errorf("%s %s (platform route) as tenant admin: %d %s", r.Method, path, got.code, got.body)
				}
			case r.Resource == "widgets":
				// The widget catalogue is system metadata shared by every tenant (read-only).
				if got.code != http.StatusOK {
					t.Errorf("%s %s: %d %s", r.Method, path, got.code, got.body)
				}
			case strings.Contains(r.Path, "{"):
				if got.code != http.StatusNotFound && got.code != http.StatusForbidden {
					t.Errorf("%s %s on tenant B's object as tenant A: %d %s", r.Method, path, got.code, got.body)
				}
			case r.Method == "POST":
				// Creating in one's own tenant is fine, but never with B's references.
				if got.code < 400 && hasRefs(body) {
					t.Errorf("%s %s with tenant B's references was accepted: %d %s", r.Method, path, got.code, got.body)
				}
			case r.Method == "GET":
				if got.code != http.StatusOK {
					t.Errorf("%s %s: %d %s", r.Method, path, got.code, got.body)
				}
			}
			if bytes.Contains(got.body, []byte(marker)) {
				t.Errorf("%s %s as tenant A shows tenant B's data: %s", r.Method, path, got.body)
			}
		}
		// Logout with a fresh session of A.
		got := ev.do(req{method: "POST", path: "/api/v1/auth/logout", token: ev.token("acme", "tenant_admin")})
		if got.code != http.StatusNoContent {
			t.Errorf("logout: %d %s", got.code, got.body)
		}
		if walked < 80 {
			t.Errorf("walked only %d routes", walked)
		}
		if afterB := ev.snapshot(adminB, fb, ev.beta.ID); afterB != beforeB {
			t.Errorf("tenant B changed while tenant A walked the API:\nbefore: %.2000s\nafter:  %.2000s", beforeB, afterB)
		}
	})
}

// hasRefs reports whether a body references other objects (which, in the walk, are
// tenant B's).
func hasRefs(body map[string]any) bool {
	for _, k := range []string{"line_id", "camera_id", "area_id", "failure_id", "dashboard_id", "downtime_event_id"} {
		if v, ok := body[k].(int64); ok && v > 0 {
			return true
		}
	}
	for _, k := range []string{"lines", "channels"} {
		if ls, ok := body[k].([]int64); ok && len(ls) > 0 {
			return true
		}
	}
	if p, ok := body["permissions"].(map[string]any); ok && p["lines"] != nil {
		return true
	}
	_, layout := body["layout_config"]
	return layout
}
