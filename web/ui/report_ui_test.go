package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/linepulse/linepulse/internal/testkit"
	"github.com/linepulse/linepulse/loss"
	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/store/storetest"
	"github.com/linepulse/linepulse/stream"
	"github.com/linepulse/linepulse/web"
)

// reportSite is the real API over SQLite with history behind the UI: a tenant (Europe/
// Madrid) with one line, a daily 06:00-14:00 shift, yesterday's production with a coded,
// commented stop and an incident, and a second tenant's line.
type reportSite struct {
	srv            *httptest.Server
	tdb            *store.TenantDB
	line, foreign  int64
	instance       string
	token, esToken string
}

func newReportSite(t *testing.T) reportSite {
	t.Helper()
	bg := context.Background()
	st := storetest.Engines(t)[0].Open(t)
	tdb := storetest.Tenant(t, st, "acme")
	other := storetest.Tenant(t, st, "beta")
	srv := apiSite(t, web.Deps{Store: st, Analytics: stream.NewHistory(st, store.NewMetaCache(st))},
		store.User{TenantID: tdb.ID(), Email: "sup@acme.test", Role: store.RoleSupervisor}, store.User{TenantID: tdb.ID(), Email: "es@acme.test", Role: store.RoleViewer, Language: "es"})

	line := store.Line{Name: "Filler", Availability: 0.9, Performance: 0.95, Quality: 0.99, DowntimeThresholdMS: 30000, IdealCycleTimeMS: 5000, Active: true}
	if err := tdb.CreateLine(bg, &line); err != nil {
		t.Fatal(err)
	}
	// The other tenant's second line: an id the first tenant does not have.
	var foreign store.Line
	for _, name := range []string{"Beta one", "Beta two"} {
		foreign = store.Line{Name: name, DowntimeThresholdMS: 30000, IdealCycleTimeMS: 1000, Active: true}
		if err := other.CreateLine(bg, &foreign); err != nil {
			t.Fatal(err)
		}
	}
	sh := store.Shift{Name: "Morning", StartTime: "06:00", EndTime: "14:00", DaysImplemented: store.JSON(`[1,2,3,4,5,6,7]`), Breaks: store.JSON(`[]`), Active: true}
	if err := tdb.Shifts.Create(bg, &sh); err != nil {
		t.Fatal(err)
	}
	if err := tdb.SetTarget(bg, &store.Target{LineID: line.ID, ShiftID: sh.ID, Quantity: 2500}); err != nil {
		t.Fatal(err)
	}
	jam := store.Failure{Code: "JAM", Name: "Jam at the filler"}
	if err := tdb.Failures.Create(bg, &jam); err != nil {
		t.Fatal(err)
	}
	loc, _ := time.LoadLocation("Europe/Madrid")
	y := time.Now().In(loc).AddDate(0, 0, -1)
	day := time.Date(y.Year(), y.Month(), y.Day(), 0, 0, 0, 0, loc)
	var dets []store.Detection
	for ts := day.Add(6 * time.Hour); ts.Before(day.Add(13 * time.Hour)); ts = ts.Add(10 * time.Second) {
		if ts.Hour() == 9 && ts.Minute() < 20 { // the stop
			continue
		}
		dets = append(dets, store.Detection{ID: uint64(len(dets) + 1), At: ts, Area: 1, Product: 1, OK: len(dets)%50 != 7})
	}
	pool, err := tdb.NewWriterPool(bg, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tdb.WriteDetections(bg, pool, line.ID, dets); err != nil {
		t.Fatal(err)
	}
	pool.Close()
	start := day.Add(9 * time.Hour)
	end := start.Add(20 * time.Minute)
	de := store.DowntimeEvent{Start: start, End: &end, DurationMS: end.Sub(start).Milliseconds()}
	if err := tdb.UpsertDowntime(bg, line.ID, &de); err != nil {
		t.Fatal(err)
	}
	if err := tdb.SetDowntimeReason(bg, line.ID, de.ID, "JAM", "bottle stuck in the star wheel", 0); err != nil {
		t.Fatal(err)
	}
	inc := store.Incident{LineID: line.ID, DowntimeEventID: de.ID, Title: "Star wheel jam", Description: "cleared by hand", OccurredAt: start.Add(time.Minute)}
	if err := tdb.Incidents.Create(bg, &inc); err != nil {
		t.Fatal(err)
	}
	return reportSite{srv: srv, tdb: tdb, line: line.ID, foreign: foreign.ID, instance: day.Format("2006-01-02") + "." + strconv.FormatInt(sh.ID, 10),
		token: login(t, srv, "acme", "sup@acme.test"), esToken: login(t, srv, "acme", "es@acme.test")}
}

// get fetches a path of the site with a bearer token.
func (s reportSite) get(t *testing.T, path, token string) (int, []byte) {
	t.Helper()
	rq, _ := http.NewRequest("GET", s.srv.URL+path, nil)
	rq.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(rq)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestShiftReportPage opens the printable shift report in Chromium from the line page and
// compares what it shows with the API's JSON of the same report; prints without the
// navigation; links to the PDF and CSV; the plant report of that day shows the API's
// totals; a recent query is saved as a named view on /losses; the report speaks Spanish;
// another tenant's line is not found.
func TestShiftReportPage(t *testing.T) {
	builtUI(t)
	s := newReportSite(t)
	ctx := startBrowser(t)
	code, body := s.get(t, fmt.Sprintf("/api/v1/lines/%d/shifts/%s/report", s.line, s.instance), s.token)
	var rep web.ShiftReport
	if code != http.StatusOK || json.Unmarshal(body, &rep) != nil {
		t.Fatalf("report JSON: %d %s", code, body)
	}
	if rep.Shift.Total == 0 || len(rep.Shift.Stops) != 1 || len(rep.Pareto.Groups) != 1 || len(rep.Incidents) != 1 || len(rep.Production) != 8 || rep.Zone != "Europe/Madrid" {
		t.Fatalf("report %+v", rep)
	}

	page := func(path, tok string) (int, string) {
		t.Helper()
		rq, _ := http.NewRequest("GET", s.srv.URL+path, nil)
		rq.AddCookie(&http.Cookie{Name: web.AccessCookie, Value: tok})
		resp, err := http.DefaultClient.Do(rq)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	reportPath := fmt.Sprintf("/lines/%d/shifts/%s/report", s.line, s.instance)
	if code, b := page(reportPath, s.token); code != http.StatusOK || !strings.Contains(b, `id="kpi-oee"`) {
		t.Fatalf("report page: %d\n%s", code, b)
	}
	run := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 45*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector(`+strconv.Quote(sel)+`)?.textContent.trim() ?? ''`))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	waitJS := func(what, js string) {
		t.Helper()
		testkit.CheckFor(t, 30*time.Second, 50*time.Millisecond, func() error {
			v, err := chromedp.Run(ctx, chromedp.Evaluate[any](js))
			return testkit.Unless(err == nil && v == true, "%s: %s (got %v, %v)", what, js, v, err)
		})
	}
	cookie := func(tok string) chromedp.Action[chromedp.Void] {
		return chromedp.Action[chromedp.Void](func(c context.Context, tg *chromedp.Target) (chromedp.Void, error) {
			_, err := cdp.Call(c, tg, network.SetCookie, network.SetCookieParams{Name: web.AccessCookie, Value: tok, URL: s.srv.URL + "/"})
			return chromedp.Void{}, err
		})
	}
	run("open the line page", cookie(s.token), chromedp.Navigate(fmt.Sprintf("%s/lines/%d", s.srv.URL, s.line)))
	// The line page's loss waterfall shows what the API answers for the range the page
	// asked for (its last losses request).
	waitJS("line waterfall", `document.querySelectorAll('#waterfall > li').length > 0`)
	lossURL, err := chromedp.Run(ctx, chromedp.Evaluate[string](`performance.getEntriesByType('resource').map((e) => e.name).filter((n) => n.includes('/losses?')).pop() ?? ''`))
	if err != nil || !strings.HasPrefix(lossURL, s.srv.URL+fmt.Sprintf("/api/v1/lines/%d/losses?", s.line)) {
		t.Fatalf("the line page's losses request: %q, %v", lossURL, err)
	}
	code, body = s.get(t, strings.TrimPrefix(lossURL, s.srv.URL), s.token)
	var lr stream.LossReport
	if code != http.StatusOK || json.Unmarshal(body, &lr) != nil || lr.Losses.PlannedS <= 0 {
		t.Fatalf("losses JSON: %d %s", code, body)
	}
	waitJS("line waterfall bars", fmt.Sprintf(`document.querySelectorAll('#waterfall > li').length === %d`, len(wantBars(lr.Losses))))
	checkWaterfall(t, "line page", readWaterfall(t, ctx, "#waterfall"), lr.Losses, "en", "Not coded")
	waitJS("link to the report", `!!document.querySelector('a.lp-shift-report[href$="/shifts/`+s.instance+`/report"]')`)
	// Instances without data (the days before yesterday's) show an unknown OEE, not 0 %.
	waitJS("unknown OEE without data", `[...document.querySelectorAll('a.lp-shift-report')].some((a) => a.textContent.includes('—')) &&
		![...document.querySelectorAll('a.lp-shift-report')].some((a) => /\b0\.0 %/.test(a.textContent))`)
	// Follow it; the list may be redrawn under a click on a loaded machine, so click again
	// until the report page is there.
	waitJS("report page", `(() => { if (!location.pathname.endsWith('/report')) {
		document.querySelector('a.lp-shift-report[href$="/shifts/`+s.instance+`/report"]')?.click(); return false; }
		return !!document.querySelector('#kpi-oee'); })()`)

	want := map[string]string{
		"#report-line": rep.Line.Name, "#report-tenant": rep.Tenant,
		"#kpi-oee .lp-actual": web.Percent(rep.Shift.OEE), "#kpi-availability .lp-actual": web.Percent(rep.Shift.Availability),
		"#kpi-performance .lp-actual": web.Percent(rep.Shift.Performance), "#kpi-quality .lp-actual": web.Percent(rep.Shift.Quality),
		"#kpi-availability .lp-target": web.Percent(rep.Line.Availability),
		"#count-total dd":              strconv.FormatInt(rep.Shift.Total, 10), "#count-good dd": strconv.FormatInt(rep.Shift.Good, 10),
		"#count-reject dd": strconv.FormatInt(rep.Shift.Reject, 10), "#count-downtime dd": fmt.Sprintf("%.1f", rep.Shift.DowntimeS/60),
		"#report-stops .lp-comment": rep.Shift.Stops[0].Comment,
		// The production target: good units against the planned quantity.
		"#kpi-good_target .lp-actual": strconv.FormatInt(rep.Shift.Good, 10), "#kpi-good_target .lp-target": "2500",
	}
	if rep.Shift.Target != 2500 {
		t.Errorf("the report's target is %d, want 2500", rep.Shift.Target)
	}
	for sel, w := range want {
		if got := text(sel); got != w {
			t.Errorf("%s shows %q, the API says %q", sel, got, w)
		}
	}
	// Planned time without data is said, not hidden behind A = 100 %.
	if got, w := text("#count-unmonitored dd"), fmt.Sprintf("%.1f", rep.Shift.UnmonitoredS/60); (rep.Shift.UnmonitoredS > 0) != (got == w) || (rep.Shift.UnmonitoredS == 0 && got != "") {
		t.Errorf("without data shows %q, the API says %.0f s", got, rep.Shift.UnmonitoredS)
	}
	t.Logf("the shift's planned time without data: %.0f s", rep.Shift.UnmonitoredS)
	loc, _ := time.LoadLocation(rep.Zone)
	if p := text("#report-period"); !strings.Contains(p, rep.Shift.Start.In(loc).Format("2006-01-02 15:04")) || !strings.Contains(p, "06:00") {
		t.Errorf("period %q is not in the tenant's zone", p)
	}
	g := rep.Pareto.Groups[0]
	if row := text("#report-pareto .lp-pareto-row"); !strings.Contains(row, "JAM") || !strings.Contains(row, fmt.Sprintf("%.1f", g.DurationS/60)) || !strings.Contains(row, web.Percent(g.Cumulative)) {
		t.Errorf("pareto row %q, API %+v", row, g)
	}
	if inc := text("#report-incidents"); !strings.Contains(inc, "Star wheel jam") {
		t.Errorf("incidents %q", inc)
	}
	waitJS("chart and timeline", `document.querySelectorAll('#report-chart .lp-bar').length === 8 && document.querySelectorAll('#report-timeline .lp-seg').length === 1`)
	// The loss waterfall: the JSON's, bar by bar; the coded stop is its category JAM.
	checkWaterfall(t, "report page", readWaterfall(t, ctx, "#report-waterfall"), rep.Shift.Losses, "en", "Not coded")
	if !slices.ContainsFunc(rep.Shift.Losses.Buckets, func(b loss.Bucket) bool { return b.Kind == loss.KindUnplannedStop && b.Key == "JAM" && b.Seconds > 0 }) {
		t.Errorf("the report's waterfall has no unplanned stop JAM: %+v", rep.Shift.Losses.Buckets)
	}

	// The downloads are the same report.
	for _, sel := range []string{"#report-pdf", "#report-csv"} {
		h, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector(`+strconv.Quote(sel)+`).getAttribute('href')`))
		if err != nil {
			t.Fatal(err)
		}
		if code, b := s.get(t, strings.TrimPrefix(h, s.srv.URL), s.token); code != http.StatusOK || len(b) == 0 {
			t.Errorf("%s: %d", h, code)
		}
	}

	// Printed: no navigation, no buttons, black on white.
	run("print media", chromedp.Action[chromedp.Void](func(c context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(c, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"})
		return chromedp.Void{}, err
	}))
	waitJS("printed without navigation", `getComputedStyle(document.querySelector('body > header')).display === 'none' &&
		document.querySelector('#report-pdf').getClientRects().length === 0 && getComputedStyle(document.body).backgroundColor === 'rgb(255, 255, 255)'`)
	run("screen media", chromedp.Action[chromedp.Void](func(c context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(c, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: ""})
		return chromedp.Void{}, err
	}))

	// The plant report of the same day: the API's totals, a link to the shift report.
	date := strings.SplitN(s.instance, ".", 2)[0]
	code, body = s.get(t, "/api/v1/reports/plant?period=day&date="+date, s.token)
	var plant web.PlantReport
	if code != http.StatusOK || json.Unmarshal(body, &plant) != nil || len(plant.Lines) != 1 {
		t.Fatalf("plant JSON: %d %s", code, body)
	}
	run("open the plant report", chromedp.Navigate(s.srv.URL+"/reports/plant?period=day&date="+date))
	waitJS("plant page", `!!document.querySelector('#plant-total')`)
	for sel, w := range map[string]string{"#plant-total .lp-kpi-oee dd": web.Percent(plant.Total.OEE), "#plant-total .lp-kpi-total dd": strconv.FormatInt(plant.Total.Total, 10),
		".lp-plant-line .lp-kpi-availability dd": web.Percent(plant.Lines[0].OEE.Availability), "#plant-tenant": plant.Tenant} {
		if got := text(sel); got != w {
			t.Errorf("plant page %s shows %q, the API says %q", sel, got, w)
		}
	}
	waitJS("links to the shift report and the PDF", `!!document.querySelector('.lp-plant-line a.lp-shift-report[href$="/shifts/`+s.instance+`/report"]') && document.querySelector('#plant-pdf').getAttribute('href').startsWith('/api/v1/reports/plant.pdf?')`)
	// A day before any data: unknown indicators read "—", not 0 %, as on the live tiles.
	run("a day without data", chromedp.Navigate(s.srv.URL+"/reports/plant?period=day&date=2020-01-06"))
	waitJS("the empty day", `!!document.querySelector('#plant-total') && location.search.includes('2020-01-06')`)
	if got := text("#plant-total .lp-kpi-oee dd"); got != "—" {
		t.Errorf("a day without data shows OEE %q, want —", got)
	}
	run("back to the day", chromedp.Navigate(s.srv.URL+"/reports/plant?period=day&date="+date))
	waitJS("plant page again", `!!document.querySelector('#plant-total') && location.search.includes('`+date+`')`)
	run("choose the week", chromedp.SetValue(chromedp.CSS(`#plant-form select[name="period"]`), "week"), chromedp.Click(chromedp.CSS("#plant-show")))
	waitJS("the week", `location.search.includes('period=week') && document.querySelector('#plant-period').textContent.includes('Week')`)

	// Saved views: name a recent query on /losses; it moves to the saved views.
	run("open the losses page", chromedp.Navigate(s.srv.URL+"/losses"))
	waitJS("recent queries", `document.querySelectorAll('#saved-views .lp-history').length > 0`)
	run("name the newest query", chromedp.SendKeys(chromedp.CSS("#saved-views .lp-history input"), "Morning report"),
		chromedp.Click(chromedp.CSS("#saved-views .lp-history .lp-save-view")))
	waitJS("saved", `[...document.querySelectorAll('#saved-views .lp-saved-view input')].some((i) => i.value === 'Morning report')`)
	code, body = s.get(t, "/api/v1/queries?saved=true", s.token)
	if code != http.StatusOK || !strings.Contains(string(body), `"name":"Morning report"`) {
		t.Fatalf("saved views: %d %s", code, body)
	}

	// In Spanish, with a decimal comma.
	run("in Spanish", cookie(s.esToken), chromedp.Navigate(s.srv.URL+reportPath))
	waitJS("Spanish page", `document.documentElement.lang === 'es' && !!document.querySelector('#kpi-oee')`)
	if got, w := text("#kpi-oee .lp-actual"), strings.Replace(web.Percent(rep.Shift.OEE), ".", ",", 1); got != w || !strings.Contains(text("h1"), "Informe de turno") {
		t.Errorf("Spanish OEE %q (want %q), title %q", got, w, text("h1"))
	}
	checkWaterfall(t, "Spanish report page", readWaterfall(t, ctx, "#report-waterfall"), rep.Shift.Losses, "es", "Sin codificar")
	if got := text("#report-waterfall .lp-wf-label"); got != "Tiempo planificado" {
		t.Errorf("Spanish waterfall starts with %q, want Tiempo planificado", got)
	}

	// Another tenant's line, an unknown instance: not found; no session: sign in.
	for _, p := range []string{fmt.Sprintf("/lines/%d/shifts/%s/report", s.foreign, s.instance), fmt.Sprintf("/lines/%d/shifts/2001-01-01.999/report", s.line)} {
		if code, _ := page(p, s.token); code != http.StatusNotFound {
			t.Errorf("%s: %d", p, code)
		}
	}
	if code, b := page("/reports/plant?date=someday", s.token); code != http.StatusBadRequest || !strings.Contains(b, "YYYY-MM-DD") {
		t.Errorf("a bad date: %d", code)
	}
}
