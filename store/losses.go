package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// MinuteRange is the whole minutes [From, To) in Unix minutes.
type MinuteRange struct{ From, To int64 }

// maxRangesPerQuery bounds the OR-ed conditions of one statement.
const maxRangesPerQuery = 400

// RejectsInRollup sums a line's rejects over the given minute ranges from the rollups
// (start-up rejects: the minutes after each start), by product (each product's rejects
// weigh its own ideal cycle time). It reads the rows with rejects between the first and
// the last range in one index range scan and keeps those inside a range: SQLite would
// test every OR-ed range on every row of the line (400 ranges over 30 days took ~0.7 s).
func (t *TenantDB) RejectsInRollup(ctx context.Context, lineID int64, ranges []MinuteRange) (map[int64]int64, error) {
	out := map[int64]int64{}
	merged := MergeRanges(ranges)
	if len(merged) == 0 {
		return out, nil
	}
	rows, err := t.db.QueryContext(ctx, "SELECT `minute`, `product_id`, `reject` FROM `production_minute` "+
		"WHERE `line_id` = ? AND `minute` >= ? AND `minute` < ? AND `reject` > 0", lineID, merged[0].From, merged[len(merged)-1].To)
	if err != nil {
		return nil, fmt.Errorf("store: cannot sum rejects of line %d: %w", lineID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var minute, product, n int64
		if err := rows.Scan(&minute, &product, &n); err != nil {
			return nil, fmt.Errorf("store: cannot sum rejects of line %d: %w", lineID, err)
		}
		// The last range starting at or before the minute holds it, if any does.
		if k := sort.Search(len(merged), func(k int) bool { return merged[k].From > minute }); k > 0 && minute < merged[k-1].To {
			out[product] += n
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: cannot sum rejects of line %d: %w", lineID, err)
	}
	return out, nil
}

// MergeRanges sorts ranges and merges those that overlap or touch, dropping empty ones.
func MergeRanges(ranges []MinuteRange) []MinuteRange {
	var out []MinuteRange
	for _, r := range slices.SortedFunc(slices.Values(ranges), func(a, b MinuteRange) int { return cmp.Compare(a.From, b.From) }) {
		switch {
		case r.To <= r.From:
		case len(out) > 0 && r.From <= out[len(out)-1].To:
			out[len(out)-1].To = max(out[len(out)-1].To, r.To)
		default:
			out = append(out, r)
		}
	}
	return out
}

// RejectsInRaw answers RejectsInRollup from the raw detection table (the reference the
// tests compare with): one statement of OR-ed ranges per maxRangesPerQuery.
func (t *TenantDB) RejectsInRaw(ctx context.Context, lineID int64, ranges []MinuteRange) (map[int64]int64, error) {
	det, _, err := lineTables(lineID)
	if err != nil {
		return nil, err
	}
	out := map[int64]int64{}
	for len(ranges) > 0 {
		part := ranges[:min(len(ranges), maxRangesPerQuery)]
		ranges = ranges[len(part):]
		args := make([]any, 0, 2*len(part))
		conds := make([]string, len(part))
		for i, r := range part {
			conds[i] = "(`detected_at` >= ? AND `detected_at` < ?)"
			args = append(args, time.Unix(r.From*60, 0).UTC(), time.Unix(r.To*60, 0).UTC())
		}
		q := "SELECT `product_id`, COUNT(*) FROM `" + det + "` WHERE `ok` = 0 AND (" + strings.Join(conds, " OR ") + ") GROUP BY `product_id`"
		if err := t.sumByProduct(ctx, out, q, args...); err != nil {
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
