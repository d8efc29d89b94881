package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/store/storetest"
)

// TestProductRunsStore: a product's ideal cycle time, the runs an operator sets, the
// detections in order with their products, and production by product.
func TestProductRunsStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		s := e.Open(t)
		tdb := storetest.Tenant(t, s, "acme")
		l := newLine(t, tdb)
		p := store.Product{Name: "Cola", IdealCycleMS: 2500}
		if err := tdb.Products.Create(ctx, &p); err != nil {
			t.Fatal(err)
		}
		q := store.Product{Name: "Water"}
		if err := tdb.Products.Create(ctx, &q); err != nil {
			t.Fatal(err)
		}
		got, err := tdb.Products.Get(ctx, p.ID)
		if err != nil || got.IdealCycleMS != 2500 {
			t.Fatalf("product %+v %v", got, err)
		}
		for _, bad := range []int64{-1, store.MaxIdealCycleMS + 1} {
			b := store.Product{Name: "Bad", IdealCycleMS: bad}
			if err := tdb.Products.Create(ctx, &b); !errors.Is(err, store.ErrInvalid) {
				t.Errorf("ideal %d: %v", bad, err)
			}
		}
		products := map[int64]store.Product{p.ID: got, q.ID: q}
		if store.IdealCycle(l.IdealCycleTime(), products, p.ID) != 2500*time.Millisecond || store.IdealCycle(l.IdealCycleTime(), products, q.ID) != time.Second || store.IdealCycle(l.IdealCycleTime(), products, 99) != time.Second {
			t.Error("ideal cycle fallback to the line's")
		}

		base := time.Date(2026, 3, 1, 6, 0, 0, 0, time.UTC)
		for i, m := range []store.RunMark{{LineID: l.ID, ProductID: p.ID, Start: base}, {LineID: l.ID, ProductID: q.ID, Start: base.Add(time.Hour), SetBy: 7}} {
			if err := tdb.AddRunMark(ctx, &m); err != nil || m.ID == 0 {
				t.Fatalf("mark %d: %v", i, err)
			}
		}
		dup := store.RunMark{LineID: l.ID, ProductID: p.ID, Start: base}
		if err := tdb.AddRunMark(ctx, &dup); !errors.Is(err, store.ErrConflict) {
			t.Errorf("same instant: %v", err)
		}
		unknown := store.RunMark{LineID: l.ID, ProductID: 999, Start: base.Add(time.Minute)}
		if err := tdb.AddRunMark(ctx, &unknown); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("unknown product: %v", err)
		}
		marks, err := tdb.RunMarks(ctx, l.ID, base.Add(30*time.Minute), base.Add(2*time.Hour))
		if err != nil || len(marks) != 2 || marks[0].ProductID != p.ID || marks[1].ProductID != q.ID || marks[1].SetBy != 7 || !marks[1].Start.Equal(base.Add(time.Hour)) {
			t.Fatalf("marks %+v %v", marks, err)
		}

		w, err := tdb.NewWriterPool(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		var batch []store.Detection
		for i := 0; i < 120; i++ { // one every 2 s: product p for 2 minutes, then q; every 10th a reject
			prod := p.ID
			if i >= 60 {
				prod = q.ID
			}
			batch = append(batch, store.Detection{ID: uint64(120 - i), At: base.Add(time.Duration(i) * 2 * time.Second), Area: 1, Product: prod, OK: i%10 != 0})
		}
		if _, err := tdb.WriteDetections(ctx, w, l.ID, batch); err != nil {
			t.Fatal(err)
		}
		seen, err := tdb.DetectionsInOrder(ctx, l.ID, base, base.Add(time.Hour))
		if err != nil || len(seen) != 120 {
			t.Fatalf("in order: %d %v", len(seen), err)
		}
		for i, d := range seen {
			if !d.At.Equal(batch[i].At) || d.Product != batch[i].Product || d.OK != batch[i].OK {
				t.Fatalf("detection %d = %+v, want %+v", i, d, batch[i])
			}
		}
		edge, ok, err := tdb.ProductBefore(ctx, l.ID, base.Add(2*time.Minute+time.Second), base, true)
		if err != nil || !ok || edge.Product != q.ID || !edge.At.Equal(base.Add(2*time.Minute)) {
			t.Errorf("before: %+v %v %v", edge, ok, err)
		}
		edge, ok, err = tdb.ProductBefore(ctx, l.ID, base.Add(time.Second), base.Add(time.Hour), false)
		if err != nil || !ok || edge.Product != p.ID || !edge.At.Equal(base.Add(2*time.Second)) {
			t.Errorf("after: %+v %v %v", edge, ok, err)
		}
		if _, ok, err := tdb.ProductBefore(ctx, l.ID, base.Add(-time.Second), base.Add(-time.Hour), true); ok || err != nil {
			t.Errorf("nothing before: %v %v", ok, err)
		}
		at, err := tdb.ProductsAt(ctx, l.ID, []time.Time{base.Add(118 * time.Second), base.Add(120 * time.Second), base.Add(121 * time.Second)})
		if err != nil || len(at) != 2 {
			t.Errorf("at edges: %+v %v", at, err)
		}
		for _, d := range at {
			if want := map[int64]int64{118: p.ID, 120: q.ID}[int64(d.At.Sub(base)/time.Second)]; d.Product != want {
				t.Errorf("at %v: product %d, want %d", d.At, d.Product, want)
			}
		}
		m0 := base.Unix() / 60
		edges, err := tdb.RollupMinutes(ctx, l.ID, []int64{m0, m0 + 2})
		if err != nil || len(edges) != 2 || edges[0] != (store.RollupEdge{Minute: m0, Product: p.ID, FirstMS: 0, LastMS: 58000}) ||
			edges[1] != (store.RollupEdge{Minute: m0 + 2, Product: q.ID, FirstMS: 0, LastMS: 58000}) {
			t.Errorf("rollup edges %+v %v", edges, err)
		}
		if n, err := tdb.RollupNeighbour(ctx, l.ID, m0+10, 60, true); err != nil || len(n) != 1 || n[0].Minute != m0+3 || n[0].Product != q.ID {
			t.Errorf("neighbour before %+v %v", n, err)
		}
		if n, err := tdb.RollupNeighbour(ctx, l.ID, m0-10, 60, false); err != nil || len(n) != 1 || n[0].Minute != m0 || n[0].Product != p.ID {
			t.Errorf("neighbour after %+v %v", n, err)
		}
		if n, err := tdb.RollupNeighbour(ctx, l.ID, m0-10, 5, false); err != nil || len(n) != 0 {
			t.Errorf("no neighbour within 5 minutes %+v %v", n, err)
		}
		for name, f := range map[string]func(context.Context, int64, time.Time, time.Time, int) ([]store.ProductionRow, error){
			"rollup": tdb.ProductionRollupByProduct, "raw": tdb.ProductionRawByProduct} {
			rows, err := f(ctx, l.ID, base, base.Add(time.Hour), 60)
			if err != nil || len(rows) != 2 || rows[0].Product != p.ID || rows[0].Total != 60 || rows[0].Reject != 6 || rows[1].Product != q.ID || rows[1].Good != 54 {
				t.Errorf("%s by product: %+v %v", name, rows, err)
			}
		}
	})
}
