package web

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/linepulse/linepulse/identity"
	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/stream"
)

// Fuzz targets for every parser of untrusted input in this package: request bodies,
// query strings, path ids, audit details, and whole requests through the API.

func FuzzDecodeBody(f *testing.F) {
	for _, s := range []string{`{}`, `{"email":"a@b","role":"viewer","password":"12345678","permissions":{"lines":[1]},"active":true}`,
		`{"name":"x","start_time":"06:00","days_implemented":[1,2],"breaks":[]}`, `[]`, `null`, `{"a":1}{"b":2}`, `{"occurred_at":5}`,
		`{"permissions":{"lines":"x"}}`, "\xff", `{"name":"` + strings.Repeat("é", 100) + `"}`} {
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, put bool) {
		for _, dst := range []any{&UserInput{}, &store.Shift{}, &store.Incident{}, &LoginRequest{}} {
			err := unmarshalStrict(data, dst)
			if err == nil && put {
				err = requireFields(data, dst)
			}
			if err == nil {
				continue
			}
			e := errorOf(err)
			if e.status != http.StatusBadRequest || e.code == "" || e.msg == "" {
				t.Fatalf("%T: %q -> %d %s %q", dst, data, e.status, e.code, e.msg)
			}
			for _, fe := range e.fields {
				if len(fe.Field) > 200 {
					t.Fatalf("field name echoes input: %q", fe.Field)
				}
			}
		}
	})
}

func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{"", "limit=10&after=5", "limit=0", "line_id=1%27", "a=1&a=2", "limit=%zz", "from=2025-01-01T00:00:00Z&interval=hour", ";", strings.Repeat("x", 3000)} {
		f.Add(s)
	}
	params := append(append([]Param{}, lineParams...), rangeParams...)
	f.Fuzz(func(t *testing.T, raw string) {
		r := httptest.NewRequest("GET", "/x", nil)
		r.URL.RawQuery = raw
		q, err := parseQuery(r, params)
		if err != nil {
			if e := errorOf(err); e.status != http.StatusBadRequest {
				t.Fatalf("%q: %d", raw, e.status)
			}
			return
		}
		p, err := q.page()
		if err == nil && (p.Limit < 0 || p.Limit > store.MaxPageSize || p.AfterID < 0) {
			t.Fatalf("%q: page %+v", raw, p)
		}
		if id, err := q.id("line_id"); err == nil && id < 0 {
			t.Fatalf("%q: line %d", raw, id)
		}
		if tm, ok, err := q.time("from"); err == nil && ok && (tm.Year() < 2000 || tm.Year() > 2200) {
			t.Fatalf("%q: time %v", raw, tm)
		}
	})
}

func FuzzParseID(f *testing.F) {
	for _, s := range []string{"1", "0", "-1", "01", "9223372036854775807", "1e3", " 1", "1;DROP"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, ok := parseID(s)
		if ok && (v <= 0 || s != strings.TrimLeft(s, "+-0 ") || len(s) > maxIDDigits) {
			t.Fatalf("%q accepted as %d", s, v)
		}
	})
}

// FuzzAPIRequest sends arbitrary requests, authenticated as a platform admin and as a
// tenant admin, through the whole API: no input may cause a 5xx or a non-JSON error.
func FuzzAPIRequest(f *testing.F) {
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{DataDir: f.TempDir(), Logger: quiet()})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	kr := identity.NewKeyring()
	kid, priv := identity.GenerateKey()
	kr.Add(kid, priv)
	api, err := NewAPI(APIConfig{Keyring: kr, Hasher: identity.Hasher{Params: identity.Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}},
		Logger: quiet(), RequestRate: 1e9, RequestBurst: 1e9, Throttle: identity.ThrottleConfig{PerIPRate: 1e9, PerIPBurst: 1e9}}, Deps{Store: st, Devices: &identity.Devices{Store: st},
		Analytics: stream.NewHistory(st, store.NewMetaCache(st)), ValidateShifts: stream.ValidateShifts})
	if err != nil {
		f.Fatal(err)
	}
	ten := store.Tenant{Slug: "acme", Name: "Acme"}
	if err := st.CreateTenant(ctx, &ten); err != nil {
		f.Fatal(err)
	}
	tokens := map[bool]string{}
	for platform, u := range map[bool]store.User{true: {Email: "root@x.test", Role: store.RolePlatformAdmin}, false: {TenantID: ten.ID, Email: "admin@x.test", Role: store.RoleTenantAdmin}} {
		u.PasswordHash, _ = api.cfg.Hasher.Hash("password1")
		if err := st.CreateUser(ctx, &u); err != nil {
			f.Fatal(err)
		}
		slug := "acme"
		if platform {
			slug = ""
		}
		rec := httptest.NewRecorder()
		body, _ := json.Marshal(LoginRequest{Tenant: slug, Email: u.Email, Password: "password1"})
		r := httptest.NewRequest("POST", "/api/v1/auth/login", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		api.ServeHTTP(rec, r)
		var tr TokenResponse
		if err := json.Unmarshal(rec.Body.Bytes(), &tr); err != nil || tr.AccessToken == "" {
			f.Fatalf("login: %s", rec.Body)
		}
		tokens[platform] = tr.AccessToken
	}
	for _, s := range []struct{ m, p, b string }{
		{"POST", "lines", `{"name":"l","downtime_threshold_ms":1000,"ideal_cycle_time_ms":100}`},
		{"GET", "lines/1/production?interval=minute", ""},
		{"PUT", "config/a.b", `{"value":[1,2]}`},
		{"POST", "dashboards", `{"name":"d","role_access":"viewer","layout_config":{"widgets":[{"widget_type":"kpi_tile","params":{"line_id":1}}]}}`},
		{"DELETE", "tenants/1", ""},
		{"POST", "auth/refresh", `{"refresh_token":"AAAA"}`},
	} {
		f.Add(s.m, s.p, []byte(s.b), false)
	}
	f.Fuzz(func(t *testing.T, method, path string, body []byte, platform bool) {
		switch method {
		case "GET", "POST", "PUT", "DELETE", "PATCH":
		default:
			return
		}
		if strings.ContainsAny(path, " \r\n#\x00") || len(path) > 300 {
			return
		}
		r, err := http.NewRequest(method, "http://example.com/api/v1/"+path, bytes.NewReader(body))
		if err != nil {
			return
		}
		r.RemoteAddr = "192.0.2.1:1234"
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Authorization", "Bearer "+tokens[platform])
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, r.WithContext(rctx))
		if rec.Code >= 500 {
			t.Fatalf("%s %s %q: %d %s", method, path, body, rec.Code, rec.Body)
		}
		if rec.Code >= 400 {
			var eb errorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &eb); err != nil || eb.Error.Code == "" {
				t.Fatalf("%s %s: error is not the error shape: %s", method, path, rec.Body)
			}
		}
	})
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }
