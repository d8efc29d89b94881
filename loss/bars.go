package loss

import "math"

// Totals drawn between the buckets: the time left at the start and after each OEE
// factor's losses (A, P and Q are the ratios of consecutive totals).
const (
	TotalPlanned = "planned"
	TotalLoading = "loading"
	TotalRun     = "run"
	TotalNetRun  = "net_run"
)

// Colours of the drawn waterfall: the time left, and the losses of each step (step). The
// line page, the Losses page, the printable report and their legend all take them from here.
const (
	ColorTotal        = "#0ea5e9"
	ColorOutside      = "#64748b" // unmonitored time and planned stops: outside OEE
	ColorAvailability = "#ef4444"
	ColorPerformance  = "#f59e0b"
	ColorQuality      = "#a855f7"
	ColorFully        = "#10b981"
)

// step is each bucket kind's place: the OEE factor its loss counts against (0 outside
// OEE, 1 availability, 2 performance, 3 quality, 4 fully productive time).
var step = map[string]int{
	KindUnmonitored: 0, KindPlannedStop: 0, KindUnplannedStop: 1, KindChangeover: 1,
	KindMicroStop: 2, KindReducedSpeed: 2, KindStartupReject: 3, KindProcessReject: 3, KindFullyProd: 4,
}

var stepColors = [...]string{ColorOutside, ColorAvailability, ColorPerformance, ColorQuality, ColorFully}

// Bar is one bar of the waterfall as drawn, on a 0..100 box scaled to the highest level.
// Every renderer draws these and only adds the words in its own language.
type Bar struct {
	Kind    string  `json:"kind"`            // a bucket kind, or one of the totals (TotalPlanned…)
	Key     string  `json:"key,omitempty"`   // a stop bucket's category or reason
	Label   string  `json:"label,omitempty"` // its name
	Seconds float64 `json:"seconds"`
	Share   float64 `json:"share"` // of planned time
	Total   bool    `json:"total"` // drawn from 0: planned time, a subtotal, fully productive time
	Color   string  `json:"color"`
	X       float64 `json:"x"`     // where the bar starts, 0..100
	Width   float64 `json:"width"` // at least 0.2 when it has time, so it stays visible (X+Width ≤ 100)
}

// bars lays w out: planned time, then each loss from the time left after it to the time
// left before it, a total at the end of each step (loading, run and net run time), and
// fully productive time. Buckets without time are left out, but fully productive time;
// no bars without planned time.
func bars(w Waterfall) []Bar {
	if w.PlannedS <= 0 {
		return []Bar{}
	}
	type span struct {
		Bar
		lo float64 // where a loss ends (0 for a total)
	}
	spans := []span{{Bar: Bar{Kind: TotalPlanned, Seconds: w.PlannedS, Total: true, Color: ColorTotal}}}
	totals := []struct {
		kind string
		s    float64
	}{{TotalLoading, w.LoadingS}, {TotalRun, w.RunS}, {TotalNetRun, w.NetRunS}}
	level, top, at := w.PlannedS, w.PlannedS, 0
	for _, b := range w.Buckets {
		next, ok := step[b.Kind]
		if !ok {
			next = at
		}
		for ; at < next && at < len(totals); at++ {
			level = totals[at].s
			top = max(top, level)
			spans = append(spans, span{Bar: Bar{Kind: totals[at].kind, Seconds: level, Total: true, Color: ColorTotal}})
		}
		switch {
		case b.Kind == KindFullyProd:
			spans = append(spans, span{Bar: Bar{Kind: b.Kind, Seconds: b.Seconds, Total: true, Color: ColorFully}})
		case b.Seconds != 0:
			spans = append(spans, span{Bar: Bar{Kind: b.Kind, Key: b.Key, Label: b.Label, Seconds: b.Seconds, Color: stepColors[min(next, 4)]},
				lo: min(level, level-b.Seconds)})
			level -= b.Seconds
			top = max(top, level)
		}
	}
	box := func(s float64) float64 { return round2(max(s, 0) / top * 100) }
	out := make([]Bar, len(spans))
	for i, s := range spans {
		b := s.Bar
		b.Share = b.Seconds / w.PlannedS
		b.X = box(s.lo)
		b.Width = round2(box(s.lo+math.Abs(b.Seconds)) - b.X)
		if b.Seconds != 0 {
			b.Width = max(b.Width, 0.2)
			b.X = min(b.X, round2(100-b.Width)) // a sliver at the top stays inside the box
		}
		out[i] = b
	}
	return out
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }
