package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Config configures a Store. The zero value plus a DataDir is a working SQLite store.
type Config struct {
	// MySQLDSN is a go-sql-driver DSN (user:pass@tcp(host:3306)/dbname). Empty selects the
	// embedded SQLite engine. The database name is the global database; tenant databases
	// are named <dbname>_t<tenant id>.
	MySQLDSN string
	// DataDir holds the SQLite files (global.db, tenant-<id>.db). Default "data".
	DataDir string
	// MaxConns bounds each MySQL pool (global and per tenant). Default 16.
	MaxConns int
	// FuturePartitions is how many months ahead the partition maintainer keeps ready. Default 3.
	FuturePartitions int
	// Now is the clock (tests inject a fixed one). Default time.Now.
	Now func() time.Time
	// Logger receives schema and maintenance messages. Default slog.Default().
	Logger *slog.Logger
	// TenantPage is how many tenants AllTenants reads per query. Default (and at most)
	// MaxPageSize; tests make it small to walk several pages with a few tenants.
	TenantPage int
}

func (c *Config) defaults() {
	if c.DataDir == "" {
		c.DataDir = "data"
	}
	if c.MaxConns <= 0 {
		c.MaxConns = 16
	}
	if c.FuturePartitions <= 0 {
		c.FuturePartitions = 3
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.TenantPage <= 0 || c.TenantPage > MaxPageSize {
		c.TenantPage = MaxPageSize
	}
}

// Store is the entry point: the global database plus lazily opened tenant databases.
type Store struct {
	cfg    Config
	d      dialect
	global *sql.DB
	tables globalTables

	mu      sync.Mutex
	tenants map[int64]*TenantDB

	changeMu  sync.RWMutex
	onChanges []func(tenantID int64)
}

// Open connects to the configured engine, creating the global database when missing, and
// brings its schema up to date. A schema newer than this binary fails with ErrSchemaTooNew.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	cfg.defaults()
	var (
		d   dialect
		err error
	)
	if cfg.MySQLDSN != "" {
		d, err = newMySQL(cfg.MySQLDSN, cfg.MaxConns)
	} else {
		d, err = newSQLite(cfg.DataDir)
	}
	if err != nil {
		return nil, err
	}
	db, err := d.openGlobal(ctx)
	if err != nil {
		return nil, err
	}
	s := &Store{cfg: cfg, d: d, global: db, tenants: map[int64]*TenantDB{}}
	s.tables = newGlobalTables(d)
	if err := migrate(ctx, d, db, "global", cfg.Logger); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Engine is "mysql" or "sqlite".
func (s *Store) Engine() string { return s.d.engine() }

// Describe says where the data lives (no credentials), for logs.
func (s *Store) Describe() string { return s.d.describe() }

// Close closes every pool.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for id, t := range s.tenants {
		errs = append(errs, t.db.Close())
		delete(s.tenants, id)
	}
	errs = append(errs, s.global.Close())
	return errors.Join(errs...)
}

// Ping checks the global database; /readyz reports it.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.global.PingContext(ctx); err != nil {
		return fmt.Errorf("store: global database unreachable: %w", err)
	}
	return nil
}

// OnChange registers a callback run after any change to a tenant's plant model (lines,
// areas, products, shifts): the metadata cache and the live engines refresh on it.
func (s *Store) OnChange(fn func(tenantID int64)) {
	s.changeMu.Lock()
	s.onChanges = append(s.onChanges, fn)
	s.changeMu.Unlock()
}

func (s *Store) changed(tenantID int64) {
	s.changeMu.RLock()
	fns := s.onChanges
	s.changeMu.RUnlock()
	for _, fn := range fns {
		fn(tenantID)
	}
}

func (s *Store) now() time.Time { return s.cfg.Now().UTC().Truncate(time.Millisecond) }

// Tenant returns the database of one tenant, opening (and migrating) it on first use.
// It fails with ErrNotFound when the tenant does not exist.
func (s *Store) Tenant(ctx context.Context, tenantID int64) (*TenantDB, error) {
	s.mu.Lock()
	t, ok := s.tenants[tenantID]
	s.mu.Unlock()
	if ok {
		return t, nil
	}
	ten, err := s.GetTenant(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	return s.openTenant(ctx, ten)
}

func (s *Store) openTenant(ctx context.Context, ten Tenant) (*TenantDB, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.tenants[ten.ID]; ok {
		return t, nil
	}
	db, err := s.d.openTenant(ctx, ten.ID)
	if err != nil {
		return nil, err
	}
	if err := migrate(ctx, s.d, db, "tenant", s.cfg.Logger.With("tenant", ten.Slug)); err != nil {
		db.Close()
		return nil, err
	}
	t := newTenantDB(s, ten, db)
	s.tenants[ten.ID] = t
	return t, nil
}

// MigrateAll brings the global database and every tenant database up to date.
func (s *Store) MigrateAll(ctx context.Context) error {
	tenants, err := s.AllTenants(ctx)
	if err != nil {
		return err
	}
	for _, ten := range tenants {
		if _, err := s.openTenant(ctx, ten); err != nil {
			return fmt.Errorf("store: tenant %s: %w", ten.Slug, err)
		}
	}
	return nil
}
