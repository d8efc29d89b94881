package main

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/linepulse/linepulse/ingest/sim"
	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/stream"
)

// demoHistorySpan is how much past the demo writes on its first start by default
// (serve --demo-history): the shifts of the day before, so shift lists, Pareto, waterfall
// and reports have something to show at once.
const demoHistorySpan = 24 * time.Hour

// demoReasons code the demo's past stops, by weight; the rest stay uncoded, as on a real
// line where operators code most stops but not all. Comments go with some of them.
type demoStopReason struct {
	code, comment string
	weight        int
}

var demoReasons = []demoStopReason{
	{"MECH", "Bottle jam at the infeed star wheel", 3},
	{"MECH", "", 3},
	{"ELEC", "Photocell on the outfeed dirty", 2},
	{"MAT", "Waiting for caps from the warehouse", 2},
	{"QA", "", 1},
	{"", "", 2},
}

// demoHasData says whether the demo lines have produced anything yet (not the first
// start), from the rollups' first minute. Asked before the simulator starts: the past is
// written only into an empty plant.
func demoHasData(ctx context.Context, st *store.Store, p demoPlant, now time.Time) (bool, error) {
	tdb, err := st.Tenant(ctx, p.Tenant.ID)
	if err != nil {
		return false, fmt.Errorf("cannot open the demo tenant: %w", err)
	}
	for _, l := range p.Lines {
		_, ok, err := tdb.FirstProduction(ctx, l.ID, time.Unix(0, 0), now.Add(time.Hour))
		if err != nil {
			return false, fmt.Errorf("cannot look for the demo's detections: %w", err)
		}
		if ok {
			return true, nil
		}
	}
	return false, nil
}

// seedDemoHistory writes the demo's past (span of it, up to the shift running at now) into
// a plant without data (demoHasData): the simulator's timeline written straight to the
// store, its stops booked by the same fold as `linepulse recompute`, and most of them
// coded. The live engine starts with the shift running now, from the stream, so the
// history it does not hold ends where its own figures begin.
func seedDemoHistory(ctx context.Context, st *store.Store, hist *stream.History, p demoPlant, now time.Time, span time.Duration, log *slog.Logger) error {
	tdb, err := st.Tenant(ctx, p.Tenant.ID)
	if err != nil {
		return fmt.Errorf("cannot open the demo tenant: %w", err)
	}
	from := now.Add(-span).Truncate(time.Hour)
	shifts, err := tdb.Shifts.All(ctx)
	if err != nil {
		return fmt.Errorf("cannot read the demo's shifts: %w", err)
	}
	cal, err := stream.Calendar(p.Tenant.Config.Timezone, shifts)
	if err != nil {
		return fmt.Errorf("cannot read the demo's shift calendar: %w", err)
	}
	pool, err := tdb.NewWriterPool(ctx, 1)
	if err != nil {
		return fmt.Errorf("cannot open a writer for the demo's history: %w", err)
	}
	defer pool.Close()
	user, err := st.UserByEmail(ctx, p.Tenant.ID, demoEmail)
	if err != nil {
		return fmt.Errorf("cannot find the demo user: %w", err)
	}
	log.Info("demo: writing the plant's last day (first start only)", "from", from, "lines", len(p.Lines))
	cfg := p.simConfig(log)
	for i, l := range p.Lines {
		// The live engine holds the running shift. The past ends a downtime threshold
		// (rounded down to the rollups' minute) before it starts: a detection just before a
		// shift makes history count the shift as monitored from its start (docs/OEE.md),
		// but the engine, which never saw that detection, counts the time until the
		// simulator's first as without data.
		to := now
		if in, ok := cal.Current(l.ID, now); ok {
			to = in.Start
		}
		to = to.Add(-l.DowntimeThreshold()).Truncate(time.Minute)
		if !to.After(from) {
			continue
		}
		written, changeovers, err := writeDemoTimeline(ctx, tdb, pool, cfg.Lines[i], from, to)
		if err != nil {
			return err
		}
		res, err := hist.Recompute(ctx, p.Tenant.ID, l.ID, from, to)
		if err != nil {
			return fmt.Errorf("cannot book the demo's past stops: %w", err)
		}
		evs, err := tdb.DowntimeBetween(ctx, l.ID, from, to)
		if err != nil {
			return fmt.Errorf("cannot read the demo's past stops: %w", err)
		}
		coded := 0
		for j, ev := range evs {
			r := demoReason(j + i)
			if r.code == "" || changeovers.covers(ev.Start) {
				continue // a changeover is its own loss, not a jam
			}
			if err := tdb.SetDowntimeReason(ctx, l.ID, ev.ID, r.code, r.comment, user.ID); err != nil {
				return fmt.Errorf("cannot code a demo stop: %w", err)
			}
			coded++
		}
		recordChange(ctx, log, st, p.Tenant.ID, "demo", "demo.history", l.ID, nil,
			map[string]any{"line_id": l.ID, "from": from, "to": to, "detections": written, "stops": len(res.Events), "coded": coded})
		log.Info("demo: history written", "line", l.Name, "detections", written, "stops", len(res.Events), "coded", coded, "micro_stops", res.MicroStops)
	}
	return nil
}

// demoReason picks the k-th stop's reason from demoReasons by weight, the same every run.
func demoReason(k int) demoStopReason {
	total := 0
	for _, r := range demoReasons {
		total += r.weight
	}
	n := (k * 7) % total // 7 is coprime with the total: every reason comes up
	for _, r := range demoReasons {
		if n < r.weight {
			return r
		}
		n -= r.weight
	}
	return demoReasons[0]
}

// gaps are the [start, end) of the stops where the product changed (changeovers), sorted.
type gaps [][2]time.Time

// covers says whether t lies in one of the gaps (an event starts at its gap's start, or at
// a shift start inside it).
func (g gaps) covers(t time.Time) bool {
	i, _ := slices.BinarySearchFunc(g, t, func(gap [2]time.Time, t time.Time) int {
		if !gap[1].After(t) {
			return -1
		}
		if gap[0].After(t) {
			return 1
		}
		return 0
	})
	return i < len(g) && !g[i][0].After(t) && g[i][1].After(t)
}

// writeDemoTimeline writes the simulator's timeline of one line in [from, to), in the
// writer's batches; ids count up from from's microseconds, far below the live
// simulator's (it starts at its start time's). It returns the changeovers' gaps.
func writeDemoTimeline(ctx context.Context, tdb *store.TenantDB, pool *store.WriterPool, spec sim.LineSpec, from, to time.Time) (int, gaps, error) {
	g, err := sim.NewGenerator(spec, uint64(spec.Line), from, uint64(from.UnixMicro()))
	if err != nil {
		return 0, nil, fmt.Errorf("cannot simulate the demo's past: %w", err)
	}
	const batch = 2000
	buf := make([]store.Detection, 0, batch)
	written := 0
	var changeovers gaps
	var prev store.Detection
	flush := func() error {
		if _, err := tdb.WriteDetections(ctx, pool, spec.Line, buf); err != nil {
			return fmt.Errorf("cannot write the demo's past detections: %w", err)
		}
		written += len(buf)
		buf = buf[:0]
		return nil
	}
	for {
		d, gap := g.Next()
		if !d.At.Before(to) {
			break
		}
		if gap.Kind == sim.GapStop && prev.Product != 0 && prev.Product != d.Product {
			changeovers = append(changeovers, [2]time.Time{prev.At, d.At})
		}
		prev = d
		if buf = append(buf, d); len(buf) == batch {
			if err := flush(); err != nil {
				return written, nil, err
			}
		}
	}
	if len(buf) > 0 {
		if err := flush(); err != nil {
			return written, nil, err
		}
	}
	return written, changeovers, nil
}
