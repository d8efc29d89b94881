package query

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"slices"
	"sort"
	"time"

	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/stream"
	"github.com/linepulse/linepulse/stream/oee"
)

// Config is what `linepulse bench query` is configured with: each field is the flag of
// the same name.
type Config struct {
	MySQL   string // MySQL/MariaDB DSN; "" = SQLite under DataDir
	DataDir string
	Days    int     // days of history to load, 1-366
	Rate    float64 // detections per second on the line while it runs, (0, 1000]
	Tenant  string  // tenant holding the bench data; reused when it holds the same Days and Rate
	Reload  bool    // delete the bench tenant and load it again
	Batch   int     // detections per writer transaction while loading, 1-100000
	Runs    int     // timed runs of each rollup query (the median is reported)
	Shifts  int     // how many of the last shift instances get an OEE
	Format  string  // "text" or "json"

	Logger *slog.Logger // progress; nil = discarded
}

// DefaultConfig returns the defaults of the command's flags.
func DefaultConfig() Config {
	return Config{DataDir: "./data", Days: 30, Rate: 10, Tenant: "bench-query", Batch: 5000, Runs: 5, Shifts: 30, Format: "text"}
}

// Run loads (or reuses) the bench tenant, times the history queries from the rollups and
// from the raw table, checks that they agree and writes the report to out.
func Run(ctx context.Context, cfg Config, out io.Writer) error {
	days, rate := cfg.Days, cfg.Rate
	switch {
	case days < 1 || days > 366:
		return fmt.Errorf("--days %d: must be 1-366", days)
	case rate <= 0 || rate > 1000:
		return fmt.Errorf("--rate %v: must be in (0, 1000]", rate)
	case cfg.Batch < 1 || cfg.Batch > 100000:
		return fmt.Errorf("--batch %d: must be 1-100000", cfg.Batch)
	case cfg.Runs < 1 || cfg.Shifts < 1:
		return errors.New("--runs and --shifts must be at least 1")
	case cfg.Format != "text" && cfg.Format != "json":
		return fmt.Errorf("invalid --format %q: use text or json", cfg.Format)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	log := cfg.Logger
	s, err := store.Open(ctx, store.Config{MySQLDSN: cfg.MySQL, DataDir: cfg.DataDir, Logger: log})
	if err != nil {
		return err
	}
	defer s.Close()
	if s.Engine() != "mysql" {
		log.Warn("bench query is meant for MySQL/MariaDB (--mysql); running on SQLite")
	}
	tdb, line, data, err := benchTenant(ctx, log, s, cfg.Tenant, cfg.Reload, days, rate, cfg.Batch)
	if err != nil {
		return err
	}
	h := stream.NewHistory(s, store.NewMetaCache(s))
	tenantID := tdb.ID()

	// 1. Hourly production over the whole range.
	from, to := data.From, data.To
	var hourly []stream.ProductionBucket
	rollHour, err := timeRuns(cfg.Runs, func() error {
		hourly, err = h.Production(ctx, tenantID, line.ID, from, to, stream.IntervalHour)
		return err
	})
	if err != nil {
		return err
	}
	log.Info("hourly production from rollups timed; now the raw table (slow)", "median", rollHour)
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
	if len(insts) > cfg.Shifts {
		insts = insts[len(insts)-cfg.Shifts:]
	}
	if len(insts) == 0 {
		return errors.New("no finished shift instance in the loaded range: load more days")
	}
	var reps []stream.OEEReport
	rollOEE, err := timeRuns(cfg.Runs, func() error {
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
	log.Info("shift OEE from rollups timed; now from the raw table (slow)", "median", rollOEE)
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
				log.Warn("OEE differs", "shift", insts[i].Start, "rollups", a, "raw", b)
			}
			oeeAgree = false
		}
	}

	la, err := lossBench(ctx, h, tenantID, line.ID, from, to, insts, rawReps, cfg.Runs, log)
	if err != nil {
		return err
	}

	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	res := map[string]any{
		"store": s.Describe(), "days": data.Days, "rate": data.Rate, "detections": data.Detections, "downtime_events": data.Events,
		"load_seconds": data.LoadSecs, "hourly_buckets": len(hourly),
		"hourly_rollup_ms": ms(rollHour), "hourly_raw_ms": ms(rawHour), "hourly_speedup": ratio(rawHour, rollHour), "hourly_agree": hourAgree,
		"shifts": len(insts), "oee_rollup_ms": ms(rollOEE), "oee_raw_ms": ms(rawOEE), "oee_speedup": ratio(rawOEE, rollOEE), "oee_agree": oeeAgree,
		"shift_list": la.shifts, "shift_list_ms": ms(la.list), "pareto_ms": ms(la.pareto), "losses_ms": ms(la.losses), "losses_agree": la.agree, "shift_pdf_ms": ms(la.pdf),
	}
	if cfg.Format == "json" {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	yes := map[bool]string{true: "yes", false: "NO"}
	load := ""
	if data.LoadSecs > 0 {
		load = fmt.Sprintf("; loaded in %.0f s, %.0f rows/s", data.LoadSecs, float64(data.Detections)/data.LoadSecs)
	}
	fmt.Fprintf(out, "bench query: %s, %d days of one line at %g/s = %d detections, %d downtime events%s\n",
		s.Describe(), data.Days, data.Rate, data.Detections, data.Events, load)
	fmt.Fprintf(out, "hourly production over %d days (%d buckets): rollups %.1f ms (median of %d), raw %.1f ms: %.0fx faster, answers agree: %s\n",
		data.Days, len(hourly), ms(rollHour), cfg.Runs, ms(rawHour), ratio(rawHour, rollHour), yes[hourAgree])
	fmt.Fprintf(out, "OEE of the last %d shifts: rollups %.1f ms (median of %d), raw %.1f ms: %.0fx faster, answers agree: %s\n",
		len(insts), ms(rollOEE), cfg.Runs, ms(rawOEE), ratio(rawOEE, rollOEE), yes[oeeAgree])
	fmt.Fprintf(out, "loss analysis over %d days (median of %d): shift list (%d instances) %.1f ms, Pareto %.1f ms, waterfall %.1f ms; equal to the raw table and the replayed downtime: %s\n",
		data.Days, cfg.Runs, la.shifts, ms(la.list), ms(la.pareto), ms(la.losses), yes[la.agree])
	fmt.Fprintf(out, "shift report PDF of the last shift: %.1f ms (median of %d)\n", ms(la.pdf), cfg.Runs)
	if !hourAgree || !oeeAgree || !la.agree {
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
