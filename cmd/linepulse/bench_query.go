package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"sort"
	"time"

	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/stream"
	"github.com/linepulse/linepulse/stream/oee"
)

// benchQueryConfig is what `linepulse bench query` is configured with.
type benchQueryConfig struct {
	store  storeFlags
	days   *int
	rate   *float64
	tenant *string
	reload *bool
	batch  *int
	runs   *int
	shifts *int
	format *string
}

func benchQueryCommand() *command {
	c := &command{name: "bench query", short: "load days of one line, then time history queries from the rollups against the raw table", flags: newFlags("bench query")}
	cfg := benchQueryConfig{
		store:  addStoreFlags(c.flags),
		days:   c.flags.Int("days", 30, "days of history to load (1-366)"),
		rate:   c.flags.Float64("rate", 10, "detections per second on the line while it runs"),
		tenant: c.flags.String("tenant", "bench-query", "tenant holding the bench data; reused when it already holds the same days and rate"),
		reload: c.flags.Bool("reload", false, "delete the bench tenant and load it again"),
		batch:  c.flags.Int("batch", 5000, "detections per writer transaction while loading"),
		runs:   c.flags.Int("runs", 5, "timed runs of each rollup query (the median is reported)"),
		shifts: c.flags.Int("shifts", 30, "how many of the last shift instances get an OEE"),
		format: c.flags.String("format", "text", "output format: text or json"),
	}
	c.run = func(cc *cliContext) error { return benchQuery(cc, cfg) }
	return c
}

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

func benchQuery(cc *cliContext, cfg benchQueryConfig) error {
	days, rate := *cfg.days, *cfg.rate
	switch {
	case days < 1 || days > 366:
		return fmt.Errorf("--days %d: must be 1-366", days)
	case rate <= 0 || rate > 1000:
		return fmt.Errorf("--rate %v: must be in (0, 1000]", rate)
	case *cfg.batch < 1 || *cfg.batch > 100000:
		return fmt.Errorf("--batch %d: must be 1-100000", *cfg.batch)
	case *cfg.runs < 1 || *cfg.shifts < 1:
		return errors.New("--runs and --shifts must be at least 1")
	case *cfg.format != "text" && *cfg.format != "json":
		return fmt.Errorf("invalid --format %q: use text or json", *cfg.format)
	}
	s, err := cfg.store.open(cc)
	if err != nil {
		return err
	}
	defer s.Close()
	if s.Engine() != "mysql" {
		cc.log.Warn("bench query is meant for MySQL/MariaDB (--mysql); running on SQLite")
	}
	ctx := cc.ctx
	tdb, line, data, err := benchTenant(cc, s, *cfg.tenant, *cfg.reload, days, rate, *cfg.batch)
	if err != nil {
		return err
	}
	h := stream.NewHistory(s, store.NewMetaCache(s))
	tenantID := tdb.ID()

	// 1. Hourly production over the whole range.
	from, to := data.From, data.To
	var hourly []stream.ProductionBucket
	rollHour, err := timeRuns(*cfg.runs, func() error {
		hourly, err = h.Production(ctx, tenantID, line.ID, from, to, stream.IntervalHour)
		return err
	})
	if err != nil {
		return err
	}
	cc.log.Info("hourly production from rollups timed; now the raw table (slow)", "median", rollHour)
	var hourlyRaw []stream.ProductionBucket
	rawHour, err := timeRuns(1, func() error {
		hourlyRaw, err = h.WithRawSource().Production(ctx, tenantID, line.ID, from, to, stream.IntervalHour)
		return err
	})
	if err != nil {
		return err
	}
	hourAgree := reflect.DeepEqual(hourly, hourlyRaw)

	// 2. OEE of the last N finished shift instances.
	insts, err := h.ShiftInstances(ctx, tenantID, line.ID, from, to)
	if err != nil {
		return err
	}
	insts = slices.DeleteFunc(insts, func(r stream.ShiftRef) bool { return r.Start.Before(from) || r.End.After(to) })
	if len(insts) > *cfg.shifts {
		insts = insts[len(insts)-*cfg.shifts:]
	}
	if len(insts) == 0 {
		return errors.New("no finished shift instance in the loaded range: load more days")
	}
	var reps []stream.OEEReport
	rollOEE, err := timeRuns(*cfg.runs, func() error {
		reps = reps[:0]
		for _, in := range insts {
			r, err := h.OEE(ctx, tenantID, line.ID, in.Start, in.End)
			if err != nil {
				return err
			}
			reps = append(reps, r)
		}
		return nil
	})
	if err != nil {
		return err
	}
	cc.log.Info("shift OEE from rollups timed; now from the raw table (slow)", "median", rollOEE)
	var rawReps []stream.OEEReport
	rawOEE, err := timeRuns(1, func() error {
		rawReps, err = rawShiftOEE(ctx, tdb, line, insts)
		return err
	})
	if err != nil {
		return err
	}
	oeeAgree := len(reps) == len(rawReps)
	for i := range reps {
		a, b := reps[i], rawReps[i]
		if !oeeAgree || a.Total != b.Total || a.Good != b.Good || a.PlannedS != b.PlannedS || a.DowntimeS != b.DowntimeS || a.OEE != b.OEE {
			if oeeAgree {
				cc.log.Warn("OEE differs", "shift", insts[i].Start, "rollups", a, "raw", b)
			}
			oeeAgree = false
		}
	}

	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	out := map[string]any{
		"store": s.Describe(), "days": data.Days, "rate": data.Rate, "detections": data.Detections, "downtime_events": data.Events,
		"load_seconds": data.LoadSecs, "hourly_buckets": len(hourly),
		"hourly_rollup_ms": ms(rollHour), "hourly_raw_ms": ms(rawHour), "hourly_speedup": ratio(rawHour, rollHour), "hourly_agree": hourAgree,
		"shifts": len(insts), "oee_rollup_ms": ms(rollOEE), "oee_raw_ms": ms(rawOEE), "oee_speedup": ratio(rawOEE, rollOEE), "oee_agree": oeeAgree,
	}
	if *cfg.format == "json" {
		enc := json.NewEncoder(cc.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	yes := map[bool]string{true: "yes", false: "NO"}
	load := ""
	if data.LoadSecs > 0 {
		load = fmt.Sprintf("; loaded in %.0f s, %.0f rows/s", data.LoadSecs, float64(data.Detections)/data.LoadSecs)
	}
	fmt.Fprintf(cc.stdout, "bench query: %s, %d days of one line at %g/s = %d detections, %d downtime events%s\n",
		s.Describe(), data.Days, data.Rate, data.Detections, data.Events, load)
	fmt.Fprintf(cc.stdout, "hourly production over %d days (%d buckets): rollups %.1f ms (median of %d), raw %.1f ms: %.0fx faster, answers agree: %s\n",
		data.Days, len(hourly), ms(rollHour), *cfg.runs, ms(rawHour), ratio(rawHour, rollHour), yes[hourAgree])
	fmt.Fprintf(cc.stdout, "OEE of the last %d shifts: rollups %.1f ms (median of %d), raw %.1f ms: %.0fx faster, answers agree: %s\n",
		len(insts), ms(rollOEE), *cfg.runs, ms(rawOEE), ratio(rawOEE, rollOEE), yes[oeeAgree])
	if !hourAgree || !oeeAgree {
		return errors.New("rollups and raw table disagree")
	}
	return nil
}

func ratio(slow, fast time.Duration) float64 {
	if fast <= 0 {
		return 0
	}
	return float64(slow) / float64(fast)
}

// timeRuns runs fn n times and returns the median duration.
func timeRuns(n int, fn func() error) (time.Duration, error) {
	ds := make([]time.Duration, n)
	for i := range ds {
		start := time.Now()
		if err := fn(); err != nil {
			return 0, err
		}
		ds[i] = time.Since(start)
	}
	slices.Sort(ds)
	return ds[n/2], nil
}

// benchTenant returns the bench tenant's line, loading it when needed.
func benchTenant(cc *cliContext, s *store.Store, slug string, reload bool, days int, rate float64, batch int) (*store.TenantDB, store.Line, benchData, error) {
	ctx := cc.ctx
	ten, err := s.TenantBySlug(ctx, slug)
	switch {
	case err == nil && reload:
		cc.log.Info("deleting the bench tenant", "tenant", slug)
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
		cc.log.Info("reusing loaded bench data", "tenant", slug, "detections", d.Detections, "from", d.From, "to", d.To)
		return tdb, lines[0], d, nil
	case !errors.Is(err, store.ErrNotFound):
		return nil, store.Line{}, benchData{}, err
	}
	return benchLoad(cc, s, slug, days, rate, batch)
}

// benchLoad creates the bench tenant and loads days of detections through the writer's
// bulk path (WriteDetections: exactly-once rows plus minute rollups in one transaction),
// booking the downtime events the engine would book.
func benchLoad(cc *cliContext, s *store.Store, slug string, days int, rate float64, batch int) (*store.TenantDB, store.Line, benchData, error) {
	ctx := cc.ctx
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
	cc.log.Info("loading bench data", "tenant", slug, "days", days, "rate", rate, "approx_rows", int64(float64(days)*86400*rate))

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
			cc.log.Info("loading", "rows", d.Detections, "rows_per_s", int(float64(d.Detections)/el), "at", b[len(b)-1].At.Format(time.DateOnly))
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
	cc.log.Info("bench data loaded", "rows", d.Detections, "events", d.Events, "seconds", int(d.LoadSecs))
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

// rawShiftOEE computes the OEE of each shift instance from the raw detection table alone:
// one scan of the range (plus an hour each side for the gaps at its edges), sorted in
// memory, counts per shift and the downtime rule replayed over the detection times.
func rawShiftOEE(ctx context.Context, tdb *store.TenantDB, line store.Line, insts []stream.ShiftRef) ([]stream.OEEReport, error) {
	first, last := insts[0].Start.Add(-time.Hour), insts[len(insts)-1].End.Add(time.Hour)
	type det struct {
		at int64 // unix ms
		ok bool
	}
	var dets []det
	err := tdb.ScanDetections(ctx, line.ID, first, last, func(at time.Time, ok bool) error {
		dets = append(dets, det{at.UnixMilli(), ok})
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(dets, func(i, j int) bool { return dets[i].at < dets[j].at })
	shifts := benchShifts()
	for i := range shifts {
		shifts[i].ID = int64(i + 1) // distinct ids; they do not change the calendar's answers
	}
	cal, err := stream.Calendar(benchTZ, shifts)
	if err != nil {
		return nil, err
	}
	booker, err := stream.NewBooker(benchTZ, shifts, line)
	if err != nil {
		return nil, err
	}
	var events []store.DowntimeEvent
	for _, d := range dets {
		events = append(events, booker.Observe(time.UnixMilli(d.at).UTC())...)
	}
	out := make([]stream.OEEReport, 0, len(insts))
	for _, in := range insts {
		var c oee.Counts
		lo := sort.Search(len(dets), func(i int) bool { return dets[i].at >= in.Start.UnixMilli() })
		for i := lo; i < len(dets) && dets[i].at < in.End.UnixMilli(); i++ {
			c.Total++
			if dets[i].ok {
				c.Good++
			} else {
				c.Reject++
			}
		}
		planned := cal.PlannedIntervals(line.ID, in.Start, in.End)
		var plannedTime, down time.Duration
		for _, iv := range planned {
			plannedTime += iv.End.Sub(iv.Start)
		}
		for _, ev := range events {
			down += stream.PlannedOverlap(ev.Start, *ev.End, planned)
		}
		r := oee.Compute(plannedTime, down, line.IdealCycleTime(), c)
		out = append(out, stream.OEEReport{From: in.Start, To: in.End, PlannedS: r.PlannedTime.Seconds(), RunS: r.RunTime.Seconds(),
			DowntimeS: r.Downtime.Seconds(), Availability: r.Availability, Performance: r.Performance, Quality: r.Quality, OEE: r.OEE,
			Total: c.Total, Good: c.Good, Reject: c.Reject})
	}
	return out, nil
}
