package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/store/storetest"
)

// clock is a settable test clock.
type clock struct{ t time.Time }

func (c *clock) Now() time.Time { return c.t }

func newLine(t *testing.T, tdb *store.TenantDB) store.Line {
	t.Helper()
	l := store.Line{Name: "L", DowntimeThresholdMS: 30000, IdealCycleTimeMS: 1000}
	if err := tdb.CreateLine(context.Background(), &l); err != nil {
		t.Fatal(err)
	}
	return l
}

func TestWriteDetectionsExactlyOnce(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		s := e.Open(t)
		tdb := storetest.Tenant(t, s, "acme")
		l := newLine(t, tdb)
		w, err := tdb.NewWriterPool(ctx, 2)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		base := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
		var batch []store.Detection
		for i := range 250 {
			batch = append(batch, store.Detection{ID: uint64(i + 1), At: base.Add(time.Duration(i) * 700 * time.Millisecond), Area: 1 + int64(i%2), Product: 1 + int64(i%3), OK: i%10 != 0, Conf: 0.9, HasConf: i%2 == 0, Camera: "cam-1"})
		}
		batch = append(batch, batch[0], batch[1]) // repeated inside the batch
		r, err := tdb.WriteDetections(ctx, w, l.ID, batch)
		if err != nil {
			t.Fatal(err)
		}
		if r.Inserted != 250 || r.Duplicates != 2 {
			t.Fatalf("first write: %+v", r)
		}
		// Re-delivery of a part plus new rows: only the new rows count.
		again := append(slices.Clone(batch[100:150]), store.Detection{ID: 9999, At: base.Add(time.Hour), Area: 1, Product: 1, OK: true})
		r, err = tdb.WriteDetections(ctx, w, l.ID, again)
		if err != nil {
			t.Fatal(err)
		}
		if r.Inserted != 1 || r.Duplicates != 50 {
			t.Fatalf("second write: %+v", r)
		}
		// A whole batch redelivered: nothing new, nothing counted twice.
		if r, err = tdb.WriteDetections(ctx, w, l.ID, batch); err != nil || r.Inserted != 0 || r.Duplicates != len(batch) {
			t.Fatalf("third write: %+v, %v", r, err)
		}
		// An id above 2^63 round-trips.
		if _, err := tdb.WriteDetections(ctx, w, l.ID, []store.Detection{{ID: 1<<64 - 1, At: base, Area: 1, Product: 1, OK: true}}); err != nil {
			t.Fatal(err)
		}
		from, to := base.Add(-time.Hour), base.Add(2*time.Hour)
		n, err := tdb.CountDetections(ctx, l.ID, from, to)
		if err != nil || n != 252 {
			t.Fatalf("count %d, %v", n, err)
		}
		total, good, reject, err := tdb.RollupTotals(ctx, l.ID, from, to)
		if err != nil {
			t.Fatal(err)
		}
		if total != 252 || good+reject != total || reject != 25 {
			t.Fatalf("rollups total=%d good=%d reject=%d", total, good, reject)
		}
	})
}

func TestPartitionMaintainer(t *testing.T) {
	dsn := storetest.MySQLDSN(t)
	if dsn == "" {
		t.Skip("MySQL suite skipped (see the warning above)")
	}
	for _, e := range storetest.Engines(t) {
		if e.Name != "mysql" {
			continue
		}
		ctx := context.Background()
		clk := &clock{time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)}
		s := e.Open(t, func(c *store.Config) { c.Now = clk.Now; c.FuturePartitions = 3 })
		tdb := storetest.Tenant(t, s, "acme") // retention 90 days
		l := newLine(t, tdb)
		parts, err := tdb.Partitions(ctx, l.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"p202601", "p202602", "p202603", "p202604", "pmax"}
		if got := names(parts); !slices.Equal(got, want) {
			t.Fatalf("partitions %v, want %v", got, want)
		}
		if parts[0].LessThan != "2026-02-01" || parts[4].LessThan != "MAXVALUE" {
			t.Fatalf("bounds: %+v", parts)
		}
		// Same day: a maintenance pass changes nothing, twice.
		for range 2 {
			reps, err := tdb.MaintainPartitions(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(reps[0].Added)+len(reps[0].Dropped) != 0 {
				t.Fatalf("idempotence broken: %+v", reps)
			}
		}
		w, err := tdb.NewWriterPool(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		for i, at := range []time.Time{
			time.Date(2026, 1, 20, 0, 0, 0, 0, time.UTC),
			time.Date(2026, 4, 30, 23, 59, 59, 0, time.UTC),
			time.Date(2026, 7, 3, 0, 0, 0, 0, time.UTC), // lands in pmax for now
		} {
			if _, err := tdb.WriteDetections(ctx, w, l.ID, []store.Detection{{ID: uint64(i + 1), At: at, Area: 1, Product: 1, OK: true}}); err != nil {
				t.Fatal(err)
			}
		}
		// Eight months later with 90 days of retention: cutoff is 2026-06-01, so January to
		// May go (whole months), June on stays, and months through December are added.
		clk.t = time.Date(2026, 9, 2, 8, 0, 0, 0, time.UTC)
		if _, err := tdb.MaintainPartitions(ctx); err != nil {
			t.Fatal(err)
		}
		parts, _ = tdb.Partitions(ctx, l.ID)
		got := names(parts)
		if !slices.Equal(got, []string{"p202606", "p202607", "p202608", "p202609", "p202610", "p202611", "p202612", "pmax"}) {
			t.Fatalf("after retention: %v", got)
		}
		all, err := tdb.CountDetections(ctx, l.ID, time.Time{}.Add(time.Hour), time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
		if err != nil || all != 1 {
			t.Fatalf("rows left %d (want only July's), %v", all, err)
		}
		reps, err := tdb.MaintainPartitions(ctx)
		if err != nil || len(reps[0].Added)+len(reps[0].Dropped) != 0 {
			t.Fatalf("second pass changed something: %+v %v", reps, err)
		}
	}
}

func TestRetentionSQLite(t *testing.T) {
	ctx := context.Background()
	clk := &clock{time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)}
	s := storetest.Engine{Name: "sqlite"}.Open(t, func(c *store.Config) { c.Now = clk.Now })
	tdb := storetest.Tenant(t, s, "acme")
	l := newLine(t, tdb)
	w, err := tdb.NewWriterPool(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for i, at := range []time.Time{time.Date(2026, 1, 20, 0, 0, 0, 0, time.UTC), time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)} {
		if _, err := tdb.WriteDetections(ctx, w, l.ID, []store.Detection{{ID: uint64(i + 1), At: at, Area: 1, Product: 1, OK: true}}); err != nil {
			t.Fatal(err)
		}
	}
	clk.t = time.Date(2026, 9, 2, 8, 0, 0, 0, time.UTC)
	reps, err := tdb.MaintainPartitions(ctx)
	if err != nil || reps[0].Deleted != 1 {
		t.Fatalf("retention: %+v %v", reps, err)
	}
}

func names(ps []store.Partition) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name)
	}
	return out
}

func TestMigrations(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		cfg := e.Config(t)
		s, err := store.Open(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		storetest.Tenant(t, s, "acme")
		s.Close()
		// Re-running is a no-op.
		s, err = store.Open(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.MigrateAll(ctx); err != nil {
			t.Fatal(err)
		}
		// A schema from the future is refused, with a clear error.
		if err := s.ForceSchemaVersionForTest(ctx, 9999); err != nil {
			t.Fatal(err)
		}
		s.Close()
		if _, err := store.Open(ctx, cfg); !errors.Is(err, store.ErrSchemaTooNew) {
			t.Fatalf("newer schema accepted: %v", err)
		}
	})
}

// TestWriteDetectionsPreparedChunks writes batches of whole prepared chunks plus a
// remainder into more lines than the pool keeps prepared (so statements are evicted and
// prepared again), then re-delivers them whole and in part: every row is stored and
// counted once on both engines.
func TestWriteDetectionsPreparedChunks(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		s := e.Open(t)
		tdb := storetest.Tenant(t, s, "acme")
		w, err := tdb.NewWriterPool(ctx, 2)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		w.LimitPreparedLinesForTest(2)
		base := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
		n := 2*store.PreparedRows + 17
		batchOf := func(first int) []store.Detection {
			var b []store.Detection
			for i := range n {
				b = append(b, store.Detection{ID: uint64(first + i), At: base.Add(time.Duration(first+i) * 100 * time.Millisecond), Area: 1, Product: 1 + int64(i%2), OK: i%5 != 0})
			}
			return b
		}
		var lines []store.Line
		for range 3 {
			lines = append(lines, newLine(t, tdb))
		}
		for round := range 2 {
			for _, l := range lines {
				if r, err := tdb.WriteDetections(ctx, w, l.ID, batchOf(round*n)); err != nil || r.Inserted != n {
					t.Fatalf("line %d round %d: %+v, %v", l.ID, round, r, err)
				}
			}
		}
		for _, l := range lines {
			// Whole batches again, then one straddling stored and new rows (the checked
			// path inserts the new ones through the prepared statement too).
			for round := range 2 {
				if r, err := tdb.WriteDetections(ctx, w, l.ID, batchOf(round*n)); err != nil || r.Inserted != 0 || r.Duplicates != n {
					t.Fatalf("line %d redelivered round %d: %+v, %v", l.ID, round, r, err)
				}
			}
			if r, err := tdb.WriteDetections(ctx, w, l.ID, batchOf(n+n/2)); err != nil || r.Inserted != n/2 || r.Duplicates != n-n/2 {
				t.Fatalf("line %d straddling: %+v, %v", l.ID, r, err)
			}
			want := int64(2*n + n/2)
			from, to := base.Add(-time.Hour), base.Add(2*time.Hour)
			if c, err := tdb.CountDetections(ctx, l.ID, from, to); err != nil || c != want {
				t.Fatalf("line %d: %d rows, %v; want %d", l.ID, c, err, want)
			}
			if total, good, reject, err := tdb.RollupTotals(ctx, l.ID, from, to); err != nil || total != want || good+reject != total {
				t.Fatalf("line %d rollups total=%d good=%d reject=%d, %v; want total %d", l.ID, total, good, reject, err, want)
			}
		}
	})
}
