package report_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/linepulse/linepulse/internal/clock"
	"github.com/linepulse/linepulse/internal/testkit"
	"github.com/linepulse/linepulse/notify/email"
	"github.com/linepulse/linepulse/notify/email/emailtest"
	"github.com/linepulse/linepulse/report"
	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/store/storetest"
	"github.com/linepulse/linepulse/stream"
)

const wait = 30 * time.Second

// TestOneMailPerOccurrence runs two senders on one database with the real SMTP test
// server: each shift end and each morning gives one mail with the PDF, not two; a sender
// started after both stopped sends the shift end that fell due while nobody ran, once, and
// nothing sent before; a failing server is retried.
func TestOneMailPerOccurrence(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		loc, _ := time.LoadLocation("Europe/Madrid")
		clk := clock.NewFake(time.Date(2026, 3, 2, 12, 0, 0, 0, loc).UTC()) // a server clock in UTC, shifts in the plant's zone
		st := e.Open(t, func(c *store.Config) { c.Now = clk.Now })
		tdb := storetest.Tenant(t, st, "acme")
		srv := emailtest.Start(t)
		line := store.Line{Name: "Filler", DowntimeThresholdMS: 30000, IdealCycleTimeMS: 1000, Active: true}
		if err := tdb.CreateLine(ctx, &line); err != nil {
			t.Fatal(err)
		}
		sh := store.Shift{Name: "Morning", StartTime: "06:00", EndTime: "14:00", DaysImplemented: store.JSON(`[1,2,3,4,5,6,7]`), Breaks: store.JSON(`[]`), Active: true}
		if err := tdb.Shifts.Create(ctx, &sh); err != nil {
			t.Fatal(err)
		}
		sc := srv.Config
		ch := store.AlertChannel{Name: "mail", Kind: store.ChannelEmail, Config: store.ChannelConfig{Host: sc.Host, Port: sc.Port, TLS: "starttls",
			Username: sc.Username, Password: sc.Password, From: "LinePulse <reports@plant.test>", To: []string{"alerts@plant.test"}}}
		if err := tdb.AlertChannels.Create(ctx, &ch); err != nil {
			t.Fatal(err)
		}
		for _, s := range []store.ReportSchedule{
			{Name: "Shift ends", Kind: store.ReportShiftEnd, ChannelID: ch.ID, Recipients: []string{"boss@plant.test"}, Lines: []int64{line.ID}, Active: true},
			{Name: "Mornings", Kind: store.ReportDaily, ChannelID: ch.ID, Recipients: []string{"plant@plant.test"}, Hour: 6, Language: "es", Active: true},
		} {
			if err := tdb.ReportSchedules.Create(ctx, &s); err != nil {
				t.Fatal(err)
			}
		}
		var mu sync.Mutex
		failing := false
		mail := func(ctx context.Context, s email.Server, m email.Message) error {
			mu.Lock()
			f := failing
			mu.Unlock()
			if f {
				return fmt.Errorf("connection refused")
			}
			s.TLSConfig = sc.TLSConfig // trust the test server's certificate
			return email.Send(ctx, s, m)
		}
		render := func(ctx context.Context, tenantID int64, s store.ReportSchedule, d store.ReportDelivery) (report.Mail, error) {
			return report.Mail{Subject: s.Kind + " " + d.Subject + " " + s.Language, Text: "see the PDF",
				Attachments: []email.Attachment{{Name: "report.pdf", ContentType: "application/pdf", Data: []byte("%PDF-1.3 stub")}}}, nil
		}
		start := func(holder string) context.CancelFunc {
			snd, err := report.New(report.Config{Store: st, Render: render, Calendar: stream.Calendar, Mail: mail, Clock: clk, Holder: holder,
				// The fake time runs ahead of a sender still mailing: a claim must outlive that.
				Interval: time.Minute, Backoff: time.Minute, ClaimTTL: 24 * time.Hour, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			rctx, cancel := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() { defer close(done); snd.Run(rctx) }()
			return func() { cancel(); <-done }
		}
		// advanceTo moves the clock a minute at a time (every sender ticks) up to at.
		advanceTo := func(at time.Time) {
			t.Helper()
			for clk.Now().Before(at) {
				if err := clk.BlockUntil(ctx, 1); err != nil {
					t.Fatal(err)
				}
				clk.Advance(time.Minute)
			}
		}
		subjects := func() []string {
			var out []string
			for _, m := range srv.Received() {
				for _, l := range strings.Split(string(m.Data), "\r\n") {
					if s, ok := strings.CutPrefix(l, "Subject: "); ok {
						out = append(out, s+" → "+strings.Join(m.To, ","))
					}
				}
			}
			return out
		}
		expect := func(what string, want ...string) {
			t.Helper()
			testkit.CheckFor(t, wait, 5*time.Millisecond, func() error {
				got := subjects()
				return testkit.Unless(strings.Join(got, "|") == strings.Join(want, "|"), "%s: mails %q, want %q", what, got, want)
			})
		}

		stopA, stopB := start("a"), start("b")
		day1 := fmt.Sprintf("shift_end 2026-03-02.%d en → boss@plant.test", sh.ID)
		advanceTo(time.Date(2026, 3, 2, 14, 3, 0, 0, loc))
		expect("first shift end", day1)
		advanceTo(time.Date(2026, 3, 3, 6, 3, 0, 0, loc))
		expect("first morning", day1, "daily 2026-03-02 es → plant@plant.test")
		if !bytes.Contains(srv.Received()[0].Data, []byte("report.pdf")) {
			t.Fatalf("no PDF attached:\n%s", srv.Received()[0].Data)
		}
		stopA()
		stopB()

		// Nobody runs while the second shift ends; a sender started later sends it once.
		clk.AdvanceTo(time.Date(2026, 3, 3, 14, 30, 0, 0, loc))
		stopC := start("c")
		day2 := fmt.Sprintf("shift_end 2026-03-03.%d en → boss@plant.test", sh.ID)
		expect("missed shift end", day1, "daily 2026-03-02 es → plant@plant.test", day2)

		// A failing server: the next morning's report is retried until it goes through.
		mu.Lock()
		failing = true
		mu.Unlock()
		advanceTo(time.Date(2026, 3, 4, 6, 2, 0, 0, loc))
		mu.Lock()
		failing = false
		mu.Unlock()
		advanceTo(time.Date(2026, 3, 4, 6, 10, 0, 0, loc))
		expect("retried morning", day1, "daily 2026-03-02 es → plant@plant.test", day2, "daily 2026-03-03 es → plant@plant.test")
		stopC()

		// Nobody runs for two days: what fell due more than the lookback (6 h) before the
		// next start is recorded as skipped and not mailed; the next shift end is.
		clk.AdvanceTo(time.Date(2026, 3, 6, 12, 0, 0, 0, loc))
		stopD := start("d")
		day6 := fmt.Sprintf("shift_end 2026-03-06.%d en → boss@plant.test", sh.ID)
		advanceTo(time.Date(2026, 3, 6, 14, 3, 0, 0, loc))
		expect("after two days down", day1, "daily 2026-03-02 es → plant@plant.test", day2, "daily 2026-03-03 es → plant@plant.test", day6)
		stopD()
		scheds, err := tdb.ReportSchedules.All(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var skipped []string
		for _, sc := range scheds {
			ds, err := tdb.ReportDeliveries(ctx, sc.ID, 100)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range ds {
				if d.State == store.ReportSkipped {
					skipped = append(skipped, sc.Kind+" "+d.Subject)
					if d.SentAt != nil || !strings.Contains(d.LastError, "6h0m0s") {
						t.Errorf("skipped delivery %+v", d)
					}
				}
			}
		}
		slices.Sort(skipped)
		want := []string{"daily 2026-03-04", "daily 2026-03-05", fmt.Sprintf("shift_end 2026-03-04.%d", sh.ID), fmt.Sprintf("shift_end 2026-03-05.%d", sh.ID)}
		if !slices.Equal(skipped, want) {
			t.Errorf("skipped %q, want %q", skipped, want)
		}
	})
}

// TestTenantPastTheFirstPage: a tenant listed after MaxPageSize others gets its reports
// (Tick read the first page of tenants only). On SQLite: MaxPageSize tenants on MariaDB
// would take minutes; the store's paging itself is tested on both engines.
func TestTenantPastTheFirstPage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 3, 2, 12, 0, 0, 0, madrid(t)).UTC())
	st := storetest.Engines(t)[0].Open(t, func(c *store.Config) { c.Now = clk.Now })
	var g errgroup.Group
	g.SetLimit(8)
	for i := range store.MaxPageSize {
		g.Go(func() error {
			return st.CreateTenant(ctx, &store.Tenant{Slug: fmt.Sprintf("filler-%d", i), Name: "Filler", Config: store.TenantConfig{Timezone: "Europe/Madrid", RetentionDays: 90}})
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	dailyReport(t, storetest.Tenant(t, st, "late"))
	snd, sent := recordingSender(t, st, clk, slog.New(slog.DiscardHandler))
	clk.AdvanceTo(time.Date(2026, 3, 3, 6, 1, 0, 0, madrid(t)))
	snd.Tick(ctx) // sends what it claims before it returns
	if len(*sent) != 1 || (*sent)[0] != "2026-03-02" {
		t.Fatalf("mails %q, want the late tenant's morning report", *sent)
	}
}

// TestTenantThatCannotOpen: a tenant whose database does not open is logged by slug and
// skipped; the tenants after it get their reports. On SQLite, where a directory in the
// place of the tenant's file breaks it.
func TestTenantThatCannotOpen(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 3, 2, 12, 0, 0, 0, madrid(t)).UTC())
	e := storetest.Engines(t)[0]
	cfg := e.Config(t)
	cfg.Now = clk.Now
	first, err := store.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	broken := storetest.Tenant(t, first, "broken").ID()
	dailyReport(t, storetest.Tenant(t, first, "fine"))
	first.Close()
	f := filepath.Join(cfg.DataDir, fmt.Sprintf("tenant-%d.db", broken))
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(f + suffix); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(f, 0o700); err != nil {
		t.Fatal(err)
	}
	st := e.Open(t, func(c *store.Config) { c.DataDir, c.Now = cfg.DataDir, clk.Now })
	var log bytes.Buffer
	snd, sent := recordingSender(t, st, clk, slog.New(slog.NewTextHandler(&log, nil)))
	clk.AdvanceTo(time.Date(2026, 3, 3, 6, 1, 0, 0, madrid(t)))
	snd.Tick(ctx)
	if len(*sent) != 1 || !strings.Contains(log.String(), "cannot open the tenant's database") || !strings.Contains(log.String(), "tenant=broken") {
		t.Fatalf("mails %q, log:\n%s", *sent, log.String())
	}
}

func madrid(t *testing.T) *time.Location {
	loc, err := time.LoadLocation("Europe/Madrid")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// dailyReport gives a tenant a report every morning at 6 through an e-mail channel.
func dailyReport(t *testing.T, tdb *store.TenantDB) {
	t.Helper()
	ctx := context.Background()
	ch := store.AlertChannel{Name: "mail", Kind: store.ChannelEmail, Config: store.ChannelConfig{Host: "mail.plant.test", Port: 25, TLS: "none",
		From: "reports@plant.test", To: []string{"alerts@plant.test"}}}
	if err := tdb.AlertChannels.Create(ctx, &ch); err != nil {
		t.Fatal(err)
	}
	sc := store.ReportSchedule{Name: "Mornings", Kind: store.ReportDaily, ChannelID: ch.ID, Recipients: []string{"plant@plant.test"}, Hour: 6, Active: true}
	if err := tdb.ReportSchedules.Create(ctx, &sc); err != nil {
		t.Fatal(err)
	}
}

// recordingSender is a sender whose mails are only recorded, by subject (the occurrence).
func recordingSender(t *testing.T, st *store.Store, clk clock.Clock, log *slog.Logger) (*report.Sender, *[]string) {
	t.Helper()
	var sent []string
	snd, err := report.New(report.Config{Store: st, Calendar: stream.Calendar, Clock: clk, Logger: log,
		Render: func(ctx context.Context, tenantID int64, s store.ReportSchedule, d store.ReportDelivery) (report.Mail, error) {
			return report.Mail{Subject: d.Subject}, nil
		},
		Mail: func(ctx context.Context, s email.Server, m email.Message) error {
			sent = append(sent, m.Subject)
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	return snd, &sent
}
