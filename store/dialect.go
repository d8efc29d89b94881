package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// dialect is what differs between the two engines. Everything else in store is shared SQL.
type dialect interface {
	engine() string // "mysql" or "sqlite": also the migrations folder
	goose() goose.Dialect
	openGlobal(ctx context.Context) (*sql.DB, error)
	openTenant(ctx context.Context, tenantID int64) (*sql.DB, error)
	dropTenant(ctx context.Context, tenantID int64) error
	isDuplicate(err error) bool
	insertIgnore() string // "INSERT IGNORE" / "INSERT OR IGNORE"
	rollupUpsert() string // the ON ... clause that adds to an existing rollup row
	createLineTables(ctx context.Context, db *sql.DB, lineID int64, now time.Time, future int) error
	maintainLine(ctx context.Context, conn *sql.Conn, lineID int64, now, cutoff time.Time, future int) (PartitionReport, error)
	lock(ctx context.Context, conn *sql.Conn, name string) (unlock func(), err error)
	describe() string // where the data lives, for logs (no secrets)
}

// ---- MySQL / MariaDB ----

type mysqlDialect struct {
	cfg      *mysql.Config // with DBName = the global database
	maxConns int
}

var dbNameRe = regexp.MustCompile(`^[A-Za-z0-9_]{1,48}$`)

func newMySQL(dsn string, maxConns int) (*mysqlDialect, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("store: invalid MySQL DSN (expected user:password@tcp(host:3306)/dbname): %v", redactDSNError(err))
	}
	if cfg.DBName == "" {
		cfg.DBName = "linepulse"
	}
	if !dbNameRe.MatchString(cfg.DBName) {
		return nil, fmt.Errorf("store: invalid MySQL database name %q: use letters, digits and _ only", cfg.DBName)
	}
	// UTC everywhere, real time.Time values, matched (not changed) row counts, and
	// client-side interpolation so a multi-row INSERT is one round trip.
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	cfg.ClientFoundRows = true
	cfg.InterpolateParams = true
	cfg.MultiStatements = false
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	cfg.Params["time_zone"] = "'+00:00'"
	cfg.Params["sql_mode"] = "'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION'"
	return &mysqlDialect{cfg: cfg, maxConns: maxConns}, nil
}

// redactDSNError keeps a DSN parse error from echoing the password.
func redactDSNError(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, "@"); i >= 0 {
		return "malformed DSN"
	}
	return msg
}

func (d *mysqlDialect) engine() string       { return "mysql" }
func (d *mysqlDialect) goose() goose.Dialect { return goose.DialectMySQL }
func (d *mysqlDialect) describe() string {
	return fmt.Sprintf("mysql %s/%s", d.cfg.Addr, d.cfg.DBName)
}

func (d *mysqlDialect) tenantDBName(tenantID int64) (string, error) {
	if tenantID <= 0 {
		return "", fmt.Errorf("store: tenant database needs a positive id, got %d", tenantID)
	}
	return fmt.Sprintf("%s_t%d", d.cfg.DBName, tenantID), nil
}

// open connects to dbName, creating the database first when create is set.
func (d *mysqlDialect) open(ctx context.Context, dbName string, create bool, maxConns int) (*sql.DB, error) {
	if create {
		c := d.cfg.Clone()
		c.DBName = ""
		boot, err := d.connect(ctx, c, 1)
		if err != nil {
			return nil, err
		}
		_, err = boot.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS `"+dbName+"` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
		boot.Close()
		if err != nil {
			return nil, fmt.Errorf("store: cannot create database %s: %w", dbName, err)
		}
	}
	c := d.cfg.Clone()
	c.DBName = dbName
	return d.connect(ctx, c, maxConns)
}

func (d *mysqlDialect) connect(ctx context.Context, c *mysql.Config, maxConns int) (*sql.DB, error) {
	conn, err := mysql.NewConnector(c)
	if err != nil {
		return nil, fmt.Errorf("store: invalid MySQL configuration: %w", err)
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	pctx, cancel := context.WithTimeout(ctx, c.Timeout+time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: cannot reach MySQL at %s: %v", c.Addr, describeNetErr(err))
	}
	return db, nil
}

func describeNetErr(err error) string {
	var ne net.Error
	var me *mysql.MySQLError
	switch {
	case errors.As(err, &me):
		return me.Message
	case errors.As(err, &ne) && ne.Timeout():
		return "connection timed out"
	}
	return err.Error()
}

func (d *mysqlDialect) openGlobal(ctx context.Context) (*sql.DB, error) {
	return d.open(ctx, d.cfg.DBName, true, d.maxConns)
}

func (d *mysqlDialect) openTenant(ctx context.Context, tenantID int64) (*sql.DB, error) {
	name, err := d.tenantDBName(tenantID)
	if err != nil {
		return nil, err
	}
	return d.open(ctx, name, true, d.maxConns)
}

func (d *mysqlDialect) dropTenant(ctx context.Context, tenantID int64) error {
	name, err := d.tenantDBName(tenantID)
	if err != nil {
		return err
	}
	c := d.cfg.Clone()
	c.DBName = ""
	db, err := d.connect(ctx, c, 1)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS `"+name+"`"); err != nil {
		return fmt.Errorf("store: cannot drop database %s: %w", name, err)
	}
	return nil
}

func (d *mysqlDialect) isDuplicate(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && me.Number == 1062
}

func (d *mysqlDialect) insertIgnore() string { return "INSERT IGNORE" }
func (d *mysqlDialect) rollupUpsert() string {
	return "ON DUPLICATE KEY UPDATE `total` = `total` + VALUES(`total`), `good` = `good` + VALUES(`good`), `reject` = `reject` + VALUES(`reject`), `first_ms` = LEAST(`first_ms`, VALUES(`first_ms`)), `last_ms` = GREATEST(`last_ms`, VALUES(`last_ms`))"
}

// ---- SQLite ----

type sqliteDialect struct{ dir string }

func newSQLite(dir string) (*sqliteDialect, error) {
	if dir == "" {
		dir = "data"
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("store: cannot create data directory %s: %v", dir, rootCause(err))
	}
	probe, err := os.CreateTemp(dir, ".write-test-*")
	if err != nil {
		return nil, fmt.Errorf("store: data directory %s is not writable: %v", dir, rootCause(err))
	}
	probe.Close()
	os.Remove(probe.Name())
	return &sqliteDialect{dir: dir}, nil
}

func rootCause(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func (d *sqliteDialect) engine() string       { return "sqlite" }
func (d *sqliteDialect) goose() goose.Dialect { return goose.DialectSQLite3 }
func (d *sqliteDialect) describe() string     { return "sqlite " + d.dir }

func (d *sqliteDialect) open(ctx context.Context, file string) (*sql.DB, error) {
	path := filepath.Join(d.dir, file)
	// WAL lets readers run beside the single writer; IMMEDIATE transactions take the write
	// lock up front so two writers queue on busy_timeout instead of failing to upgrade.
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate&_time_format=sqlite"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: cannot open %s: %w", path, err)
	}
	db.SetMaxOpenConns(4)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: cannot open %s: %w", path, err)
	}
	return db, nil
}

func (d *sqliteDialect) openGlobal(ctx context.Context) (*sql.DB, error) {
	return d.open(ctx, "global.db")
}

func (d *sqliteDialect) tenantFile(tenantID int64) (string, error) {
	if tenantID <= 0 {
		return "", fmt.Errorf("store: tenant database needs a positive id, got %d", tenantID)
	}
	return fmt.Sprintf("tenant-%d.db", tenantID), nil
}

func (d *sqliteDialect) openTenant(ctx context.Context, tenantID int64) (*sql.DB, error) {
	f, err := d.tenantFile(tenantID)
	if err != nil {
		return nil, err
	}
	return d.open(ctx, f)
}

func (d *sqliteDialect) dropTenant(_ context.Context, tenantID int64) error {
	f, err := d.tenantFile(tenantID)
	if err != nil {
		return err
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(filepath.Join(d.dir, f+suffix)); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("store: cannot remove tenant database: %w", err)
		}
	}
	return nil
}

func (d *sqliteDialect) isDuplicate(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

func (d *sqliteDialect) insertIgnore() string { return "INSERT OR IGNORE" }
func (d *sqliteDialect) rollupUpsert() string {
	return "ON CONFLICT (`line_id`, `minute`, `area_id`, `product_id`) DO UPDATE SET `total` = `total` + excluded.`total`, `good` = `good` + excluded.`good`, `reject` = `reject` + excluded.`reject`, `first_ms` = MIN(`first_ms`, excluded.`first_ms`), `last_ms` = MAX(`last_ms`, excluded.`last_ms`)"
}
