package web_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/store/storetest"
	"github.com/linepulse/linepulse/web"
)

// freeJSON are body fields whose schema is "any JSON value": no type can be wrong.
var freeJSON = map[string]bool{"default_value": true, "additional_filter": true, "type_failure": true, "value": true}

// wrongType returns a value of another JSON type than v (nil when v is null).
func wrongType(v any) any {
	switch v.(type) {
	case nil:
		return nil
	case string:
		return 12345
	case bool:
		return "yes"
	case []int, []int64, []any:
		return map[string]any{"a": 1}
	case map[string]any:
		return "x"
	}
	return "12" // numbers
}

func errFields(r resp) []string {
	var e struct {
		Error struct {
			Fields []store.FieldError `json:"fields"`
		} `json:"error"`
	}
	_ = jsonUnmarshal(r.body, &e)
	var out []string
	for _, f := range e.Error.Fields {
		out = append(out, f.Field)
	}
	return out
}

// TestEveryEndpointRefusesBadInput sends every route wrong types, missing and unknown
// fields, malformed, empty, non-JSON and oversized bodies, absurd page sizes and SQL
// metacharacters in ids and query parameters. Each must get a clear 4xx with the one
// error shape, and nothing may change.
func TestEveryEndpointRefusesBadInput(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		ev := newEnv(t, e, func(c *web.APIConfig) { c.MaxBodyBytes = 64 << 10 })
		admin := ev.token("acme", "tenant_admin")
		root := ev.token("", "")
		f := ev.plant(ev.acme, admin, "acme")
		ev.must(http.StatusOK, req{method: "PUT", path: "/api/v1/config/walk.key", token: root, body: map[string]any{"value": 1}}, nil)
		ids := map[string]int64{}
		for k, v := range f.ids {
			ids[k] = v
		}
		ids["tenants"], ids["tenant-users"] = ev.acme.ID, f.ids["users"]
		ids["queries"] = 1 // a recorded data query
		extra := map[string]string{"event": itoa(f.event), "tenant": itoa(ev.acme.ID), "key": "walk.key", "instance": "2026-12-01.1", "target": itoa(f.line) + "." + itoa(f.ids["shifts"])}
		state := func() string {
			return ev.snapshot(admin, f, ev.acme.ID) + ev.do(req{method: "GET", path: "/api/v1/tenants", token: root}).String() +
				ev.do(req{method: "GET", path: "/api/v1/config", token: root}).String() +
				ev.do(req{method: "GET", path: "/api/v1/users", token: root}).String()
		}
		before := state()
		ipN := 0
		check := func(r web.Route, rq req, want int, what string, field string) {
			t.Helper()
			ipN++
			rq.ip = fmt.Sprintf("10.9.%d.%d", ipN/250, ipN%250+1)
			if r.Scope == web.ScopePlatform {
				rq.token = root
			} else if r.Scope != web.ScopePublic {
				rq.token = admin
			}
			got := ev.do(rq)
			ok := got.code >= 400 && got.code < 500 && got.errCode() != ""
			if want != 0 {
				ok = ok && got.code == want
			}
			if ok && field != "" {
				fs := errFields(got)
				ok = false
				for _, f := range fs {
					ok = ok || f == field || strings.HasPrefix(f, field+".") || strings.HasPrefix(f, field+"[")
				}
			}
			if !ok {
				t.Errorf("%s %s (%s): got %d %s, want a 4xx%s naming %q", rq.method, rq.path, what, got.code, got.body,
					map[bool]string{true: fmt.Sprintf(" (%d)", want), false: ""}[want != 0], field)
			}
		}
		for _, r := range ev.api.Routes() {
			if r.Path == "/api/v1/auth/logout" {
				continue
			}
			path := fillPath(r, ids, extra)
			// Path parameters: not positive decimal ids, or SQL.
			for _, name := range []string{"id", "event", "tenant", "key", "target"} {
				if !strings.Contains(r.Path, "{"+name+"}") {
					continue
				}
				bads := []string{"0", "-1", "abc", "1%27%20OR%20%271%27%3D%271", "1%3BDROP%20TABLE%20user", "99999999999999999999", "1.5"}
				if name == "target" {
					bads = []string{"0.1", "1", "abc", "1.1%27%20OR%20%271", "-1.1", "99999999999999999999.1", "1.1.1"}
				}
				if name == "key" {
					bads = []string{"BAD%20KEY", "%27%3B%20DROP%20TABLE%20system_config%3B--", strings.Repeat("k", 200)}
				}
				for _, bad := range bads {
					rb := r
					rb.Path = strings.Replace(r.Path, "{"+name+"}", bad, 1)
					check(r, req{method: r.Method, path: fillPath(rb, ids, extra), body: bodyOrNil(r, f)}, http.StatusBadRequest, "bad path "+name, name)
				}
			}
			// Query parameters.
			check(r, req{method: r.Method, path: path + "?sort=name", body: bodyOrNil(r, f)}, http.StatusBadRequest, "unknown query parameter", "sort")
			if r.List && hasParam(r, "limit") {
				for _, bad := range []string{"0", "-1", "501", "100000", "abc", "1%3BDROP%20TABLE%20user", "1e3"} {
					check(r, req{method: "GET", path: path + "?limit=" + bad}, http.StatusBadRequest, "limit "+bad, "limit")
				}
				for _, bad := range []string{"-1", "abc", "1%20OR%201%3D1"} {
					check(r, req{method: "GET", path: path + "?after=" + bad}, http.StatusBadRequest, "after "+bad, "after")
				}
				check(r, req{method: "GET", path: path + "?limit=1&limit=2"}, http.StatusBadRequest, "repeated limit", "limit")
			}
			if hasParam(r, "line_id") {
				check(r, req{method: "GET", path: path + "?line_id=1%27%20OR%20%271%27%3D%271"}, http.StatusBadRequest, "line_id SQL", "line_id")
			}
			if hasParam(r, "from") {
				check(r, req{method: "GET", path: path + "?from=2025-13-45"}, http.StatusBadRequest, "bad from", "from")
				check(r, req{method: "GET", path: path + "?from=2025-03-02T00:00:00Z&to=2025-03-01T00:00:00Z"}, http.StatusBadRequest, "to before from", "to")
				check(r, req{method: "GET", path: path + "?from=2001-01-01T00:00:00Z&to=2025-03-01T00:00:00Z"}, http.StatusBadRequest, "absurd range", "to")
			}
			if hasParam(r, "interval") {
				check(r, req{method: "GET", path: path + "?interval=fortnight"}, http.StatusBadRequest, "bad interval", "interval")
			}
			if hasParam(r, "shift") {
				check(r, req{method: "GET", path: path + "?shift=tomorrow%27--"}, http.StatusBadRequest, "bad shift", "shift")
			}
			if r.Body == nil {
				continue
			}
			valid, ok := bodyFor(r, bodies("acme2", f.refs()))
			if !ok {
				t.Fatalf("no body for %s %s", r.Method, r.Path)
			}
			if r.Tag == "auth" {
				valid = map[string]any{"tenant": "acme", "email": "x@acme.test", "password": "wrong password", "refresh_token": strings.Repeat("A", 43)}
				if strings.HasSuffix(r.Path, "/refresh") {
					valid = map[string]any{"refresh_token": strings.Repeat("A", 43)}
				} else {
					delete(valid, "refresh_token")
				}
			}
			huge := `{"name":"` + strings.Repeat("a", max(64<<10, int(r.MaxBody))) + `"}`
			check(r, req{method: r.Method, path: path, body: huge}, http.StatusRequestEntityTooLarge, "oversized body", "")
			check(r, req{method: r.Method, path: path, body: `{"name":`}, http.StatusBadRequest, "malformed JSON", "")
			check(r, req{method: r.Method, path: path, body: `[]`}, http.StatusBadRequest, "array body", "")
			check(r, req{method: r.Method, path: path, body: valid, ctype: "application/x-www-form-urlencoded"}, http.StatusUnsupportedMediaType, "form body", "")
			check(r, req{method: r.Method, path: path, body: valid, ctype: "text/plain"}, http.StatusUnsupportedMediaType, "text/plain body", "")
			withUnknown := map[string]any{"zzz_unknown": 1}
			for k, v := range valid {
				withUnknown[k] = v
			}
			check(r, req{method: r.Method, path: path, body: withUnknown}, http.StatusBadRequest, "unknown field", "zzz_unknown")
			if !strings.HasSuffix(r.Path, "/refresh") {
				check(r, req{method: r.Method, path: path, body: map[string]any{}}, http.StatusBadRequest, "missing fields", "")
			}
			for k, v := range valid {
				w := wrongType(v)
				if w == nil || freeJSON[k] {
					continue
				}
				mutated := map[string]any{}
				for k2, v2 := range valid {
					mutated[k2] = v2
				}
				mutated[k] = w
				check(r, req{method: r.Method, path: path, body: mutated}, http.StatusBadRequest, "wrong type of "+k, k)
			}
		}
		if ipN < 500 {
			t.Errorf("only %d bad requests sent", ipN)
		}
		t.Logf("%d bad requests refused", ipN)
		if after := state(); after != before {
			t.Errorf("bad requests changed state:\nbefore: %.3000s\nafter:  %.3000s", before, after)
		}
	})
}

func bodyOrNil(r web.Route, f fixture) any {
	if r.Body == nil {
		return nil
	}
	b, _ := bodyFor(r, bodies("acme3", f.refs()))
	return b
}

func hasParam(r web.Route, name string) bool {
	for _, p := range r.Query {
		if p.Name == name {
			return true
		}
	}
	return false
}

// TestSQLMetacharactersAreData stores hostile strings verbatim: parameters, never SQL.
func TestSQLMetacharactersAreData(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		ev := newEnv(t, e)
		admin := ev.token("acme", "tenant_admin")
		for _, name := range []string{"x'); DROP TABLE `product`; --", `" OR "1"="1`, "Robert'; DELETE FROM `user` WHERE '1'='1", "\\'; SELECT SLEEP(5); --"} {
			got := ev.must(http.StatusCreated, req{method: "POST", path: "/api/v1/products", token: admin, body: map[string]any{"name": name}}, nil)
			var p store.Product
			ev.must(http.StatusOK, req{method: "GET", path: "/api/v1/products/" + itoa(idOf(t, got)), token: admin}, &p)
			if p.Name != name {
				t.Fatalf("stored %q, read back %q", name, p.Name)
			}
		}
		var page web.Page[store.Product]
		ev.must(http.StatusOK, req{method: "GET", path: "/api/v1/products", token: admin}, &page)
		if len(page.Items) != 4 {
			t.Fatalf("products: %d", len(page.Items))
		}
		if users, err := ev.st.ListUsers(context.Background(), ev.acme.ID, store.Page{}); err != nil || len(users) != 4 {
			t.Fatalf("users after hostile names: %d %v", len(users), err)
		}
		// Hostile login input is an ordinary failed login.
		got := ev.do(req{method: "POST", path: "/api/v1/auth/login", ip: "10.1.1.1", body: map[string]any{"tenant": "acme", "email": "' OR 1=1 --@x", "password": "' OR '1'='1"}})
		if got.code != http.StatusUnauthorized {
			t.Fatalf("hostile login: %d %s", got.code, got.body)
		}
	})
}
