package store

import "context"

// ForceSchemaVersionForTest records a future migration version in the global database,
// as a newer LinePulse would have.
func (s *Store) ForceSchemaVersionForTest(ctx context.Context, version int64) error {
	_, err := s.global.ExecContext(ctx, "INSERT INTO `goose_db_version` (`version_id`, `is_applied`) VALUES (?, ?)", version, true)
	return err
}

// LimitPreparedLinesForTest makes w keep at most n lines' INSERTs prepared, so a test
// can make it evict.
func (w *WriterPool) LimitPreparedLinesForTest(n int) { w.stmts.max = n }

// PreparedRows is the rows of the INSERT a writer pool prepares and keeps.
const PreparedRows = preparedRows
