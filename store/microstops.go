package store

import (
	"context"
	"fmt"
)

// MicroStopRow is a line's micro-stops (gaps between detections longer than the line's
// micro_stop_min and not downtime) closed in one minute: the stream engine's fold books
// them by the minute of the detection that ends each gap (docs/LOSSES.md).
type MicroStopRow struct {
	Minute     int64 `json:"minute"` // Unix minutes
	Count      int64 `json:"count"`
	DurationMS int64 `json:"duration_ms"`
}

// ReplaceMicroStops makes rows the line's micro-stop minutes in r, in one transaction:
// rows are absolute values (the fold's total of each minute), so replaying a minute
// writes the same row again. Rows outside r are refused.
func (t *TenantDB) ReplaceMicroStops(ctx context.Context, lineID int64, r MinuteRange, rows []MicroStopRow) error {
	for _, row := range rows {
		if row.Minute < r.From || row.Minute >= r.To || row.Count < 0 || row.DurationMS < 0 {
			return fmt.Errorf("store: micro-stops of line %d: row %+v outside [%d, %d) or negative: %w", lineID, row, r.From, r.To, ErrInvalid)
		}
	}
	tx, err := t.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: cannot store micro-stops of line %d: %w", lineID, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "DELETE FROM `micro_stop` WHERE `line_id` = ? AND `minute` >= ? AND `minute` < ?", lineID, r.From, r.To); err != nil {
		return fmt.Errorf("store: cannot store micro-stops of line %d: %w", lineID, err)
	}
	for i := 0; i < len(rows); i += 500 {
		chunk := rows[i:min(i+500, len(rows))]
		args := make([]any, 0, 4*len(chunk))
		for _, row := range chunk {
			if row.Count == 0 {
				continue
			}
			args = append(args, lineID, row.Minute, row.Count, row.DurationMS)
		}
		if len(args) == 0 {
			continue
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO `micro_stop` (`line_id`, `minute`, `count`, `duration_ms`) VALUES "+tuples(len(args)/4, 4), args...); err != nil {
			return fmt.Errorf("store: cannot store micro-stops of line %d: %w", lineID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: cannot store micro-stops of line %d: %w", lineID, err)
	}
	return nil
}

// MicroStops returns a line's micro-stop minutes in r, oldest first.
func (t *TenantDB) MicroStops(ctx context.Context, lineID int64, r MinuteRange) ([]MicroStopRow, error) {
	rows, err := t.db.QueryContext(ctx, "SELECT `minute`, `count`, `duration_ms` FROM `micro_stop` WHERE `line_id` = ? AND `minute` >= ? AND `minute` < ? ORDER BY `minute`", lineID, r.From, r.To)
	if err != nil {
		return nil, fmt.Errorf("store: cannot read micro-stops of line %d: %w", lineID, err)
	}
	defer rows.Close()
	var out []MicroStopRow
	for rows.Next() {
		var m MicroStopRow
		if err := rows.Scan(&m.Minute, &m.Count, &m.DurationMS); err != nil {
			return nil, fmt.Errorf("store: cannot read micro-stops of line %d: %w", lineID, err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}
