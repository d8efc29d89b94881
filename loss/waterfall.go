package loss

import "time"

// Bucket kinds of a waterfall, in the order they are taken from planned time.
const (
	KindUnmonitored   = "unmonitored"    // planned time without data: outside A, P and Q
	KindPlannedStop   = "planned_stop"   // stops coded with a planned reason (changeover, cleaning)
	KindUnplannedStop = "unplanned_stop" // availability loss, one bucket per category
	KindChangeover    = "changeover"     // stops between runs of different products (availability)
	KindMicroStop     = "micro_stop"     // short stops below the downtime threshold (performance)
	KindReducedSpeed  = "reduced_speed"  // the rest of the performance loss (negative above 100 %)
	KindStartupReject = "startup_reject" // quality loss right after a start
	KindProcessReject = "process_reject" // the rest of the quality loss
	KindFullyProd     = "fully_productive"
)

// Part is a named piece of a bucket kind (a category of unplanned stops, a planned reason).
type Part struct {
	Key      string
	Label    string
	Duration time.Duration
}

// Input is what a waterfall is computed from. Ideal times are Σ ideal cycle × units, per
// product, so a line running products of different speeds is judged on each one's.
type Input struct {
	Planned        time.Duration // planned production time (shift minus breaks)
	Unmonitored    time.Duration // part of Planned without data
	PlannedStops   []Part        // stops coded with a planned reason, inside Planned
	UnplannedStops []Part        // every other stop inside Planned, by category
	Changeover     time.Duration // unplanned stops between runs of different products, inside Planned
	MicroStops     time.Duration // time lost to micro-stops (stream's micro-stop rows)
	IdealTotal     time.Duration // Σ ideal × total
	IdealStartup   time.Duration // Σ ideal × start-up rejects
	IdealProcess   time.Duration // Σ ideal × other rejects
}

// Bucket is one step of the waterfall.
type Bucket struct {
	Kind      string  `json:"kind"`
	Key       string  `json:"key,omitempty"` // the category or reason of a stop bucket
	Label     string  `json:"label,omitempty"`
	Seconds   float64 `json:"seconds"`
	Share     float64 `json:"share"` // of planned time
	durationD time.Duration
}

// Duration is the bucket's exact length.
func (b Bucket) Duration() time.Duration { return b.durationD }

// Waterfall is planned time broken into losses; the buckets add up exactly to Planned.
type Waterfall struct {
	PlannedS     float64  `json:"planned_s"`
	LoadingS     float64  `json:"loading_s"` // OEE's planned time: planned − unmonitored − planned stops
	RunS         float64  `json:"run_s"`
	NetRunS      float64  `json:"net_run_s"`
	FullyS       float64  `json:"fully_productive_s"`
	Availability float64  `json:"availability"`
	Performance  float64  `json:"performance"`
	Quality      float64  `json:"quality"`
	OEE          float64  `json:"oee"`
	Buckets      []Bucket `json:"buckets"`
	Bars         []Bar    `json:"bars"` // the waterfall as drawn (Bar)
}

// Compute lays out the waterfall. Inputs are made consistent the way stream/oee does it
// (negatives count as 0, stops are capped at the time left), so the buckets always add up
// to Planned; only reduced speed can be negative (the line beat its ideal cycle time,
// which means the ideal cycle time is set wrong).
func Compute(in Input) Waterfall {
	planned := max(in.Planned, 0)
	left := planned
	var out []Bucket
	take := func(kind, key, label string, d time.Duration) {
		d = min(max(d, 0), left)
		left -= d
		out = append(out, Bucket{Kind: kind, Key: key, Label: label, durationD: d})
	}
	take(KindUnmonitored, "", "", in.Unmonitored)
	for _, p := range in.PlannedStops {
		take(KindPlannedStop, p.Key, p.Label, p.Duration)
	}
	loading := left
	for _, p := range in.UnplannedStops {
		take(KindUnplannedStop, p.Key, p.Label, p.Duration)
	}
	take(KindChangeover, "", "", in.Changeover)
	run := left
	take(KindMicroStop, "", "", in.MicroStops)
	ideal := max(in.IdealTotal, 0)
	startup := min(max(in.IdealStartup, 0), ideal)
	process := min(max(in.IdealProcess, 0), ideal-startup)
	fully := ideal - startup - process
	// Reduced speed is what is left once the ideal time of what was made is set aside.
	out = append(out,
		Bucket{Kind: KindReducedSpeed, durationD: left - ideal},
		Bucket{Kind: KindStartupReject, durationD: startup},
		Bucket{Kind: KindProcessReject, durationD: process},
		Bucket{Kind: KindFullyProd, durationD: fully})
	w := Waterfall{PlannedS: planned.Seconds(), LoadingS: loading.Seconds(), RunS: run.Seconds(),
		NetRunS: ideal.Seconds(), FullyS: fully.Seconds(), Buckets: out}
	for i := range out {
		out[i].Seconds = out[i].durationD.Seconds()
		if planned > 0 {
			out[i].Share = float64(out[i].durationD) / float64(planned)
		}
	}
	w.Availability = ratio(run, loading)
	w.Performance = ratio(ideal, run)
	w.Quality = ratio(fully, ideal)
	w.OEE = w.Availability * w.Performance * w.Quality // = fully / loading whenever something ran
	w.Bars = bars(w)
	return w
}

func ratio(a, b time.Duration) float64 {
	if b <= 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// PartSet sums durations by key, in first-seen order; a part keeps its first label.
type PartSet struct {
	idx   map[string]int
	parts []Part
}

// Add adds d to the part of key.
func (p *PartSet) Add(key, label string, d time.Duration) {
	if p.idx == nil {
		p.idx = map[string]int{}
	}
	i, ok := p.idx[key]
	if !ok {
		i = len(p.parts)
		p.idx[key] = i
		p.parts = append(p.parts, Part{Key: key, Label: label})
	}
	p.parts[i].Duration += d
}

// Parts are the sums, in the order their keys were first added (nil when none).
func (p *PartSet) Parts() []Part { return p.parts }

// Sum is the input of one waterfall over several lines: their times added, stop parts of
// the same key merged (PartSet). Computed from it, the waterfall weighs each line by its
// planned time, so its OEE is Σ fully productive / Σ loading, and each bucket is the sum
// of the lines' own.
func Sum(ins ...Input) Input {
	var out Input
	var planned, unplanned PartSet
	for _, in := range ins {
		out.Planned += in.Planned
		out.Unmonitored += in.Unmonitored
		for _, p := range in.PlannedStops {
			planned.Add(p.Key, p.Label, p.Duration)
		}
		for _, p := range in.UnplannedStops {
			unplanned.Add(p.Key, p.Label, p.Duration)
		}
		out.Changeover += in.Changeover
		out.MicroStops += in.MicroStops
		out.IdealTotal += in.IdealTotal
		out.IdealStartup += in.IdealStartup
		out.IdealProcess += in.IdealProcess
	}
	out.PlannedStops, out.UnplannedStops = planned.Parts(), unplanned.Parts()
	return out
}
