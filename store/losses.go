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
// (start-up rejects: the minutes after each start), without reading every minute between,
// by product (each product's rejects weigh its own ideal cycle time).
func (t *TenantDB) RejectsInRollup(ctx context.Context, lineID int64, ranges []MinuteRange) (map[int64]int64, error) {
	return t.rejectsIn(ctx, lineID, ranges, "SELECT `product_id`, COALESCE(SUM(`reject`), 0) FROM `production_minute` WHERE `line_id` = ? AND (", "`minute` >= ? AND `minute` < ?",
		func(r MinuteRange) []any { return []any{r.From, r.To} }, lineID)
}

// RejectsInRaw answers RejectsInRollup from the raw detection table.
func (t *TenantDB) RejectsInRaw(ctx context.Context, lineID int64, ranges []MinuteRange) (map[int64]int64, error) {
	det, _, err := lineTables(lineID)
	if err != nil {
		return nil, err
	}
	return t.rejectsIn(ctx, lineID, ranges, "SELECT `product_id`, COUNT(*) FROM `"+det+"` WHERE `ok` = 0 AND (", "`detected_at` >= ? AND `detected_at` < ?",
		func(r MinuteRange) []any { return []any{time.Unix(r.From*60, 0).UTC(), time.Unix(r.To*60, 0).UTC()} })
}

func (t *TenantDB) rejectsIn(ctx context.Context, lineID int64, ranges []MinuteRange, head, cond string, bind func(MinuteRange) []any, lead ...any) (map[int64]int64, error) {
	out := map[int64]int64{}
	for len(ranges) > 0 {
		part := ranges[:min(len(ranges), maxRangesPerQuery)]
		ranges = ranges[len(part):]
		args := append([]any(nil), lead...)
		conds := make([]string, len(part))
		for i, r := range part {
			conds[i] = "(" + cond + ")"
			args = append(args, bind(r)...)
		}
		if err := t.sumByProduct(ctx, out, head+strings.Join(conds, " OR ")+") GROUP BY `product_id`", args...); err != nil {
			return nil, fmt.Errorf("store: cannot sum rejects of line %d: %w", lineID, err)
		}
	}
	return out, nil
}

func (t *TenantDB) sumByProduct(ctx context.Context, into map[int64]int64, q string, args ...any) error {
	rows, err := t.db.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var p int64
		var n sql.NullInt64
		if err := rows.Scan(&p, &n); err != nil {
			return err
		}
		if n.Int64 != 0 {
			into[p] += n.Int64
		}
	}
	return rows.Err()
}
