package store

import "fmt"

// identKind is the fixed prefix of an application-managed identifier. Only the constants
// below exist, so an identifier can never be built from a string that came from outside.
type identKind string

const (
	identDetections identKind = "detections_line_"
	identDowntime   identKind = "downtime_events_line_"
)

// ident is the one function that builds DDL identifiers: a fixed prefix and a positive
// integer id. Table names of per-line tables and tenant database names all come from here.
func ident(kind identKind, id int64) (string, error) {
	if id <= 0 {
		return "", fmt.Errorf("store: identifier %s needs a positive id, got %d", kind, id)
	}
	switch kind {
	case identDetections, identDowntime:
	default:
		return "", fmt.Errorf("store: unknown identifier kind %q", kind)
	}
	return fmt.Sprintf("%s%d", kind, id), nil
}

// DetectionsTable returns the name of a line's detection table (for logs and tools).
func DetectionsTable(lineID int64) (string, error) { return ident(identDetections, lineID) }

// DowntimeTable returns the name of a line's downtime-event table.
func DowntimeTable(lineID int64) (string, error) { return ident(identDowntime, lineID) }

// archiveIdent names the archived copy of a per-line table: archive_<table>_<unix seconds>.
func archiveIdent(kind identKind, id int64, unix int64) (string, error) {
	name, err := ident(kind, id)
	if err != nil {
		return "", err
	}
	if unix <= 0 {
		return "", fmt.Errorf("store: archive identifier needs a positive time, got %d", unix)
	}
	return fmt.Sprintf("archive_%s_%d", name, unix), nil
}
