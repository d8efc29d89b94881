package store_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/store/storetest"
)

func TestDowntimeEvents(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		s := e.Open(t)
		a := storetest.Tenant(t, s, "acme")
		b := storetest.Tenant(t, s, "bolt")
		la, lb := newLine(t, a), newLine(t, b)
		base := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
		at := func(min int) time.Time { return base.Add(time.Duration(min) * time.Minute) }
		ptr := func(t time.Time) *time.Time { return &t }

		// An open event (live alert), then closed, then replayed open: stays closed.
		ev := store.DowntimeEvent{Start: at(0).Add(123456789 * time.Nanosecond)}
		if err := a.UpsertDowntime(ctx, la.ID, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.ID <= 0 || ev.End != nil || ev.LineID != la.ID || !ev.Start.Equal(at(0).Add(123*time.Millisecond)) {
			t.Fatalf("open event stored as %+v", ev)
		}
		id := ev.ID
		closed := store.DowntimeEvent{Start: at(0).Add(123 * time.Millisecond), End: ptr(at(5)), DurationMS: 240000}
		if err := a.UpsertDowntime(ctx, la.ID, &closed); err != nil {
			t.Fatal(err)
		}
		if closed.ID != id || closed.End == nil || !closed.End.Equal(at(5)) || closed.DurationMS != 240000 {
			t.Fatalf("closing: %+v", closed)
		}
		reopen := store.DowntimeEvent{Start: closed.Start}
		if err := a.UpsertDowntime(ctx, la.ID, &reopen); err != nil {
			t.Fatal(err)
		}
		if reopen.End == nil || reopen.DurationMS != 240000 {
			t.Fatalf("a nil end reopened the event: %+v", reopen)
		}

		// Coding: unknown code refused, known code kept across a replay.
		if err := a.SetDowntimeReason(ctx, la.ID, id, "JAM", "belt", 7); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("unknown code: %v", err)
		}
		if err := a.Failures.Create(ctx, &store.Failure{Code: "JAM", Name: "Jam"}); err != nil {
			t.Fatal(err)
		}
		if err := b.SetDowntimeReason(ctx, lb.ID, id, "JAM", "", 7); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("tenant B used tenant A's catalogue: %v", err)
		}
		if err := a.SetDowntimeReason(ctx, la.ID, id, "JAM", "belt", 7); err != nil {
			t.Fatal(err)
		}
		if err := a.SetDowntimeReason(ctx, la.ID, id+1000, "JAM", "", 7); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("coding a missing event: %v", err)
		}
		replay := store.DowntimeEvent{Start: closed.Start, End: ptr(at(6)), DurationMS: 300000}
		if err := a.UpsertDowntime(ctx, la.ID, &replay); err != nil {
			t.Fatal(err)
		}
		got, err := a.GetDowntime(ctx, la.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		if got.ReasonCode != "JAM" || got.Comment != "belt" || got.CodedBy != 7 || got.DurationMS != 300000 {
			t.Fatalf("after replay: %+v", got)
		}
		if _, err := a.GetDowntime(ctx, la.ID, id+1000); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("get missing: %v", err)
		}

		// More events: a short one, an uncoded one, an open one.
		for _, x := range []store.DowntimeEvent{
			{Start: at(30), End: ptr(at(31)), DurationMS: 60000},
			{Start: at(60), End: ptr(at(70)), DurationMS: 600000},
			{Start: at(120)},
		} {
			if err := a.UpsertDowntime(ctx, la.ID, &x); err != nil {
				t.Fatal(err)
			}
		}
		starts := func(evs []store.DowntimeEvent) []int {
			var out []int
			for _, e := range evs {
				out = append(out, int(e.Start.Sub(base)/time.Minute))
			}
			return out
		}
		list := func(from, to time.Time, f store.DowntimeFilter, p store.Page) []int {
			t.Helper()
			evs, err := a.ListDowntime(ctx, la.ID, from, to, f, p)
			if err != nil {
				t.Fatal(err)
			}
			return starts(evs)
		}
		day := base.Add(24 * time.Hour)
		for _, c := range []struct {
			name     string
			from, to time.Time
			f        store.DowntimeFilter
			p        store.Page
			want     []int
		}{
			{"all", base, day, store.DowntimeFilter{}, store.Page{}, []int{0, 30, 60, 120}},
			{"uncoded", base, day, store.DowntimeFilter{Uncoded: true}, store.Page{}, []int{30, 60, 120}},
			{"by reason", base, day, store.DowntimeFilter{ReasonCode: "JAM"}, store.Page{}, []int{0}},
			{"min duration", base, day, store.DowntimeFilter{MinDuration: 5 * time.Minute}, store.Page{}, []int{0, 60}},
			{"overlap at the edges", at(6), at(60), store.DowntimeFilter{}, store.Page{}, []int{30}},
			{"open event overlaps later ranges", at(500), day, store.DowntimeFilter{}, store.Page{}, []int{120}},
			{"page", base, day, store.DowntimeFilter{}, store.Page{AfterID: id, Limit: 2}, []int{30, 60}},
		} {
			if got := list(c.from, c.to, c.f, c.p); fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Errorf("%s: got %v, want %v", c.name, got, c.want)
			}
		}
		if _, err := a.ListDowntime(ctx, la.ID, base, day, store.DowntimeFilter{Uncoded: true, ReasonCode: "JAM"}, store.Page{}); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("contradictory filter: %v", err)
		}
		between, err := a.DowntimeBetween(ctx, la.ID, base, day)
		if err != nil || fmt.Sprint(starts(between)) != "[0 30 60 120]" {
			t.Fatalf("DowntimeBetween: %v %v", starts(between), err)
		}

		// Withdrawing: only an open, uncoded event goes.
		if ok, err := a.DeleteOpenDowntime(ctx, la.ID, at(60)); err != nil || ok {
			t.Fatalf("withdrew a closed event: %v %v", ok, err)
		}
		if ok, err := a.DeleteOpenDowntime(ctx, la.ID, at(120)); err != nil || !ok {
			t.Fatalf("did not withdraw the open event: %v %v", ok, err)
		}

		// Tenant isolation: B's line has its own table.
		if evs, err := b.ListDowntime(ctx, lb.ID, base, day, store.DowntimeFilter{}, store.Page{}); err != nil || len(evs) != 0 {
			t.Fatalf("tenant B sees %d events, %v", len(evs), err)
		}
		// Validation.
		for _, bad := range []store.DowntimeEvent{{}, {Start: at(1), End: ptr(at(0))}, {Start: at(1), DurationMS: -1}, {Start: at(1), End: ptr(at(2)), DurationMS: 120000}} {
			if err := a.UpsertDowntime(ctx, la.ID, &bad); !errors.Is(err, store.ErrInvalid) {
				t.Errorf("UpsertDowntime(%+v) = %v, want ErrInvalid", bad, err)
			}
		}
		if err := a.UpsertDowntime(ctx, 0, &store.DowntimeEvent{Start: at(1)}); err == nil {
			t.Error("line 0 accepted")
		}
	})
}

func TestProductionRollupMatchesRaw(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		s := e.Open(t)
		tdb := storetest.Tenant(t, s, "acme")
		l := newLine(t, tdb)
		w, err := tdb.NewWriterPool(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		base := time.Date(2026, 3, 2, 5, 37, 0, 0, time.UTC)
		rng := rand.New(rand.NewPCG(1, 2))
		var batch []store.Detection
		at := base
		for i := range 6000 {
			at = at.Add(time.Duration(200+rng.IntN(2500)) * time.Millisecond)
			batch = append(batch, store.Detection{ID: uint64(i + 1), At: at.Truncate(time.Millisecond), Area: 1 + int64(rng.IntN(3)), Product: 1 + int64(rng.IntN(2)), OK: rng.IntN(20) != 0})
		}
		for i := 0; i < len(batch); i += 1000 {
			if _, err := tdb.WriteDetections(ctx, w, l.ID, batch[i:i+1000]); err != nil {
				t.Fatal(err)
			}
		}
		from, to := base.Add(7*time.Minute+30*time.Second), at.Add(-time.Hour)
		for _, step := range store.ProductionSteps {
			roll, err := tdb.ProductionRollup(ctx, l.ID, from, to, step)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := tdb.ProductionRaw(ctx, l.ID, from, to, step)
			if err != nil {
				t.Fatal(err)
			}
			if len(roll) == 0 || !reflect.DeepEqual(roll, raw) {
				t.Fatalf("step %d: rollups and raw differ (%d vs %d rows)", step, len(roll), len(raw))
			}
			var total int64
			for _, r := range roll {
				if r.Minute%int64(step) != 0 || r.Total != r.Good+r.Reject {
					t.Fatalf("step %d: bad row %+v", step, r)
				}
				total += r.Total
			}
			// The whole minutes touching [from, to) hold exactly these detections.
			var want int64
			lo, hi := from.Truncate(time.Minute), to.Truncate(time.Minute)
			if hi.Before(to) {
				hi = hi.Add(time.Minute)
			}
			for _, d := range batch {
				if !d.At.Before(lo) && d.At.Before(hi) {
					want++
				}
			}
			if total != want {
				t.Fatalf("step %d: total %d, want %d", step, total, want)
			}
		}
		if _, err := tdb.ProductionRollup(ctx, l.ID, from, to, 7); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("step 7: %v", err)
		}
		var n, bad int
		err = tdb.ScanDetections(ctx, l.ID, base, at.Add(time.Second), func(at time.Time, ok bool) error {
			n++
			if !ok {
				bad++
			}
			return nil
		})
		var wantBad int
		for _, d := range batch {
			if !d.OK {
				wantBad++
			}
		}
		if err != nil || n != len(batch) || bad != wantBad {
			t.Fatalf("ScanDetections: %d of %d, %d of %d rejects, %v", n, len(batch), bad, wantBad, err)
		}
		stop := errors.New("stop")
		if err := tdb.ScanDetections(ctx, l.ID, base, at, func(time.Time, bool) error { return stop }); !errors.Is(err, stop) {
			t.Fatalf("ScanDetections did not stop: %v", err)
		}
	})
}
