package store

import (
	"context"
	"fmt"
	"strings"
)

// Which user queries ListUserQueries returns.
const (
	QueriesAll     = ""
	QueriesSaved   = "saved"   // named: the user's saved views
	QueriesHistory = "history" // not named
)

// ListUserQueries pages through one user's recorded data queries: all, the saved (named)
// views or the history (which, one of the Queries constants).
func (s *Store) ListUserQueries(ctx context.Context, tenantID, userID int64, which string, p Page) ([]UserQuery, error) {
	where := "`tenant_id` = ? AND `user_id` = ?"
	switch which {
	case QueriesSaved:
		where += " AND `name` <> ''"
	case QueriesHistory:
		where += " AND `name` = ''"
	}
	return s.tables.query.list(ctx, s.global, where, []any{tenantID, userID}, p)
}

// MaxQueryName bounds a saved view's name in bytes.
const MaxQueryName = 200

// NameUserQuery names (saves) or renames one of a user's queries; "" makes it history
// again. Another user's query is not found.
func (s *Store) NameUserQuery(ctx context.Context, tenantID, userID, id int64, name string) (UserQuery, error) {
	if len(name) > MaxQueryName || strings.ContainsAny(name, "\r\n") {
		return UserQuery{}, &ValidationError{Entity: "query", Fields: []FieldError{{Field: "name", Message: fmt.Sprintf("at most %d characters, one line", MaxQueryName)}}}
	}
	res, err := s.global.ExecContext(ctx, "UPDATE `user_query` SET `name` = ? WHERE `id` = ? AND `tenant_id` = ? AND `user_id` = ?", name, id, tenantID, userID)
	if err != nil {
		return UserQuery{}, fmt.Errorf("store: cannot name query %d: %w", id, err)
	}
	if _, err := res.RowsAffected(); err != nil {
		return UserQuery{}, fmt.Errorf("store: cannot name query %d: %w", id, err)
	}
	return s.GetUserQuery(ctx, tenantID, userID, id)
}

// GetUserQuery reads one of a user's recorded queries; another user's is not found.
func (s *Store) GetUserQuery(ctx context.Context, tenantID, userID, id int64) (UserQuery, error) {
	q, err := s.tables.query.get(ctx, s.global, id)
	if err != nil {
		return UserQuery{}, err
	}
	if q.TenantID != tenantID || q.UserID != userID {
		return UserQuery{}, fmt.Errorf("store: query %d: %w", id, ErrNotFound)
	}
	return q, nil
}
