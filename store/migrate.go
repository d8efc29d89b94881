package store

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"

	"github.com/pressly/goose/v3"

	"github.com/linepulse/linepulse/migrations"
)

// migrate applies the embedded migrations of one database kind ("global" or "tenant").
// A database already past the newest embedded version was written by a newer binary:
// running against it could corrupt data, so it is refused.
func migrate(ctx context.Context, d dialect, db *sql.DB, kind string, log *slog.Logger) error {
	fsys, err := migrations.FS(d.engine(), kind)
	if err != nil {
		return fmt.Errorf("store: migrations for %s/%s: %w", d.engine(), kind, err)
	}
	p, err := goose.NewProvider(d.goose(), db, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("store: migrations for %s/%s: %w", d.engine(), kind, err)
	}
	current, err := p.GetDBVersion(ctx)
	if err != nil {
		return fmt.Errorf("store: cannot read %s schema version: %w", kind, err)
	}
	sources := p.ListSources()
	latest := int64(0)
	if n := len(sources); n > 0 {
		latest = sources[n-1].Version
	}
	if current > latest {
		return fmt.Errorf("store: %s database is at schema version %d, this binary knows up to %d: %w (upgrade LinePulse)", kind, current, latest, ErrSchemaTooNew)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("store: cannot migrate %s database: %w", kind, err)
	}
	for _, r := range results {
		log.Info("schema migrated", "database", kind, "version", r.Source.Version, "took", r.Duration)
	}
	return nil
}
