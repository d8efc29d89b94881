package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/linepulse/linepulse/store/storetest"
	"github.com/linepulse/linepulse/web"
)

// TestViewerLanguageAndSettings: the page viewer's language is the user's own choice, else
// the tenant's setting; a tenant admin changes the tenant's settings, others may not.
func TestViewerLanguageAndSettings(t *testing.T) {
	sqliteOnly(t, func(t *testing.T, e storetest.Engine) {
		ev := newEnv(t, e)
		admin := ev.token("acme", "tenant_admin")
		op := ev.token("acme", "operator")
		viewer := func(tok string) web.Viewer {
			t.Helper()
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Authorization", "Bearer "+tok)
			v, ok := ev.api.Viewer(r)
			if !ok {
				t.Fatal("Viewer refused valid credentials")
			}
			return v
		}
		if _, ok := ev.api.Viewer(httptest.NewRequest("GET", "/", nil)); ok {
			t.Error("Viewer accepted a request without credentials")
		}
		v := viewer(op)
		if v.Language != "" || v.TenantName == "" || v.Timezone == "" || v.Role != "operator" || v.Can(web.ActPlantWrite) || !v.Can(web.ActPlantRead) {
			t.Errorf("operator viewer: %+v", v)
		}

		var info web.TenantInfo
		ev.must(http.StatusOK, req{method: "GET", path: "/api/v1/tenant", token: op}, &info)
		if info.Slug != "acme" {
			t.Errorf("GET /tenant = %+v", info)
		}
		settings := web.TenantSettings{Name: "Acme Foods", Timezone: "Europe/Madrid", RetentionDays: 400, Language: "es"}
		if got := ev.do(req{method: "PUT", path: "/api/v1/tenant", token: op, body: settings}); got.code != http.StatusForbidden {
			t.Errorf("operator changed the tenant's settings: %s", got)
		}
		bad := settings
		bad.Language, bad.Timezone = "fr", "Mars/Base"
		got := ev.do(req{method: "PUT", path: "/api/v1/tenant", token: admin, body: bad})
		if got.code != http.StatusBadRequest || !fieldNamed(t, got, "language") || !fieldNamed(t, got, "timezone") {
			t.Errorf("bad settings: %s", got)
		}
		ev.must(http.StatusOK, req{method: "PUT", path: "/api/v1/tenant", token: admin, body: settings}, &info)
		if info.Language != "es" || info.Timezone != "Europe/Madrid" || info.Name != "Acme Foods" {
			t.Errorf("PUT /tenant = %+v", info)
		}
		if v := viewer(op); v.Language != "es" || v.Timezone != "Europe/Madrid" || v.TenantName != "Acme Foods" {
			t.Errorf("viewer after the tenant's change: %+v", v)
		}

		// The user's own choice wins over the tenant's; "" goes back to the tenant's.
		ev.must(http.StatusNoContent, req{method: "PUT", path: "/api/v1/me/language", token: op, body: web.LanguageInput{Language: "en"}}, nil)
		if v := viewer(op); v.Language != "en" || v.UserLanguage != "en" {
			t.Errorf("viewer after choosing en: %+v", v)
		}
		if got := ev.do(req{method: "PUT", path: "/api/v1/me/language", token: op, body: web.LanguageInput{Language: "xx"}}); got.code != http.StatusBadRequest {
			t.Errorf("unknown language: %s", got)
		}
		ev.must(http.StatusNoContent, req{method: "PUT", path: "/api/v1/me/language", token: op, body: web.LanguageInput{}}, nil)
		if v := viewer(op); v.Language != "es" {
			t.Errorf("viewer after clearing the choice: %+v", v)
		}
		acts := ev.auditActions(ev.acme.ID)
		if !slices.Contains(acts, "tenant.settings") || !slices.Contains(acts, "user.language") {
			t.Errorf("changes not audited: %v", acts)
		}

		// A kiosk token's viewer speaks its tenant's language.
		var k web.KioskCreated
		ev.must(http.StatusCreated, req{method: "POST", path: "/api/v1/kiosks", token: admin, body: web.KioskInput{Name: "tv", Lines: []int64{}}}, &k)
		kv, ok := ev.api.KioskViewer(context.Background(), k.Token)
		if !ok || !kv.Kiosk || kv.Language != "es" || kv.Can(web.ActPlantWrite) {
			t.Errorf("kiosk viewer: %+v %v", kv, ok)
		}
		if _, ok := ev.api.KioskViewer(context.Background(), "nope"); ok {
			t.Error("KioskViewer accepted a bad token")
		}
	})
}

// fieldNamed reports whether an error response names field.
func fieldNamed(t *testing.T, r resp, field string) bool {
	t.Helper()
	var e struct {
		Error struct {
			Fields []struct{ Field string } `json:"fields"`
		} `json:"error"`
	}
	r.json(t, &e)
	for _, f := range e.Error.Fields {
		if f.Field == field {
			return true
		}
	}
	return false
}
