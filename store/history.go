package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ProductionRow is the production of one group of whole minutes: Minute is the group's
// first minute (Unix time in minutes, UTC, a multiple of the step).
type ProductionRow struct {
	Minute              int64
	Product             int64 // set by the ByProduct queries (0 otherwise)
	Total, Good, Reject int64
}

// Start is the group's first instant.
func (r ProductionRow) Start() time.Time { return time.Unix(r.Minute*60, 0).UTC() }

// ProductionSteps are the group sizes, in minutes, ProductionRollup and ProductionRaw
// accept. Every real time zone offset is a multiple of 15 minutes, so local hours and days
// are whole 15-minute groups (and whole 60-minute groups in zones with whole-hour offsets).
var ProductionSteps = []int{1, 5, 15, 60}

// ProductionRollup sums a line's minute rollups over the whole minutes overlapping
// [from, to), grouped by step minutes, in minute order. Empty groups are absent. It reads
// only production_minute (about 1440 rows a day per area and product), which is what makes
// weeks of history answer in milliseconds.
func (t *TenantDB) ProductionRollup(ctx context.Context, lineID int64, from, to time.Time, step int) ([]ProductionRow, error) {
	return t.productionRollup(ctx, lineID, from, to, step, false)
}

// ProductionRollupByProduct is ProductionRollup with one row per group and product (in
// minute, then product order): performance takes each product's ideal cycle time.
func (t *TenantDB) ProductionRollupByProduct(ctx context.Context, lineID int64, from, to time.Time, step int) ([]ProductionRow, error) {
	return t.productionRollup(ctx, lineID, from, to, step, true)
}

func (t *TenantDB) productionRollup(ctx context.Context, lineID int64, from, to time.Time, step int, byProduct bool) ([]ProductionRow, error) {
	st, err := stepSQL(step)
	if err != nil {
		return nil, err
	}
	q := "SELECT `minute` - `minute` % " + st + " AS `g`" + productCol(byProduct, "`product_id`") + ", SUM(`total`), SUM(`good`), SUM(`reject`) FROM `production_minute` " +
		"WHERE `line_id` = ? AND `minute` >= ? AND `minute` < ? GROUP BY `g`" + productCol(byProduct, "`p`") + t.noGroupSort()
	return t.queryProduction(ctx, lineID, byProduct, q, lineID, floorMinute(from), ceilMinute(to))
}

// ProductionRaw answers the same question as ProductionRollup from the raw detection table
// (a full scan of the range). It exists to check and benchmark the rollups.
func (t *TenantDB) ProductionRaw(ctx context.Context, lineID int64, from, to time.Time, step int) ([]ProductionRow, error) {
	return t.productionRaw(ctx, lineID, from, to, step, false)
}

// ProductionRawByProduct answers ProductionRollupByProduct from the raw detection table.
func (t *TenantDB) ProductionRawByProduct(ctx context.Context, lineID int64, from, to time.Time, step int) ([]ProductionRow, error) {
	return t.productionRaw(ctx, lineID, from, to, step, true)
}

func (t *TenantDB) productionRaw(ctx context.Context, lineID int64, from, to time.Time, step int, byProduct bool) ([]ProductionRow, error) {
	det, _, err := lineTables(lineID)
	if err != nil {
		return nil, err
	}
	st, err := stepSQL(step)
	if err != nil {
		return nil, err
	}
	var minute string
	switch t.s.d.engine() {
	case "mysql":
		minute = "(UNIX_TIMESTAMP(`detected_at`) DIV 60)"
	default:
		minute = "(CAST(strftime('%s', `detected_at`) AS INTEGER) / 60)"
	}
	q := "SELECT " + minute + " - " + minute + " % " + st + " AS `g`" + productCol(byProduct, "`product_id`") + ", COUNT(*), SUM(`ok`), COUNT(*) - SUM(`ok`) FROM `" + det + "` " +
		"WHERE `detected_at` >= ? AND `detected_at` < ? GROUP BY `g`" + productCol(byProduct, "`p`") + t.noGroupSort()
	from, to = time.Unix(floorMinute(from)*60, 0).UTC(), time.Unix(ceilMinute(to)*60, 0).UTC()
	return t.queryProduction(ctx, lineID, byProduct, q, from, to)
}

// productCol is the product column of a ByProduct query (select with its alias, or the
// alias in GROUP BY), or nothing.
func productCol(byProduct bool, col string) string {
	switch {
	case !byProduct:
		return ""
	case col == "`p`":
		return ", `p`"
	}
	return ", " + col + " AS `p`"
}

func (t *TenantDB) queryProduction(ctx context.Context, lineID int64, byProduct bool, q string, args ...any) ([]ProductionRow, error) {
	rows, err := t.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: cannot query production of line %d: %w", lineID, err)
	}
	defer rows.Close()
	var out []ProductionRow
	for rows.Next() {
		var r ProductionRow
		dest := []any{&r.Minute, &r.Total, &r.Good, &r.Reject}
		if byProduct {
			dest = []any{&r.Minute, &r.Product, &r.Total, &r.Good, &r.Reject}
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("store: cannot scan production of line %d: %w", lineID, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: cannot query production of line %d: %w", lineID, err)
	}
	slices.SortFunc(out, func(a, b ProductionRow) int {
		if c := cmp.Compare(a.Minute, b.Minute); c != 0 {
			return c
		}
		return cmp.Compare(a.Product, b.Product)
	})
	return out, nil
}

// noGroupSort is the clause that stops MariaDB from sorting GROUP BY results (it does by
// default, through a filesort that was half the time of a month's hourly query); the few
// groups are sorted in Go instead.
func (t *TenantDB) noGroupSort() string {
	if t.s.d.engine() == "mysql" {
		return " ORDER BY NULL"
	}
	return ""
}

// stepSQL renders a step from the fixed list as a SQL integer literal (never user text).
func stepSQL(step int) (string, error) {
	for _, s := range ProductionSteps {
		if s == step {
			return strconv.Itoa(step), nil
		}
	}
	return "", &ValidationError{Entity: "production_query", Fields: []FieldError{{Field: "step", Message: fmt.Sprintf("must be one of %v minutes", ProductionSteps)}}}
}

// ScanDetections calls fn with the time and quality of every detection of a line in
// [from, to), in storage order (not time order: the raw table has no time index, which is
// why the rollups exist). It is the raw input for checking rollups and booked downtime. fn
// returning an error stops the scan with that error.
func (t *TenantDB) ScanDetections(ctx context.Context, lineID int64, from, to time.Time, fn func(at time.Time, ok bool) error) error {
	det, _, err := lineTables(lineID)
	if err != nil {
		return err
	}
	rows, err := t.db.QueryContext(ctx, "SELECT `detected_at`, `ok` FROM `"+det+"` WHERE `detected_at` >= ? AND `detected_at` < ?", from.UTC(), to.UTC())
	if err != nil {
		return fmt.Errorf("store: cannot scan detections of line %d: %w", lineID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var at time.Time
		var ok bool
		if err := rows.Scan(&at, &ok); err != nil {
			return fmt.Errorf("store: cannot scan detections of line %d: %w", lineID, err)
		}
		if err := fn(at.UTC(), ok); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: cannot scan detections of line %d: %w", lineID, err)
	}
	return nil
}

func ceilMinute(t time.Time) int64 {
	m := floorMinute(t)
	if time.Unix(m*60, 0).Before(t) {
		m++
	}
	return m
}

// FirstProduction is the time of the line's first detection in the whole minutes
// overlapping [from, to), from the rollups (exact to the millisecond for rows written with
// first_ms, else the minute's start); ok is false when it made nothing. The OEE of a range
// uses it to tell unmonitored time from run time.
func (t *TenantDB) FirstProduction(ctx context.Context, lineID int64, from, to time.Time) (first time.Time, ok bool, err error) {
	var m, ms sql.NullInt64
	err = t.db.QueryRowContext(ctx, "SELECT `minute`, MIN(`first_ms`) FROM `production_minute` WHERE `line_id` = ? AND `minute` = "+
		"(SELECT MIN(`minute`) FROM `production_minute` WHERE `line_id` = ? AND `minute` >= ? AND `minute` < ? AND `total` > 0) AND `total` > 0 GROUP BY `minute`",
		lineID, lineID, floorMinute(from), ceilMinute(to)).Scan(&m, &ms)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("store: cannot find the first production of line %d: %w", lineID, err)
	}
	return time.UnixMilli(m.Int64*60000 + ms.Int64).UTC(), true, nil
}

// maxWindowsPerQuery bounds the UNION ALL terms of one FirstProductions statement (SQLite
// allows 500 compound terms).
const maxWindowsPerQuery = 200

// FirstProductions answers FirstProduction for many ranges of one line at once: one
// statement (per maxWindowsPerQuery ranges) instead of one per range. firsts[i] is the
// first production in ranges[i] ([2]time.Time{from, to}), the zero time when there is none.
func (t *TenantDB) FirstProductions(ctx context.Context, lineID int64, ranges [][2]time.Time) ([]time.Time, error) {
	out := make([]time.Time, 0, len(ranges))
	for len(ranges) > 0 {
		part := ranges[:min(len(ranges), maxWindowsPerQuery)]
		ranges = ranges[len(part):]
		terms := make([]string, len(part))
		args := make([]any, 0, 3*len(part))
		for i, r := range part {
			terms[i] = "SELECT " + strconv.Itoa(i) + " AS `k`, (SELECT MIN(`minute` * 60000 + `first_ms`) FROM `production_minute` " +
				"WHERE `line_id` = ? AND `minute` >= ? AND `minute` < ? AND `total` > 0) AS `f`"
			args = append(args, lineID, floorMinute(r[0]), ceilMinute(r[1]))
		}
		rows, err := t.db.QueryContext(ctx, strings.Join(terms, " UNION ALL "), args...)
		if err != nil {
			return nil, fmt.Errorf("store: cannot find the first productions of line %d: %w", lineID, err)
		}
		firsts := make([]time.Time, len(part))
		for rows.Next() {
			var k int
			var f sql.NullInt64
			if err := rows.Scan(&k, &f); err != nil {
				rows.Close()
				return nil, fmt.Errorf("store: cannot find the first productions of line %d: %w", lineID, err)
			}
			if f.Valid && k >= 0 && k < len(firsts) {
				firsts[k] = time.UnixMilli(f.Int64).UTC()
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("store: cannot find the first productions of line %d: %w", lineID, err)
		}
		out = append(out, firsts...)
	}
	return out, nil
}
