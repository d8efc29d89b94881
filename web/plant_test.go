package web_test

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	lpclock "github.com/linepulse/linepulse/internal/clock"
	"github.com/linepulse/linepulse/notify/email"
	"github.com/linepulse/linepulse/notify/email/emailtest"
	"github.com/linepulse/linepulse/report"
	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/store/storetest"
	"github.com/linepulse/linepulse/stream"
	"github.com/linepulse/linepulse/web"
)

// TestPlantReportAndSchedules: the plant report of a day and of a week shows every line
// with the API's own OEE and counts, as JSON and PDF; the report schedules are checked
// (an e-mail channel, visible lines), limited to alert managers and audited; the renderer
// of the scheduled mail gives the shift report and the plant report as PDF.
func TestPlantReportAndSchedules(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		ev := newEnv(t, e)
		f, day, admin := ev.shiftDay()
		viewer := ev.token("acme", "viewer")

		var rep web.PlantReport
		ev.must(http.StatusOK, req{method: "GET", path: "/api/v1/reports/plant?period=day&date=2026-12-02", token: viewer}, &rep)
		var o stream.OEEReport
		rng := url.Values{"from": {day.Format(time.RFC3339)}, "to": {day.AddDate(0, 0, 1).Format(time.RFC3339)}}
		ev.must(http.StatusOK, req{method: "GET", path: "/api/v1/lines/" + itoa(f.line) + "/oee?" + rng.Encode(), token: viewer}, &o)
		if len(rep.Lines) != 1 || rep.Lines[0].OEE.OEE != o.OEE || rep.Lines[0].OEE.Total != 2520 || rep.Total.Total != 2520 || rep.Total.Reject != 25 ||
			len(rep.Lines[0].Shifts) != 1 || len(rep.Lines[0].TopStops) != 1 || rep.Zone != "Europe/Madrid" || !rep.From.Equal(day) {
			t.Fatalf("plant report %+v, line OEE %+v", rep, o)
		}
		if d := rep.Total.OEE - o.OEE; d > 1e-9 || d < -1e-9 || rep.Total.DowntimeS != o.DowntimeS {
			t.Fatalf("one line's plant total %+v, the line %+v", rep.Total, o)
		}
		ev.must(http.StatusOK, req{method: "GET", path: "/api/v1/reports/plant?period=week&date=2026-12-02", token: viewer}, &rep)
		if rep.Date != "2026-11-30" || rep.To.Sub(rep.From) != 7*24*time.Hour || rep.Total.Total != 2520 {
			t.Fatalf("week %+v", rep)
		}
		for _, q := range []string{"?date=yesterday", "?period=month", "?date=2026-12-02&x=1"} {
			ev.must(http.StatusBadRequest, req{method: "GET", path: "/api/v1/reports/plant" + q, token: viewer}, nil)
		}
		pdf := ev.must(http.StatusOK, req{method: "GET", path: "/api/v1/reports/plant.pdf?date=2026-12-02&lang=es", token: viewer}, nil)
		if text := pdfTexts(t, pdf.body); !bytes.HasPrefix(pdf.body, []byte("%PDF-")) || !strings.Contains(text, "Informe de planta") || !strings.Contains(text, "acme line") {
			t.Fatalf("plant PDF says:\n%s", text)
		}
		// A viewer limited to other lines sees none of them.
		ev.user(ev.acme.ID, "narrow@acme.test", store.RoleViewer, store.Permissions{Lines: []int64{f.line + 1}})
		ev.must(http.StatusOK, req{method: "GET", path: "/api/v1/reports/plant?date=2026-12-02", token: ev.login("acme", "narrow@acme.test").AccessToken}, &rep)
		if len(rep.Lines) != 0 || rep.Total.Total != 0 {
			t.Fatalf("narrow plant report %+v", rep)
		}

		// Schedules: an e-mail channel, lines that exist; alert managers only; audited.
		body := map[string]any{"name": "Mornings", "kind": "daily", "channel_id": f.ids["notification-channels"], "recipients": []string{"plant@acme.test"},
			"lines": []int64{}, "hour": 6, "language": "es", "active": true}
		got := ev.do(req{method: "POST", path: "/api/v1/report-schedules", token: admin, body: body})
		if got.code != http.StatusBadRequest || !strings.Contains(string(got.body), "e-mail channel") {
			t.Fatalf("a webhook channel: %s", got)
		}
		body["channel_id"], body["lines"] = f.ids["mail-channel"], []int64{f.line + 99}
		ev.must(http.StatusBadRequest, req{method: "POST", path: "/api/v1/report-schedules", token: admin, body: body}, nil)
		body["lines"] = []int64{}
		ev.must(http.StatusForbidden, req{method: "POST", path: "/api/v1/report-schedules", token: viewer, body: body}, nil)
		var sc store.ReportSchedule
		ev.must(http.StatusCreated, req{method: "POST", path: "/api/v1/report-schedules", token: admin, body: body}, &sc)
		if !contains(ev.auditActions(ev.acme.ID), "config.report_schedule.create") {
			t.Fatalf("not audited: %v", ev.auditActions(ev.acme.ID))
		}
		ev.must(http.StatusNotFound, req{method: "GET", path: "/api/v1/report-schedules/" + itoa(sc.ID), token: ev.token("beta", "tenant_admin")}, nil)

		// The scheduled mails' renderer.
		ctx := context.Background()
		inst := "2026-12-02." + itoa(f.ids["shifts"])
		m, err := ev.api.RenderScheduledReport(ctx, ev.acme.ID, store.ReportSchedule{Kind: store.ReportShiftEnd, Language: "en"}, store.ReportDelivery{LineID: f.line, Subject: inst})
		if err != nil || len(m.Attachments) != 1 || !strings.Contains(m.Subject, "acme line") || !strings.Contains(pdfTexts(t, m.Attachments[0].Data), "Shift report") {
			t.Fatalf("shift mail %+v %v", m.Subject, err)
		}
		m, err = ev.api.RenderScheduledReport(ctx, ev.acme.ID, sc, store.ReportDelivery{Subject: "2026-12-02"})
		if err != nil || len(m.Attachments) != 1 || !strings.Contains(m.Subject, "Informe de planta") || !strings.Contains(pdfTexts(t, m.Attachments[0].Data), "acme line") {
			t.Fatalf("daily mail %+v %v", m.Subject, err)
		}
		// The weekly report of the week holding that day (its only day with data): the
		// same OEE, the week in the subject and the file name.
		body["kind"] = "weekly"
		ev.must(http.StatusCreated, req{method: "POST", path: "/api/v1/report-schedules", token: admin, body: body}, &sc)
		dayOEE := m.Text[strings.Index(m.Text, "\n"):]
		m, err = ev.api.RenderScheduledReport(ctx, ev.acme.ID, sc, store.ReportDelivery{Subject: "2026-11-30"})
		if err != nil || len(m.Attachments) != 1 || m.Attachments[0].Name != "plant-week-2026-11-30.pdf" || !strings.HasSuffix(m.Subject, "2026-11-30 – 2026-12-06") ||
			!strings.HasSuffix(m.Text, dayOEE) || !strings.Contains(pdfTexts(t, m.Attachments[0].Data), "acme line") {
			t.Fatalf("weekly mail %q %q (the day's: %q) %v", m.Subject, m.Text, dayOEE, err)
		}
	})
}

// TestScheduledMailCarriesTheReport runs two report senders over the API's renderer and the
// real SMTP test server: the day's plant report (each morning) and the shift report (at the
// shift's end) arrive once each, as PDF, in the schedule's language.
func TestScheduledMailCarriesTheReport(t *testing.T) {
	sqliteOnly(t, func(t *testing.T, e storetest.Engine) {
		ev := newEnv(t, e)
		f, _, admin := ev.shiftDay()
		srv := emailtest.Start(t)
		sc := srv.Config
		var ch store.AlertChannel
		ev.must(http.StatusCreated, req{method: "POST", path: "/api/v1/notification-channels", token: admin, body: map[string]any{"name": "smtp", "kind": "email",
			"config": map[string]any{"host": sc.Host, "port": sc.Port, "tls": "starttls", "username": sc.Username, "password": sc.Password, "from": "lp@acme.test", "to": []string{"x@acme.test"}}}}, &ch)
		var ids []int64
		for _, b := range []map[string]any{
			{"name": "Mornings", "kind": "daily", "channel_id": ch.ID, "recipients": []string{"plant@acme.test"}, "lines": []int64{}, "hour": 9, "language": "es", "active": true},
			{"name": "Shift ends", "kind": "shift_end", "channel_id": ch.ID, "recipients": []string{"lead@acme.test"}, "lines": []int64{f.line}, "hour": 0, "language": "en", "active": true},
		} {
			ids = append(ids, idOf(t, ev.must(http.StatusCreated, req{method: "POST", path: "/api/v1/report-schedules", token: admin, body: b}, nil)))
		}
		// The next day, after its shift ended: yesterday's plant report and today's shift.
		loc, _ := time.LoadLocation(ev.acme.Config.Timezone)
		ev.clock.Add(time.Date(2026, 12, 3, 14, 5, 0, 0, loc).Sub(ev.clock.Now()))
		clk := lpclock.NewFake(ev.clock.Now())
		senders := make([]*report.Sender, 2)
		for i := range senders {
			s, err := report.New(report.Config{Store: ev.st, Render: ev.api.RenderScheduledReport, Calendar: stream.Calendar, Clock: clk, Holder: "instance-" + itoa(int64(i)),
				Logger: quietLogger(), Mail: func(ctx context.Context, s email.Server, m email.Message) error {
					s.TLSConfig = sc.TLSConfig // trust the test server's certificate
					return email.Send(ctx, s, m)
				}})
			if err != nil {
				t.Fatal(err)
			}
			senders[i] = s
		}
		var wg sync.WaitGroup
		for range 2 {
			for _, s := range senders {
				wg.Add(1)
				go func() { defer wg.Done(); s.Tick(context.Background()) }()
			}
			wg.Wait()
		}
		mails := srv.Received()
		if len(mails) != 2 {
			t.Fatalf("%d mails, want 2", len(mails))
		}
		var got []string
		for _, m := range mails {
			data := string(m.Data)
			if !strings.Contains(data, "application/pdf") {
				t.Errorf("no PDF attached to %s", m.To)
			}
			got = append(got, strings.Join(m.To, ",")+" "+regexp.MustCompile(`X-Linepulse-Report: (\S+)`).FindStringSubmatch(data)[1])
		}
		slices.Sort(got)
		want := []string{"lead@acme.test " + itoa(ids[1]) + "/" + itoa(f.line) + "/2026-12-03." + itoa(f.ids["shifts"]), "plant@acme.test " + itoa(ids[0]) + "/2026-12-02"}
		if !slices.Equal(got, want) {
			t.Fatalf("mails %q, want %q", got, want)
		}
	})
}
