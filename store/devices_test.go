package store_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/store/storetest"
)

const hashA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

func TestDevices(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		s := e.Open(t)
		acme := storetest.Tenant(t, s, "acme")
		globex := storetest.Tenant(t, s, "globex")
		l1, l2 := newLine(t, acme), newLine(t, acme)

		d := store.Device{TenantID: acme.ID(), Name: "cam-01", SecretHash: hashA, Lines: []int64{l2.ID, l1.ID, l2.ID}}
		if err := s.CreateDevice(ctx, &d); err != nil {
			t.Fatal(err)
		}
		if d.ID == 0 || d.CreatedAt.IsZero() || d.Revoked() {
			t.Fatalf("created %+v", d)
		}
		if want := []int64{l1.ID, l2.ID}; !slices.Equal(d.Lines, want) {
			t.Fatalf("lines %v, want sorted and unique %v", d.Lines, want)
		}
		all := store.Device{TenantID: acme.ID(), Name: "cam_02", SecretHash: hashA}
		if err := s.CreateDevice(ctx, &all); err != nil {
			t.Fatal(err)
		}

		got, err := s.GetDevice(ctx, acme.ID(), d.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "cam-01" || got.SecretHash != hashA || !slices.Equal(got.Lines, d.Lines) || !got.CreatedAt.Equal(d.CreatedAt) {
			t.Fatalf("read back %+v, want %+v", got, d)
		}
		if got, err := s.DeviceByName(ctx, acme.ID(), "cam_02"); err != nil || got.ID != all.ID || len(got.Lines) != 0 || got.Lines == nil {
			t.Fatalf("by name: %+v %v (empty lines must read back as [], not null)", got, err)
		}

		// Tenant isolation: the other tenant sees nothing and may reuse the name.
		if _, err := s.GetDevice(ctx, globex.ID(), d.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("cross-tenant get: %v", err)
		}
		if _, err := s.DeviceByName(ctx, globex.ID(), "cam-01"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("cross-tenant by name: %v", err)
		}
		if err := s.RevokeDevice(ctx, globex.ID(), d.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("cross-tenant revoke: %v", err)
		}
		other := store.Device{TenantID: globex.ID(), Name: "cam-01", SecretHash: hashA}
		if err := s.CreateDevice(ctx, &other); err != nil {
			t.Fatalf("same name in another tenant: %v", err)
		}
		if list, err := s.ListDevices(ctx, globex.ID(), store.Page{}); err != nil || len(list) != 1 || list[0].ID != other.ID {
			t.Fatalf("globex list: %+v %v", list, err)
		}

		// Conflicts and validation.
		dup := store.Device{TenantID: acme.ID(), Name: "cam-01", SecretHash: hashA}
		if err := s.CreateDevice(ctx, &dup); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("duplicate name: %v", err)
		}
		for _, bad := range []store.Device{
			{TenantID: acme.ID(), Name: "cam.01", SecretHash: hashA},
			{TenantID: acme.ID(), Name: "", SecretHash: hashA},
			{TenantID: acme.ID(), Name: strings.Repeat("x", 65), SecretHash: hashA},
			{TenantID: acme.ID(), Name: "ok", SecretHash: "secret"},
			{TenantID: acme.ID(), Name: "ok", SecretHash: hashA, Lines: []int64{0}},
			{TenantID: acme.ID(), Name: "ok", SecretHash: hashA, Lines: []int64{l1.ID + 100}},
		} {
			if err := s.CreateDevice(ctx, &bad); !errors.Is(err, store.ErrInvalid) {
				t.Fatalf("%+v accepted: %v", bad, err)
			}
		}
		if err := s.CreateDevice(ctx, &store.Device{TenantID: 9999, Name: "x", SecretHash: hashA}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown tenant: %v", err)
		}

		// Revocation is recorded once and keeps the name taken.
		if err := s.RevokeDevice(ctx, acme.ID(), d.ID); err != nil {
			t.Fatal(err)
		}
		r1, _ := s.GetDevice(ctx, acme.ID(), d.ID)
		if !r1.Revoked() {
			t.Fatal("not revoked")
		}
		if err := s.RevokeDevice(ctx, acme.ID(), d.ID); err != nil {
			t.Fatal(err)
		}
		r2, _ := s.GetDevice(ctx, acme.ID(), d.ID)
		if !r2.RevokedAt.Equal(*r1.RevokedAt) {
			t.Fatalf("second revoke moved revoked_at: %v -> %v", r1.RevokedAt, r2.RevokedAt)
		}
		if err := s.CreateDevice(ctx, &dup); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("name of a revoked device reused: %v", err)
		}
		if err := s.RevokeDevice(ctx, acme.ID(), 424242); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("revoke unknown: %v", err)
		}

		// Paging.
		page, err := s.ListDevices(ctx, acme.ID(), store.Page{Limit: 1})
		if err != nil || len(page) != 1 || page[0].ID != d.ID {
			t.Fatalf("page 1: %+v %v", page, err)
		}
		page, err = s.ListDevices(ctx, acme.ID(), store.Page{AfterID: page[0].ID, Limit: 10})
		if err != nil || len(page) != 1 || page[0].ID != all.ID {
			t.Fatalf("page 2: %+v %v", page, err)
		}
		// Every device of one tenant, revoked ones included.
		if every, err := s.AllDevices(ctx, acme.ID()); err != nil || len(every) != 2 || every[0].ID != d.ID || every[1].ID != all.ID {
			t.Fatalf("all devices: %+v %v", every, err)
		}
	})
}
