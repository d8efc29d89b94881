package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"time"
)

// Report schedule kinds.
const (
	// ReportShiftEnd sends each covered line's shift report when a shift instance ends.
	ReportShiftEnd = "shift_end"
	// ReportDaily sends the plant's daily report of the day before, each morning at a
	// local hour.
	ReportDaily = "daily"
	// ReportWeekly sends the plant's weekly report of the week before (Monday to Sunday),
	// each Monday at a local hour.
	ReportWeekly = "weekly"
)

// Report delivery states.
const (
	ReportPending = "pending"
	ReportSent    = "sent"
	ReportFailed  = "failed"
	// ReportSkipped: it fell due while no instance ran and was found more than the
	// sender's lookback later; recorded, never sent.
	ReportSkipped = "skipped"
)

// ReportSchedule says which report to mail to whom and when. The SMTP server and sender
// are those of an e-mail alert channel (ChannelID): one place holds mail credentials.
type ReportSchedule struct {
	ID         int64    `json:"id"`
	Name       string   `json:"name"`
	Kind       string   `json:"kind"` // shift_end, daily or weekly
	ChannelID  int64    `json:"channel_id"`
	Recipients []string `json:"recipients"`
	Lines      []int64  `json:"lines"` // shift_end: the lines covered, [] = every line
	Hour       int      `json:"hour"`  // daily, weekly: the local hour it is sent (0..23)
	Language   string   `json:"language"`
	Active     bool     `json:"active"`
	timestamps
}

// Covers reports whether the schedule covers a line.
func (r *ReportSchedule) Covers(line int64) bool {
	return len(r.Lines) == 0 || slices.Contains(r.Lines, line)
}

func (r *ReportSchedule) validate() error {
	v := validator{entity: "report_schedule"}
	v.check(nameOK(r.Name, 200), "name", "is required (at most 200 characters)")
	v.check(r.Kind == ReportShiftEnd || r.Kind == ReportDaily || r.Kind == ReportWeekly, "kind", "must be shift_end, daily or weekly")
	v.check(r.ChannelID > 0, "channel_id", "is required (an e-mail notification channel)")
	v.check(len(r.Recipients) > 0 && len(r.Recipients) <= 50, "recipients", "1 to 50 addresses")
	for _, to := range r.Recipients {
		_, err := mail.ParseAddress(to)
		v.check(err == nil && len(to) <= 254, "recipients", "must be e-mail addresses")
	}
	v.check(len(r.Lines) <= 1000, "lines", "at most 1000 lines")
	v.check(r.Hour >= 0 && r.Hour <= 23, "hour", "must be 0..23")
	if r.Language == "" {
		r.Language = Languages[0]
	}
	v.check(slices.Contains(Languages, r.Language), "language", "must be en or es")
	if r.Lines == nil {
		r.Lines = []int64{}
	}
	return v.err()
}

// ReportDelivery is one occurrence of a schedule to mail: unique by (schedule,
// occurrence), claimed by one instance at a time.
type ReportDelivery struct {
	ID         int64  `json:"id"`
	ScheduleID int64  `json:"schedule_id"`
	Occurrence string `json:"occurrence"` // shift_end: "<line>/<instance>"; daily: the date reported; weekly: its Monday
	LineID     int64  `json:"line_id"`    // shift_end: the line; daily, weekly: 0
	// Subject is what is reported: the shift instance id, the date or the week's Monday.
	Subject    string     `json:"subject"`
	DueAt      time.Time  `json:"due_at"`
	State      string     `json:"state"`
	Attempts   int        `json:"attempts"`
	NextAt     time.Time  `json:"next_at"`
	ClaimedBy  string     `json:"-"`
	ClaimUntil *time.Time `json:"-"`
	LastError  string     `json:"last_error"`
	CreatedAt  time.Time  `json:"created_at"`
	SentAt     *time.Time `json:"sent_at"`
}

func newReportTables(t *TenantDB) {
	d := t.s.d
	t.ReportSchedules = Collection[ReportSchedule, *ReportSchedule]{t: t, tab: newTable(d, "report_schedule", []string{"name", "kind", "channel_id", "recipients", "lines", "hour", "language", "active", "created_at", "updated_at"},
		func(r *ReportSchedule) *int64 { return &r.ID },
		func(r *ReportSchedule) []any {
			return []any{&r.Name, &r.Kind, &r.ChannelID, asJSON(&r.Recipients), asJSON(&r.Lines), &r.Hour, &r.Language, &r.Active, &r.CreatedAt, &r.UpdatedAt}
		})}
	t.reportDeliveries = newTable(d, "report_delivery", []string{"schedule_id", "occurrence", "line_id", "subject", "due_at", "state", "attempts", "next_at", "claimed_by", "claim_until", "last_error", "created_at", "sent_at"},
		func(r *ReportDelivery) *int64 { return &r.ID },
		func(r *ReportDelivery) []any {
			return []any{&r.ScheduleID, &r.Occurrence, &r.LineID, &r.Subject, &r.DueAt, &r.State, &r.Attempts, &r.NextAt, &r.ClaimedBy, &r.ClaimUntil, &r.LastError, &r.CreatedAt, &r.SentAt}
		})
}

// AddReportDelivery records an occurrence to send, due at d.DueAt (or, with d.State
// ReportSkipped, one that will not be sent, d.LastError saying why). An occurrence already
// recorded (by this or another instance) is left as it is: created is false.
func (t *TenantDB) AddReportDelivery(ctx context.Context, d *ReportDelivery) (created bool, err error) {
	now := t.s.now().UTC()
	d.DueAt = d.DueAt.UTC() // stored times are UTC: SQLite compares them as text
	if d.State != ReportSkipped {
		d.State, d.LastError = ReportPending, ""
	}
	d.NextAt, d.CreatedAt = d.DueAt, now
	err = t.reportDeliveries.insert(ctx, t.db, d)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, ErrConflict):
		return false, nil
	}
	return false, err
}

// DueReportDeliveries returns pending deliveries due at now that nobody holds a live
// claim on, oldest first.
func (t *TenantDB) DueReportDeliveries(ctx context.Context, now time.Time, limit int) ([]ReportDelivery, error) {
	return t.reportDeliveries.list(ctx, t.db, "`state` = 'pending' AND `next_at` <= ? AND (`claim_until` IS NULL OR `claim_until` < ?)",
		[]any{now.UTC(), now.UTC()}, Page{Limit: limit})
}

// ClaimReportDelivery makes holder the only sender of a pending delivery until until.
// Among instances racing for it exactly one gets true.
func (t *TenantDB) ClaimReportDelivery(ctx context.Context, id int64, holder string, now, until time.Time) (bool, error) {
	res, err := t.db.ExecContext(ctx, "UPDATE `report_delivery` SET `claimed_by` = ?, `claim_until` = ? WHERE `id` = ? AND `state` = 'pending' AND (`claim_until` IS NULL OR `claim_until` < ?)",
		holder, until.UTC(), id, now.UTC())
	if err != nil {
		return false, fmt.Errorf("store: cannot claim report delivery %d: %w", id, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// FinishReportDelivery records an attempt by holder: sent (errText ""), pending again at
// next, or failed (next zero). The claim is released; a holder whose claim was taken over
// records nothing (ErrConflict).
func (t *TenantDB) FinishReportDelivery(ctx context.Context, d ReportDelivery, holder string, at time.Time, errText string, next time.Time) error {
	at, next = at.UTC(), next.UTC()
	state, nextAt := ReportPending, next
	var sent *time.Time
	switch {
	case errText == "":
		state, nextAt, sent = ReportSent, at, &at
	case next.IsZero():
		state, nextAt = ReportFailed, at
	}
	res, err := t.db.ExecContext(ctx, "UPDATE `report_delivery` SET `state` = ?, `attempts` = `attempts` + 1, `next_at` = ?, `last_error` = ?, `sent_at` = ?, `claimed_by` = '', `claim_until` = NULL WHERE `id` = ? AND `claimed_by` = ? AND `state` = 'pending'",
		state, nextAt, errText, sent, d.ID, holder)
	if err != nil {
		return fmt.Errorf("store: cannot record report delivery %d: %w", d.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return fmt.Errorf("store: report delivery %d is no longer claimed by %s: %w", d.ID, holder, ErrConflict)
	}
	return nil
}

// LastReportDue is when the latest recorded occurrence of a schedule fell due (ok false:
// none recorded yet).
func (t *TenantDB) LastReportDue(ctx context.Context, scheduleID int64) (due time.Time, ok bool, err error) {
	err = t.db.QueryRowContext(ctx, "SELECT `due_at` FROM `report_delivery` WHERE `schedule_id` = ? ORDER BY `due_at` DESC LIMIT 1", scheduleID).Scan(&due)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return time.Time{}, false, nil
	case err != nil:
		return time.Time{}, false, fmt.Errorf("store: cannot read the last report of schedule %d: %w", scheduleID, err)
	}
	return due, true, nil
}

// ReportDeliveries lists a schedule's deliveries, newest first (at most limit).
func (t *TenantDB) ReportDeliveries(ctx context.Context, scheduleID int64, limit int) ([]ReportDelivery, error) {
	list, err := t.reportDeliveries.list(ctx, t.db, "`schedule_id` = ?", []any{scheduleID}, Page{Limit: MaxPageSize})
	if err != nil {
		return nil, err
	}
	slices.Reverse(list)
	return list[:min(limit, len(list))], nil
}
