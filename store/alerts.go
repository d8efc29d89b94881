package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Alert channel kinds.
const (
	ChannelWebhook = "webhook"
	ChannelEmail   = "email"
	ChannelBrowser = "browser"
)

// Webhook payload formats.
const (
	FormatGeneric = "generic"
	FormatSlack   = "slack"
	FormatTeams   = "teams"
)

// Alert rule kinds.
const (
	RuleLineDown        = "line_down"
	RuleOEEBelow        = "oee_below"
	RuleUncodedDowntime = "uncoded_downtime"
	RuleNodeOffline     = "node_offline"
)

// Alert states.
const (
	AlertFiring       = "firing"
	AlertAcknowledged = "acknowledged"
	AlertResolved     = "resolved"
)

// Notification events (what a notification tells) and states (where it is in the outbox).
const (
	EventFiring    = "firing"
	EventResolved  = "resolved"
	EventEscalated = "escalated"

	NotePending = "pending"
	NoteSent    = "sent"
	NoteFailed  = "failed" // gave up after the last attempt
)

// ChannelConfig is a channel's configuration; the fields of its kind are used. Secret and
// Password are secrets: the API never returns them.
type ChannelConfig struct {
	// webhook
	URL    string `json:"url,omitempty"`
	Secret string `json:"secret,omitempty"`
	Format string `json:"format,omitempty"` // generic (default), slack, teams
	// email
	Host     string   `json:"host,omitempty"`
	Port     int      `json:"port,omitempty"`
	TLS      string   `json:"tls,omitempty"` // starttls (default), tls, none
	Username string   `json:"username,omitempty"`
	Password string   `json:"password,omitempty"`
	From     string   `json:"from,omitempty"`
	To       []string `json:"to,omitempty"`
}

// AlertChannel is where notifications go: a webhook, an SMTP mailbox or the browser.
// Failing is set when a notification gave up on it (flagged to the tenant admin).
type AlertChannel struct {
	ID        int64         `json:"id"`
	Name      string        `json:"name"`
	Kind      string        `json:"kind"`
	Config    ChannelConfig `json:"config"`
	Failing   bool          `json:"failing"`    // set by the sender; read-only
	LastError string        `json:"last_error"` // the error that made it failing; read-only
	timestamps
}

func (c *AlertChannel) validate() error {
	v := validator{entity: "notification_channel"}
	v.check(nameOK(c.Name, 200), "name", "is required (at most 200 characters)")
	cf := &c.Config
	switch c.Kind {
	case ChannelWebhook:
		u, err := url.Parse(cf.URL)
		v.check(err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && len(cf.URL) <= 2000,
			"config.url", "must be an http or https URL (at most 2000 characters)")
		v.check(len(cf.Secret) <= 200, "config.secret", "at most 200 characters")
		if cf.Format == "" {
			cf.Format = FormatGeneric
		}
		v.check(slices.Contains([]string{FormatGeneric, FormatSlack, FormatTeams}, cf.Format), "config.format", "must be generic, slack or teams")
	case ChannelEmail:
		v.check(cf.Host != "" && len(cf.Host) <= 255 && !strings.ContainsAny(cf.Host, " /"), "config.host", "is required (a host name)")
		v.check(cf.Port > 0 && cf.Port < 65536, "config.port", "must be 1..65535")
		if cf.TLS == "" {
			cf.TLS = "starttls"
		}
		v.check(slices.Contains([]string{"starttls", "tls", "none"}, cf.TLS), "config.tls", "must be starttls, tls or none")
		v.check(len(cf.Username) <= 200 && len(cf.Password) <= 200, "config.username", "at most 200 characters")
		_, err := mail.ParseAddress(cf.From)
		v.check(err == nil, "config.from", "must be an e-mail address")
		v.check(len(cf.To) > 0 && len(cf.To) <= 50, "config.to", "1 to 50 addresses")
		for _, to := range cf.To {
			_, err := mail.ParseAddress(to)
			v.check(err == nil, "config.to", fmt.Sprintf("%q is not an e-mail address", to))
		}
	case ChannelBrowser:
	default:
		v.check(false, "kind", "must be webhook, email or browser")
	}
	return v.err()
}

// Redacted returns c without its secrets, for every answer of the API and every log.
func (c AlertChannel) Redacted() AlertChannel {
	c.Config.Secret, c.Config.Password = "", ""
	c.Config.To = slices.Clone(c.Config.To)
	return c
}

// AlertRule is a condition on lines that raises alerts. Lines empty = every line.
type AlertRule struct {
	ID               int64    `json:"id"`
	Name             string   `json:"name"`
	Kind             string   `json:"kind"`
	Severity         string   `json:"severity,omitempty"` // info, warning (default), critical
	Lines            []int64  `json:"lines"`
	After            Duration `json:"after"`
	Threshold        float64  `json:"threshold,omitempty"` // oee_below: a fraction
	Metric           string   `json:"metric,omitempty"`    // oee_below: oee (default), availability, performance, quality
	Channels         []int64  `json:"channels"`
	EscalateAfter    Duration `json:"escalate_after,omitempty"`
	EscalateChannels []int64  `json:"escalate_channels,omitempty"`
	Active           bool     `json:"active"`
	timestamps
}

// Duration is a delay written "30s", "5m" or "1h30m" in JSON and stored in milliseconds.
type Duration time.Duration

// D is d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// MarshalJSON writes Go's duration syntax ("5m0s").
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads "30s", "5m", "1h30m".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New(`a duration is a string such as "30s" or "5m"`)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration such as \"30s\" or \"5m\"", s)
	}
	*d = Duration(v)
	return nil
}

// Value stores milliseconds.
func (d Duration) Value() (driver.Value, error) { return time.Duration(d).Milliseconds(), nil }

// Scan reads milliseconds.
func (d *Duration) Scan(src any) error {
	var ms sql.NullInt64
	if err := ms.Scan(src); err != nil {
		return err
	}
	*d = Duration(time.Duration(ms.Int64) * time.Millisecond)
	return nil
}

// Covers reports whether the rule watches line.
func (r AlertRule) Covers(line int64) bool {
	return len(r.Lines) == 0 || slices.Contains(r.Lines, line)
}

const maxAlertRef = 50

func (r *AlertRule) validate() error {
	v := validator{entity: "alert_rule"}
	v.check(nameOK(r.Name, 200), "name", "is required (at most 200 characters)")
	v.check(slices.Contains([]string{RuleLineDown, RuleOEEBelow, RuleUncodedDowntime, RuleNodeOffline}, r.Kind), "kind",
		"must be line_down, oee_below, uncoded_downtime or node_offline")
	if r.Severity == "" {
		r.Severity = "warning"
	}
	v.check(slices.Contains([]string{"info", "warning", "critical"}, r.Severity), "severity", "must be info, warning or critical")
	if r.Kind == RuleOEEBelow {
		if r.Metric == "" {
			r.Metric = "oee"
		}
		v.check(slices.Contains([]string{"oee", "availability", "performance", "quality"}, r.Metric), "metric", "must be oee, availability, performance or quality")
		v.check(r.Threshold > 0 && r.Threshold <= 1, "threshold", "must be a fraction in (0, 1]")
	}
	week := Duration(7 * 24 * time.Hour)
	v.check(r.After >= 0 && r.After <= week, "after", "must be between 0s and 168h")
	v.check(r.EscalateAfter >= 0 && r.EscalateAfter <= week, "escalate_after", "must be between 0s and 168h")
	v.check(len(r.Lines) <= 1000, "lines", "at most 1000 lines")
	v.check(len(r.Channels) > 0 && len(r.Channels) <= maxAlertRef, "channels", fmt.Sprintf("1 to %d channels", maxAlertRef))
	v.check(len(r.EscalateChannels) <= maxAlertRef, "escalate_channels", fmt.Sprintf("at most %d channels", maxAlertRef))
	v.check((r.EscalateAfter > 0) == (len(r.EscalateChannels) > 0), "escalate_channels", "escalate_after and escalate_channels go together")
	if r.Lines == nil {
		r.Lines = []int64{}
	}
	if r.EscalateChannels == nil {
		r.EscalateChannels = []int64{}
	}
	return v.err()
}

// Alert is one occurrence of a rule's condition, from firing to resolved.
type Alert struct {
	ID          int64      `json:"id"`
	RuleID      int64      `json:"rule_id"`
	LineID      int64      `json:"line_id"`
	Occurrence  string     `json:"occurrence"` // what makes it one occurrence (e.g. the stop's start)
	Kind        string     `json:"kind"`
	Severity    string     `json:"severity"`
	State       string     `json:"state"`
	Value       float64    `json:"value"`
	Subject     string     `json:"subject"` // e.g. the vision node of node_offline
	StartedAt   time.Time  `json:"started_at"`
	FiredAt     time.Time  `json:"fired_at"`
	ResolvedAt  *time.Time `json:"resolved_at"`
	AckedAt     *time.Time `json:"acked_at"`
	AckedBy     int64      `json:"acked_by"`
	AckComment  string     `json:"ack_comment"`
	EscalatedAt *time.Time `json:"escalated_at"`
}

// Notification is a row of the outbox: one event of one alert for one channel.
type Notification struct {
	ID             int64      `json:"id"`
	AlertID        int64      `json:"alert_id"`
	ChannelID      int64      `json:"channel_id"`
	Event          string     `json:"event"`
	State          string     `json:"state"`
	Attempts       int        `json:"attempts"`
	NextAttemptAt  time.Time  `json:"next_attempt_at"`
	ClaimedBy      string     `json:"-"`
	ClaimUntil     *time.Time `json:"-"`
	IdempotencyKey string     `json:"idempotency_key"`
	LastError      string     `json:"last_error"`
	CreatedAt      time.Time  `json:"created_at"`
	SentAt         *time.Time `json:"sent_at"`
}

// Delivery is one attempt to deliver a notification.
type Delivery struct {
	ID             int64     `json:"id"`
	NotificationID int64     `json:"notification_id"`
	AlertID        int64     `json:"alert_id"`
	ChannelID      int64     `json:"channel_id"`
	Event          string    `json:"event"`
	Attempt        int       `json:"attempt"`
	At             time.Time `json:"at"`
	OK             bool      `json:"ok"`
	StatusCode     int       `json:"status_code"`
	Error          string    `json:"error"`
	DurationMS     int64     `json:"duration_ms"`
}

// alertTables are the tables of the alerting state that are not plain collections.
type alertTables struct {
	alerts *table[Alert]
	notes  *table[Notification]
	log    *table[Delivery]
}

func newAlertTables(d dialect) alertTables {
	return alertTables{
		alerts: newTable(d, "alert", []string{"rule_id", "line_id", "occurrence", "kind", "severity", "state", "value", "subject", "started_at", "fired_at", "resolved_at", "acked_at", "acked_by", "ack_comment", "escalated_at"},
			func(a *Alert) *int64 { return &a.ID },
			func(a *Alert) []any {
				return []any{&a.RuleID, &a.LineID, &a.Occurrence, &a.Kind, &a.Severity, &a.State, &a.Value, &a.Subject, &a.StartedAt, &a.FiredAt, &a.ResolvedAt, &a.AckedAt, &a.AckedBy, &a.AckComment, &a.EscalatedAt}
			}),
		notes: newTable(d, "alert_notification", []string{"alert_id", "channel_id", "event", "state", "attempts", "next_attempt_at", "claimed_by", "claim_until", "idempotency_key", "last_error", "created_at", "sent_at"},
			func(n *Notification) *int64 { return &n.ID },
			func(n *Notification) []any {
				return []any{&n.AlertID, &n.ChannelID, &n.Event, &n.State, &n.Attempts, &n.NextAttemptAt, &n.ClaimedBy, &n.ClaimUntil, &n.IdempotencyKey, &n.LastError, &n.CreatedAt, &n.SentAt}
			}),
		log: newTable(d, "alert_delivery", []string{"notification_id", "alert_id", "channel_id", "event", "attempt", "at", "ok", "status_code", "error", "duration_ms"},
			func(l *Delivery) *int64 { return &l.ID },
			func(l *Delivery) []any {
				return []any{&l.NotificationID, &l.AlertID, &l.ChannelID, &l.Event, &l.Attempt, &l.At, &l.OK, &l.StatusCode, &l.Error, &l.DurationMS}
			}),
	}
}

func newAlertCollections(t *TenantDB) {
	d := t.s.d
	t.AlertChannels = Collection[AlertChannel, *AlertChannel]{t: t, tab: newTable(d, "alert_channel", []string{"name", "kind", "config", "failing", "last_error", "created_at", "updated_at"},
		func(c *AlertChannel) *int64 { return &c.ID },
		func(c *AlertChannel) []any {
			return []any{&c.Name, &c.Kind, asJSON(&c.Config), &c.Failing, &c.LastError, &c.CreatedAt, &c.UpdatedAt}
		})}
	t.AlertRules = Collection[AlertRule, *AlertRule]{t: t, tab: newTable(d, "alert_rule", []string{"name", "kind", "severity", "lines", "after_ms", "threshold", "metric", "channels", "escalate_after_ms", "escalate_channels", "active", "created_at", "updated_at"},
		func(r *AlertRule) *int64 { return &r.ID },
		func(r *AlertRule) []any {
			return []any{&r.Name, &r.Kind, &r.Severity, asJSON(&r.Lines), &r.After, &r.Threshold, &r.Metric, asJSON(&r.Channels), &r.EscalateAfter, asJSON(&r.EscalateChannels), &r.Active, &r.CreatedAt, &r.UpdatedAt}
		})}
	t.alerting = newAlertTables(d)
}

// OpenAlert records a firing alert and queues its firing notifications for channels in one
// transaction. An occurrence already recorded (by this or another instance) is not opened
// twice: created is false and a holds the stored alert.
func (t *TenantDB) OpenAlert(ctx context.Context, a *Alert, channels []int64) (created bool, err error) {
	now := t.s.now()
	a.State, a.FiredAt, a.ResolvedAt, a.AckedAt, a.EscalatedAt = AlertFiring, now, nil, nil, nil
	a.StartedAt = a.StartedAt.UTC().Truncate(time.Millisecond)
	tx, err := t.db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("store: cannot open alert: %w", err)
	}
	defer tx.Rollback()
	if err := t.alerting.alerts.insert(ctx, tx, a); err != nil {
		if errors.Is(err, ErrConflict) {
			tx.Rollback()
			old, gerr := t.AlertByOccurrence(ctx, a.RuleID, a.Occurrence)
			if gerr != nil {
				return false, gerr
			}
			*a = old
			return false, nil
		}
		return false, err
	}
	if err := t.queue(ctx, tx, a.ID, channels, EventFiring, now); err != nil {
		return false, err
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("store: cannot open alert: %w", err)
	}
	return true, nil
}

// AlertByOccurrence reads the alert of one occurrence of a rule.
func (t *TenantDB) AlertByOccurrence(ctx context.Context, rule int64, occ string) (Alert, error) {
	rows, err := t.alerting.alerts.list(ctx, t.db, "`rule_id` = ? AND `occurrence` = ?", []any{rule, occ}, Page{Limit: 1})
	if err != nil {
		return Alert{}, err
	}
	if len(rows) == 0 {
		return Alert{}, fmt.Errorf("store: alert of rule %d %q: %w", rule, occ, ErrNotFound)
	}
	return rows[0], nil
}

// queue adds a pending notification per channel; a (alert, channel, event) already queued
// is left alone.
func (t *TenantDB) queue(ctx context.Context, q querier, alertID int64, channels []int64, event string, now time.Time) error {
	for _, ch := range channels {
		n := Notification{AlertID: alertID, ChannelID: ch, Event: event, State: NotePending, NextAttemptAt: now, IdempotencyKey: newKey(), CreatedAt: now}
		if err := t.alerting.notes.insert(ctx, q, &n); err != nil && !errors.Is(err, ErrConflict) {
			return err
		}
	}
	return nil
}

func newKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// transition moves an alert by a conditional update and, when this call made the change,
// queues event for channels in the same transaction. changed is false when the alert was
// not in a state where the update applies (someone else already did it).
func (t *TenantDB) transition(ctx context.Context, id int64, set, where string, args []any, event string, channels []int64) (changed bool, err error) {
	tx, err := t.db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("store: cannot update alert %d: %w", id, err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, "UPDATE `alert` SET "+set+" WHERE `id` = ? AND ("+where+")", append(args, id)...)
	if err != nil {
		return false, fmt.Errorf("store: cannot update alert %d: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, err
	}
	if err := t.queue(ctx, tx, id, channels, event, t.s.now()); err != nil {
		return false, err
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("store: cannot update alert %d: %w", id, err)
	}
	return true, nil
}

// ResolveAlert ends a firing or acknowledged alert and queues its resolved notifications.
func (t *TenantDB) ResolveAlert(ctx context.Context, id int64, channels []int64) (bool, error) {
	return t.transition(ctx, id, "`state` = ?, `resolved_at` = ?", "`state` IN ('firing', 'acknowledged')",
		[]any{AlertResolved, t.s.now()}, EventResolved, channels)
}

// EscalateAlert marks a still unacknowledged alert escalated and queues notifications for
// the second set of channels; an acknowledged, resolved or already escalated alert is left alone.
func (t *TenantDB) EscalateAlert(ctx context.Context, id int64, channels []int64) (bool, error) {
	return t.transition(ctx, id, "`escalated_at` = ?", "`state` = 'firing' AND `escalated_at` IS NULL",
		[]any{t.s.now()}, EventEscalated, channels)
}

// MaxAckComment bounds an acknowledgement's comment in bytes.
const MaxAckComment = 2000

// AckAlert acknowledges a firing alert. ErrConflict: it is not firing (already
// acknowledged or resolved).
func (t *TenantDB) AckAlert(ctx context.Context, id, userID int64, comment string) (Alert, error) {
	v := validator{entity: "alert"}
	v.check(len(comment) <= MaxAckComment, "comment", fmt.Sprintf("at most %d characters", MaxAckComment))
	if err := v.err(); err != nil {
		return Alert{}, err
	}
	if _, err := t.GetAlert(ctx, id); err != nil {
		return Alert{}, err
	}
	ok, err := t.transition(ctx, id, "`state` = ?, `acked_at` = ?, `acked_by` = ?, `ack_comment` = ?", "`state` = 'firing'",
		[]any{AlertAcknowledged, t.s.now(), userID, comment}, "", nil)
	if err != nil {
		return Alert{}, err
	}
	if !ok {
		return Alert{}, fmt.Errorf("store: alert %d is not firing: %w", id, ErrConflict)
	}
	return t.GetAlert(ctx, id)
}

// GetAlert reads one alert.
func (t *TenantDB) GetAlert(ctx context.Context, id int64) (Alert, error) {
	return t.alerting.alerts.get(ctx, t.db, id)
}

// ListAlerts pages through alerts, newest last by id; state "" = every state.
func (t *TenantDB) ListAlerts(ctx context.Context, state string, p Page) ([]Alert, error) {
	if state == "" {
		return t.alerting.alerts.list(ctx, t.db, "", nil, p)
	}
	return t.alerting.alerts.list(ctx, t.db, "`state` = ?", []any{state}, p)
}

// OpenAlertOf returns the firing or acknowledged alert of a rule on a line, or nil.
func (t *TenantDB) OpenAlertOf(ctx context.Context, rule, line int64) (*Alert, error) {
	rows, err := t.alerting.alerts.list(ctx, t.db, "`rule_id` = ? AND `line_id` = ? AND `state` IN ('firing', 'acknowledged')", []any{rule, line}, Page{Limit: 1})
	if err != nil || len(rows) == 0 {
		return nil, err
	}
	return &rows[0], nil
}

// OpenAlerts returns every firing or acknowledged alert (the evaluator's state on start).
func (t *TenantDB) OpenAlerts(ctx context.Context) ([]Alert, error) {
	return t.alerting.alerts.all(ctx, t.db, "`state` IN ('firing', 'acknowledged')")
}

// CountAlerts counts the alerts in one state (the bell's unacknowledged count).
func (t *TenantDB) CountAlerts(ctx context.Context, state string) (int64, error) {
	var n int64
	if err := t.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM `alert` WHERE `state` = ?", state).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: cannot count alerts: %w", err)
	}
	return n, nil
}

// DueNotifications returns pending notifications whose next attempt is due at now and
// that nobody holds a live claim on, oldest first.
func (t *TenantDB) DueNotifications(ctx context.Context, now time.Time, limit int) ([]Notification, error) {
	return t.alerting.notes.list(ctx, t.db, "`state` = 'pending' AND `next_attempt_at` <= ? AND (`claim_until` IS NULL OR `claim_until` < ?)",
		[]any{now, now}, Page{Limit: limit})
}

// NextNotificationDue is the earliest next attempt of a pending notification (ok false:
// none pending).
func (t *TenantDB) NextNotificationDue(ctx context.Context) (time.Time, bool, error) {
	var at time.Time
	err := t.db.QueryRowContext(ctx, "SELECT `next_attempt_at` FROM `alert_notification` WHERE `state` = 'pending' ORDER BY `next_attempt_at` LIMIT 1").Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("store: cannot read the outbox: %w", err)
	}
	return at, true, nil
}

// ClaimNotification makes holder the only sender of a pending notification until until.
// Among instances racing for it exactly one gets true.
func (t *TenantDB) ClaimNotification(ctx context.Context, id int64, holder string, now, until time.Time) (bool, error) {
	res, err := t.db.ExecContext(ctx, "UPDATE `alert_notification` SET `claimed_by` = ?, `claim_until` = ? WHERE `id` = ? AND `state` = 'pending' AND (`claim_until` IS NULL OR `claim_until` < ?)",
		holder, until, id, now)
	if err != nil {
		return false, fmt.Errorf("store: cannot claim notification %d: %w", id, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// Outcome is the result of one delivery attempt.
type Outcome struct {
	Delivery
	// Next is when to try again; zero: no more attempts (sent, or given up).
	Next time.Time
}

// RecordDelivery logs an attempt by holder and moves the notification on: sent, pending
// again at o.Next, or failed. The claim is released. A holder whose claim was taken over
// records nothing (ErrConflict).
func (t *TenantDB) RecordDelivery(ctx context.Context, n Notification, holder string, o Outcome) error {
	tx, err := t.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: cannot record delivery: %w", err)
	}
	defer tx.Rollback()
	state, next := NotePending, o.Next
	var sent *time.Time
	switch {
	case o.OK:
		state, next, sent = NoteSent, o.At, &o.At
	case o.Next.IsZero():
		state, next = NoteFailed, o.At
	}
	res, err := tx.ExecContext(ctx, "UPDATE `alert_notification` SET `state` = ?, `attempts` = ?, `next_attempt_at` = ?, `last_error` = ?, `sent_at` = ?, `claimed_by` = '', `claim_until` = NULL WHERE `id` = ? AND `claimed_by` = ? AND `state` = 'pending'",
		state, o.Attempt, next, o.Error, sent, n.ID, holder)
	if err != nil {
		return fmt.Errorf("store: cannot record delivery: %w", err)
	}
	if k, err := res.RowsAffected(); err != nil || k == 0 {
		return fmt.Errorf("store: notification %d is no longer claimed by %s: %w", n.ID, holder, ErrConflict)
	}
	d := o.Delivery
	d.NotificationID, d.AlertID, d.ChannelID, d.Event = n.ID, n.AlertID, n.ChannelID, n.Event
	if err := t.alerting.log.insert(ctx, tx, &d); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: cannot record delivery: %w", err)
	}
	return nil
}

// Deliveries lists every attempt for an alert, in order.
func (t *TenantDB) Deliveries(ctx context.Context, alertID int64) ([]Delivery, error) {
	return t.alerting.log.all(ctx, t.db, "`alert_id` = ?", alertID)
}

// Notifications lists the outbox rows of an alert.
func (t *TenantDB) Notifications(ctx context.Context, alertID int64) ([]Notification, error) {
	return t.alerting.notes.all(ctx, t.db, "`alert_id` = ?", alertID)
}

// SetChannelHealth flags (or clears) a channel as permanently failing, with the error.
func (t *TenantDB) SetChannelHealth(ctx context.Context, id int64, failing bool, lastErr string) error {
	if len(lastErr) > 2000 {
		lastErr = lastErr[:2000]
	}
	_, err := t.db.ExecContext(ctx, "UPDATE `alert_channel` SET `failing` = ?, `last_error` = ? WHERE `id` = ?", failing, lastErr, id)
	if err != nil {
		return fmt.Errorf("store: cannot update channel %d: %w", id, err)
	}
	return nil
}

// CheckRuleRefs checks that a rule's channels and lines exist in t: the API and the CLI
// share it (the caller's own line permissions are the API's to check). A missing reference
// is a *ValidationError naming its field; any other error is returned as is.
func (t *TenantDB) CheckRuleRefs(ctx context.Context, r *AlertRule) error {
	v := validator{entity: "alert_rule"}
	ref := func(field, what string, id int64, get func() error) error {
		if id <= 0 {
			v.check(false, field, what+" ids are positive")
			return nil
		}
		err := get()
		if errors.Is(err, ErrNotFound) {
			v.check(false, field, "no such "+what)
			return nil
		}
		return err
	}
	for _, field := range []struct {
		name string
		ids  []int64
	}{{"channels", r.Channels}, {"escalate_channels", r.EscalateChannels}} {
		for _, id := range field.ids {
			if err := ref(field.name, "notification channel", id, func() error { _, err := t.AlertChannels.Get(ctx, id); return err }); err != nil {
				return err
			}
		}
	}
	for _, id := range r.Lines {
		if err := ref("lines", "line", id, func() error { _, err := t.GetLine(ctx, id); return err }); err != nil {
			return err
		}
	}
	return v.err()
}
