package store

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	_ "modernc.org/sqlite"
)

// TestStmtCacheEvictsLeastRecentlyUsed: at most max statements stay prepared, the least
// recently used one is closed, and asking for it again prepares it anew.
func TestStmtCacheEvictsLeastRecentlyUsed(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c := newStmtCache(db, 2)
	defer c.close()
	q := func(i int) string { return fmt.Sprintf("SELECT %d", i) }
	get := func(i int) *sql.Stmt {
		t.Helper()
		s, err := c.get(ctx, q(i), func() string { return q(i) })
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s1, s2 := get(1), get(2)
	if get(1) != s1 {
		t.Fatal("a cached statement was prepared again")
	}
	get(3) // evicts 2, the least recently used
	if c.lru.Len() != 2 || c.byKey[q(2)] != nil || c.byKey[q(1)] == nil {
		t.Fatalf("cache holds %d statements, 2 cached: %v, 1 cached: %v", c.lru.Len(), c.byKey[q(2)] != nil, c.byKey[q(1)] != nil)
	}
	if _, err := s2.ExecContext(ctx); err == nil {
		t.Fatal("the evicted statement still runs: not closed")
	}
	if s := get(2); s == s2 {
		t.Fatal("an evicted statement came back")
	} else if _, err := s.ExecContext(ctx); err != nil {
		t.Fatal(err)
	}
}
