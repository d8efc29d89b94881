package store

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"time"
)

// PartitionReport says what one maintenance pass did to one line.
type PartitionReport struct {
	LineID  int64    `json:"line_id"`
	Added   []string `json:"added"`
	Dropped []string `json:"dropped"`
	Deleted int64    `json:"deleted_rows"` // SQLite: rows removed by retention
}

// RetentionCutoff is the first instant that is kept: the start of the month that contains
// now minus the tenant's retention. Everything before it lies in whole months older than
// the limit and may be dropped.
func RetentionCutoff(now time.Time, retentionDays int) time.Time {
	return monthStart(now.AddDate(0, 0, -retentionDays))
}

// MaintainPartitions keeps the configured number of future monthly partitions of every
// line's detection table and drops whole months older than the tenant's retention
// (rollups and downtime events of those months go too). It is idempotent, and safe when
// several instances run it at once: on MySQL a named lock serialises them per tenant.
func (t *TenantDB) MaintainPartitions(ctx context.Context) ([]PartitionReport, error) {
	lines, err := t.AllLines(ctx)
	if err != nil {
		return nil, err
	}
	now := t.s.now()
	cutoff := RetentionCutoff(now, t.Tenant().Config.RetentionDays)
	conn, err := t.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: partition maintenance: %w", err)
	}
	defer conn.Close()
	unlock, err := t.s.d.lock(ctx, conn, fmt.Sprintf("linepulse.partitions.t%d", t.ID()))
	if err != nil {
		return nil, err
	}
	defer unlock()
	var reports []PartitionReport
	for _, l := range lines {
		r, err := t.s.d.maintainLine(ctx, conn, l.ID, now, cutoff, t.s.cfg.FuturePartitions)
		if err != nil {
			return reports, fmt.Errorf("store: partitions of line %d: %w", l.ID, err)
		}
		for _, q := range []string{"DELETE FROM `production_minute` WHERE `line_id` = ? AND `minute` < ?"} {
			if _, err := conn.ExecContext(ctx, q, l.ID, cutoff.Unix()/60); err != nil {
				return reports, fmt.Errorf("store: rollup retention of line %d: %w", l.ID, err)
			}
		}
		_, down, _ := lineTables(l.ID)
		if _, err := conn.ExecContext(ctx, "DELETE FROM `"+down+"` WHERE `start_time` < ?", cutoff); err != nil {
			return reports, fmt.Errorf("store: downtime retention of line %d: %w", l.ID, err)
		}
		reports = append(reports, r)
	}
	return reports, nil
}

// Partition is one partition of a detection table.
type Partition struct {
	Name      string `json:"name"`
	LessThan  string `json:"less_than"` // "2026-12-01" or "MAXVALUE"
	TableRows int64  `json:"rows"`
}

// Partitions lists the partitions of a line's detection table (MySQL; nil on SQLite).
func (t *TenantDB) Partitions(ctx context.Context, lineID int64) ([]Partition, error) {
	det, _, err := lineTables(lineID)
	if err != nil {
		return nil, err
	}
	if t.s.d.engine() != "mysql" {
		return nil, nil
	}
	return listPartitions(ctx, t.db, det)
}

type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func listPartitions(ctx context.Context, q queryer, table string) ([]Partition, error) {
	rows, err := q.QueryContext(ctx, "SELECT `PARTITION_NAME`, `PARTITION_DESCRIPTION`, `TABLE_ROWS` FROM information_schema.`PARTITIONS` "+
		"WHERE `TABLE_SCHEMA` = DATABASE() AND `TABLE_NAME` = ? AND `PARTITION_NAME` IS NOT NULL ORDER BY `PARTITION_ORDINAL_POSITION`", table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Partition
	for rows.Next() {
		var p Partition
		var desc sql.NullString
		var n sql.NullInt64
		if err := rows.Scan(&p.Name, &desc, &n); err != nil {
			return nil, err
		}
		p.LessThan = trimQuotes(desc.String)
		p.TableRows = n.Int64
		out = append(out, p)
	}
	return out, rows.Err()
}

func trimQuotes(s string) string {
	if len(s) >= 2 && s[0] == '\'' && s[len(s)-1] == '\'' {
		s = s[1 : len(s)-1]
	}
	if len(s) > 10 {
		s = s[:10] // "2026-12-01 00:00:00" -> date
	}
	return s
}

var partNameRe = regexp.MustCompile(`^p([0-9]{6})$`)

func (d *mysqlDialect) maintainLine(ctx context.Context, conn *sql.Conn, lineID int64, now, cutoff time.Time, future int) (PartitionReport, error) {
	r := PartitionReport{LineID: lineID}
	det, _, err := lineTables(lineID)
	if err != nil {
		return r, err
	}
	parts, err := listPartitions(ctx, conn, det)
	if err != nil {
		return r, err
	}
	var newest time.Time
	for _, p := range parts {
		if m := partNameRe.FindStringSubmatch(p.Name); m != nil {
			month, _ := time.Parse("200601", m[1])
			if month.After(newest) {
				newest = month
			}
		}
	}
	// Add every missing month after the newest one up to now + future, splitting pmax, so
	// rows already in pmax land in their own month.
	first := monthStart(now)
	if !newest.IsZero() {
		first = newest.AddDate(0, 1, 0)
	}
	var adds string
	for m := first; !m.After(monthStart(now).AddDate(0, future, 0)); m = m.AddDate(0, 1, 0) {
		adds += fmt.Sprintf("PARTITION %s VALUES LESS THAN ('%s'), ", partitionName(m), m.AddDate(0, 1, 0).Format(time.DateOnly))
		r.Added = append(r.Added, partitionName(m))
	}
	if adds != "" {
		if _, err := conn.ExecContext(ctx, "ALTER TABLE `"+det+"` REORGANIZE PARTITION pmax INTO ("+adds+"PARTITION pmax VALUES LESS THAN (MAXVALUE))"); err != nil {
			return r, err
		}
		if parts, err = listPartitions(ctx, conn, det); err != nil {
			return r, err
		}
	}
	// Drop whole months that end at or before the cutoff; the current month always stays.
	var drops []string
	for _, p := range parts {
		m := partNameRe.FindStringSubmatch(p.Name)
		if m == nil {
			continue
		}
		month, _ := time.Parse("200601", m[1])
		if !month.AddDate(0, 1, 0).After(cutoff) && month.Before(monthStart(now)) {
			drops = append(drops, p.Name)
		}
	}
	for _, name := range drops {
		if _, err := conn.ExecContext(ctx, "ALTER TABLE `"+det+"` DROP PARTITION "+name); err != nil {
			return r, err
		}
		r.Dropped = append(r.Dropped, name)
	}
	return r, nil
}

func (d *sqliteDialect) maintainLine(ctx context.Context, conn *sql.Conn, lineID int64, _, cutoff time.Time, _ int) (PartitionReport, error) {
	r := PartitionReport{LineID: lineID}
	det, _, err := lineTables(lineID)
	if err != nil {
		return r, err
	}
	res, err := conn.ExecContext(ctx, "DELETE FROM `"+det+"` WHERE `detected_at` < ?", cutoff)
	if err != nil {
		return r, err
	}
	r.Deleted, _ = res.RowsAffected()
	return r, nil
}

// lock takes a cross-instance named lock on MySQL (GET_LOCK on this connection). SQLite
// is single-process: its write lock already serialises maintenance.
func (d *mysqlDialect) lock(ctx context.Context, conn *sql.Conn, name string) (func(), error) {
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, 60)", name).Scan(&got); err != nil {
		return nil, fmt.Errorf("store: cannot take lock %s: %w", name, err)
	}
	if got.Int64 != 1 {
		return nil, fmt.Errorf("store: lock %s is held elsewhere for over 60 s", name)
	}
	return func() {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), "SELECT RELEASE_LOCK(?)", name)
	}, nil
}

func (d *sqliteDialect) lock(context.Context, *sql.Conn, string) (func(), error) {
	return func() {}, nil
}
