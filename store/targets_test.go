package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/store/storetest"
)

// TestTargetsAndMicroStops sets, replaces and deletes production targets (seen in the
// plant model), and stores micro-stop minutes as absolute values.
func TestTargetsAndMicroStops(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		s := e.Open(t)
		tdb := storetest.Tenant(t, s, "acme")
		l, other := newLine(t, tdb), newLine(t, tdb)
		sh := store.Shift{Name: "Day", StartTime: "06:00", EndTime: "14:00", Active: true}
		if err := tdb.Shifts.Create(ctx, &sh); err != nil {
			t.Fatal(err)
		}
		own := store.Shift{Name: "Own", LineID: other.ID, StartTime: "14:00", EndTime: "22:00", Active: true}
		if err := tdb.Shifts.Create(ctx, &own); err != nil {
			t.Fatal(err)
		}
		for _, bad := range []store.Target{{LineID: l.ID, ShiftID: sh.ID}, {LineID: l.ID, ShiftID: sh.ID, Quantity: store.MaxTargetQuantity + 1}, {LineID: l.ID, ShiftID: own.ID, Quantity: 5}} {
			if err := tdb.SetTarget(ctx, &bad); !errors.Is(err, store.ErrInvalid) {
				t.Errorf("SetTarget(%+v) = %v, want invalid", bad, err)
			}
		}
		for _, missing := range []store.Target{{LineID: 999, ShiftID: sh.ID, Quantity: 5}, {LineID: l.ID, ShiftID: 999, Quantity: 5}} {
			if err := tdb.SetTarget(ctx, &missing); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("SetTarget(%+v) = %v, want not found", missing, err)
			}
		}
		for _, q := range []int64{100, 4200} {
			if err := tdb.SetTarget(ctx, &store.Target{LineID: l.ID, ShiftID: sh.ID, Quantity: q}); err != nil {
				t.Fatal(err)
			}
		}
		if err := tdb.SetTarget(ctx, &store.Target{LineID: other.ID, ShiftID: own.ID, Quantity: 7}); err != nil {
			t.Fatal(err)
		}
		got, err := tdb.Targets(ctx)
		if err != nil || len(got) != 2 || got[0].Quantity != 4200 || got[0].LineID != l.ID || got[1].Quantity != 7 || got[0].UpdatedAt.IsZero() {
			t.Fatalf("targets %+v %v", got, err)
		}
		mc := store.NewMetaCache(s)
		m, err := mc.Get(ctx, tdb.ID())
		if err != nil || m.Target(l.ID, sh.ID) != 4200 || m.Target(other.ID, sh.ID) != 0 {
			t.Fatalf("meta targets %+v %v", m.Targets, err)
		}
		if err := tdb.DeleteTarget(ctx, l.ID, sh.ID); err != nil {
			t.Fatal(err)
		}
		if m, err := mc.Get(ctx, tdb.ID()); err != nil || m.Target(l.ID, sh.ID) != 0 {
			t.Fatalf("meta targets after delete %+v %v", m.Targets, err)
		}
		if err := tdb.DeleteTarget(ctx, l.ID, sh.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("second delete: %v", err)
		}

		r := store.MinuteRange{From: 1000, To: 1010}
		if err := tdb.ReplaceMicroStops(ctx, l.ID, r, []store.MicroStopRow{{Minute: 1001, Count: 2, DurationMS: 900}, {Minute: 1005, Count: 1, DurationMS: 300}}); err != nil {
			t.Fatal(err)
		}
		// A replay writes the same minute again: absolute, not added.
		if err := tdb.ReplaceMicroStops(ctx, l.ID, store.MinuteRange{From: 1005, To: 1006}, []store.MicroStopRow{{Minute: 1005, Count: 1, DurationMS: 300}}); err != nil {
			t.Fatal(err)
		}
		if err := tdb.ReplaceMicroStops(ctx, other.ID, r, []store.MicroStopRow{{Minute: 1002, Count: 9, DurationMS: 9}}); err != nil {
			t.Fatal(err)
		}
		if err := tdb.ReplaceMicroStops(ctx, l.ID, r, []store.MicroStopRow{{Minute: 1010, Count: 1}}); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("row outside the range: %v", err)
		}
		rows, err := tdb.MicroStops(ctx, l.ID, store.MinuteRange{From: 0, To: 2000})
		if err != nil || len(rows) != 2 || rows[0] != (store.MicroStopRow{Minute: 1001, Count: 2, DurationMS: 900}) || rows[1].Count != 1 {
			t.Fatalf("micro-stops %+v %v", rows, err)
		}
	})
}
