package store

import (
	"context"
	"fmt"
)

// ListUserQueries pages through one user's recorded data queries (the user's history).
func (s *Store) ListUserQueries(ctx context.Context, tenantID, userID int64, p Page) ([]UserQuery, error) {
	return s.tables.query.list(ctx, s.global, "`tenant_id` = ? AND `user_id` = ?", []any{tenantID, userID}, p)
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
