package main

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/store/storetest"
	"github.com/linepulse/linepulse/stream"
)

// TestDemoHistory: the demo's first start writes the day before the running shift, with
// stops booked and most of them coded, so every history page has plausible figures; the
// running shift is left to the live engine, and a restart sees the data (no second past).
func TestDemoHistory(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		st := e.Open(t)
		log := slog.New(slog.DiscardHandler)
		p, err := seedDemo(ctx, st, log)
		if err != nil {
			t.Fatal(err)
		}
		loc, _ := time.LoadLocation(demoTimezone)
		now := time.Date(2026, 5, 6, 12, 0, 0, 0, loc) // the Morning shift (06:00-14:00) runs
		hist := stream.NewHistory(st, store.NewMetaCache(st))
		if has, err := demoHasData(ctx, st, p, now); err != nil || has {
			t.Fatalf("a new demo plant has data: %v %v", has, err)
		}
		if err := seedDemoHistory(ctx, st, hist, p, now, demoHistorySpan, log); err != nil {
			t.Fatal(err)
		}
		tdb, err := st.Tenant(ctx, p.Tenant.ID)
		if err != nil {
			t.Fatal(err)
		}
		from, running := now.Add(-demoHistorySpan), time.Date(2026, 5, 6, 6, 0, 0, 0, loc)
		for _, l := range p.Lines {
			n, err := tdb.CountDetections(ctx, l.ID, from, running)
			if err != nil {
				t.Fatal(err)
			}
			if after, _ := tdb.CountDetections(ctx, l.ID, running, now.Add(time.Hour)); n == 0 || after != 0 {
				t.Fatalf("line %s: %d detections before the running shift (want many), %d in it (want 0)", l.Name, n, after)
			}

			// Each complete past shift has the figures of its line's simulated behaviour.
			shifts, err := hist.Shifts(ctx, p.Tenant.ID, l.ID, from, running)
			if err != nil {
				t.Fatal(err)
			}
			full := 0
			for _, s := range shifts {
				if s.Start.Before(from) || s.UnmonitoredS > 0 {
					continue
				}
				full++
				if s.OEE < 0.5 || s.OEE > 0.95 || s.Availability > 0.99 || s.Quality > 0.995 || s.Events == 0 || s.MicroStops == 0 || s.Good == 0 {
					t.Errorf("line %s shift %s: implausible %+v", l.Name, s.ID, s.OEEReport)
				}
			}
			if full < 2 {
				t.Errorf("line %s: %d complete past shifts with data, want the afternoon and the night", l.Name, full)
			}
		}
		var ids []int64
		for _, l := range p.Lines {
			ids = append(ids, l.ID)
		}
		par, err := hist.Pareto(ctx, p.Tenant.ID, ids, from, running, "reason")
		if err != nil {
			t.Fatal(err)
		}
		if par.Count < 20 || par.UncodedShare <= 0 || par.UncodedShare > 0.4 || len(par.Groups) < 4 {
			t.Errorf("pareto of the demo's past: %d stops, %.2f uncoded, %d groups; want most stops coded with several reasons", par.Count, par.UncodedShare, len(par.Groups))
		}

		// The live simulator's first detection in the running shift: history, like the
		// engine, counts the shift's time before it as without data, not as running.
		pool, err := tdb.NewWriterPool(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		defer pool.Close()
		l := p.Lines[0]
		live := store.Detection{ID: uint64(now.UnixMicro()), At: now.Add(-time.Minute).UTC(), Area: p.Areas[l.ID][0], Product: p.Products[0].ID, OK: true}
		if _, err := tdb.WriteDetections(ctx, pool, l.ID, []store.Detection{live}); err != nil {
			t.Fatal(err)
		}
		rep, err := hist.OEE(ctx, p.Tenant.ID, l.ID, running, now)
		if err != nil {
			t.Fatal(err)
		}
		if rep.UnmonitoredS < 19000 || rep.RunS > 120 {
			t.Errorf("running shift before the live data: %.0f s without data, %.0f s run; want ~19,740 s (5 h 30 min − 1 min) without data", rep.UnmonitoredS, rep.RunS)
		}

		// A restart sees the demo's data: its past is not written again.
		if has, err := demoHasData(ctx, st, p, now.Add(time.Hour)); err != nil || !has {
			t.Errorf("after the first start the demo has no data: %v %v", has, err)
		}
	})
}

func TestGapsCover(t *testing.T) {
	at := func(s int) time.Time { return time.Unix(int64(s), 0) }
	g := gaps{{at(10), at(20)}, {at(30), at(40)}}
	for s, want := range map[int]bool{9: false, 10: true, 15: true, 20: false, 25: false, 30: true, 39: true, 40: false, 50: false} {
		if got := g.covers(at(s)); got != want {
			t.Errorf("covers(%d) = %v, want %v", s, got, want)
		}
	}
	if (gaps{}).covers(at(1)) {
		t.Error("no gaps cover something")
	}
}
