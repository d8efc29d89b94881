// Package report mails the scheduled reports (store.ReportSchedule): a line's shift report
// at the end of each of its shift instances (shift_end), the plant's daily report of the
// day before each morning at a local hour (daily), and its weekly report of the week before
// each Monday at a local hour (weekly), the PDF attached.
//
// Exactly once across instances, like the alert outbox: every instance, on each tick,
// records the occurrences that fell due as report_delivery rows, unique by (schedule,
// occurrence), so however many instances see one, one row exists; a row is sent by the
// one instance that claims it (a conditional update with a lease time), and marked sent.
// A restart re-reads the rows: nothing sent is sent again, and an occurrence that fell due
// while nobody ran is still recorded and sent when it is at most Lookback old (and not
// older than the schedule); older ones, up to 31 days back, are recorded as skipped (never
// sent) with a warning in the log, so an outage leaves a trace of the reports it cost. A
// failed send is retried with backoff up to MaxAttempts.
//
// The package does not know how a report looks: Config.Render (the API) builds the
// message; mail goes out through notify/email with the SMTP server and sender of the
// schedule's e-mail alert channel.
package report

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/linepulse/linepulse/internal/clock"
	"github.com/linepulse/linepulse/notify/email"
	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/stream/shiftcal"
)

// Mail is a rendered report: the message without its addresses.
type Mail struct {
	Subject     string
	Text        string
	Attachments []email.Attachment
}

// Renderer builds the mail of one delivery of a schedule of a tenant.
type Renderer func(ctx context.Context, tenantID int64, s store.ReportSchedule, d store.ReportDelivery) (Mail, error)

// Config configures a Sender.
type Config struct {
	Store *store.Store
	// Render builds each report (the API's RenderScheduledReport). Required.
	Render Renderer
	// Calendar builds a tenant's shift calendar (stream.Calendar). Required.
	Calendar func(tz string, shifts []store.Shift) (*shiftcal.Calendar, error)
	// Mail sends e-mail. Default email.Send.
	Mail func(ctx context.Context, s email.Server, m email.Message) error
	// Clock drives the ticks. Default clock.Real.
	Clock clock.Clock
	// Holder names this instance in its claims. Default "report-<pid-less random>".
	Holder string
	// Interval is how often occurrences are looked for. Default 30s.
	Interval time.Duration
	// Lookback is how old an occurrence that fell due while nobody ran may be and still be
	// sent. Default 6h.
	Lookback time.Duration
	// ClaimTTL is how long a claim lasts: it must outlast rendering and sending (Send gives
	// up after 30 s), or another instance takes the delivery over and mails it again.
	// Default 5m.
	ClaimTTL time.Duration
	// Backoff is the wait after the first failed attempt, doubled after each. Default 1m.
	Backoff time.Duration
	// MaxAttempts bounds the attempts of one delivery. Default 5.
	MaxAttempts int
	Logger      *slog.Logger
}

// Sender mails the scheduled reports. Every instance runs one.
type Sender struct {
	cfg Config
	clk clock.Clock
	log *slog.Logger
	// gapsChecked holds the [tenant, schedule] ids skipMissed has looked at: a gap in the
	// recorded occurrences only opens while no instance runs, so once per schedule suffices.
	gapsChecked sync.Map
}

// New checks cfg and fills its defaults.
func New(cfg Config) (*Sender, error) {
	if cfg.Store == nil || cfg.Render == nil || cfg.Calendar == nil {
		return nil, errors.New("report: cannot start: Store, Render and Calendar are required")
	}
	if cfg.Mail == nil {
		cfg.Mail = email.Send
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 30 * time.Second
	}
	if cfg.Lookback <= 0 {
		cfg.Lookback = 6 * time.Hour
	}
	if cfg.ClaimTTL <= 0 {
		cfg.ClaimTTL = 5 * time.Minute
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = time.Minute
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 5
	}
	if cfg.Holder == "" {
		cfg.Holder = "report-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Sender{cfg: cfg, clk: clock.Or(cfg.Clock), log: cfg.Logger}, nil
}

// Run ticks until ctx ends.
func (s *Sender) Run(ctx context.Context) error {
	t := s.clk.NewTicker(s.cfg.Interval)
	defer t.Stop()
	for {
		s.Tick(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C():
		}
	}
}

// Tick records the occurrences that fell due and sends the due deliveries of every tenant.
func (s *Sender) Tick(ctx context.Context) {
	tenants, err := s.cfg.Store.AllTenants(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("report: cannot list tenants", "err", err)
		}
		return
	}
	for _, ten := range tenants {
		tdb, err := s.cfg.Store.Tenant(ctx, ten.ID)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn("report: cannot open the tenant's database", "tenant", ten.Slug, "err", err)
			}
			continue
		}
		if err := s.record(ctx, tdb); err != nil && ctx.Err() == nil {
			s.log.Warn("report: cannot record due reports", "tenant", ten.Slug, "err", err)
		}
		s.send(ctx, tdb)
	}
}

// record adds a delivery row for every occurrence of the tenant's active schedules that
// fell due in the lookback window (rows already there are left alone).
func (s *Sender) record(ctx context.Context, tdb *store.TenantDB) error {
	scheds, err := tdb.ReportSchedules.All(ctx)
	if err != nil {
		return err
	}
	now := s.clk.Now()
	ten := tdb.Tenant()
	loc, err := time.LoadLocation(ten.Config.Timezone)
	if err != nil {
		loc = time.UTC
	}
	var cal *shiftcal.Calendar
	var lines []store.Line
	// due are the occurrences of sc that fell due in (from, to].
	due := func(sc store.ReportSchedule, from, to time.Time) ([]store.ReportDelivery, error) {
		switch sc.Kind {
		case store.ReportDaily:
			return morningsDue(sc, loc, from, to, 1), nil
		case store.ReportWeekly:
			return morningsDue(sc, loc, from, to, 7), nil
		case store.ReportShiftEnd:
			if cal == nil {
				shifts, err := tdb.Shifts.All(ctx)
				if err != nil {
					return nil, err
				}
				if cal, err = s.cfg.Calendar(ten.Config.Timezone, shifts); err != nil {
					return nil, fmt.Errorf("cannot read the shift calendar: %w", err)
				}
				if lines, err = tdb.ListLines(ctx, store.Page{Limit: store.MaxPageSize}); err != nil {
					return nil, err
				}
			}
			return shiftEndsDue(sc, cal, lines, from, to), nil
		}
		return nil, nil
	}
	for _, sc := range scheds {
		if !sc.Active {
			continue
		}
		from := now.Add(-s.cfg.Lookback)
		if sc.CreatedAt.After(from) {
			from = sc.CreatedAt
		}
		if _, checked := s.gapsChecked.Load([2]int64{ten.ID, sc.ID}); !checked {
			if err := s.skipMissed(ctx, tdb, sc, from, due); err != nil {
				return err
			}
			s.gapsChecked.Store([2]int64{ten.ID, sc.ID}, true)
		}
		occ, err := due(sc, from, now)
		if err != nil {
			return err
		}
		for i := range occ {
			if _, err := tdb.AddReportDelivery(ctx, &occ[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

// maxSkipped bounds how far back skipMissed records occurrences nobody sent.
const maxSkipped = 31 * 24 * time.Hour

// skipMissed records as skipped, with a warning, the occurrences of sc that fell due
// after its last recorded one (or its creation) but before from: no instance ran then,
// and a report that late is not mailed. At most maxSkipped back.
func (s *Sender) skipMissed(ctx context.Context, tdb *store.TenantDB, sc store.ReportSchedule, from time.Time,
	due func(sc store.ReportSchedule, from, to time.Time) ([]store.ReportDelivery, error)) error {
	since := from.Add(-maxSkipped)
	if sc.CreatedAt.After(since) {
		since = sc.CreatedAt
	}
	last, ok, err := tdb.LastReportDue(ctx, sc.ID)
	if err != nil {
		return err
	}
	if ok && last.After(since) {
		since = last
	}
	if !since.Before(from) {
		return nil
	}
	missed, err := due(sc, since, from)
	if err != nil {
		return err
	}
	skipped := 0
	for i := range missed {
		missed[i].State = store.ReportSkipped
		missed[i].LastError = "not sent: found more than " + s.cfg.Lookback.String() + " after it fell due (no instance ran, or the schedule was inactive)"
		created, err := tdb.AddReportDelivery(ctx, &missed[i])
		if err != nil {
			return err
		}
		if created {
			skipped++
		}
	}
	if skipped > 0 {
		s.log.Warn("report: reports that fell due while no instance ran are not sent", "tenant", tdb.Tenant().Slug,
			"schedule", sc.ID, "name", sc.Name, "skipped", skipped, "first", missed[0].Subject, "last", missed[len(missed)-1].Subject, "lookback", s.cfg.Lookback)
	}
	return nil
}

// morningsDue are the mornings at the schedule's local hour in (from, now] that report the
// days before them: every morning for one day (named by its date), or each Monday for the
// seven days of the week before (named by its Monday).
func morningsDue(sc store.ReportSchedule, loc *time.Location, from, now time.Time, days int) []store.ReportDelivery {
	var out []store.ReportDelivery
	y, m, d := from.In(loc).Date()
	for day := time.Date(y, m, d, 0, 0, 0, 0, loc); !day.After(now); day = day.AddDate(0, 0, 1) {
		if days == 7 && day.Weekday() != time.Monday {
			continue
		}
		due := time.Date(day.Year(), day.Month(), day.Day(), sc.Hour, 0, 0, 0, loc)
		if !due.After(from) || due.After(now) {
			continue
		}
		first := day.AddDate(0, 0, -days).Format(time.DateOnly)
		out = append(out, store.ReportDelivery{ScheduleID: sc.ID, Occurrence: first, Subject: first, DueAt: due})
	}
	return out
}

// shiftEndsDue are the shift instances of the covered lines that ended in (from, now].
func shiftEndsDue(sc store.ReportSchedule, cal *shiftcal.Calendar, lines []store.Line, from, now time.Time) []store.ReportDelivery {
	var out []store.ReportDelivery
	for _, l := range lines {
		if !l.Active || !sc.Covers(l.ID) {
			continue
		}
		// Instances overlapping the window whose end lies in it (a shift is shorter than a day).
		for _, in := range cal.Instances(l.ID, from.Add(-24*time.Hour), now) {
			if !in.End.After(from) || in.End.After(now) {
				continue
			}
			id := in.Date + "." + strconv.FormatInt(in.ShiftID, 10)
			out = append(out, store.ReportDelivery{ScheduleID: sc.ID, Occurrence: strconv.FormatInt(l.ID, 10) + "/" + id, LineID: l.ID, Subject: id, DueAt: in.End})
		}
	}
	return out
}

// send claims and sends the tenant's due deliveries.
func (s *Sender) send(ctx context.Context, tdb *store.TenantDB) {
	now := s.clk.Now()
	due, err := tdb.DueReportDeliveries(ctx, now, 50)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("report: cannot read due reports", "err", err)
		}
		return
	}
	for _, d := range due {
		ok, err := tdb.ClaimReportDelivery(ctx, d.ID, s.cfg.Holder, now, now.Add(s.cfg.ClaimTTL))
		if err != nil || !ok {
			continue
		}
		errText := ""
		// A mail in flight is finished at shutdown (Send's timeout bounds it): cut off, the
		// server may have queued it while the delivery stays pending, and it goes out twice.
		if err := s.deliver(context.WithoutCancel(ctx), tdb, d); err != nil {
			errText = err.Error()
			s.log.Warn("report: cannot send a scheduled report", "tenant", tdb.ID(), "schedule", d.ScheduleID, "occurrence", d.Occurrence, "err", err)
		}
		var next time.Time
		if errText != "" && d.Attempts+1 < s.cfg.MaxAttempts {
			next = s.clk.Now().Add(s.cfg.Backoff << d.Attempts)
		}
		if err := tdb.FinishReportDelivery(context.WithoutCancel(ctx), d, s.cfg.Holder, s.clk.Now(), truncate(errText, 1000), next); err != nil {
			s.log.Warn("report: cannot record a scheduled report", "occurrence", d.Occurrence, "err", err)
		}
	}
}

func (s *Sender) deliver(ctx context.Context, tdb *store.TenantDB, d store.ReportDelivery) error {
	sc, err := tdb.ReportSchedules.Get(ctx, d.ScheduleID)
	if err != nil {
		return fmt.Errorf("cannot read the schedule: %w", err)
	}
	ch, err := tdb.AlertChannels.Get(ctx, sc.ChannelID)
	if err != nil {
		return fmt.Errorf("cannot read the e-mail channel: %w", err)
	}
	if ch.Kind != store.ChannelEmail {
		return fmt.Errorf("channel %d is not an e-mail channel", ch.ID)
	}
	m, err := s.cfg.Render(ctx, tdb.ID(), sc, d)
	if err != nil {
		return fmt.Errorf("cannot render the report: %w", err)
	}
	cf := ch.Config
	return s.cfg.Mail(ctx, email.Server{Host: cf.Host, Port: cf.Port, TLS: cf.TLS, Username: cf.Username, Password: cf.Password},
		email.Message{From: cf.From, To: sc.Recipients, Subject: m.Subject, Text: m.Text, Attachments: m.Attachments,
			Headers: map[string]string{"X-Linepulse-Report": strconv.FormatInt(sc.ID, 10) + "/" + d.Occurrence}})
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
