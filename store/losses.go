package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// MinuteRange is the whole minutes [From, To) in Unix minutes.
type MinuteRange struct{ From, To int64 }

// maxRangesPerQuery bounds the OR-ed conditions of one statement.
const maxRangesPerQuery = 400

// RejectsInRollup sums a line's rejects over the given minute ranges from the rollups
// (start-up rejects: the minutes after each start), without reading every minute between.
func (t *TenantDB) RejectsInRollup(ctx context.Context, lineID int64, ranges []MinuteRange) (int64, error) {
	return t.rejectsIn(ctx, lineID, ranges, "SELECT COALESCE(SUM(`reject`), 0) FROM `production_minute` WHERE `line_id` = ? AND (", "`minute` >= ? AND `minute` < ?",
		func(r MinuteRange) []any { return []any{r.From, r.To} }, lineID)
}

// RejectsInRaw answers RejectsInRollup from the raw detection table.
func (t *TenantDB) RejectsInRaw(ctx context.Context, lineID int64, ranges []MinuteRange) (int64, error) {
	det, _, err := lineTables(lineID)
	if err != nil {
		return 0, err
	}
	return t.rejectsIn(ctx, lineID, ranges, "SELECT COUNT(*) FROM `"+det+"` WHERE `ok` = 0 AND (", "`detected_at` >= ? AND `detected_at` < ?",
		func(r MinuteRange) []any { return []any{time.Unix(r.From*60, 0).UTC(), time.Unix(r.To*60, 0).UTC()} })
}

func (t *TenantDB) rejectsIn(ctx context.Context, lineID int64, ranges []MinuteRange, head, cond string, bind func(MinuteRange) []any, lead ...any) (int64, error) {
	var total int64
	for len(ranges) > 0 {
		part := ranges[:min(len(ranges), maxRangesPerQuery)]
		ranges = ranges[len(part):]
		args := append([]any(nil), lead...)
		conds := make([]string, len(part))
		for i, r := range part {
			conds[i] = "(" + cond + ")"
			args = append(args, bind(r)...)
		}
		var n sql.NullInt64
		if err := t.db.QueryRowContext(ctx, head+strings.Join(conds, " OR ")+")", args...).Scan(&n); err != nil {
			return 0, fmt.Errorf("store: cannot sum rejects of line %d: %w", lineID, err)
		}
		total += n.Int64
	}
	return total, nil
}
