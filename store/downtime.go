package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// DowntimeEvent is a row of downtime_events_line_<id>: one stop of a line, booked by the
// KPI engine (stream) by the event-time rule and coded later by a supervisor.
//
// End is nil while the stop is still running (the engine books an open row the moment it
// raises the live alert). DurationMS is the stop's planned production time in
// milliseconds: breaks inside [Start, End) are not downtime, so it can be shorter than
// End − Start.
type DowntimeEvent struct {
	ID         int64      `json:"id"`
	LineID     int64      `json:"line_id"`
	Start      time.Time  `json:"start"`
	End        *time.Time `json:"end"`
	DurationMS int64      `json:"duration_ms"`
	ReasonCode string     `json:"reason_code"` // a FAILURE code, "" = not coded yet
	Comment    string     `json:"comment"`
	CodedBy    int64      `json:"coded_by"` // user id, 0 = not coded
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
}

// DowntimeFilter narrows ListDowntime. The zero value matches every event.
type DowntimeFilter struct {
	ReasonCode  string        // only events coded with this FAILURE code
	Uncoded     bool          // only events without a reason code (exclusive with ReasonCode)
	MinDuration time.Duration // only events at least this long (booked duration)
}

// MaxDowntimeComment bounds DowntimeEvent.Comment in bytes.
const MaxDowntimeComment = 2000

const downtimeCols = "`id`, `start_time`, `end_time`, `duration`, `reason_code`, `comment`, `coded_by`, `created_at`, `updated_at`"

func (e *DowntimeEvent) validate() error {
	v := validator{entity: "downtime_event"}
	v.check(!e.Start.IsZero(), "start", "is required")
	v.check(e.End == nil || !e.End.Before(e.Start), "end", "must not be before start")
	v.check(e.DurationMS >= 0, "duration_ms", "must not be negative")
	if e.End != nil {
		v.check(e.DurationMS <= e.End.Sub(e.Start).Milliseconds()+1, "duration_ms", "must not exceed end - start")
	}
	return v.err()
}

// UpsertDowntime books a downtime event idempotently by its start time: a second call with
// the same Start updates End and DurationMS (an open event is closed, a replay re-books the
// same row) and never touches the reason code, comment or coder a supervisor set. A nil End
// never reopens a closed event. On return e holds the stored row (ID, reason, timestamps).
func (t *TenantDB) UpsertDowntime(ctx context.Context, lineID int64, e *DowntimeEvent) error {
	_, down, err := lineTables(lineID)
	if err != nil {
		return err
	}
	e.Start = e.Start.UTC().Truncate(time.Millisecond)
	if e.End != nil {
		end := e.End.UTC().Truncate(time.Millisecond)
		e.End = &end
	}
	if err := e.validate(); err != nil {
		return err
	}
	now := t.s.now()
	var end any
	if e.End != nil {
		end = *e.End
	}
	var q string
	switch t.s.d.engine() {
	case "mysql":
		q = "INSERT INTO `" + down + "` (`start_time`, `end_time`, `duration`, `reason_code`, `comment`, `coded_by`, `created_at`, `updated_at`) VALUES (?, ?, ?, '', NULL, 0, ?, ?) " +
			"ON DUPLICATE KEY UPDATE `duration` = IF(VALUES(`end_time`) IS NULL, `duration`, VALUES(`duration`)), " +
			"`end_time` = COALESCE(VALUES(`end_time`), `end_time`), `updated_at` = VALUES(`updated_at`)"
	default:
		q = "INSERT INTO `" + down + "` (`start_time`, `end_time`, `duration`, `reason_code`, `comment`, `coded_by`, `created_at`, `updated_at`) VALUES (?, ?, ?, '', NULL, 0, ?, ?) " +
			"ON CONFLICT (`start_time`) DO UPDATE SET `duration` = CASE WHEN excluded.`end_time` IS NULL THEN `duration` ELSE excluded.`duration` END, " +
			"`end_time` = COALESCE(excluded.`end_time`, `end_time`), `updated_at` = excluded.`updated_at`"
	}
	if _, err := t.db.ExecContext(ctx, q, e.Start, end, e.DurationMS, now, now); err != nil {
		return fmt.Errorf("store: cannot book downtime of line %d at %s: %w", lineID, e.Start.Format(time.RFC3339Nano), err)
	}
	row := t.db.QueryRowContext(ctx, "SELECT "+downtimeCols+" FROM `"+down+"` WHERE `start_time` = ?", e.Start)
	got, err := scanDowntime(row, lineID)
	if err != nil {
		return fmt.Errorf("store: cannot read back downtime of line %d: %w", lineID, err)
	}
	*e = got
	return nil
}

// DeleteOpenDowntime withdraws the open event starting at start, booked by a live alert
// that later detections proved false (they arrived late and filled the gap). A closed or
// coded event is left alone. It reports whether a row was deleted.
func (t *TenantDB) DeleteOpenDowntime(ctx context.Context, lineID int64, start time.Time) (bool, error) {
	_, down, err := lineTables(lineID)
	if err != nil {
		return false, err
	}
	res, err := t.db.ExecContext(ctx, "DELETE FROM `"+down+"` WHERE `start_time` = ? AND `end_time` IS NULL AND `reason_code` = ''", start.UTC().Truncate(time.Millisecond))
	if err != nil {
		return false, fmt.Errorf("store: cannot withdraw downtime of line %d: %w", lineID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: cannot withdraw downtime of line %d: %w", lineID, err)
	}
	return n > 0, nil
}

// GetDowntime reads one event.
func (t *TenantDB) GetDowntime(ctx context.Context, lineID, id int64) (DowntimeEvent, error) {
	_, down, err := lineTables(lineID)
	if err != nil {
		return DowntimeEvent{}, err
	}
	e, err := scanDowntime(t.db.QueryRowContext(ctx, "SELECT "+downtimeCols+" FROM `"+down+"` WHERE `id` = ?", id), lineID)
	if errors.Is(err, sql.ErrNoRows) {
		return DowntimeEvent{}, fmt.Errorf("store: downtime event %d of line %d: %w", id, lineID, ErrNotFound)
	}
	if err != nil {
		return DowntimeEvent{}, fmt.Errorf("store: cannot read downtime event %d of line %d: %w", id, lineID, err)
	}
	return e, nil
}

// ListDowntime pages (by id) through the events of a line that overlap [from, to): an open
// event overlaps everything after its start.
func (t *TenantDB) ListDowntime(ctx context.Context, lineID int64, from, to time.Time, f DowntimeFilter, p Page) ([]DowntimeEvent, error) {
	limit, err := p.limit()
	if err != nil {
		return nil, err
	}
	if err := f.validate(); err != nil {
		return nil, err
	}
	cond, args := overlapCond(from, to)
	switch {
	case f.Uncoded:
		cond += " AND `reason_code` = ''"
	case f.ReasonCode != "":
		cond += " AND `reason_code` = ?"
		args = append(args, f.ReasonCode)
	}
	if f.MinDuration > 0 {
		cond += " AND `duration` >= ?"
		args = append(args, f.MinDuration.Milliseconds())
	}
	args = append(args, p.AfterID, limit)
	return t.queryDowntime(ctx, lineID, cond+" AND `id` > ? ORDER BY `id` LIMIT ?", args...)
}

// DowntimeBetween returns every event of a line overlapping [from, to), ordered by start,
// for OEE over a range (at most MaxDowntimeScan events: a longer answer is an error, never a
// silently wrong OEE).
func (t *TenantDB) DowntimeBetween(ctx context.Context, lineID int64, from, to time.Time) ([]DowntimeEvent, error) {
	cond, args := overlapCond(from, to)
	args = append(args, MaxDowntimeScan+1)
	evs, err := t.queryDowntime(ctx, lineID, cond+" ORDER BY `start_time` LIMIT ?", args...)
	if err != nil {
		return nil, err
	}
	if len(evs) > MaxDowntimeScan {
		return nil, &ValidationError{Entity: "range", Fields: []FieldError{{Field: "to", Message: fmt.Sprintf("more than %d downtime events in the range: narrow it", MaxDowntimeScan)}}}
	}
	return evs, nil
}

// MaxDowntimeScan bounds DowntimeBetween.
const MaxDowntimeScan = 100000

func overlapCond(from, to time.Time) (string, []any) {
	return "`start_time` < ? AND (`end_time` IS NULL OR `end_time` > ?)", []any{to.UTC(), from.UTC()}
}

func (t *TenantDB) queryDowntime(ctx context.Context, lineID int64, where string, args ...any) ([]DowntimeEvent, error) {
	_, down, err := lineTables(lineID)
	if err != nil {
		return nil, err
	}
	rows, err := t.db.QueryContext(ctx, "SELECT "+downtimeCols+" FROM `"+down+"` WHERE "+where, args...)
	if err != nil {
		return nil, fmt.Errorf("store: cannot list downtime of line %d: %w", lineID, err)
	}
	defer rows.Close()
	var out []DowntimeEvent
	for rows.Next() {
		e, err := scanDowntime(rows, lineID)
		if err != nil {
			return nil, fmt.Errorf("store: cannot scan downtime of line %d: %w", lineID, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: cannot list downtime of line %d: %w", lineID, err)
	}
	return out, nil
}

func (f DowntimeFilter) validate() error {
	v := validator{entity: "downtime_filter"}
	v.check(!(f.Uncoded && f.ReasonCode != ""), "reason_code", "cannot be combined with uncoded")
	v.check(f.ReasonCode == "" || codeRe.MatchString(f.ReasonCode), "reason_code", "must be 1-32 letters, digits, '_', '.' or '-'")
	v.check(f.MinDuration >= 0, "min_duration", "must not be negative")
	return v.err()
}

// SetDowntimeReason codes an event with a FAILURE code of this tenant's catalogue and an
// optional comment, recording who did it. An unknown code is ErrInvalid.
func (t *TenantDB) SetDowntimeReason(ctx context.Context, lineID, id int64, code, comment string, userID int64) error {
	_, down, err := lineTables(lineID)
	if err != nil {
		return err
	}
	code = strings.TrimSpace(code)
	v := validator{entity: "downtime_event"}
	v.check(codeRe.MatchString(code), "reason_code", "must be a failure code (1-32 letters, digits, '_', '.' or '-')")
	v.check(len(comment) <= MaxDowntimeComment, "comment", fmt.Sprintf("at most %d characters", MaxDowntimeComment))
	v.check(userID >= 0, "coded_by", "must not be negative")
	if err := v.err(); err != nil {
		return err
	}
	var one int
	err = t.db.QueryRowContext(ctx, "SELECT 1 FROM `failure` WHERE `code` = ?", code).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return &ValidationError{Entity: "downtime_event", Fields: []FieldError{{Field: "reason_code", Message: fmt.Sprintf("unknown failure code %q (add it to the failure catalogue first)", code)}}}
	}
	if err != nil {
		return fmt.Errorf("store: cannot look up failure code: %w", err)
	}
	res, err := t.db.ExecContext(ctx, "UPDATE `"+down+"` SET `reason_code` = ?, `comment` = ?, `coded_by` = ?, `updated_at` = ? WHERE `id` = ?",
		code, comment, userID, t.s.now(), id)
	if err != nil {
		return fmt.Errorf("store: cannot code downtime event %d of line %d: %w", id, lineID, err)
	}
	return mustAffect(res, down, id)
}

type rowScanner interface{ Scan(dest ...any) error }

func scanDowntime(r rowScanner, lineID int64) (DowntimeEvent, error) {
	e := DowntimeEvent{LineID: lineID}
	var end sql.NullTime
	var comment sql.NullString
	if err := r.Scan(&e.ID, &e.Start, &end, &e.DurationMS, &e.ReasonCode, &comment, &e.CodedBy, &e.CreatedAt, &e.UpdatedAt); err != nil {
		return DowntimeEvent{}, err
	}
	e.Start = e.Start.UTC()
	if end.Valid {
		v := end.Time.UTC()
		e.End = &v
	}
	e.Comment = comment.String
	e.CreatedAt, e.UpdatedAt = e.CreatedAt.UTC(), e.UpdatedAt.UTC()
	return e, nil
}

// ReplaceDowntime makes evs the line's events that start in [from, to), in one
// transaction (linepulse recompute): events there that evs does not have are deleted, the
// others are booked as UpsertDowntime does, so an event that keeps its start keeps its id,
// reason code, comment and coder. It returns how many were deleted.
func (t *TenantDB) ReplaceDowntime(ctx context.Context, lineID int64, from, to time.Time, evs []DowntimeEvent) (deleted int64, err error) {
	_, down, err := lineTables(lineID)
	if err != nil {
		return 0, err
	}
	from, to = from.UTC().Truncate(time.Millisecond), to.UTC().Truncate(time.Millisecond)
	keep := make([]any, 0, len(evs))
	for i := range evs {
		e := &evs[i]
		e.Start = e.Start.UTC().Truncate(time.Millisecond)
		if e.End == nil || e.Start.Before(from) || !e.Start.Before(to) {
			return 0, fmt.Errorf("store: replacing downtime of line %d: event at %s is open or outside the range: %w", lineID, e.Start.Format(time.RFC3339Nano), ErrInvalid)
		}
		if err := e.validate(); err != nil {
			return 0, err
		}
		keep = append(keep, e.Start)
	}
	tx, err := t.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	q := "DELETE FROM `" + down + "` WHERE `start_time` >= ? AND `start_time` < ?"
	args := []any{from, to}
	if len(keep) > 0 {
		q += " AND `start_time` NOT IN (" + placeholders(len(keep)) + ")"
		args = append(args, keep...)
	}
	res, err := tx.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("store: cannot replace downtime of line %d: %w", lineID, err)
	}
	deleted, _ = res.RowsAffected()
	now := t.s.now()
	for _, e := range evs {
		var n int64
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM `"+down+"` WHERE `start_time` = ?", e.Start).Scan(&n); err != nil {
			return 0, fmt.Errorf("store: cannot replace downtime of line %d: %w", lineID, err)
		}
		if n > 0 {
			_, err = tx.ExecContext(ctx, "UPDATE `"+down+"` SET `end_time` = ?, `duration` = ?, `updated_at` = ? WHERE `start_time` = ?", e.End.UTC().Truncate(time.Millisecond), e.DurationMS, now, e.Start)
		} else {
			_, err = tx.ExecContext(ctx, "INSERT INTO `"+down+"` (`start_time`, `end_time`, `duration`, `reason_code`, `comment`, `coded_by`, `created_at`, `updated_at`) VALUES (?, ?, ?, '', NULL, 0, ?, ?)",
				e.Start, e.End.UTC().Truncate(time.Millisecond), e.DurationMS, now, now)
		}
		if err != nil {
			return 0, fmt.Errorf("store: cannot replace downtime of line %d: %w", lineID, err)
		}
	}
	return deleted, tx.Commit()
}
