// Package migrations embeds the SQL schema of LinePulse: one set of goose migrations per
// database engine (mysql, sqlite) and per database kind (global, tenant). Per-line
// detection and downtime tables are not here: the application creates them (see store).
package migrations

import (
	"embed"
	"io/fs"
)

//go:embed mysql sqlite
var files embed.FS

// FS returns the migrations of one engine ("mysql" or "sqlite") and kind ("global" or "tenant").
func FS(engine, kind string) (fs.FS, error) {
	return fs.Sub(files, engine+"/"+kind)
}
