package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"
)

// RunMark is a product run an operator started by hand (a row of product_run): from Start
// the line runs ProductID. Runs the cameras see are not stored: they are the stretches of
// consecutive detections of one product (stream derives them from the detections).
type RunMark struct {
	ID        int64     `json:"id"`
	LineID    int64     `json:"line_id"`
	ProductID int64     `json:"product_id"`
	Start     time.Time `json:"start"`
	SetBy     int64     `json:"set_by"` // user id
	CreatedAt time.Time `json:"created_at"`
}

// MaxRunMarks bounds the marks one query returns.
const MaxRunMarks = 5000

// AddRunMark stores an operator's run start. The product must exist; a second mark at
// the same instant on the same line is a conflict.
func (t *TenantDB) AddRunMark(ctx context.Context, m *RunMark) error {
	m.Start = m.Start.UTC().Truncate(time.Millisecond)
	v := validator{entity: "product_run"}
	v.check(m.LineID > 0, "line_id", "is required")
	v.check(m.ProductID > 0, "product_id", "is required")
	v.check(!m.Start.IsZero(), "start", "is required")
	if err := v.err(); err != nil {
		return err
	}
	var one int
	err := t.db.QueryRowContext(ctx, "SELECT 1 FROM `product` WHERE `id` = ?", m.ProductID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return &ValidationError{Entity: "product_run", Fields: []FieldError{{Field: "product_id", Message: fmt.Sprintf("unknown product %d", m.ProductID)}}}
	}
	if err != nil {
		return fmt.Errorf("store: cannot look up product %d: %w", m.ProductID, err)
	}
	m.CreatedAt = t.s.now().UTC().Truncate(time.Millisecond)
	res, err := t.db.ExecContext(ctx, "INSERT INTO `product_run` (`line_id`, `product_id`, `start_time`, `set_by`, `created_at`) VALUES (?, ?, ?, ?, ?)",
		m.LineID, m.ProductID, m.Start, m.SetBy, m.CreatedAt)
	if err != nil {
		if t.s.d.isDuplicate(err) {
			return fmt.Errorf("store: a run already starts at %s on line %d: %w", m.Start.Format(time.RFC3339Nano), m.LineID, ErrConflict)
		}
		return fmt.Errorf("store: cannot store the run of line %d: %w", m.LineID, err)
	}
	if m.ID, err = res.LastInsertId(); err != nil {
		return fmt.Errorf("store: cannot read the run id: %w", err)
	}
	return nil
}

// RunMarks returns the operator's run starts of a line in [from, to) and the last one
// before from (the run in progress at from), oldest first.
func (t *TenantDB) RunMarks(ctx context.Context, lineID int64, from, to time.Time) ([]RunMark, error) {
	const cols = "SELECT `id`, `line_id`, `product_id`, `start_time`, `set_by`, `created_at` FROM `product_run` WHERE `line_id` = ? AND "
	prev, err := t.queryRunMarks(ctx, cols+"`start_time` < ? ORDER BY `start_time` DESC LIMIT 1", lineID, from.UTC())
	if err != nil {
		return nil, err
	}
	in, err := t.queryRunMarks(ctx, cols+"`start_time` >= ? AND `start_time` < ? ORDER BY `start_time` LIMIT ?", lineID, from.UTC(), to.UTC(), MaxRunMarks+1)
	if err != nil {
		return nil, err
	}
	if len(in) > MaxRunMarks {
		return nil, &ValidationError{Entity: "runs_query", Fields: []FieldError{{Field: "to", Message: fmt.Sprintf("more than %d runs set by hand: narrow the range", MaxRunMarks)}}}
	}
	return append(prev, in...), nil
}

func (t *TenantDB) queryRunMarks(ctx context.Context, q string, args ...any) ([]RunMark, error) {
	rows, err := t.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: cannot list runs: %w", err)
	}
	defer rows.Close()
	var out []RunMark
	for rows.Next() {
		var m RunMark
		if err := rows.Scan(&m.ID, &m.LineID, &m.ProductID, &m.Start, &m.SetBy, &m.CreatedAt); err != nil {
			return nil, fmt.Errorf("store: cannot scan runs: %w", err)
		}
		m.Start, m.CreatedAt = m.Start.UTC(), m.CreatedAt.UTC()
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: cannot list runs: %w", err)
	}
	return out, nil
}

// ProductSeen is one detection's time, product and quality.
type ProductSeen struct {
	At      time.Time
	Product int64
	OK      bool
}

// DetectionsInOrder returns a line's detections in [from, to) in event-time order (ties
// by id): a scan of the range, for product runs.
func (t *TenantDB) DetectionsInOrder(ctx context.Context, lineID int64, from, to time.Time) ([]ProductSeen, error) {
	return t.productsSeen(ctx, lineID, "`detected_at` >= ? AND `detected_at` < ? ORDER BY `detected_at`, `detection_id`", from.UTC(), to.UTC())
}

// ProductBefore is the latest detection of a line in [from, at] (before: true) or the
// earliest in [at, to) (before: false); ok is false when there is none.
func (t *TenantDB) ProductBefore(ctx context.Context, lineID int64, at, bound time.Time, before bool) (ProductSeen, bool, error) {
	var out []ProductSeen
	var err error
	if before {
		out, err = t.productsSeen(ctx, lineID, "`detected_at` >= ? AND `detected_at` <= ? ORDER BY `detected_at` DESC, `detection_id` DESC LIMIT 1", bound.UTC(), at.UTC())
	} else {
		out, err = t.productsSeen(ctx, lineID, "`detected_at` >= ? AND `detected_at` < ? ORDER BY `detected_at`, `detection_id` LIMIT 1", at.UTC(), bound.UTC())
	}
	if err != nil || len(out) == 0 {
		return ProductSeen{}, false, err
	}
	return out[0], true, nil
}

// ProductsAt returns the detections of a line at exactly the given instants (the edges
// of booked stops: a stop starts at a detection and ends at the next one), in one scan of
// the raw table per 400 instants.
func (t *TenantDB) ProductsAt(ctx context.Context, lineID int64, ats []time.Time) ([]ProductSeen, error) {
	var out []ProductSeen
	for len(ats) > 0 {
		part := ats[:min(len(ats), maxRangesPerQuery)]
		ats = ats[len(part):]
		// The range bound lets MySQL prune partitions; IN keeps the answer to the edges.
		args := []any{slices.MinFunc(part, time.Time.Compare).UTC(), slices.MaxFunc(part, time.Time.Compare).UTC()}
		for _, a := range part {
			args = append(args, a.UTC())
		}
		got, err := t.productsSeen(ctx, lineID, "`detected_at` >= ? AND `detected_at` <= ? AND `detected_at` IN ("+placeholders(len(part))+")", args...)
		if err != nil {
			return nil, err
		}
		out = append(out, got...)
	}
	return out, nil
}

func (t *TenantDB) productsSeen(ctx context.Context, lineID int64, where string, args ...any) ([]ProductSeen, error) {
	det, _, err := lineTables(lineID)
	if err != nil {
		return nil, err
	}
	rows, err := t.db.QueryContext(ctx, "SELECT `detected_at`, `product_id`, `ok` FROM `"+det+"` WHERE "+where, args...)
	if err != nil {
		return nil, fmt.Errorf("store: cannot read the products of line %d: %w", lineID, err)
	}
	defer rows.Close()
	var out []ProductSeen
	for rows.Next() {
		var p ProductSeen
		if err := rows.Scan(&p.At, &p.Product, &p.OK); err != nil {
			return nil, fmt.Errorf("store: cannot read the products of line %d: %w", lineID, err)
		}
		p.At = p.At.UTC()
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: cannot read the products of line %d: %w", lineID, err)
	}
	return out, nil
}

// RollupEdge is what a minute rollup row tells about the instants of its detections: the
// product and its first and last detection's milliseconds into the minute (LastMS -1: not
// known, the row was written before last_ms was kept).
type RollupEdge struct {
	Minute, Product, FirstMS, LastMS int64
}

// RollupMinutes returns a line's rollup rows of the given Unix minutes, in minute order.
func (t *TenantDB) RollupMinutes(ctx context.Context, lineID int64, minutes []int64) ([]RollupEdge, error) {
	var out []RollupEdge
	for len(minutes) > 0 {
		part := minutes[:min(len(minutes), maxRangesPerQuery)]
		minutes = minutes[len(part):]
		args := []any{lineID}
		for _, m := range part {
			args = append(args, m)
		}
		got, err := t.rollupEdges(ctx, lineID, "`minute` IN ("+placeholders(len(part))+")", args...)
		if err != nil {
			return nil, err
		}
		out = append(out, got...)
	}
	slices.SortFunc(out, func(a, b RollupEdge) int { return int(a.Minute - b.Minute) })
	return out, nil
}

// RollupNeighbour returns a line's rollup rows of the latest minute with production in
// [minute − span, minute) (before) or of the earliest in (minute, minute + span] (after).
func (t *TenantDB) RollupNeighbour(ctx context.Context, lineID, minute, span int64, before bool) ([]RollupEdge, error) {
	pick, lo, hi := "MAX", minute-span, minute-1
	if !before {
		pick, lo, hi = "MIN", minute+1, minute+span
	}
	return t.rollupEdges(ctx, lineID, "`minute` = (SELECT "+pick+"(`minute`) FROM `production_minute` WHERE `line_id` = ? AND `minute` >= ? AND `minute` <= ? AND `total` > 0)",
		lineID, lineID, lo, hi)
}

func (t *TenantDB) rollupEdges(ctx context.Context, lineID int64, cond string, args ...any) ([]RollupEdge, error) {
	rows, err := t.db.QueryContext(ctx, "SELECT `minute`, `product_id`, `first_ms`, COALESCE(`last_ms`, -1) FROM `production_minute` WHERE `line_id` = ? AND `total` > 0 AND "+cond, args...)
	if err != nil {
		return nil, fmt.Errorf("store: cannot read the rollup edges of line %d: %w", lineID, err)
	}
	defer rows.Close()
	var out []RollupEdge
	for rows.Next() {
		var e RollupEdge
		if err := rows.Scan(&e.Minute, &e.Product, &e.FirstMS, &e.LastMS); err != nil {
			return nil, fmt.Errorf("store: cannot read the rollup edges of line %d: %w", lineID, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: cannot read the rollup edges of line %d: %w", lineID, err)
	}
	return out, nil
}
