package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// maxFamilyID bounds the session id (the column is VARCHAR(64)).
const maxFamilyID = 64

// RefreshToken is one row of refresh_token. Tokens of one login session share FamilyID
// (the session id); only the SHA-256 of a token is stored.
type RefreshToken struct {
	ID        int64      `json:"id"`
	FamilyID  string     `json:"family_id"`
	UserID    int64      `json:"user_id"`
	TenantID  int64      `json:"tenant_id"`
	TokenHash []byte     `json:"-"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt time.Time  `json:"expires_at"`
	RotatedAt *time.Time `json:"rotated_at"`
	RevokedAt *time.Time `json:"revoked_at"`
}

func (t *RefreshToken) validate() error {
	v := validator{entity: "refresh_token"}
	v.check(t.FamilyID != "" && len(t.FamilyID) <= maxFamilyID, "family_id", "is required (at most 64 characters)")
	v.check(t.UserID > 0, "user_id", "is required")
	v.check(t.TenantID >= 0, "tenant_id", "must not be negative")
	v.check(len(t.TokenHash) == 32, "token_hash", "must be a 32-byte SHA-256")
	v.check(!t.ExpiresAt.IsZero(), "expires_at", "is required")
	return v.err()
}

func refreshTable(d dialect) *table[RefreshToken] {
	return newTable(d, "refresh_token", []string{"family_id", "user_id", "tenant_id", "token_hash", "created_at", "expires_at", "rotated_at", "revoked_at"},
		func(t *RefreshToken) *int64 { return &t.ID },
		func(t *RefreshToken) []any {
			return []any{&t.FamilyID, &t.UserID, &t.TenantID, &t.TokenHash, &t.CreatedAt, &t.ExpiresAt, &t.RotatedAt, &t.RevokedAt}
		})
}

// utcMS is how every time is stored: UTC, millisecond precision.
func utcMS(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

// CreateRefreshToken inserts the first token of a session (a new family).
func (s *Store) CreateRefreshToken(ctx context.Context, t *RefreshToken) error {
	if err := t.validate(); err != nil {
		return err
	}
	t.CreatedAt, t.ExpiresAt = s.now(), utcMS(t.ExpiresAt)
	t.RotatedAt, t.RevokedAt = nil, nil
	return refreshTable(s.d).insert(ctx, s.global, t)
}

// RefreshTokenByHash finds a token by the SHA-256 of its value.
func (s *Store) RefreshTokenByHash(ctx context.Context, hash []byte) (RefreshToken, error) {
	return byHash(ctx, s, refreshTable(s.d), hash, "refresh token")
}

// byHash finds the row of a token table whose token_hash is hash.
func byHash[T any](ctx context.Context, s *Store, tab *table[T], hash []byte, what string) (T, error) {
	list, err := tab.list(ctx, s.global, "`token_hash` = ?", []any{hash}, Page{Limit: 1})
	if err != nil {
		var zero T
		return zero, err
	}
	if len(list) == 0 {
		var zero T
		return zero, fmt.Errorf("store: %s: %w", what, ErrNotFound)
	}
	return list[0], nil
}

// RotateRefreshToken marks token oldID rotated and inserts its successor next (same
// family, user and tenant) in one transaction. It fails with ErrConflict when oldID was
// already rotated or revoked meanwhile: a concurrent use of the same token, which the
// caller treats as reuse.
func (s *Store) RotateRefreshToken(ctx context.Context, oldID int64, next *RefreshToken) error {
	if err := next.validate(); err != nil {
		return err
	}
	tx, err := s.global.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: cannot rotate refresh token: %w", err)
	}
	defer tx.Rollback()
	now := s.now()
	res, err := tx.ExecContext(ctx, "UPDATE `refresh_token` SET `rotated_at` = ? WHERE `id` = ? AND `family_id` = ? AND `rotated_at` IS NULL AND `revoked_at` IS NULL", now, oldID, next.FamilyID)
	if err != nil {
		return fmt.Errorf("store: cannot rotate refresh token: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("store: refresh token %d is no longer current: %w", oldID, ErrConflict)
	}
	next.CreatedAt, next.ExpiresAt = now, utcMS(next.ExpiresAt)
	next.RotatedAt, next.RevokedAt = nil, nil
	if err := refreshTable(s.d).insert(ctx, tx, next); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: cannot rotate refresh token: %w", err)
	}
	return nil
}

// RevokeRefreshFamily revokes every token of a session and returns how many were live.
func (s *Store) RevokeRefreshFamily(ctx context.Context, familyID string) (int64, error) {
	res, err := s.global.ExecContext(ctx, "UPDATE `refresh_token` SET `revoked_at` = ? WHERE `family_id` = ? AND `revoked_at` IS NULL", s.now(), familyID)
	if err != nil {
		return 0, fmt.Errorf("store: cannot revoke session: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// RevokeUserSessions revokes every live session of one user (password change, role
// change, deactivation, deletion) and returns the session ids it ended.
func (s *Store) RevokeUserSessions(ctx context.Context, tenantID, userID int64) ([]string, error) {
	rows, err := s.global.QueryContext(ctx, "SELECT DISTINCT `family_id` FROM `refresh_token` WHERE `tenant_id` = ? AND `user_id` = ? AND `revoked_at` IS NULL", tenantID, userID)
	if err != nil {
		return nil, fmt.Errorf("store: cannot list sessions of user %d: %w", userID, err)
	}
	var fams []string
	for rows.Next() {
		var f string
		if err := rows.Scan(&f); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: cannot list sessions of user %d: %w", userID, err)
		}
		fams = append(fams, f)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: cannot list sessions of user %d: %w", userID, err)
	}
	if _, err := s.global.ExecContext(ctx, "UPDATE `refresh_token` SET `revoked_at` = ? WHERE `tenant_id` = ? AND `user_id` = ? AND `revoked_at` IS NULL", s.now(), tenantID, userID); err != nil {
		return nil, fmt.Errorf("store: cannot revoke sessions of user %d: %w", userID, err)
	}
	return fams, nil
}

// SessionActive reports whether a session may still be used: its newest token is neither
// revoked nor past its expiry. A session whose rows were purged is not active.
func (s *Store) SessionActive(ctx context.Context, familyID string) (bool, error) {
	var exp time.Time
	var revoked *time.Time
	err := s.global.QueryRowContext(ctx, "SELECT `expires_at`, `revoked_at` FROM `refresh_token` WHERE `family_id` = ? ORDER BY `id` DESC LIMIT 1", familyID).Scan(&exp, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: cannot read session: %w", err)
	}
	return revoked == nil && s.now().Before(exp), nil
}

// PurgeRefreshTokens deletes tokens that expired before cutoff and returns how many.
// Keep cutoff well behind now so a replayed expired token is still recognised as reuse
// for a while.
func (s *Store) PurgeRefreshTokens(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := s.global.ExecContext(ctx, "DELETE FROM `refresh_token` WHERE `expires_at` < ?", utcMS(cutoff))
	if err != nil {
		return 0, fmt.Errorf("store: cannot purge refresh tokens: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// MaxKioskLines bounds the lines one kiosk token may name.
const MaxKioskLines = 256

// KioskToken is a long-lived, read-only token for a shop-floor screen, bound to lines
// (empty = every line of the tenant) and optionally to one dashboard template.
type KioskToken struct {
	ID          int64      `json:"id"`
	TenantID    int64      `json:"tenant_id"`
	Name        string     `json:"name"`
	TokenHash   []byte     `json:"-"`
	Lines       []int64    `json:"lines"`
	DashboardID int64      `json:"dashboard_id"` // 0 = none
	CreatedAt   time.Time  `json:"created_at"`
	RevokedAt   *time.Time `json:"revoked_at"`
	LastUsedAt  *time.Time `json:"last_used_at"`
}

func (k *KioskToken) validate() error {
	v := validator{entity: "kiosk_token"}
	v.check(k.TenantID > 0, "tenant_id", "is required")
	v.check(nameOK(k.Name, 100), "name", "is required (at most 100 characters)")
	v.check(len(k.TokenHash) == 32, "token_hash", "must be a 32-byte SHA-256")
	v.check(len(k.Lines) <= MaxKioskLines, "lines", fmt.Sprintf("at most %d lines", MaxKioskLines))
	for _, id := range k.Lines {
		if id <= 0 {
			v.check(false, "lines", "line ids must be positive")
			break
		}
	}
	v.check(k.DashboardID >= 0, "dashboard_id", "must not be negative")
	if k.Lines == nil {
		k.Lines = []int64{}
	}
	return v.err()
}

func kioskTable(d dialect) *table[KioskToken] {
	return newTable(d, "kiosk_token", []string{"tenant_id", "name", "token_hash", "lines", "dashboard_id", "created_at", "revoked_at", "last_used_at"},
		func(k *KioskToken) *int64 { return &k.ID },
		func(k *KioskToken) []any {
			return []any{&k.TenantID, &k.Name, &k.TokenHash, asJSON(&k.Lines), &k.DashboardID, &k.CreatedAt, &k.RevokedAt, &k.LastUsedAt}
		})
}

// CreateKioskToken inserts a kiosk token; the caller generates the token and its hash.
func (s *Store) CreateKioskToken(ctx context.Context, k *KioskToken) error {
	if err := k.validate(); err != nil {
		return err
	}
	k.CreatedAt, k.RevokedAt, k.LastUsedAt = s.now(), nil, nil
	return kioskTable(s.d).insert(ctx, s.global, k)
}

// GetKioskToken reads a kiosk token of tenantID; another tenant's token is ErrNotFound.
func (s *Store) GetKioskToken(ctx context.Context, tenantID, id int64) (KioskToken, error) {
	k, err := kioskTable(s.d).get(ctx, s.global, id)
	if err == nil && k.TenantID != tenantID {
		return KioskToken{}, fmt.Errorf("store: kiosk_token %d: %w", id, ErrNotFound)
	}
	return k, err
}

// ListKioskTokens pages through a tenant's kiosk tokens, revoked ones included.
func (s *Store) ListKioskTokens(ctx context.Context, tenantID int64, p Page) ([]KioskToken, error) {
	return kioskTable(s.d).list(ctx, s.global, "`tenant_id` = ?", []any{tenantID}, p)
}

// KioskTokenByHash finds a token by the SHA-256 of its value (revoked ones too: the
// caller decides).
func (s *Store) KioskTokenByHash(ctx context.Context, hash []byte) (KioskToken, error) {
	return byHash(ctx, s, kioskTable(s.d), hash, "kiosk token")
}

// UpdateKioskToken saves name, lines and dashboard of a live token of tenantID; the token
// value, tenant and timestamps never change here.
func (s *Store) UpdateKioskToken(ctx context.Context, tenantID int64, k *KioskToken) error {
	old, err := s.GetKioskToken(ctx, tenantID, k.ID)
	if err != nil {
		return err
	}
	if old.RevokedAt != nil {
		return &ValidationError{Entity: "kiosk_token", Fields: []FieldError{{Field: "id", Message: "the token is revoked"}}}
	}
	k.TenantID, k.TokenHash, k.CreatedAt, k.RevokedAt, k.LastUsedAt = old.TenantID, old.TokenHash, old.CreatedAt, old.RevokedAt, old.LastUsedAt
	if err := k.validate(); err != nil {
		return err
	}
	return kioskTable(s.d).update(ctx, s.global, k)
}

// RevokeKioskToken revokes a token of tenantID; revoking twice is not an error. The row
// stays for the record.
func (s *Store) RevokeKioskToken(ctx context.Context, tenantID, id int64) error {
	if _, err := s.GetKioskToken(ctx, tenantID, id); err != nil {
		return err
	}
	_, err := s.global.ExecContext(ctx, "UPDATE `kiosk_token` SET `revoked_at` = ? WHERE `id` = ? AND `tenant_id` = ? AND `revoked_at` IS NULL", s.now(), id, tenantID)
	if err != nil {
		return fmt.Errorf("store: cannot revoke kiosk token %d: %w", id, err)
	}
	return nil
}

// TouchKioskToken stamps last_used_at (callers rate-limit how often).
func (s *Store) TouchKioskToken(ctx context.Context, id int64, at time.Time) error {
	if _, err := s.global.ExecContext(ctx, "UPDATE `kiosk_token` SET `last_used_at` = ? WHERE `id` = ?", utcMS(at), id); err != nil {
		return fmt.Errorf("store: cannot touch kiosk token %d: %w", id, err)
	}
	return nil
}

// ---- audit anchor ----

// AuditAnchor is the newest known (seq, hash) of a tenant's audit chain, kept apart from
// the chain so that deleting its newest entries is detected.
type AuditAnchor struct {
	TenantID  int64     `json:"tenant_id"`
	Seq       int64     `json:"seq"`
	Hash      []byte    `json:"hash"`
	UpdatedAt time.Time `json:"updated_at"`
}

// AppendAuditAnchored appends e like AppendAudit and then advances the tenant's anchor to
// it. The anchor only ever moves forward, so concurrent appends leave the newest one.
func (s *Store) AppendAuditAnchored(ctx context.Context, e *AuditEntry, hash AuditHasher) error {
	if err := s.AppendAudit(ctx, e, hash); err != nil {
		return err
	}
	return s.advanceAuditAnchor(ctx, e.TenantID, e.Seq, e.Hash)
}

func (s *Store) advanceAuditAnchor(ctx context.Context, tenantID, seq int64, hash []byte) error {
	for attempt := 0; ; attempt++ {
		err := s.advanceAuditAnchorOnce(ctx, tenantID, seq, hash)
		if err == nil || !errors.Is(err, ErrConflict) || attempt >= 20 {
			return err
		}
	}
}

func (s *Store) advanceAuditAnchorOnce(ctx context.Context, tenantID, seq int64, hash []byte) error {
	res, err := s.global.ExecContext(ctx, "UPDATE `audit_anchor` SET `seq` = ?, `hash` = ?, `updated_at` = ? WHERE `tenant_id` = ? AND `seq` < ?", seq, hash, s.now(), tenantID, seq)
	if err != nil {
		return fmt.Errorf("store: cannot advance audit anchor: %w", err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		return nil
	}
	_, err = s.global.ExecContext(ctx, "INSERT INTO `audit_anchor` (`tenant_id`, `seq`, `hash`, `updated_at`) VALUES (?, ?, ?, ?)", tenantID, seq, hash, s.now())
	if err != nil {
		if s.d.isDuplicate(err) {
			// The row exists: either at a newer seq already (done) or a concurrent insert won
			// and the update must be retried.
			cur, gerr := s.GetAuditAnchor(ctx, tenantID)
			if gerr == nil && cur.Seq >= seq {
				return nil
			}
			return ErrConflict
		}
		return fmt.Errorf("store: cannot write audit anchor: %w", err)
	}
	return nil
}

// GetAuditAnchor reads a tenant's anchor; ErrNotFound when the tenant has no audit entry yet.
func (s *Store) GetAuditAnchor(ctx context.Context, tenantID int64) (AuditAnchor, error) {
	a := AuditAnchor{TenantID: tenantID}
	err := s.global.QueryRowContext(ctx, "SELECT `seq`, `hash`, `updated_at` FROM `audit_anchor` WHERE `tenant_id` = ?", tenantID).Scan(&a.Seq, &a.Hash, &a.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return a, fmt.Errorf("store: audit anchor of tenant %d: %w", tenantID, ErrNotFound)
	}
	if err != nil {
		return a, fmt.Errorf("store: cannot read audit anchor: %w", err)
	}
	return a, nil
}

// AuditTenants returns the ids of the tenants (0 = platform) that have audit entries.
func (s *Store) AuditTenants(ctx context.Context) ([]int64, error) {
	rows, err := s.global.QueryContext(ctx, "SELECT DISTINCT `tenant_id` FROM `audit_log` ORDER BY `tenant_id`")
	if err != nil {
		return nil, fmt.Errorf("store: cannot list audit chains: %w", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("store: cannot list audit chains: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}
