package loss_test

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/linepulse/linepulse/loss"
	"github.com/linepulse/linepulse/stream/oee"
)

func TestParetoSortsAndShares(t *testing.T) {
	p := loss.MakePareto([]loss.Stop{
		{Key: "JAM", Label: "Jam", Duration: 2 * time.Minute},
		{Key: loss.Uncoded, Label: "uncoded", Duration: 3 * time.Minute, Uncoded: true},
		{Key: "JAM", Label: "Jam", Duration: 2 * time.Minute},
		{Key: "ELEC", Label: "Electrical", Duration: time.Minute},
		{Key: "AIR", Label: "Air", Duration: time.Minute},
	})
	want := []struct {
		key   string
		count int64
		s     float64
		cum   float64
	}{{"JAM", 2, 240, 4.0 / 9}, {"", 1, 180, 7.0 / 9}, {"AIR", 1, 60, 8.0 / 9}, {"ELEC", 1, 60, 1}}
	if len(p.Groups) != len(want) {
		t.Fatalf("groups %+v", p.Groups)
	}
	for i, w := range want {
		g := p.Groups[i]
		if g.Key != w.key || g.Count != w.count || g.DurationS != w.s || math.Abs(g.Cumulative-w.cum) > 1e-12 {
			t.Errorf("group %d: %+v, want %+v", i, g, w)
		}
	}
	if p.Count != 5 || p.TotalS != 540 || p.UncodedS != 180 || p.UncodedShare != 180.0/540 {
		t.Errorf("totals %+v", p)
	}
	if e := loss.MakePareto(nil); e.Groups == nil || e.TotalS != 0 {
		t.Errorf("empty %+v", e)
	}
}

// TestWaterfallIdentity checks on random data that the buckets add up exactly to planned
// time and that A, P, Q and OEE equal stream/oee's over the same loading time, downtime
// (unplanned stops and changeovers) and counts, with one ideal cycle time and with several
// products (oee.ComputeNet over Σ ideal × units).
func TestWaterfallIdentity(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20000; i++ {
		var single *time.Duration
		planned := time.Duration(r.Int64N(int64(12*time.Hour))) / time.Millisecond * time.Millisecond
		in := loss.Input{Planned: planned, Unmonitored: rnd(r, planned/4)}
		for n := r.IntN(3); n > 0; n-- {
			in.PlannedStops = append(in.PlannedStops, loss.Part{Key: "P", Duration: rnd(r, planned/4)})
		}
		for n := r.IntN(4); n > 0; n-- {
			in.UnplannedStops = append(in.UnplannedStops, loss.Part{Key: "U", Duration: rnd(r, planned/3)})
		}
		if r.IntN(2) == 0 {
			in.Changeover = rnd(r, planned/4)
		}
		// One to three products, each with its ideal cycle time and its units.
		var total, good int64
		for n := 1 + r.IntN(3); n > 0; n-- {
			ideal := time.Duration(1+r.Int64N(5000)) * time.Millisecond
			units := r.Int64N(int64(planned/ideal)/2 + 2)
			startup := r.Int64N(units/10 + 1)
			process := r.Int64N(units/5 + 1)
			total, good = total+units, good+units-startup-process
			in.IdealTotal += ideal * time.Duration(units)
			in.IdealStartup += ideal * time.Duration(startup)
			in.IdealProcess += ideal * time.Duration(process)
			if n == 1 && total == units { // one product: stream/oee's single ideal cycle time too
				single = &ideal
			}
		}
		w := loss.Compute(in)
		var sum time.Duration
		var down, plannedStops time.Duration
		for _, b := range w.Buckets {
			sum += b.Duration()
			if b.Kind != loss.KindReducedSpeed && b.Duration() < 0 {
				t.Fatalf("case %d: negative %s bucket", i, b.Kind)
			}
			switch b.Kind {
			case loss.KindUnplannedStop, loss.KindChangeover:
				down += b.Duration()
			case loss.KindPlannedStop, loss.KindUnmonitored:
				plannedStops += b.Duration()
			}
		}
		if sum != max(planned, 0) {
			t.Fatalf("case %d: buckets sum to %v, planned %v", i, sum, planned)
		}
		counts := oee.Counts{Total: total, Good: good, Reject: total - good}
		results := []oee.Result{oee.ComputeNet(planned-plannedStops, 0, down, in.IdealTotal, in.IdealTotal-in.IdealStartup-in.IdealProcess, counts)}
		if single != nil {
			results = append(results, oee.Compute(planned-plannedStops, down, *single, counts))
		}
		for _, o := range results {
			for _, c := range [][3]any{{"A", w.Availability, o.Availability}, {"P", w.Performance, o.Performance}, {"Q", w.Quality, o.Quality}, {"OEE", w.OEE, o.OEE}} {
				if !close(c[1].(float64), c[2].(float64)) {
					t.Fatalf("case %d: %s = %v, stream/oee says %v (input %+v)", i, c[0], c[1], c[2], in)
				}
			}
		}
		o := results[0]
		if w.RunS != o.RunTime.Seconds() {
			t.Fatalf("case %d: run %v vs %v", i, w.RunS, o.RunTime)
		}
	}
}

func rnd(r *rand.Rand, limit time.Duration) time.Duration {
	if limit <= 0 {
		return 0
	}
	return time.Duration(r.Int64N(int64(limit))) / time.Millisecond * time.Millisecond
}

func close(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

// TestWaterfallBars checks the drawn waterfall: planned time, each loss with time stepping
// down from what is left, a total before the first loss of each OEE factor, fully
// productive time, all on a box scaled to the highest level, in each step's colour.
func TestWaterfallBars(t *testing.T) {
	w := loss.Compute(loss.Input{
		Planned:        8 * time.Hour,
		PlannedStops:   []loss.Part{{Key: "CLEAN", Label: "Cleaning", Duration: 48 * time.Minute}},
		UnplannedStops: []loss.Part{{Key: "JAM", Label: "Jam", Duration: 24 * time.Minute}},
		MicroStops:     12 * time.Minute,
		IdealTotal:     6 * time.Hour,
		IdealProcess:   36 * time.Minute,
	})
	type bar struct {
		kind     string
		x, width float64
		color    string
	}
	// 480 min planned: 48 cleaning, 24 jam, 12 micro, 36 reduced speed, 36 rejects, 324 fully.
	want := []bar{
		{loss.TotalPlanned, 0, 100, loss.ColorTotal},
		{loss.KindPlannedStop, 90, 10, loss.ColorOutside},
		{loss.TotalLoading, 0, 90, loss.ColorTotal},
		{loss.KindUnplannedStop, 85, 5, loss.ColorAvailability},
		{loss.TotalRun, 0, 85, loss.ColorTotal},
		{loss.KindMicroStop, 82.5, 2.5, loss.ColorPerformance},
		{loss.KindReducedSpeed, 75, 7.5, loss.ColorPerformance},
		{loss.TotalNetRun, 0, 75, loss.ColorTotal},
		{loss.KindProcessReject, 67.5, 7.5, loss.ColorQuality},
		{loss.KindFullyProd, 0, 67.5, loss.ColorFully},
	}
	got := w.Bars
	if len(got) != len(want) {
		t.Fatalf("%d bars, want %d: %+v", len(got), len(want), got)
	}
	for i, g := range got {
		if g.Kind != want[i].kind || g.X != want[i].x || g.Width != want[i].width || g.Color != want[i].color || g.Total != (want[i].color == loss.ColorTotal || g.Kind == loss.KindFullyProd) {
			t.Errorf("bar %d: %+v, want %+v", i, g, want[i])
		}
		if math.Abs(g.Share-g.Seconds/w.PlannedS) > 1e-12 {
			t.Errorf("bar %d share %v of %v s", i, g.Share, g.Seconds)
		}
	}
	if got[1].Key != "CLEAN" || got[1].Label != "Cleaning" || got[3].Key != "JAM" {
		t.Errorf("stop bars lost their reason: %+v %+v", got[1], got[3])
	}

	// Faster than the ideal cycle: reduced speed is negative, the time left rises above
	// planned time and the box is scaled to it.
	fast := loss.Compute(loss.Input{Planned: time.Hour, IdealTotal: 75 * time.Minute})
	var run, reduced, net loss.Bar
	for _, b := range fast.Bars {
		switch b.Kind {
		case loss.TotalRun:
			run = b
		case loss.KindReducedSpeed:
			reduced = b
		case loss.TotalNetRun:
			net = b
		}
	}
	if net.Width != 100 || run.Width != 80 || reduced.X != 80 || reduced.Width != 20 {
		t.Errorf("negative reduced speed drawn as run %+v, reduced %+v, net run %+v", run, reduced, net)
	}

	// A loss too small to see keeps a visible width; no planned time, no bars.
	tiny := loss.Compute(loss.Input{Planned: 8 * time.Hour, UnplannedStops: []loss.Part{{Duration: time.Second}}, IdealTotal: 7 * time.Hour})
	if b := tiny.Bars[2]; b.Kind != loss.KindUnplannedStop || b.Width != 0.2 || b.X != 99.8 {
		t.Errorf("a one-second stop drawn as %+v, want the box's last 0.2", b)
	}
	if b := loss.Compute(loss.Input{}).Bars; b == nil || len(b) != 0 {
		t.Errorf("bars without planned time: %+v", b)
	}
}

// TestSum checks the waterfall of several lines: every bucket is the sum of the lines'
// own (parts of the same key merged), and its OEE is Σ fully productive / Σ loading.
func TestSum(t *testing.T) {
	a := loss.Input{Planned: 8 * time.Hour, Unmonitored: 10 * time.Minute,
		UnplannedStops: []loss.Part{{Key: "JAM", Label: "Jam", Duration: 20 * time.Minute}, {Duration: 5 * time.Minute}},
		MicroStops:     3 * time.Minute, IdealTotal: 6 * time.Hour, IdealProcess: 4 * time.Minute}
	b := loss.Input{Planned: 4 * time.Hour, PlannedStops: []loss.Part{{Key: "CLEAN", Label: "Cleaning", Duration: 15 * time.Minute}},
		UnplannedStops: []loss.Part{{Key: "AIR", Label: "Air", Duration: 7 * time.Minute}, {Key: "JAM", Label: "Jam", Duration: 9 * time.Minute}},
		Changeover:     11 * time.Minute, IdealTotal: 3 * time.Hour, IdealStartup: 2 * time.Minute}
	wa, wb, sum := loss.Compute(a), loss.Compute(b), loss.Compute(loss.Sum(a, b))
	byKey := func(w loss.Waterfall) map[string]float64 {
		m := map[string]float64{}
		for _, x := range w.Buckets {
			m[x.Kind+"/"+x.Key] += x.Seconds
		}
		return m
	}
	ma, mb, ms := byKey(wa), byKey(wb), byKey(sum)
	for k, s := range ms {
		if math.Abs(s-(ma[k]+mb[k])) > 1e-9 {
			t.Errorf("bucket %s: %v s, the lines have %v + %v", k, s, ma[k], mb[k])
		}
	}
	if len(ms) != len(byKey(loss.Compute(loss.Sum(b, a)))) || sum.PlannedS != wa.PlannedS+wb.PlannedS {
		t.Errorf("sum %+v", sum)
	}
	var keys []string
	for _, x := range sum.Buckets {
		if x.Kind == loss.KindUnplannedStop {
			keys = append(keys, x.Key)
		}
	}
	if len(keys) != 3 || keys[0] != "JAM" || keys[1] != "" || keys[2] != "AIR" {
		t.Errorf("unplanned parts %v, want JAM, uncoded, AIR (first appearance)", keys)
	}
	want := (wa.FullyS + wb.FullyS) / (wa.LoadingS + wb.LoadingS)
	if math.Abs(sum.OEE-want) > 1e-12 {
		t.Errorf("plant OEE %v, want Σ fully / Σ loading = %v", sum.OEE, want)
	}
	if s := loss.Sum(); s.Planned != 0 || s.PlannedStops != nil {
		t.Errorf("empty sum %+v", s)
	}
}
