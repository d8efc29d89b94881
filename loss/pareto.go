package loss

import (
	"cmp"
	"slices"
	"time"
)

// Uncoded is the key of stops without a reason code.
const Uncoded = ""

// Stop is one stop (or the part of it being counted) for a Pareto.
type Stop struct {
	Key      string        // the group: a reason code, a category, a line, a shift; Uncoded = not coded
	Label    string        // what people read for Key
	Duration time.Duration // the stop's planned production time counted
	Uncoded  bool          // the stop has no reason code yet
}

// Group is one bar of a Pareto.
type Group struct {
	Key        string  `json:"key"`
	Label      string  `json:"label"`
	Count      int64   `json:"count"`
	DurationS  float64 `json:"duration_s"`
	Share      float64 `json:"share"`      // of the total duration, 0..1
	Cumulative float64 `json:"cumulative"` // share of this group and every longer one
	duration   time.Duration
}

// Pareto is the stops grouped and sorted by total duration, longest first (ties by key).
type Pareto struct {
	Groups       []Group `json:"groups"`
	Count        int64   `json:"count"`
	TotalS       float64 `json:"total_s"`
	UncodedS     float64 `json:"uncoded_s"`
	UncodedShare float64 `json:"uncoded_share"` // of the total duration still to be coded
}

// MakePareto groups stops by Key. Stops of zero duration count (they were stops) but add
// no time. The cumulative share of the last group is exactly 1 when there is any time.
func MakePareto(stops []Stop) Pareto {
	idx := map[string]int{}
	var p Pareto
	var total, uncoded time.Duration
	for _, s := range stops {
		i, ok := idx[s.Key]
		if !ok {
			i = len(p.Groups)
			idx[s.Key] = i
			p.Groups = append(p.Groups, Group{Key: s.Key, Label: s.Label})
		}
		d := max(s.Duration, 0)
		p.Groups[i].Count++
		p.Groups[i].duration += d
		p.Count++
		total += d
		if s.Uncoded {
			uncoded += d
		}
	}
	slices.SortFunc(p.Groups, func(a, b Group) int {
		if c := cmp.Compare(b.duration, a.duration); c != 0 {
			return c
		}
		return cmp.Compare(a.Key, b.Key)
	})
	var cum time.Duration
	for i := range p.Groups {
		g := &p.Groups[i]
		cum += g.duration
		g.DurationS = g.duration.Seconds()
		if total > 0 {
			g.Share = float64(g.duration) / float64(total)
			g.Cumulative = float64(cum) / float64(total)
		}
	}
	if p.Groups == nil {
		p.Groups = []Group{}
	}
	p.TotalS, p.UncodedS = total.Seconds(), uncoded.Seconds()
	if total > 0 {
		p.UncodedShare = float64(uncoded) / float64(total)
	}
	return p
}
