package store_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/store/storetest"
)

// TestFloorPlan: one floor plan per tenant, replaced as a whole, invisible to another tenant.
func TestFloorPlan(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		s := e.Open(t)
		a := storetest.Tenant(t, s, "acme")
		b := storetest.Tenant(t, s, "bolt")
		if _, err := a.GetFloorPlan(ctx); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("no plan yet: %v", err)
		}
		big := bytes.Repeat([]byte{0x89, 'P', 0}, 700_000) // over 64 KiB: needs a MEDIUMBLOB on MySQL
		for _, f := range []store.FloorPlan{
			{ContentType: "image/svg+xml", Width: 100, Height: 50, Data: []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`)},
			{ContentType: "image/png", Width: 1600.5, Height: 900, Data: big},
		} {
			if err := a.PutFloorPlan(ctx, &f); err != nil {
				t.Fatal(err)
			}
			got, err := a.GetFloorPlan(ctx)
			if err != nil || got.ContentType != f.ContentType || got.Width != f.Width || got.Height != f.Height || !bytes.Equal(got.Data, f.Data) || got.UpdatedAt.IsZero() {
				t.Fatalf("read back %s (%d bytes): %v", got.ContentType, len(got.Data), err)
			}
		}
		if err := a.PutFloorPlan(ctx, &store.FloorPlan{ContentType: "image/png", Data: []byte{1}}); err == nil {
			t.Error("a plan without a size was saved")
		}
		if _, err := b.GetFloorPlan(ctx); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("another tenant sees the plan: %v", err)
		}
		if err := a.DeleteFloorPlan(ctx); err != nil {
			t.Fatal(err)
		}
		if err := a.DeleteFloorPlan(ctx); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("second delete: %v", err)
		}
	})
}
