// Package storetest gives tests a real database on each engine: SQLite in a temp dir
// always, and MariaDB/MySQL when LINEPULSE_TEST_MYSQL_DSN points at a server (make test
// starts a throwaway one). In CI (CI=true) a missing MySQL server fails the test run.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/linepulse/linepulse/store"
)

// EnvDSN names the variable holding a MySQL DSN without a database name
// (e.g. root@tcp(127.0.0.1:3306)/) for the MySQL half of the suites.
const EnvDSN = "LINEPULSE_TEST_MYSQL_DSN"

// Engine is one database engine under test.
type Engine struct {
	Name string // "sqlite" or "mysql"
	dsn  string
}

var (
	warnOnce sync.Once
	quiet    = slog.New(slog.DiscardHandler)
)

// Engines returns the engines to run a conformance test against.
func Engines(t testing.TB) []Engine {
	t.Helper()
	engines := []Engine{{Name: "sqlite"}}
	if dsn := MySQLDSN(t); dsn != "" {
		engines = append(engines, Engine{Name: "mysql", dsn: dsn})
	}
	return engines
}

// MySQLDSN returns the test server's DSN, or "" (after one loud warning) when there is
// none outside CI. In CI it fails the test.
func MySQLDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(EnvDSN)
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set: CI must run the MySQL conformance suite (use make test)", EnvDSN)
		}
		warnOnce.Do(func() {
			os.Stderr.WriteString("\n*** MySQL SUITE SKIPPED: " + EnvDSN + " is not set; run `make test` to start a throwaway MariaDB ***\n\n")
		})
	}
	return dsn
}

// Config returns a store configuration for a fresh, empty database of the engine, removed
// when the test ends.
func (e Engine) Config(t testing.TB) store.Config {
	t.Helper()
	if e.Name == "sqlite" {
		return store.Config{DataDir: t.TempDir(), Logger: quiet}
	}
	cfg, err := mysql.ParseDSN(e.dsn)
	if err != nil {
		t.Fatalf("bad %s: %v", EnvDSN, err)
	}
	var b [4]byte
	rand.Read(b[:])
	cfg.DBName = "lpt_" + hex.EncodeToString(b[:])
	t.Cleanup(func() { dropDatabases(t, e.dsn, cfg.DBName) })
	return store.Config{MySQLDSN: cfg.FormatDSN(), Logger: quiet}
}

// Open opens a fresh store on the engine, closed when the test ends.
func (e Engine) Open(t testing.TB, mutate ...func(*store.Config)) *store.Store {
	t.Helper()
	cfg := e.Config(t)
	for _, m := range mutate {
		m(&cfg)
	}
	s, err := store.Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("open %s store: %v", e.Name, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Run runs fn as a subtest on every engine.
func Run(t *testing.T, fn func(t *testing.T, e Engine)) {
	t.Helper()
	for _, e := range Engines(t) {
		t.Run(e.Name, func(t *testing.T) { fn(t, e) })
	}
}

func dropDatabases(t testing.TB, dsn, prefix string) {
	cfg, _ := mysql.ParseDSN(dsn)
	cfg.DBName = ""
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rows, err := db.QueryContext(ctx, "SHOW DATABASES")
	if err != nil {
		t.Logf("cleanup: %v", err)
		return
	}
	var names []string
	for rows.Next() {
		var n string
		if rows.Scan(&n) == nil && (n == prefix || strings.HasPrefix(n, prefix+"_t")) {
			names = append(names, n)
		}
	}
	rows.Close()
	for _, n := range names {
		db.ExecContext(ctx, "DROP DATABASE `"+n+"`")
	}
}

// Tenant creates a tenant with the given slug and returns its database.
func Tenant(t testing.TB, s *store.Store, slug string) *store.TenantDB {
	t.Helper()
	ten := store.Tenant{Slug: slug, Name: "Tenant " + slug, Config: store.TenantConfig{Timezone: "Europe/Madrid", RetentionDays: 90}}
	ctx := context.Background()
	if err := s.CreateTenant(ctx, &ten); err != nil {
		t.Fatalf("create tenant %s: %v", slug, err)
	}
	tdb, err := s.Tenant(ctx, ten.ID)
	if err != nil {
		t.Fatalf("open tenant %s: %v", slug, err)
	}
	return tdb
}
