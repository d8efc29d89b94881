package store

import (
	"container/list"
	"context"
	"database/sql"
	"sync"
)

// stmtCache keeps prepared statements of one writer pool by a key, so a batch of the
// usual size does not parse its 1,750-parameter INSERTs again: SQLite spent about a sixth
// of the ingest CPU parsing them (docs/PERFORMANCE.md, "Prepared inserts"). At most max
// statements stay prepared (each holds a compiled program on every connection that ran
// it); the least recently used is closed. database/sql keeps a closed statement's
// connection copies until the transactions using them finish.
type stmtCache struct {
	db  *sql.DB
	max int

	mu    sync.Mutex // guards byKey and lru
	byKey map[string]*list.Element
	lru   list.List // of *cachedStmt, most recently used first
}

type cachedStmt struct {
	key  string
	stmt *sql.Stmt
}

func newStmtCache(db *sql.DB, max int) *stmtCache {
	return &stmtCache{db: db, max: max, byKey: map[string]*list.Element{}}
}

// get returns the statement kept under key, preparing query() on first use (so a hit
// does not build the SQL). Preparing takes a connection of db for a moment: the pool
// keeps one more than its writers hold.
func (c *stmtCache) get(ctx context.Context, key string, query func() string) (*sql.Stmt, error) {
	c.mu.Lock()
	if e, ok := c.byKey[key]; ok {
		c.lru.MoveToFront(e)
		s := e.Value.(*cachedStmt).stmt
		c.mu.Unlock()
		return s, nil
	}
	c.mu.Unlock()
	s, err := c.db.PrepareContext(ctx, query())
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byKey[key]; ok { // prepared meanwhile by another writer
		s.Close()
		c.lru.MoveToFront(e)
		return e.Value.(*cachedStmt).stmt, nil
	}
	c.byKey[key] = c.lru.PushFront(&cachedStmt{key, s})
	for c.lru.Len() > c.max {
		old := c.lru.Remove(c.lru.Back()).(*cachedStmt)
		delete(c.byKey, old.key)
		old.stmt.Close()
	}
	return s, nil
}

// close closes every statement.
func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for e := c.lru.Front(); e != nil; e = e.Next() {
		e.Value.(*cachedStmt).stmt.Close()
	}
	c.byKey = map[string]*list.Element{}
	c.lru.Init()
}
