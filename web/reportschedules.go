package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/linepulse/linepulse/notify/email"
	"github.com/linepulse/linepulse/report"
	"github.com/linepulse/linepulse/store"
)

// Scheduled report mail (package report sends it): who reads and changes the schedules is
// who reads and changes the alerting configuration, as they share the e-mail channels.
func (a *API) reportScheduleRoutes() []*Route {
	return crud(spec[store.ReportSchedule]{path: "/api/v1/report-schedules", tag: "report-schedules", entity: "report schedule",
		audit: "config.report_schedule", read: ActAlertsRead, write: ActAlertsManage,
		id:   func(v *store.ReportSchedule) *int64 { return &v.ID },
		init: func(v *store.ReportSchedule) { v.Active, v.Hour = true, 6 }, prepare: checkSchedule},
		collectionOps(func(t *store.TenantDB) store.Collection[store.ReportSchedule, *store.ReportSchedule] {
			return t.ReportSchedules
		}))
}

// checkSchedule checks the lines (visible to the caller) and the channel (an e-mail one).
func checkSchedule(c *call, v, _ *store.ReportSchedule) error {
	errs := c.lineListErrs(v.Lines, func(l int64) error {
		if l <= 0 {
			return fieldErr("lines", "no such line")
		}
		return c.lineExists("lines", l)
	})
	t, err := c.tenant()
	if err != nil {
		return err
	}
	if v.ChannelID > 0 {
		ch, err := t.AlertChannels.Get(c.r.Context(), v.ChannelID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			errs = append(errs, fieldErr("channel_id", "no such notification channel"))
		case err != nil:
			return err
		case ch.Kind != store.ChannelEmail:
			errs = append(errs, fieldErr("channel_id", "must be an e-mail channel (its SMTP server and sender are used)"))
		}
	}
	return checks(errs...)
}

// RenderScheduledReport builds the mail of a scheduled report (report.Config.Render): a
// line's shift report (shift_end), or the plant's report of a date (daily) or of a week
// (weekly, named by its Monday), as PDF, in the schedule's language, with the same figures
// as the API.
func (a *API) RenderScheduledReport(ctx context.Context, tenantID int64, s store.ReportSchedule, d store.ReportDelivery) (report.Mail, error) {
	t, err := a.st.Tenant(ctx, tenantID)
	if err != nil {
		return report.Mail{}, err
	}
	cat, err := catalog()
	if err != nil {
		return report.Mail{}, err
	}
	loc := zoneOf(t)
	now := a.now()
	var buf bytes.Buffer
	var m report.Mail
	switch s.Kind {
	case store.ReportShiftEnd:
		rep, err := a.buildShiftReport(ctx, t, d.LineID, d.Subject)
		if err != nil {
			return report.Mail{}, err
		}
		if err := ShiftPDF(&buf, cat, s.Language, loc, now, rep); err != nil {
			return report.Mail{}, err
		}
		m.Subject = fmt.Sprintf("%s: %s %s %s", cat.T(s.Language, "losses.report.title"), rep.Line.Name, rep.Shift.Name, rep.Shift.Date)
		m.Text = fmt.Sprintf("%s\n%s %s\n%s: %s\n", m.Subject, rep.Shift.Start.In(loc).Format("2006-01-02 15:04"), rep.Shift.End.In(loc).Format("15:04 MST"),
			cat.T(s.Language, "losses.report.oee"), measured(rep.Shift.Monitored(), rep.Shift.OEE))
		m.Attachments = []email.Attachment{{Name: fmt.Sprintf("shift-%d-%s.pdf", rep.Line.ID, rep.Shift.ID), ContentType: "application/pdf", Data: buf.Bytes()}}
	case store.ReportDaily, store.ReportWeekly:
		day, err := time.ParseInLocation(time.DateOnly, d.Subject, loc)
		if err != nil {
			return report.Mail{}, fmt.Errorf("cannot read the report's date: %w", err)
		}
		period, span, file := PeriodDay, d.Subject, "plant-"+d.Subject
		if s.Kind == store.ReportWeekly {
			period, file = PeriodWeek, "plant-week-"+d.Subject
		}
		rep, err := a.buildPlantReport(ctx, t, nil, period, day)
		if err != nil {
			return report.Mail{}, err
		}
		if period == PeriodWeek {
			span = rep.Date + " – " + rep.To.In(loc).AddDate(0, 0, -1).Format(time.DateOnly)
		}
		if err := PlantPDF(&buf, cat, s.Language, loc, now, rep); err != nil {
			return report.Mail{}, err
		}
		m.Subject = fmt.Sprintf("%s: %s %s", cat.T(s.Language, "plant.report.title"), rep.Tenant, span)
		m.Text = fmt.Sprintf("%s\n%s: %s\n", m.Subject, cat.T(s.Language, "losses.report.oee"), measured(rep.Total.Monitored(), rep.Total.OEE))
		m.Attachments = []email.Attachment{{Name: file + ".pdf", ContentType: "application/pdf", Data: buf.Bytes()}}
	default:
		return report.Mail{}, fmt.Errorf("cannot render a report of kind %q", s.Kind)
	}
	return m, nil
}

// zoneOf is a tenant's time zone (UTC when unset or unknown).
func zoneOf(t *store.TenantDB) *time.Location {
	loc, err := time.LoadLocation(t.Tenant().Config.Timezone)
	if err != nil {
		return time.UTC
	}
	return loc
}
