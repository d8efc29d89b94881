package ui

import (
	"context"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/linepulse/linepulse/loss"
)

// shownBar is a bar of a loss waterfall as a page shows it.
type shownBar struct {
	Kind  string  `json:"kind"`
	Label string  `json:"label"`
	Value string  `json:"value"`
	X     float64 `json:"x"`
	Width float64 `json:"width"`
}

// readWaterfall reads the bars of the waterfall list sel (the line page's #waterfall, the
// report's #report-waterfall) from the page.
func readWaterfall(t *testing.T, ctx context.Context, sel string) []shownBar {
	t.Helper()
	bars, err := chromedp.Run(ctx, chromedp.Evaluate[[]shownBar](`[...document.querySelectorAll(`+strconv.Quote(sel+" > li")+`)].map((li) => {
		const r = li.querySelectorAll('svg rect')[1];
		return { kind: li.dataset.kind || '', label: li.querySelector('.lp-wf-label')?.textContent.trim() ?? '',
			value: li.querySelector('.lp-wf-value')?.textContent.trim() ?? '',
			x: r ? Number(r.getAttribute('x')) : -1, width: r ? Number(r.getAttribute('width')) : -1 };
	})`))
	if err != nil {
		t.Fatalf("read the waterfall %s: %v", sel, err)
	}
	return bars
}

// wantBar is a bar the waterfall must show: its kind, the bucket's key and seconds.
type wantBar struct {
	kind, key string
	seconds   float64
}

// wantBars are the bars of w in order: planned time; each bucket with time, and fully
// productive time; before the first bucket of availability, performance and quality
// losses the time left (loading, run and net run time, the API's own figures).
func wantBars(w loss.Waterfall) []wantBar {
	out := []wantBar{{kind: "planned", seconds: w.PlannedS}}
	seen := map[string]bool{}
	for _, b := range w.Buckets {
		var sub wantBar
		switch b.Kind {
		case loss.KindUnplannedStop, loss.KindChangeover:
			sub = wantBar{kind: "loading", seconds: w.LoadingS}
		case loss.KindMicroStop, loss.KindReducedSpeed:
			sub = wantBar{kind: "run", seconds: w.RunS}
		case loss.KindStartupReject, loss.KindProcessReject, loss.KindFullyProd:
			sub = wantBar{kind: "net_run", seconds: w.NetRunS}
		}
		if sub.kind != "" && !seen[sub.kind] {
			seen[sub.kind] = true
			out = append(out, sub)
		}
		if b.Seconds != 0 || b.Kind == loss.KindFullyProd {
			out = append(out, wantBar{kind: b.Kind, key: b.Key, seconds: b.Seconds})
		}
	}
	return out
}

// reWaterfallValue is a bar's value: "12.3 min · 4.5%" ("12,3 min · 4,5 %" in Spanish).
var reWaterfallValue = regexp.MustCompile(`^(-?[\d.,]+) min · (-?[\d.,]+)[\s\x{a0}\x{202f}]*%$`)

// localNumber reads a number as lang writes it.
func localNumber(s, lang string) (float64, error) {
	if lang == "es" {
		s = strings.ReplaceAll(s, ".", "")
		s = strings.Replace(s, ",", ".", 1)
	} else {
		s = strings.ReplaceAll(s, ",", "")
	}
	return strconv.ParseFloat(s, 64)
}

// checkWaterfall compares the bars a page shows with the waterfall w of the API: as many
// bars, in order, each labelled with its minutes and share of planned time (rounded to
// 0.1), a stop bucket named by its key (uncoded: the text for "not coded"), and drawn to
// scale: a total from 0, a loss ending where the time left before it was.
func checkWaterfall(t *testing.T, where string, got []shownBar, w loss.Waterfall, lang, uncoded string) {
	t.Helper()
	want := wantBars(w)
	if len(got) != len(want) {
		t.Fatalf("%s: %d bars, want %d (%+v)\ngot %+v", where, len(got), len(want), want, got)
	}
	scaled := true // the geometry is checked when no bucket is negative (a line faster than its ideal)
	for _, b := range w.Buckets {
		scaled = scaled && b.Seconds >= 0
	}
	near := func(a, b, tol float64) bool { return math.Abs(a-b) <= tol+1e-9 }
	level := w.PlannedS
	for i, g := range got {
		wb := want[i]
		if g.Kind != wb.kind {
			t.Errorf("%s: bar %d is %q, want %q", where, i, g.Kind, wb.kind)
			continue
		}
		if wb.kind == loss.KindPlannedStop || wb.kind == loss.KindUnplannedStop {
			name := uncoded
			if wb.key != "" {
				name = wb.key
			}
			if !strings.Contains(g.Label, name) {
				t.Errorf("%s: bar %d %s is labelled %q, want its %q", where, i, wb.kind, g.Label, name)
			}
		} else if g.Label == "" {
			t.Errorf("%s: bar %d %s has no label", where, i, wb.kind)
		}
		m := reWaterfallValue.FindStringSubmatch(g.Value)
		if m == nil {
			t.Errorf("%s: bar %d %s value %q is not minutes and share", where, i, wb.kind, g.Value)
			continue
		}
		minutes, err1 := localNumber(m[1], lang)
		share, err2 := localNumber(m[2], lang)
		if err1 != nil || err2 != nil || !near(minutes, wb.seconds/60, 0.05) || !near(share, wb.seconds/w.PlannedS*100, 0.05) {
			t.Errorf("%s: bar %d %s shows %q, the API says %.3f min, %.3f %%", where, i, wb.kind, g.Value, wb.seconds/60, wb.seconds/w.PlannedS*100)
		}
		if !scaled {
			continue
		}
		total := wb.kind == "planned" || wb.kind == "loading" || wb.kind == "run" || wb.kind == "net_run" || wb.kind == loss.KindFullyProd
		x, width := 0.0, wb.seconds/w.PlannedS*100
		if total {
			level = wb.seconds
		} else {
			level -= wb.seconds
			width = max(width, 0.2)
			x = min(level/w.PlannedS*100, 100-width) // a sliver at the top stays inside the box
		}
		if !near(g.X, x, 0.02) || !near(g.Width, width, 0.03) {
			t.Errorf("%s: bar %d %s drawn at x %v width %v, want %.2f, %.2f", where, i, wb.kind, g.X, g.Width, x, width)
		}
	}
}
