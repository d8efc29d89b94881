package store

import "context"

// ForceSchemaVersionForTest records a future migration version in the global database,
// as a newer LinePulse would have.
func (s *Store) ForceSchemaVersionForTest(ctx context.Context, version int64) error {
	_, err := s.global.ExecContext(ctx, "INSERT INTO `goose_db_version` (`version_id`, `is_applied`) VALUES (?, ?)", version, true)
	return err
}
