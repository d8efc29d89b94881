package store

import (
	"context"
	"time"
)

// Entity is implemented by pointers to the plant model types (its methods are unexported:
// only this package defines entities).
type Entity interface {
	validate() error
	// stamp sets created_at/updated_at (creating) or updated_at (updating), when the type has them.
	stamp(now time.Time, creating bool)
}

// Collection is create/read/update/delete of one plant entity in one tenant database.
// Isolation is structural: a Collection only ever sees its own tenant's database.
type Collection[T any, P interface {
	*T
	Entity
}] struct {
	t      *TenantDB
	tab    *table[T]
	byLine bool // the table has a line_id column that List can filter on
	model  bool // a change refreshes the metadata cache
}

// ListOptions filters a list. LineID 0 means every line.
type ListOptions struct {
	LineID int64
	Page
}

// Create validates and inserts v, setting its id.
func (c Collection[T, P]) Create(ctx context.Context, v *T) error {
	if err := P(v).validate(); err != nil {
		return err
	}
	P(v).stamp(c.t.s.now(), true)
	if err := c.tab.insert(ctx, c.t.db, v); err != nil {
		return err
	}
	c.notify()
	return nil
}

// Get reads one row by id.
func (c Collection[T, P]) Get(ctx context.Context, id int64) (T, error) {
	return c.tab.get(ctx, c.t.db, id)
}

// List pages through rows, optionally of one line.
func (c Collection[T, P]) List(ctx context.Context, o ListOptions) ([]T, error) {
	if c.byLine && o.LineID != 0 {
		return c.tab.list(ctx, c.t.db, "`line_id` = ?", []any{o.LineID}, o.Page)
	}
	return c.tab.list(ctx, c.t.db, "", nil, o.Page)
}

// All returns every row (small catalogues, the metadata cache).
func (c Collection[T, P]) All(ctx context.Context) ([]T, error) {
	return c.tab.all(ctx, c.t.db, "")
}

// Update validates and saves v (matched by id); created_at is kept.
func (c Collection[T, P]) Update(ctx context.Context, v *T) error {
	old, err := c.Get(ctx, *c.tab.id(v))
	if err != nil {
		return err
	}
	if err := P(v).validate(); err != nil {
		return err
	}
	keepCreated(P(v), P(&old))
	P(v).stamp(c.t.s.now(), false)
	if err := c.tab.update(ctx, c.t.db, v); err != nil {
		return err
	}
	c.notify()
	return nil
}

// Delete removes one row.
func (c Collection[T, P]) Delete(ctx context.Context, id int64) error {
	if err := c.tab.delete(ctx, c.t.db, id); err != nil {
		return err
	}
	c.notify()
	return nil
}

func (c Collection[T, P]) notify() {
	if c.model {
		c.t.s.changed(c.t.ID())
	}
}

// timestamps is embedded by entities that carry created_at/updated_at.
type timestamps struct {
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func (ts *timestamps) stamp(now time.Time, creating bool) {
	if now.IsZero() {
		return
	}
	if creating {
		ts.CreatedAt = now
	}
	ts.UpdatedAt = now
}

func (ts *timestamps) created() time.Time     { return ts.CreatedAt }
func (ts *timestamps) setCreated(t time.Time) { ts.CreatedAt = t }

// keepCreated copies created_at from the stored row, so clients cannot rewrite history.
func keepCreated(dst, src any) {
	type createdAt interface {
		created() time.Time
		setCreated(time.Time)
	}
	d, ok1 := dst.(createdAt)
	s, ok2 := src.(createdAt)
	if ok1 && ok2 {
		d.setCreated(s.created())
	}
}

// noStamps is embedded by append-only records that carry their own event time.
type noStamps struct{}

func (noStamps) stamp(time.Time, bool) {}
