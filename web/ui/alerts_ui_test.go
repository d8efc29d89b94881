package ui

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/linepulse/linepulse/alert"
	"github.com/linepulse/linepulse/internal/testkit"
	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/store/storetest"
	"github.com/linepulse/linepulse/web"
)

// TestBellAndNotificationCentre runs the real API over SQLite behind the UI in Chromium:
// the bell counts the firing alerts, acknowledging one in the notification centre takes
// the count down, a new alert takes it up after a reload, and the delivery log opens.
func TestBellAndNotificationCentre(t *testing.T) {
	builtUI(t)
	ctx := startBrowser(t)
	bg := context.Background()
	st := storetest.Engines(t)[0].Open(t)
	tdb := storetest.Tenant(t, st, "acme")
	links, err := alert.NewLinks([]byte("a test key of at least thirty-two bytes"))
	if err != nil {
		t.Fatal(err)
	}
	srv := apiSite(t, web.Deps{Store: st, AckLinks: links}, store.User{TenantID: tdb.ID(), Email: "sup@acme.test", Role: store.RoleSupervisor})

	line := store.Line{Name: "Filler", Availability: 0.9, Performance: 0.9, Quality: 0.9, DowntimeThresholdMS: 30000, IdealCycleTimeMS: 1000, Active: true}
	if err := tdb.CreateLine(bg, &line); err != nil {
		t.Fatal(err)
	}
	ch := store.AlertChannel{Name: "in-app", Kind: store.ChannelBrowser}
	if err := tdb.AlertChannels.Create(bg, &ch); err != nil {
		t.Fatal(err)
	}
	rule := store.AlertRule{Name: "Line stopped", Kind: store.RuleLineDown, Channels: []int64{ch.ID}, Active: true}
	if err := tdb.AlertRules.Create(bg, &rule); err != nil {
		t.Fatal(err)
	}
	fire := func(occ string) int64 {
		al := store.Alert{RuleID: rule.ID, LineID: line.ID, Occurrence: occ, Kind: rule.Kind, Severity: "warning", StartedAt: time.Now()}
		if _, err := tdb.OpenAlert(bg, &al, rule.Channels); err != nil {
			t.Fatal(err)
		}
		return al.ID
	}
	fire("a")
	fire("b")

	tok := web.TokenResponse{AccessToken: login(t, srv, "acme", "sup@acme.test")}

	waitJS := func(what, js string) {
		t.Helper()
		testkit.CheckFor(t, 30*time.Second, 50*time.Millisecond, func() error {
			v, err := chromedp.Run(ctx, chromedp.Evaluate[any](js))
			return testkit.Unless(err == nil && v == true, "%s: %s (got %v, %v)", what, js, v, err)
		})
	}
	run := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 45*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	run("sign in and open the notification centre",
		chromedp.Action[chromedp.Void](func(c context.Context, tg *chromedp.Target) (chromedp.Void, error) {
			_, err := cdp.Call(c, tg, network.SetCookie, network.SetCookieParams{Name: web.AccessCookie, Value: tok.AccessToken, URL: srv.URL + "/"})
			return chromedp.Void{}, err
		}),
		chromedp.Navigate(srv.URL+"/alerts"))
	waitJS("bell shows 2", `document.querySelector('#bell-count')?.textContent.trim() === '2' && document.querySelectorAll('.lp-alert-row').length === 2`)

	run("acknowledge one", chromedp.SendKeys(chromedp.CSS(".lp-ack-comment"), "on my way"), chromedp.Click(chromedp.CSS(".lp-ack")))
	waitJS("bell shows 1", `document.querySelector('#bell-count')?.textContent.trim() === '1' && document.querySelectorAll('.lp-alert-row').length === 1`)
	acked, err := tdb.ListAlerts(bg, store.AlertAcknowledged, store.Page{})
	if err != nil || len(acked) != 1 || acked[0].AckComment != "on my way" {
		t.Fatalf("acknowledged: %+v %v", acked, err)
	}

	third := fire("c")
	run("reload", chromedp.Reload())
	waitJS("bell shows 2 again", `document.querySelector('#bell-count')?.textContent.trim() === '2'`)

	run("acknowledged list with its delivery log", chromedp.Click(chromedp.CSS(`button[data-state="acknowledged"]`)))
	waitJS("acknowledged row", `document.querySelectorAll('.lp-alert-row').length === 1 && document.querySelector('.lp-alert-row').textContent.includes('on my way')`)
	run("open deliveries", chromedp.Click(chromedp.CSS(".lp-deliveries")))
	waitJS("deliveries shown", `[...document.querySelectorAll('.lp-alert-row li')].some((li) => li.offsetParent !== null)`)

	// The e-mail's acknowledge link works signed out.
	link := "/alerts/ack?token=" + links.Token(tdb.ID(), third, ch.ID, time.Now().Add(time.Hour))
	run("sign out, open the e-mail's link",
		chromedp.Action[chromedp.Void](func(c context.Context, tg *chromedp.Target) (chromedp.Void, error) {
			_, err := cdp.Call(c, tg, network.ClearBrowserCookies, cdp.Empty{})
			return chromedp.Void{}, err
		}),
		chromedp.Navigate(srv.URL+link))
	waitJS("ack page", `!!document.querySelector('#ack-submit') && location.pathname === '/alerts/ack'`)
	run("acknowledge by link", chromedp.SendKeys(chromedp.CSS("#ack-comment"), "from the mail"), chromedp.Click(chromedp.CSS("#ack-submit")))
	waitJS("acknowledged by link", `document.querySelector('#ack-result')?.offsetParent !== null && document.querySelector('#ack-result').textContent.trim() !== ''`)
	if al, err := tdb.GetAlert(bg, third); err != nil || al.State != store.AlertAcknowledged || al.AckComment != "from the mail" {
		t.Fatalf("acknowledged by link: %+v %v", al, err)
	}
}

// TestStopBannerSurvivesReload: a page opened (or reloaded) while a line is down shows the
// stop banner with its start and elapsed time, from the snapshot and the open event.
func TestStopBannerSurvivesReload(t *testing.T) {
	u := builtUI(t)
	ctx := startBrowser(t)
	hub := newStubHub(t)
	hub.mu.Lock()
	hub.state[2] = "down"
	hub.mu.Unlock()
	mux := http.NewServeMux()
	(&stubAPI{}).register(mux)
	mux.Handle("GET /ws", hub)
	mux.Handle("/", u.Handler())
	start := time.Now().Add(-7 * time.Minute).UTC().Truncate(time.Millisecond)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "GET" && r.URL.Path == "/api/v1/lines/2/downtime" {
			writeJSON(w, 200, map[string]any{"items": []map[string]any{{"id": 0, "line_id": 2, "start": start, "end": nil, "duration_ms": 0, "reason_code": ""}}})
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	run := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 45*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	banner := `(() => { const b = document.querySelector('#downtime-banner [data-alert-line="2"]');
		return !!b && b.offsetParent !== null && b.textContent.includes('Packaging') && /down \d/.test(b.textContent); })()`
	wait := func(what string) {
		t.Helper()
		testkit.CheckFor(t, 30*time.Second, 50*time.Millisecond, func() error {
			v, err := chromedp.Run(ctx, chromedp.Evaluate[any](banner))
			return testkit.Unless(err == nil && v == true, "%s: banner not shown (%v, %v)", what, v, err)
		})
	}
	run("open the dashboard mid-stop",
		chromedp.Action[chromedp.Void](func(c context.Context, tg *chromedp.Target) (chromedp.Void, error) {
			_, err := cdp.Call(c, tg, network.SetCookie, network.SetCookieParams{Name: stubCookie, Value: stubSession, URL: srv.URL + "/"})
			return chromedp.Void{}, err
		}),
		chromedp.Navigate(srv.URL+"/"))
	wait("first load")
	run("reload", chromedp.Reload())
	wait("after reload")
}
