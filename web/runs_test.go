package web_test

import (
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/store/storetest"
	"github.com/linepulse/linepulse/web"
)

// TestRunEndpoints: a product's ideal cycle time through the products API, the runs a
// line's detections make, an operator starting a run (RBAC, audit, validation), and
// another tenant's line, product or run out of reach.
func TestRunEndpoints(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		ev := newEnv(t, e)
		admin := ev.token("acme", "tenant_admin")
		f := ev.plant(ev.acme, admin, "acme")
		var second store.Product
		ev.must(http.StatusCreated, req{method: "POST", path: "/api/v1/products", token: admin, body: map[string]any{"name": "Jar", "ideal_cycle_ms": 0}}, &second)
		got := ev.do(req{method: "POST", path: "/api/v1/products", token: admin, body: map[string]any{"name": "Bad", "ideal_cycle_ms": -1}})
		if got.code != http.StatusBadRequest || !slices.Contains(errFields(got), "ideal_cycle_ms") {
			t.Fatalf("negative ideal cycle: %d %s", got.code, got.body)
		}
		var first store.Product
		ev.must(http.StatusOK, req{method: "GET", path: "/api/v1/products/" + itoa(f.ids["products"]), token: admin}, &first)
		if first.IdealCycleMS != 2500 {
			t.Fatalf("product %+v", first)
		}

		start := ev.clock.Now().Add(-3 * time.Hour).Truncate(time.Second)
		var dets []store.Detection
		for i := 0; i < 60; i++ { // 30 of the first product, then 30 of the second, every 10 s
			p := first.ID
			if i >= 30 {
				p = second.ID
			}
			dets = append(dets, store.Detection{ID: uint64(i + 1), At: start.Add(time.Duration(i) * 10 * time.Second), Area: f.ids["areas"], Product: p, OK: i != 5})
		}
		ev.write(ev.acme.ID, f.line, dets)
		lp := "/api/v1/lines/" + itoa(f.line)
		rng := url.Values{"from": {start.Add(-time.Hour).Format(time.RFC3339)}, "to": {ev.clock.Now().Add(time.Hour).Format(time.RFC3339)}}
		viewer, op := ev.token("acme", "viewer"), ev.token("acme", "operator")
		var list web.RunListResponse
		ev.must(http.StatusOK, req{method: "GET", path: lp + "/runs?" + rng.Encode(), token: viewer}, &list)
		if len(list.Items) != 2 || list.Items[0].ProductID != first.ID || list.Items[0].Total != 30 || list.Items[0].Reject != 1 ||
			list.Items[0].IdealCycleMS != 2500 || list.Items[1].ProductID != second.ID || list.Items[1].IdealCycleMS != 1000 ||
			!list.Items[1].Start.Equal(start.Add(300*time.Second)) || list.Items[1].Source != "camera" {
			t.Fatalf("runs %+v", list.Items)
		}
		long := url.Values{"from": {start.AddDate(0, 0, -40).Format(time.RFC3339)}, "to": {start.Format(time.RFC3339)}}
		ev.must(http.StatusBadRequest, req{method: "GET", path: lp + "/runs?" + long.Encode(), token: viewer}, nil)

		// Operators and supervisors set the product; viewers may not.
		ev.must(http.StatusForbidden, req{method: "POST", path: lp + "/runs", token: viewer, body: map[string]any{"product_id": first.ID}}, nil)
		before := len(ev.auditActions(ev.acme.ID))
		var m store.RunMark
		ev.must(http.StatusCreated, req{method: "POST", path: lp + "/runs", token: op, body: map[string]any{"product_id": first.ID}}, &m)
		if m.ID == 0 || m.ProductID != first.ID || m.LineID != f.line || !m.Start.Equal(ev.clock.Now().UTC().Truncate(time.Millisecond)) {
			t.Fatalf("run set %+v", m)
		}
		if acts := ev.auditActions(ev.acme.ID); len(acts) != before+1 || acts[len(acts)-1] != "run.set" {
			t.Errorf("audit %v", acts[before:])
		}
		ev.must(http.StatusCreated, req{method: "POST", path: lp + "/runs", token: ev.token("acme", "supervisor"),
			body: map[string]any{"product_id": second.ID, "start": start.Add(-time.Minute).Format(time.RFC3339)}}, nil)
		for name, body := range map[string]map[string]any{
			"no product":      {},
			"unknown product": {"product_id": 999999},
			"future":          {"product_id": first.ID, "start": ev.clock.Now().Add(time.Hour).Format(time.RFC3339)},
			"too old":         {"product_id": first.ID, "start": ev.clock.Now().Add(-48 * time.Hour).Format(time.RFC3339)},
			"unknown field":   {"product_id": first.ID, "line_id": 1},
		} {
			if got := ev.do(req{method: "POST", path: lp + "/runs", token: op, body: body}); got.code != http.StatusBadRequest {
				t.Errorf("%s: %d %s", name, got.code, got.body)
			}
		}
		ev.must(http.StatusOK, req{method: "GET", path: lp + "/runs?" + rng.Encode(), token: viewer}, &list)
		var sources []string
		for _, r := range list.Items {
			sources = append(sources, r.Source+":"+itoa(r.ProductID))
		}
		// The supervisor's run (second product, before the detections) takes nothing: the
		// camera sees the first product; the operator's run starts now.
		if want := []string{"operator:" + itoa(second.ID), "camera:" + itoa(first.ID), "camera:" + itoa(second.ID), "operator:" + itoa(first.ID)}; !slices.Equal(sources, want) {
			t.Errorf("runs %v, want %v", sources, want)
		}

		// Another tenant: acme's second line is not found, acme's second product is unknown.
		other := idOf(t, ev.must(http.StatusCreated, req{method: "POST", path: "/api/v1/lines", token: admin, body: bodies("acme2", refs{})["lines"]}, nil))
		badmin := ev.token("beta", "tenant_admin")
		fb := ev.plant(ev.beta, badmin, "beta")
		bop := ev.token("beta", "operator")
		op2 := "/api/v1/lines/" + itoa(other) + "/runs"
		ev.must(http.StatusNotFound, req{method: "GET", path: op2 + "?" + rng.Encode(), token: ev.token("beta", "viewer")}, nil)
		ev.must(http.StatusNotFound, req{method: "POST", path: op2, token: bop, body: map[string]any{"product_id": fb.ids["products"]}}, nil)
		ev.must(http.StatusBadRequest, req{method: "POST", path: "/api/v1/lines/" + itoa(fb.line) + "/runs", token: bop, body: map[string]any{"product_id": second.ID}}, nil)
	})
}
