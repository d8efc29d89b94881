package query

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/stream"
	"github.com/linepulse/linepulse/stream/oee"
)

// benchData describes what the bench tenant holds (kept in the line's description, so a
// later run can reuse a slow load).
type benchData struct {
	Days       int       `json:"days"`
	Rate       float64   `json:"rate"`
	From       time.Time `json:"from"`
	To         time.Time `json:"to"`
	Detections int64     `json:"detections"`
	Events     int       `json:"events"`
	LoadSecs   float64   `json:"load_seconds"`
}

const benchTZ = "Europe/Madrid"

func benchShifts() []store.Shift {
	return []store.Shift{
		{Name: "Morning", StartTime: "06:00", EndTime: "14:00", Breaks: store.JSON(`[{"start":"10:00","end":"10:15"}]`), Active: true},
		{Name: "Afternoon", StartTime: "14:00", EndTime: "22:00", Breaks: store.JSON(`[{"start":"18:00","end":"18:15"}]`), Active: true},
		{Name: "Night", StartTime: "22:00", EndTime: "06:00", IsOvernight: true, Breaks: store.JSON(`[{"start":"02:00","end":"02:15"}]`), Active: true},
	}
}

// benchTenant returns the bench tenant's line, loading it when needed.
func benchTenant(ctx context.Context, log *slog.Logger, s *store.Store, slug string, reload bool, days int, rate float64, batch int) (*store.TenantDB, store.Line, benchData, error) {
	ten, err := s.TenantBySlug(ctx, slug)
	switch {
	case err == nil && reload:
		log.Info("deleting the bench tenant", "tenant", slug)
		if err := s.DeleteTenant(ctx, ten.ID); err != nil {
			return nil, store.Line{}, benchData{}, err
		}
	case err == nil:
		tdb, err := s.Tenant(ctx, ten.ID)
		if err != nil {
			return nil, store.Line{}, benchData{}, err
		}
		lines, err := tdb.AllLines(ctx)
		if err != nil {
			return nil, store.Line{}, benchData{}, err
		}
		var d benchData
		if len(lines) != 1 || json.Unmarshal([]byte(lines[0].Description), &d) != nil || d.Detections == 0 {
			return nil, store.Line{}, benchData{}, fmt.Errorf("tenant %q exists but holds no complete bench data: use --reload or another --tenant", slug)
		}
		if d.Days != days || d.Rate != rate {
			return nil, store.Line{}, benchData{}, fmt.Errorf("tenant %q holds %d days at %g/s, not %d days at %g/s: use --reload", slug, d.Days, d.Rate, days, rate)
		}
		log.Info("reusing loaded bench data", "tenant", slug, "detections", d.Detections, "from", d.From, "to", d.To)
		return tdb, lines[0], d, nil
	case !errors.Is(err, store.ErrNotFound):
		return nil, store.Line{}, benchData{}, err
	}
	return benchLoad(ctx, log, s, slug, days, rate, batch)
}

// benchLoad creates the bench tenant and loads days of detections through the writer's
// bulk path (WriteDetections: exactly-once rows plus minute rollups in one transaction),
// booking the downtime events the engine would book.
func benchLoad(ctx context.Context, log *slog.Logger, s *store.Store, slug string, days int, rate float64, batch int) (*store.TenantDB, store.Line, benchData, error) {
	fail := func(err error) (*store.TenantDB, store.Line, benchData, error) {
		return nil, store.Line{}, benchData{}, err
	}
	ten := store.Tenant{Slug: slug, Name: "Bench query", Config: store.TenantConfig{Timezone: benchTZ, RetentionDays: 3650}}
	if err := s.CreateTenant(ctx, &ten); err != nil {
		return fail(err)
	}
	tdb, err := s.Tenant(ctx, ten.ID)
	if err != nil {
		return fail(err)
	}
	interval := time.Duration(float64(time.Second) / rate)
	line := store.Line{Name: "bench", Description: "{}", DowntimeThresholdMS: 30000, MicroStopMinMS: 5000, IdealCycleTimeMS: max(interval.Milliseconds(), 1)}
	if err := tdb.CreateLine(ctx, &line); err != nil {
		return fail(err)
	}
	for _, a := range []string{"Filler", "Capper"} {
		if err := tdb.Areas.Create(ctx, &store.Area{LineID: line.ID, Name: a}); err != nil {
			return fail(err)
		}
	}
	for _, p := range []store.Product{{Name: "Water 1L", Color: "#1f77b4"}, {Name: "Water 2L", Color: "#ff7f0e"}, {Name: "Soda 1L", Color: "#2ca02c"}} {
		if err := tdb.Products.Create(ctx, &p); err != nil {
			return fail(err)
		}
	}
	shifts := benchShifts()
	for i := range shifts {
		if err := tdb.Shifts.Create(ctx, &shifts[i]); err != nil {
			return fail(err)
		}
	}
	cal, err := stream.Calendar(benchTZ, shifts)
	if err != nil {
		return fail(err)
	}
	booker, err := stream.NewBooker(benchTZ, shifts, line)
	if err != nil {
		return fail(err)
	}
	pool, err := tdb.NewWriterPool(ctx, 1)
	if err != nil {
		return fail(err)
	}
	defer pool.Close()

	to := time.Now().UTC().Truncate(time.Hour)
	from := to.AddDate(0, 0, -days)
	d := benchData{Days: days, Rate: rate, From: from, To: to}
	log.Info("loading bench data", "tenant", slug, "days", days, "rate", rate, "approx_rows", int64(float64(days)*86400*rate))

	// The generator: a line running at rate, stopping in its breaks, with a few stops
	// (1-10 min) and micro-stops (5-25 s) a day, one product an hour, 2 % rejects.
	batches := make(chan []store.Detection, 4)
	var events []store.DowntimeEvent
	gctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		defer close(batches)
		rng := rand.New(rand.NewPCG(1, uint64(days)))
		perDay := 86400 * rate
		buf := make([]store.Detection, 0, batch)
		var id uint64
		for t := from; t.Before(to); t = t.Add(interval) {
			if in, ok := cal.At(line.ID, t); ok && inBreak(in.Breaks, t) {
				continue
			}
			switch x := rng.Float64(); {
			case x < 6/perDay:
				t = t.Add(time.Duration(60+rng.IntN(540)) * time.Second)
				continue
			case x < 36/perDay:
				t = t.Add(time.Duration(5+rng.IntN(20)) * time.Second)
				continue
			}
			id++
			at := t.Add(time.Duration(rng.Int64N(int64(interval/2) + 1))).Truncate(time.Millisecond)
			events = append(events, booker.Observe(at)...)
			buf = append(buf, store.Detection{ID: id, At: at, Area: 1 + int64(id%2), Product: 1 + (at.Unix()/3600)%3, OK: rng.IntN(50) != 0})
			if len(buf) == batch {
				select {
				case batches <- buf:
				case <-gctx.Done():
					return
				}
				buf = make([]store.Detection, 0, batch)
			}
		}
		if len(buf) > 0 {
			select {
			case batches <- buf:
			case <-gctx.Done():
			}
		}
	}()
	start, lastLog := time.Now(), time.Now()
	for b := range batches {
		r, err := tdb.WriteDetections(ctx, pool, line.ID, b)
		if err != nil {
			return fail(err)
		}
		d.Detections += int64(r.Inserted)
		if time.Since(lastLog) > 10*time.Second {
			lastLog = time.Now()
			el := time.Since(start).Seconds()
			log.Info("loading", "rows", d.Detections, "rows_per_s", int(float64(d.Detections)/el), "at", b[len(b)-1].At.Format(time.DateOnly))
		}
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	for i := range events {
		if err := tdb.UpsertDowntime(ctx, line.ID, &events[i]); err != nil {
			return fail(err)
		}
	}
	d.Events = len(events)
	d.LoadSecs = time.Since(start).Seconds()
	desc, _ := json.Marshal(d)
	line.Description = string(desc)
	if err := tdb.UpdateLine(ctx, &line); err != nil {
		return fail(err)
	}
	log.Info("bench data loaded", "rows", d.Detections, "events", d.Events, "seconds", int(d.LoadSecs))
	return tdb, line, d, nil
}

func inBreak(breaks []oee.Interval, t time.Time) bool {
	for _, b := range breaks {
		if !t.Before(b.Start) && t.Before(b.End) {
			return true
		}
	}
	return false
}
