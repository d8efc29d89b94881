package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/linepulse/linepulse/internal/testkit"
)

// TestDashboardFromConfiguration: a dashboard template saved with two widgets renders
// exactly those two (data-widget) on /dashboards/{id} and on the TV of a kiosk bound to
// it, live, without horizontal overflow on a phone; a widget parameter its JSON Schema
// refuses is refused with the schema's message.
func TestDashboardFromConfiguration(t *testing.T) {
	base, _ := startDemo(t, "boards@demo.test", "tenant_admin")
	token := login(t, base, "demo", "boards@demo.test", "e2e-password-123")
	var lines struct {
		Items []struct {
			ID int64 `json:"id"`
		} `json:"items"`
	}
	getJSON(t, base+"/api/v1/lines", token, &lines)
	if len(lines.Items) == 0 {
		t.Fatal("no demo lines")
	}
	line := lines.Items[0].ID
	layout := func(metric string) map[string]any {
		return map[string]any{"name": "Two widgets", "role_access": "viewer", "layout_config": map[string]any{"widgets": []any{
			map[string]any{"widget_type": "kpi_tile", "x": 0, "y": 0, "w": 4, "h": 2, "params": map[string]any{"line_id": line, "metric": metric}},
			map[string]any{"widget_type": "stop_timeline", "x": 4, "y": 0, "w": 8, "h": 2, "params": map[string]any{"line_id": line}},
		}}}
	}
	code, body := sendJSON(t, "POST", base+"/api/v1/dashboards", token, layout("vibes"))
	if code != http.StatusBadRequest || !strings.Contains(body, "layout_config.widgets[0]") || !strings.Contains(body, "params.metric: value must be one of") {
		t.Fatalf("invalid metric: %d %s; want 400 with the schema's message", code, body)
	}
	var dash struct {
		ID int64 `json:"id"`
	}
	code, body = sendJSON(t, "POST", base+"/api/v1/dashboards", token, layout("oee"))
	if code != http.StatusCreated || json.Unmarshal([]byte(body), &dash) != nil || dash.ID == 0 {
		t.Fatalf("create dashboard: %d %s", code, body)
	}
	var kiosk struct {
		TVURL string `json:"tv_url"`
	}
	code, body = sendJSON(t, "POST", base+"/api/v1/kiosks", token, map[string]any{"name": "Hall TV", "lines": []int64{}, "dashboard_id": dash.ID})
	if code != http.StatusCreated || json.Unmarshal([]byte(body), &kiosk) != nil || kiosk.TVURL == "" {
		t.Fatalf("create kiosk: %d %s", code, body)
	}

	bctx := browser(t, chromium)
	signIn(t, bctx, base, "boards@demo.test")
	testkit.CheckFor(t, time.Minute, 100*time.Millisecond, func() error {
		return testkit.Unless(evalNum(bctx, `document.querySelectorAll('nav, .lp-tile').length`) > 0, "not signed in yet")
	})
	const widgets = `Array.from(document.querySelectorAll('[data-widget]')).map(e => e.dataset.widget).join(',')`
	const live = `(document.querySelector('[data-widget=kpi_tile] .lp-metric') || {}).textContent || ''`
	const tileState = `(() => { const w = document.querySelector('[data-widget=kpi_tile]'); return (w && window.Alpine && (Alpine.$data(w).t || {}).state) || ''; })()`
	for _, page := range []struct{ name, url string }{
		{"dashboard", fmt.Sprintf("%s/dashboards/%d", base, dash.ID)},
		{"tv", base + kiosk.TVURL},
	} {
		browserStep(t, bctx, "open "+page.name, chromedp.Navigate(page.url))
		testkit.CheckFor(t, time.Minute, 100*time.Millisecond, func() error {
			got, err := chromedp.Run(bctx, chromedp.Evaluate[string](widgets))
			return testkit.Unless(err == nil && got == "kpi_tile,stop_timeline", "%s shows widgets %q (%v), want kpi_tile,stop_timeline", page.name, got, err)
		})
		testkit.CheckFor(t, time.Minute, 100*time.Millisecond, func() error {
			got, _ := chromedp.Run(bctx, chromedp.Evaluate[string](live))
			// In a shift's break before any data of the shift (the demo started then), OEE is
			// not a figure yet (docs/OEE.md): the tile must say so, not show a number.
			state, _ := chromedp.Run(bctx, chromedp.Evaluate[string](tileState))
			if state == "planned_stop" && got == "—" {
				return nil
			}
			return testkit.Unless(strings.Contains(got, "%"), "%s: the OEE tile reads %q (state %q), want a live percentage", page.name, got, state)
		})
		screenshot(bctx, "dashboard-"+page.name)
	}
	// Every built-in widget on one dashboard (a screenshot for people to look at).
	all := []any{}
	for i, w := range []struct {
		typ    string
		w, h   int
		params map[string]any
	}{
		{"clock_banner", 12, 1, map[string]any{"line_id": line}},
		{"kpi_tile", 3, 2, map[string]any{"line_id": line, "metric": "oee"}},
		{"oee_gauge", 5, 2, map[string]any{"line_id": line}},
		{"counter_target", 4, 2, map[string]any{"line_id": line}},
		{"line_state", 3, 2, map[string]any{"line_id": line}},
		{"stop_timeline", 9, 2, map[string]any{"line_id": line}},
		{"production_chart", 8, 3, map[string]any{"line_id": line, "interval": "hour"}},
		{"product_mix", 4, 3, map[string]any{"line_id": line}},
		{"downtime_list", 4, 3, map[string]any{"line_id": line}},
		{"plant_map", 8, 3, map[string]any{}},
	} {
		all = append(all, map[string]any{"widget_type": w.typ, "x": 0, "y": i, "w": w.w, "h": w.h, "params": w.params})
	}
	var full struct {
		ID int64 `json:"id"`
	}
	code, body = sendJSON(t, "POST", base+"/api/v1/dashboards", token, map[string]any{"name": "Everything", "role_access": "supervisor", "layout_config": map[string]any{"widgets": all}})
	if code != http.StatusCreated || json.Unmarshal([]byte(body), &full) != nil {
		t.Fatalf("dashboard of every widget: %d %s", code, body)
	}
	browserStep(t, bctx, "open every widget", chromedp.Navigate(fmt.Sprintf("%s/dashboards/%d", base, full.ID)))
	testkit.CheckFor(t, time.Minute, 100*time.Millisecond, func() error {
		n := evalNum(bctx, `document.querySelectorAll('[data-widget]').length`)
		live := evalNum(bctx, `document.querySelector('[data-widget=counter_target] .lp-count').textContent.trim() !== '0' && document.querySelectorAll('.lp-area').length > 0 ? 1 : 0`)
		return testkit.Unless(n == 10 && live == 1, "%v widgets (live %v)", n, live)
	})
	screenshot(bctx, "dashboard-every-widget")
	// The counter counts against the shift's production target: the demo gives each of a
	// line's shifts the same one.
	var targets struct {
		Items []struct {
			LineID   int64 `json:"line_id"`
			Quantity int64 `json:"quantity"`
		} `json:"items"`
	}
	getJSON(t, base+"/api/v1/targets", token, &targets)
	want := ""
	for _, x := range targets.Items {
		if x.LineID == line {
			want = strconv.FormatInt(x.Quantity, 10)
		}
	}
	testkit.CheckFor(t, time.Minute, 100*time.Millisecond, func() error {
		counter, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`document.querySelector('[data-widget=counter_target] .lp-target').textContent.replace(/\D/g, '')`))
		return testkit.Unless(want != "" && counter == want, "the counter's target is %q, the shift's %q", counter, want)
	})

	// The grid editor: a new dashboard with a production chart; the schema refuses 9999
	// hours and the refusal shows on the widget; 12 hours are saved.
	browserStep(t, bctx, "new dashboard", chromedp.Navigate(base+"/dashboards"), chromedp.WaitVisible(chromedp.ID("new-board")), chromedp.Click(chromedp.ID("new-board")))
	setField := func(sel, value, event string) error {
		got, err := chromedp.Run(bctx, chromedp.Evaluate[string](fmt.Sprintf(`(() => { const e = document.querySelector(%q); if (!e) throw new Error('no %s'); e.value = %q; e.dispatchEvent(new Event(%q, {bubbles: true})); return e.value })()`, sel, sel, value, event)))
		return testkit.Unless(err == nil && got == value, "%s holds %q (%v), want %q", sel, got, err, value)
	}
	testkit.CheckFor(t, time.Minute, 100*time.Millisecond, func() error {
		return setField("#add-type", "production_chart", "change")
	})
	browserStep(t, bctx, "add widget", chromedp.Click(chromedp.ID("add-widget")), chromedp.WaitVisible(chromedp.CSS(`[data-param=hours]`)))
	edited := func(hours, want string) {
		t.Helper()
		if err := setField("[data-param=hours]", hours, "input"); err != nil {
			t.Fatal(err)
		}
		browserStep(t, bctx, "save", chromedp.Click(chromedp.ID("save-board")))
		testkit.CheckFor(t, time.Minute, 100*time.Millisecond, func() error {
			got, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`(document.querySelector('.lp-widget-error') || {}).textContent || document.body.innerText`))
			return testkit.Unless(strings.Contains(got, want), "editor says %.300q, want %q", got, want)
		})
	}
	edited("9999", "params.hours: maximum")
	edited("12", "Saved")
	screenshot(bctx, "dashboard-editor")
	var boards struct {
		Items []struct {
			Name         string          `json:"name"`
			LayoutConfig json.RawMessage `json:"layout_config"`
		} `json:"items"`
	}
	getJSON(t, base+"/api/v1/dashboards", token, &boards)
	saved := ""
	for _, b := range boards.Items {
		if b.Name == "New dashboard" {
			saved = string(b.LayoutConfig)
		}
	}
	if !strings.Contains(saved, `"widget_type":"production_chart"`) || !strings.Contains(saved, `"hours":12`) {
		t.Errorf("the editor saved %s", saved)
	}

	// The plant map: the demo's areas over an uploaded floor plan, coloured by their line's
	// state; an area opens its line.
	plan := base64.StdEncoding.EncodeToString([]byte(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 200 120"><rect width="200" height="120" fill="#1e293b"/><script>alert(1)</script></svg>`))
	if code, body := sendJSON(t, "PUT", base+"/api/v1/floorplan", token, map[string]string{"content_type": "image/svg+xml", "data": plan}); code != http.StatusOK {
		t.Fatalf("floor plan: %d %s", code, body)
	}
	browserStep(t, bctx, "open the map", chromedp.Navigate(base+"/map"))
	testkit.CheckFor(t, time.Minute, 100*time.Millisecond, func() error {
		n := evalNum(bctx, `document.querySelectorAll('[data-widget=plant_map] .lp-area').length`)
		img := evalNum(bctx, `(document.querySelector('.lp-map img') || {src: ''}).src.startsWith('data:image/svg+xml') ? 1 : 0`)
		painted := evalNum(bctx, `Array.from(document.querySelectorAll('.lp-area')).filter(a => a.style.backgroundColor && !a.style.backgroundColor.includes('51, 65, 85')).length`)
		return testkit.Unless(n >= 3 && img == 1 && painted == n, "%v areas (%v coloured by a live state), floor plan shown %v", n, painted, img)
	})
	screenshot(bctx, "map")
	browserStep(t, bctx, "click an area", chromedp.Click(chromedp.CSS(`.lp-area`)))
	testkit.CheckFor(t, time.Minute, 100*time.Millisecond, func() error {
		loc, _ := chromedp.Run(bctx, chromedp.Location())
		return testkit.Unless(strings.Contains(loc, "/lines/"), "clicking an area went to %s", loc)
	})

	// A phone: no page of this feature overflows horizontally.
	browserStep(t, bctx, "phone", chromedp.EmulateViewport(390, 844))
	for _, page := range []string{fmt.Sprintf("/dashboards/%d", dash.ID), "/", "/map", "/dashboards", fmt.Sprintf("/dashboards/%d/edit", dash.ID), fmt.Sprintf("/lines/%d", line)} {
		browserStep(t, bctx, "phone "+page, chromedp.Navigate(base+page))
		testkit.CheckFor(t, time.Minute, 100*time.Millisecond, func() error {
			w := evalNum(bctx, `document.querySelector('#filters select[name=range] option, .lp-board-row, .lp-edit-widget, .lp-area') ? document.documentElement.scrollWidth : -1`)
			return testkit.Unless(w > 0 && w <= 390, "%s is %v px wide at 390 px", page, w)
		})
		screenshot(bctx, "phone"+strings.ReplaceAll(page, "/", "-"))
	}
}

// screenshot keeps a PNG of the page in the temporary directory for people to look at.
func screenshot(bctx context.Context, name string) {
	if b, err := chromedp.Run(bctx, chromedp.FullScreenshot(100)); err == nil {
		os.WriteFile(filepath.Join(os.TempDir(), "linepulse-e2e-"+name+".png"), b, 0o644)
	}
}

// sendJSON sends v as JSON with a bearer token and returns the status and body.
func sendJSON(t *testing.T, method, url, token string, v any) (int, string) {
	t.Helper()
	b, _ := json.Marshal(v)
	req, _ := http.NewRequest(method, url, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}
