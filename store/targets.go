package store

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// MaxTargetQuantity bounds a production target.
const MaxTargetQuantity = 1_000_000_000

// Target is a line's planned quantity of good units for each instance of one of its
// shifts (docs/OEE.md, "Targets").
type Target struct {
	// Key names the target in URLs: "<line_id>.<shift_id>".
	Key       string    `json:"key"`
	LineID    int64     `json:"line_id"`
	ShiftID   int64     `json:"shift_id"`
	Quantity  int64     `json:"quantity"`
	UpdatedAt time.Time `json:"updated_at"`
}

// TargetKey is the key of a line's target for a shift.
func TargetKey(line, shift int64) string {
	return strconv.FormatInt(line, 10) + "." + strconv.FormatInt(shift, 10)
}

// Targets lists the tenant's production targets by line, then shift.
func (t *TenantDB) Targets(ctx context.Context) ([]Target, error) {
	rows, err := t.db.QueryContext(ctx, "SELECT `line_id`, `shift_id`, `quantity`, `updated_at` FROM `production_target` ORDER BY `line_id`, `shift_id`")
	if err != nil {
		return nil, fmt.Errorf("store: cannot list targets: %w", err)
	}
	defer rows.Close()
	out := []Target{}
	for rows.Next() {
		var x Target
		if err := rows.Scan(&x.LineID, &x.ShiftID, &x.Quantity, &x.UpdatedAt); err != nil {
			return nil, fmt.Errorf("store: cannot list targets: %w", err)
		}
		x.UpdatedAt = x.UpdatedAt.UTC()
		x.Key = TargetKey(x.LineID, x.ShiftID)
		out = append(out, x)
	}
	return out, rows.Err()
}

// SetTarget sets the target of a line's shift (both must exist in this tenant).
func (t *TenantDB) SetTarget(ctx context.Context, x *Target) error {
	v := validator{entity: "target"}
	v.check(x.Quantity > 0 && x.Quantity <= MaxTargetQuantity, "quantity", fmt.Sprintf("must be 1 to %d (delete the target to have none)", MaxTargetQuantity))
	if err := v.err(); err != nil {
		return err
	}
	if _, err := t.GetLine(ctx, x.LineID); err != nil {
		return err
	}
	sh, err := t.Shifts.Get(ctx, x.ShiftID)
	if err != nil {
		return err
	}
	// A shift of another line never runs on this one.
	v.check(sh.LineID == 0 || sh.LineID == x.LineID, "shift_id", "the shift belongs to another line")
	if err := v.err(); err != nil {
		return err
	}
	x.UpdatedAt, x.Key = t.s.now(), TargetKey(x.LineID, x.ShiftID)
	tx, err := t.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: cannot set target: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "DELETE FROM `production_target` WHERE `line_id` = ? AND `shift_id` = ?", x.LineID, x.ShiftID); err != nil {
		return fmt.Errorf("store: cannot set target: %w", err)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO `production_target` (`line_id`, `shift_id`, `quantity`, `updated_at`) VALUES (?, ?, ?, ?)", x.LineID, x.ShiftID, x.Quantity, x.UpdatedAt); err != nil {
		return fmt.Errorf("store: cannot set target: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: cannot set target: %w", err)
	}
	t.s.changed(t.ID())
	return nil
}

// DeleteTarget removes the target of a line's shift; ErrNotFound when there is none.
func (t *TenantDB) DeleteTarget(ctx context.Context, lineID, shiftID int64) error {
	res, err := t.db.ExecContext(ctx, "DELETE FROM `production_target` WHERE `line_id` = ? AND `shift_id` = ?", lineID, shiftID)
	if err != nil {
		return fmt.Errorf("store: cannot delete target: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: target of line %d, shift %d: %w", lineID, shiftID, ErrNotFound)
	}
	t.s.changed(t.ID())
	return nil
}
