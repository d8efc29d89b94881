package web_test

import (
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/store/storetest"
	"github.com/linepulse/linepulse/stream"
	"github.com/linepulse/linepulse/web"
)

// TestTargets sets a line's target for the fixture's Mon-Fri 06:00-14:00 shift (break
// 10:00-10:15: 27900 s planned) and reads it back in the shift list at 10:00 local on a
// Wednesday: 14400 s of planned time elapsed, so 1000 × 14400 / 27900 = 516 (rounded
// down) to now. Bad quantities, unknown shifts, other tenants' lines and roles without
// plant.write are refused.
func TestTargets(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		ev := newEnv(t, e)
		loc, err := time.LoadLocation(ev.acme.Config.Timezone)
		if err != nil {
			t.Fatal(err)
		}
		ev.clock.Add(time.Date(2026, 12, 2, 10, 0, 0, 0, loc).Sub(ev.clock.Now()))
		admin, viewer := ev.token("acme", "tenant_admin"), ev.token("acme", "viewer")
		f := ev.plant(ev.acme, admin, "acme")
		adminB := ev.token("beta", "tenant_admin")
		ev.plant(ev.beta, adminB, "beta2")
		fb := ev.plant(ev.beta, adminB, "beta") // its ids exceed acme's: none of them exists there
		shift := itoa(f.ids["shifts"])
		key := itoa(f.line) + "." + shift
		path := "/api/v1/targets/" + key
		body := func(line, shift, q any) map[string]any {
			return map[string]any{"line_id": line, "shift_id": shift, "quantity": q}
		}

		var x store.Target
		ev.must(http.StatusCreated, req{method: "POST", path: "/api/v1/targets", token: admin, body: body(f.line, f.ids["shifts"], 900)}, &x)
		ev.must(http.StatusOK, req{method: "PUT", path: path, token: admin, body: body(f.line, f.ids["shifts"], 1000)}, &x)
		if x.Quantity != 1000 || x.LineID != f.line || x.ShiftID != f.ids["shifts"] || x.Key != key {
			t.Fatalf("target %+v", x)
		}
		for name, b := range map[string]map[string]any{"zero": body(f.line, f.ids["shifts"], 0), "text": body(f.line, f.ids["shifts"], "many"),
			"no shift": body(f.line, 999999, 5), "no line": body(0, f.ids["shifts"], 5),
			"other tenant's line": body(fb.line, fb.ids["shifts"], 5)} {
			if got := ev.do(req{method: "POST", path: "/api/v1/targets", token: admin, body: b}); got.code != http.StatusBadRequest {
				t.Errorf("%s: %d %s", name, got.code, got.body)
			}
		}
		ev.must(http.StatusBadRequest, req{method: "PUT", path: path, token: admin, body: body(f.line, 999999, 5)}, nil) // line and shift are the key
		// Another tenant's target, from this tenant: not found.
		ev.must(http.StatusNotFound, req{method: "PUT", path: "/api/v1/targets/" + itoa(fb.line) + "." + itoa(fb.ids["shifts"]), token: admin, body: body(fb.line, fb.ids["shifts"], 5)}, nil)
		ev.must(http.StatusNotFound, req{method: "DELETE", path: "/api/v1/targets/" + itoa(fb.line) + "." + itoa(fb.ids["shifts"]), token: admin}, nil)
		ev.must(http.StatusForbidden, req{method: "PUT", path: path, token: viewer, body: body(f.line, f.ids["shifts"], 5)}, nil)
		var all web.Page[store.Target]
		ev.must(http.StatusOK, req{method: "GET", path: "/api/v1/targets?limit=500", token: viewer}, &all)
		if len(all.Items) != 1 || all.Items[0].Quantity != 1000 {
			t.Fatalf("targets %+v", all)
		}

		day := time.Date(2026, 12, 2, 0, 0, 0, 0, loc)
		rng := url.Values{"from": {day.Format(time.RFC3339)}, "to": {day.Add(24 * time.Hour).Format(time.RFC3339)}}
		lp := "/api/v1/lines/" + itoa(f.line)
		var list web.ShiftListResponse
		ev.must(http.StatusOK, req{method: "GET", path: lp + "/shifts?" + rng.Encode(), token: viewer}, &list)
		if len(list.Items) != 1 || !list.Items[0].Running || list.Items[0].Target != 1000 || list.Items[0].TargetToNow != 516 {
			t.Fatalf("shift list %+v", list.Items)
		}
		var d stream.ShiftDetail
		ev.must(http.StatusOK, req{method: "GET", path: lp + "/shifts/2026-12-02." + shift, token: viewer}, &d)
		if d.Target != 1000 || d.TargetToNow != 516 {
			t.Fatalf("shift detail target %d/%d", d.TargetToNow, d.Target)
		}

		ev.must(http.StatusNoContent, req{method: "DELETE", path: path, token: admin}, nil)
		ev.must(http.StatusNotFound, req{method: "DELETE", path: path, token: admin}, nil)
		list = web.ShiftListResponse{} // absent fields would keep the old values
		ev.must(http.StatusOK, req{method: "GET", path: lp + "/shifts?" + rng.Encode(), token: viewer}, &list)
		if list.Items[0].Target != 0 || list.Items[0].TargetToNow != 0 {
			t.Fatalf("after delete %+v", list.Items[0])
		}
		if acts := ev.auditActions(ev.acme.ID); !slices.Contains(acts, "target.set") || !slices.Contains(acts, "target.delete") {
			t.Errorf("audit actions %v", acts)
		}
	})
}
