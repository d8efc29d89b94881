package store_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/store/storetest"
)

func hash32(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func TestRefreshTokenRotation(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		now := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
		clock := func() time.Time { return now }
		s := e.Open(t, func(c *store.Config) { c.Now = clock })

		first := store.RefreshToken{FamilyID: "fam-1", UserID: 7, TenantID: 3, TokenHash: hash32("a"), ExpiresAt: now.Add(time.Hour)}
		if err := s.CreateRefreshToken(ctx, &first); err != nil {
			t.Fatal(err)
		}
		got, err := s.RefreshTokenByHash(ctx, hash32("a"))
		if err != nil || got.ID != first.ID || got.FamilyID != "fam-1" || got.RotatedAt != nil || !got.ExpiresAt.Equal(now.Add(time.Hour)) {
			t.Fatalf("by hash: %+v %v", got, err)
		}
		if _, err := s.RefreshTokenByHash(ctx, hash32("nope")); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown hash: %v", err)
		}
		if ok, err := s.SessionActive(ctx, "fam-1"); !ok || err != nil {
			t.Fatalf("session should be active: %v %v", ok, err)
		}

		second := store.RefreshToken{FamilyID: "fam-1", UserID: 7, TenantID: 3, TokenHash: hash32("b"), ExpiresAt: now.Add(2 * time.Hour)}
		if err := s.RotateRefreshToken(ctx, first.ID, &second); err != nil {
			t.Fatal(err)
		}
		old, _ := s.RefreshTokenByHash(ctx, hash32("a"))
		if old.RotatedAt == nil {
			t.Fatal("rotated token not marked")
		}
		// Rotating the same token twice (a replay or a race) conflicts.
		third := store.RefreshToken{FamilyID: "fam-1", UserID: 7, TenantID: 3, TokenHash: hash32("c"), ExpiresAt: now.Add(2 * time.Hour)}
		if err := s.RotateRefreshToken(ctx, first.ID, &third); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("second rotation: %v", err)
		}
		if _, err := s.RefreshTokenByHash(ctx, hash32("c")); !errors.Is(err, store.ErrNotFound) {
			t.Fatal("a refused rotation left its successor behind")
		}
		// Rotation across families is refused too.
		other := store.RefreshToken{FamilyID: "fam-2", UserID: 7, TenantID: 3, TokenHash: hash32("d"), ExpiresAt: now.Add(time.Hour)}
		if err := s.RotateRefreshToken(ctx, second.ID, &other); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("cross-family rotation: %v", err)
		}

		n, err := s.RevokeRefreshFamily(ctx, "fam-1")
		if err != nil || n != 2 {
			t.Fatalf("revoke: %d %v", n, err)
		}
		if ok, _ := s.SessionActive(ctx, "fam-1"); ok {
			t.Fatal("revoked session still active")
		}
		if ok, _ := s.SessionActive(ctx, "unknown"); ok {
			t.Fatal("unknown session active")
		}
		if err := s.RotateRefreshToken(ctx, second.ID, &third); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("rotation of revoked token: %v", err)
		}

		// Expiry ends a session; purge removes old rows.
		exp := store.RefreshToken{FamilyID: "fam-3", UserID: 8, TenantID: 3, TokenHash: hash32("e"), ExpiresAt: now.Add(time.Minute)}
		if err := s.CreateRefreshToken(ctx, &exp); err != nil {
			t.Fatal(err)
		}
		now = now.Add(2 * time.Minute)
		if ok, _ := s.SessionActive(ctx, "fam-3"); ok {
			t.Fatal("expired session active")
		}
		purged, err := s.PurgeRefreshTokens(ctx, now)
		if err != nil || purged != 1 {
			t.Fatalf("purge: %d %v", purged, err)
		}

		// Invalid input is refused before SQL.
		bad := store.RefreshToken{FamilyID: "", UserID: 0, TokenHash: []byte("short")}
		var ve *store.ValidationError
		if err := s.CreateRefreshToken(ctx, &bad); !errors.As(err, &ve) || len(ve.Fields) < 3 {
			t.Fatalf("invalid token: %v", err)
		}
	})
}

func TestRevokeUserSessions(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		s := e.Open(t)
		exp := time.Now().Add(time.Hour)
		for i, f := range []string{"s1", "s2"} {
			tok := store.RefreshToken{FamilyID: f, UserID: 5, TenantID: 1, TokenHash: hash32(f), ExpiresAt: exp}
			if err := s.CreateRefreshToken(ctx, &tok); err != nil {
				t.Fatal(i, err)
			}
		}
		keep := store.RefreshToken{FamilyID: "other", UserID: 5, TenantID: 2, TokenHash: hash32("other"), ExpiresAt: exp}
		if err := s.CreateRefreshToken(ctx, &keep); err != nil {
			t.Fatal(err)
		}
		fams, err := s.RevokeUserSessions(ctx, 1, 5)
		if err != nil || len(fams) != 2 {
			t.Fatalf("revoked %v %v", fams, err)
		}
		for _, f := range fams {
			if ok, _ := s.SessionActive(ctx, f); ok {
				t.Fatalf("session %s still active", f)
			}
		}
		if ok, _ := s.SessionActive(ctx, "other"); !ok {
			t.Fatal("another tenant's session was revoked")
		}
	})
}

func TestKioskTokens(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		s := e.Open(t)
		k := store.KioskToken{TenantID: 1, Name: "Line 1 TV", TokenHash: hash32("k1"), Lines: []int64{1, 2}}
		if err := s.CreateKioskToken(ctx, &k); err != nil {
			t.Fatal(err)
		}
		got, err := s.KioskTokenByHash(ctx, hash32("k1"))
		if err != nil || got.ID != k.ID || len(got.Lines) != 2 || got.RevokedAt != nil {
			t.Fatalf("by hash: %+v %v", got, err)
		}
		if _, err := s.GetKioskToken(ctx, 2, k.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("other tenant read kiosk token: %v", err)
		}
		if err := s.RevokeKioskToken(ctx, 2, k.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("other tenant revoked kiosk token: %v", err)
		}
		got.Name, got.Lines, got.TokenHash = "renamed", nil, hash32("attacker")
		if err := s.UpdateKioskToken(ctx, 1, &got); err != nil {
			t.Fatal(err)
		}
		again, _ := s.GetKioskToken(ctx, 1, k.ID)
		if again.Name != "renamed" || len(again.Lines) != 0 || !bytes.Equal(again.TokenHash, hash32("k1")) {
			t.Fatalf("update: %+v", again)
		}
		if err := s.TouchKioskToken(ctx, k.ID, time.Now()); err != nil {
			t.Fatal(err)
		}
		if err := s.RevokeKioskToken(ctx, 1, k.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.RevokeKioskToken(ctx, 1, k.ID); err != nil {
			t.Fatalf("second revoke: %v", err)
		}
		again, _ = s.GetKioskToken(ctx, 1, k.ID)
		if again.RevokedAt == nil || again.LastUsedAt == nil {
			t.Fatalf("revoke/touch not stored: %+v", again)
		}
		if err := s.UpdateKioskToken(ctx, 1, &again); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("update of revoked token: %v", err)
		}
		list, err := s.ListKioskTokens(ctx, 1, store.Page{})
		if err != nil || len(list) != 1 {
			t.Fatalf("list: %v %v", list, err)
		}
		if list, _ := s.ListKioskTokens(ctx, 2, store.Page{}); len(list) != 0 {
			t.Fatal("other tenant lists kiosk tokens")
		}
		bad := store.KioskToken{TenantID: 1, Name: " ", TokenHash: hash32("x"), Lines: []int64{-1}}
		if err := s.CreateKioskToken(ctx, &bad); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("invalid kiosk token: %v", err)
		}
	})
}

func TestAuditAnchorAdvancesUnderConcurrency(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		s := e.Open(t)
		if _, err := s.GetAuditAnchor(ctx, 4); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("anchor before any entry: %v", err)
		}
		hasher := func(prev []byte, e *store.AuditEntry) []byte {
			h := sha256.Sum256(append(append([]byte{}, prev...), byte(e.Seq)))
			return h[:]
		}
		const n = 12
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- s.AppendAuditAnchored(ctx, &store.AuditEntry{TenantID: 4, Action: "test"}, hasher)
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		a, err := s.GetAuditAnchor(ctx, 4)
		if err != nil || a.Seq != n {
			t.Fatalf("anchor %+v %v", a, err)
		}
		last, err := s.AuditEntries(ctx, 4, n-1, 10)
		if err != nil || len(last) != 1 || !bytes.Equal(last[0].Hash, a.Hash) {
			t.Fatalf("anchor hash is not the newest entry's: %v", err)
		}
		newest, err := s.AuditEntriesNewestFirst(ctx, 4, 0, 3)
		if err != nil || len(newest) != 3 || newest[0].Seq != n || newest[2].Seq != n-2 {
			t.Fatalf("newest first: %+v %v", newest, err)
		}
		older, err := s.AuditEntriesNewestFirst(ctx, 4, newest[2].Seq, 100)
		if err != nil || len(older) != n-3 || older[0].Seq != n-3 || older[len(older)-1].Seq != 1 {
			t.Fatalf("older page: %d entries %v", len(older), err)
		}
		ids, err := s.AuditTenants(ctx)
		if err != nil || len(ids) != 1 || ids[0] != 4 {
			t.Fatalf("audit tenants %v %v", ids, err)
		}
	})
}
