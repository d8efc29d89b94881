package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// querier is what both *sql.DB and *sql.Tx offer.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Page selects a window of a list by keyset: rows with id > AfterID, at most Limit of them.
type Page struct {
	AfterID int64
	Limit   int
}

// MaxPageSize bounds every list; a larger Limit is an invalid request.
const MaxPageSize = 500

// DefaultPageSize applies when Limit is 0.
const DefaultPageSize = 100

func (p Page) limit() (int, error) {
	switch {
	case p.Limit == 0:
		return DefaultPageSize, nil
	case p.Limit < 0 || p.Limit > MaxPageSize:
		return 0, &ValidationError{Entity: "page", Fields: []FieldError{{Field: "limit", Message: fmt.Sprintf("must be between 1 and %d", MaxPageSize)}}}
	}
	return p.Limit, nil
}

// table maps one entity type to one table with an integer id primary key. It is the single
// implementation of create/read/update/delete for the plant and identity entities, so every
// entity gets the same error handling and column discipline.
type table[T any] struct {
	name   string               // table name, unquoted (a constant of this package)
	cols   []string             // columns other than id, in bind order
	id     func(*T) *int64      // the id field
	bind   func(*T) []any       // pointers/valuers for cols, in order
	isDup  func(err error) bool // dialect's duplicate-key test
	selCol string               // "`id`, `c1`, ..."
}

func newTable[T any](d dialect, name string, cols []string, id func(*T) *int64, bind func(*T) []any) *table[T] {
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = "`" + c + "`"
	}
	return &table[T]{
		name: name, cols: cols, id: id, bind: bind, isDup: d.isDuplicate,
		selCol: "`id`, " + strings.Join(quoted, ", "),
	}
}

func (t *table[T]) scanDest(v *T) []any { return append([]any{t.id(v)}, t.bind(v)...) }

func (t *table[T]) insert(ctx context.Context, q querier, v *T) error {
	ph := strings.Repeat("?, ", len(t.cols))
	query := "INSERT INTO `" + t.name + "` (" + t.selCol[len("`id`, "):] + ") VALUES (" + ph[:len(ph)-2] + ")"
	res, err := q.ExecContext(ctx, query, t.bind(v)...)
	if err != nil {
		if t.isDup(err) {
			return fmt.Errorf("store: cannot create %s: %w", t.name, ErrConflict)
		}
		return fmt.Errorf("store: cannot create %s: %w", t.name, err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return fmt.Errorf("store: cannot read id of new %s: %w", t.name, err)
	}
	*t.id(v) = id
	return nil
}

func (t *table[T]) get(ctx context.Context, q querier, id int64) (T, error) {
	var v T
	err := q.QueryRowContext(ctx, "SELECT "+t.selCol+" FROM `"+t.name+"` WHERE `id` = ?", id).Scan(t.scanDest(&v)...)
	if errors.Is(err, sql.ErrNoRows) {
		return v, fmt.Errorf("store: %s %d: %w", t.name, id, ErrNotFound)
	}
	if err != nil {
		return v, fmt.Errorf("store: cannot read %s %d: %w", t.name, id, err)
	}
	return v, nil
}

// list returns rows matching where (a constant condition written in this package, with ?
// placeholders for args) after the page's cursor, ordered by id.
func (t *table[T]) list(ctx context.Context, q querier, where string, args []any, p Page) ([]T, error) {
	limit, err := p.limit()
	if err != nil {
		return nil, err
	}
	cond := "`id` > ?"
	if where != "" {
		cond = "(" + where + ") AND " + cond
	}
	args = append(append([]any{}, args...), p.AfterID, limit)
	rows, err := q.QueryContext(ctx, "SELECT "+t.selCol+" FROM `"+t.name+"` WHERE "+cond+" ORDER BY `id` LIMIT ?", args...)
	if err != nil {
		return nil, fmt.Errorf("store: cannot list %s: %w", t.name, err)
	}
	defer rows.Close()
	out := make([]T, 0, 16)
	for rows.Next() {
		var v T
		if err := rows.Scan(t.scanDest(&v)...); err != nil {
			return nil, fmt.Errorf("store: cannot scan %s: %w", t.name, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: cannot list %s: %w", t.name, err)
	}
	return out, nil
}

// all returns every row matching where, without paging (for the metadata cache and small
// catalogues).
func (t *table[T]) all(ctx context.Context, q querier, where string, args ...any) ([]T, error) {
	return t.allBy(ctx, q, MaxPageSize, where, args...)
}

// allBy is all reading batch rows (1..MaxPageSize) per query.
func (t *table[T]) allBy(ctx context.Context, q querier, batch int, where string, args ...any) ([]T, error) {
	var out []T
	p := Page{Limit: batch}
	for {
		batch, err := t.list(ctx, q, where, args, p)
		if err != nil {
			return nil, err
		}
		out = append(out, batch...)
		if len(batch) < p.Limit {
			return out, nil
		}
		p.AfterID = *t.id(&batch[len(batch)-1])
	}
}

func (t *table[T]) update(ctx context.Context, q querier, v *T) error {
	set := make([]string, len(t.cols))
	for i, c := range t.cols {
		set[i] = "`" + c + "` = ?"
	}
	args := append(t.bind(v), *t.id(v))
	res, err := q.ExecContext(ctx, "UPDATE `"+t.name+"` SET "+strings.Join(set, ", ")+" WHERE `id` = ?", args...)
	if err != nil {
		if t.isDup(err) {
			return fmt.Errorf("store: cannot update %s %d: %w", t.name, *t.id(v), ErrConflict)
		}
		return fmt.Errorf("store: cannot update %s %d: %w", t.name, *t.id(v), err)
	}
	return mustAffect(res, t.name, *t.id(v))
}

func (t *table[T]) delete(ctx context.Context, q querier, id int64) error {
	res, err := q.ExecContext(ctx, "DELETE FROM `"+t.name+"` WHERE `id` = ?", id)
	if err != nil {
		return fmt.Errorf("store: cannot delete %s %d: %w", t.name, id, err)
	}
	return mustAffect(res, t.name, id)
}

// mustAffect turns "no row matched" into ErrNotFound. MySQL connections use
// clientFoundRows, so an update that changes nothing still counts its matched row.
func mustAffect(res sql.Result, name string, id int64) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("store: %s %d: %w", name, id, err)
	}
	if n == 0 {
		return fmt.Errorf("store: %s %d: %w", name, id, ErrNotFound)
	}
	return nil
}
