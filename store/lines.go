package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// CreateLine inserts a production line and creates its detection and downtime tables
// (partitioned by month on MySQL).
func (t *TenantDB) CreateLine(ctx context.Context, l *Line) error {
	if l.Availability == 0 && l.Performance == 0 && l.Quality == 0 {
		l.Availability, l.Performance, l.Quality = 0.9, 0.95, 0.99
	}
	if err := l.validate(); err != nil {
		return err
	}
	l.Active = true
	l.stamp(t.s.now(), true)
	if err := t.lines.insert(ctx, t.db, l); err != nil {
		return err
	}
	if err := t.s.d.createLineTables(ctx, t.db, l.ID, t.s.now(), t.s.cfg.FuturePartitions); err != nil {
		// Leave no line without tables behind.
		_ = t.lines.delete(context.WithoutCancel(ctx), t.db, l.ID)
		return fmt.Errorf("store: cannot create tables of line %d: %w", l.ID, err)
	}
	t.s.changed(t.ID())
	return nil
}

// GetLine reads a line.
func (t *TenantDB) GetLine(ctx context.Context, id int64) (Line, error) {
	return t.lines.get(ctx, t.db, id)
}

// ListLines pages through lines.
func (t *TenantDB) ListLines(ctx context.Context, p Page) ([]Line, error) {
	return t.lines.list(ctx, t.db, "", nil, p)
}

// AllLines returns every line.
func (t *TenantDB) AllLines(ctx context.Context) ([]Line, error) {
	return t.lines.all(ctx, t.db, "")
}

// UpdateLine saves a line's settings.
func (t *TenantDB) UpdateLine(ctx context.Context, l *Line) error {
	old, err := t.GetLine(ctx, l.ID)
	if err != nil {
		return err
	}
	if err := l.validate(); err != nil {
		return err
	}
	l.CreatedAt = old.CreatedAt
	l.stamp(t.s.now(), false)
	if err := t.lines.update(ctx, t.db, l); err != nil {
		return err
	}
	t.s.changed(t.ID())
	return nil
}

// DeleteLine removes a line. Its detection and downtime tables are archived, not dropped:
// they are renamed to archive_<table>_<unix seconds>, so an accidental delete loses no
// history; an operator drops archives explicitly when the data is no longer needed.
func (t *TenantDB) DeleteLine(ctx context.Context, id int64) error {
	if _, err := t.GetLine(ctx, id); err != nil {
		return err
	}
	stamp := t.s.now().Unix()
	for _, kind := range []identKind{identDetections, identDowntime} {
		from, err := ident(kind, id)
		if err != nil {
			return err
		}
		to, err := archiveIdent(kind, id, stamp)
		if err != nil {
			return err
		}
		if _, err := t.db.ExecContext(ctx, "ALTER TABLE `"+from+"` RENAME TO `"+to+"`"); err != nil {
			return fmt.Errorf("store: cannot archive %s: %w", from, err)
		}
	}
	if _, err := t.db.ExecContext(ctx, "DELETE FROM `production_minute` WHERE `line_id` = ?", id); err != nil {
		return fmt.Errorf("store: cannot delete rollups of line %d: %w", id, err)
	}
	if err := t.lines.delete(ctx, t.db, id); err != nil {
		return err
	}
	t.s.changed(t.ID())
	return nil
}

// lineTables returns the quoted-ready names of a line's two tables.
func lineTables(lineID int64) (det, down string, err error) {
	if det, err = ident(identDetections, lineID); err != nil {
		return "", "", err
	}
	down, err = ident(identDowntime, lineID)
	return det, down, err
}

// ---- DDL per engine ----

func (d *mysqlDialect) createLineTables(ctx context.Context, db *sql.DB, lineID int64, now time.Time, future int) error {
	det, down, err := lineTables(lineID)
	if err != nil {
		return err
	}
	parts := ""
	for _, m := range monthsFrom(monthStart(now), future+1) {
		parts += fmt.Sprintf("PARTITION %s VALUES LESS THAN ('%s'), ", partitionName(m), m.AddDate(0, 1, 0).Format(time.DateOnly))
	}
	// Light columns, no foreign keys (relaxed integrity: insert speed first). The primary
	// key includes detected_at because MySQL requires the partitioning column in every
	// unique key; it is also what makes a re-delivered detection a no-op.
	_, err = db.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS `"+det+"` ("+
		"`detection_id` BIGINT NOT NULL, `detected_at` DATETIME(3) NOT NULL, "+
		"`area_id` INT NOT NULL, `product_id` INT NOT NULL, `ok` TINYINT(1) NOT NULL DEFAULT 1, "+
		"`conf` FLOAT NULL, `camera` VARCHAR(64) NOT NULL DEFAULT '', "+
		"PRIMARY KEY (`detection_id`, `detected_at`)"+
		") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin "+
		"PARTITION BY RANGE COLUMNS(`detected_at`) ("+parts+"PARTITION pmax VALUES LESS THAN (MAXVALUE))")
	if err != nil {
		return err
	}
	_, err = db.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS `"+down+"` ("+downtimeColumns(
		"`id` BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY", "DATETIME(3)")+
		") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin")
	return err
}

func (d *sqliteDialect) createLineTables(ctx context.Context, db *sql.DB, lineID int64, _ time.Time, _ int) error {
	det, down, err := lineTables(lineID)
	if err != nil {
		return err
	}
	_, err = db.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS `"+det+"` ("+
		"`detection_id` INTEGER NOT NULL, `detected_at` DATETIME NOT NULL, "+
		"`area_id` INTEGER NOT NULL, `product_id` INTEGER NOT NULL, `ok` BOOLEAN NOT NULL DEFAULT 1, "+
		"`conf` REAL NULL, `camera` TEXT NOT NULL DEFAULT '', "+
		"PRIMARY KEY (`detection_id`, `detected_at`)) WITHOUT ROWID")
	if err != nil {
		return err
	}
	_, err = db.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS `"+down+"` ("+downtimeColumns(
		"`id` INTEGER PRIMARY KEY AUTOINCREMENT", "DATETIME")+")")
	return err
}

// downtimeColumns is the shared column list of downtime_events_line_<id>. start_time is
// unique: the detector re-books an event idempotently by its start.
func downtimeColumns(idCol, datetime string) string {
	return idCol + ", `start_time` " + datetime + " NOT NULL, `end_time` " + datetime + " NULL, " +
		"`duration` BIGINT NOT NULL DEFAULT 0, `reason_code` VARCHAR(32) NOT NULL DEFAULT '', " +
		"`comment` TEXT NULL, `coded_by` BIGINT NOT NULL DEFAULT 0, " +
		"`created_at` " + datetime + " NOT NULL, `updated_at` " + datetime + " NOT NULL, " +
		"UNIQUE (`start_time`)"
}

func monthStart(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

func monthsFrom(first time.Time, n int) []time.Time {
	out := make([]time.Time, n)
	for i := range out {
		out[i] = first.AddDate(0, i, 0)
	}
	return out
}

func partitionName(month time.Time) string { return "p" + month.Format("200601") }
