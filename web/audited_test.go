package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/store/storetest"
	"github.com/linepulse/linepulse/web"
)

// TestEveryChangeIsAudited walks every route that changes something (POST, PUT, DELETE;
// deletions last so the others find their objects) as the principal allowed to call it,
// and checks that each successful call added an entry to its scope's audit chain.
func TestEveryChangeIsAudited(t *testing.T) {
	sqliteOnly(t, func(t *testing.T, e storetest.Engine) {
		ev := newEnv(t, e)
		admin := ev.token("acme", "tenant_admin")
		root := ev.token("", "")
		f := ev.plant(ev.acme, admin, "acme")
		// A second tenant for the platform routes on {tenant} and tenants/{id}.
		var other struct {
			ID int64 `json:"id"`
		}
		ev.must(http.StatusCreated, req{method: "POST", path: "/api/v1/tenants", token: root, body: bodies("audited", refs{})["tenants"]}, &other)
		ids := map[string]int64{}
		for k, v := range f.ids {
			ids[k] = v
		}
		ids["tenants"] = other.ID
		// A data query of the admin's, to name.
		ev.must(http.StatusOK, req{method: "GET", path: "/api/v1/lines/" + itoa(f.line) + "/shifts", token: admin}, nil)
		var qs web.Page[store.UserQuery]
		ev.must(http.StatusOK, req{method: "GET", path: "/api/v1/queries", token: admin}, &qs)
		ids["queries"] = qs.Items[len(qs.Items)-1].ID
		extra := map[string]string{"event": itoa(f.event), "tenant": itoa(other.ID), "key": "audited.key", "target": itoa(f.line) + "." + itoa(f.ids["shifts"])}
		var writes, deletes []web.Route
		for _, r := range ev.api.Routes() {
			switch {
			case r.Scope == web.ScopePublic || r.Tag == "auth" || r.Method == "GET":
				// Sign-ins and sign-outs are audited by their own tests.
			case r.ReadOnly:
				// Reads behind a POST (re-running a saved query) change nothing.
			case r.Method == "DELETE":
				deletes = append(deletes, r)
			default:
				writes = append(writes, r)
			}
		}
		// The platform's config key must exist before it can be deleted.
		ev.must(http.StatusOK, req{method: "PUT", path: "/api/v1/config/audited.key", token: root, body: map[string]any{"value": 1}}, nil)
		cur := f.refs() // follows the walk's own changes (a new camera, a renamed failure code)
		walked := 0
		for i, r := range append(writes, deletes...) {
			tok, chain := admin, ev.acme.ID
			if r.Scope == web.ScopePlatform {
				tok, chain = root, 0
			}
			if r.Resource == "tenant-users" {
				ids["tenant-users"] = 0
			}
			if strings.Contains(r.Path, "{id}") && ids[r.Resource] == 0 {
				if r.Resource != "tenant-users" {
					t.Errorf("%s %s: no object of %q to aim at", r.Method, r.Path, r.Resource)
				}
				continue
			}
			body, ok := bodyFor(r, bodies("audited"+itoa(int64(i)), cur))
			if !ok {
				t.Errorf("%s %s: no test body for %q: extend bodies()", r.Method, r.Path, r.Resource)
				continue
			}
			switch {
			case r.Resource == "tenants" && r.Method == "PUT":
				body["slug"] = "audited-co" // a tenant's slug never changes
			case r.Resource == "camera-areas" && r.Method == "PUT":
				body["camera_id"] = f.ids["cameras"] // the mapping as it is (the new camera's is taken)
			case r.Resource == "shifts" && r.Method == "POST":
				body["start_time"], body["end_time"] = "15:00", "20:00" // beside the fixture's shift
				body["breaks"] = []any{map[string]string{"start": "17:00", "end": "17:15"}}
			}
			var reqBody any
			if r.Body != nil {
				reqBody = body
			}
			before := len(ev.auditActions(chain))
			got := ev.do(req{method: r.Method, path: fillPath(r, ids, extra), token: tok, body: reqBody})
			if got.code >= 300 {
				t.Errorf("%s %s: %d %s (the walk needs a body the route accepts)", r.Method, r.Path, got.code, got.body)
				continue
			}
			walked++
			switch {
			case r.Method == "POST" && r.Resource == "cameras":
				cur.camera = idOf(t, got) // the fixture's camera is already mapped to its area
			case r.Method == "PUT" && r.Resource == "failures":
				cur.failureCode = body["code"].(string)
			}
			if after := ev.auditActions(chain); len(after) <= before {
				t.Errorf("%s %s changed something but left no AUDIT_LOG entry", r.Method, r.Path)
			}
		}
		if walked < 30 {
			t.Errorf("walked only %d changing routes", walked)
		}
	})
}
