package stream

import (
	"time"

	"github.com/linepulse/linepulse/store"
)

// Booker applies the engine's event-time downtime rule to one line's detection times in
// time order, without the live (wall-clock) parts: it books exactly what a replay of the
// same detections books. For tools that check or seed history (bench query).
type Booker struct{ f *lineFold }

// NewBooker makes a Booker for line under the tenant's time zone and shifts.
func NewBooker(tz string, shifts []store.Shift, line store.Line) (*Booker, error) {
	cal, err := Calendar(tz, shifts)
	if err != nil {
		return nil, err
	}
	if err := ValidateLine(line); err != nil {
		return nil, err
	}
	loc, _ := loadZone(tz) // valid: Calendar accepted it
	f := newLineFold(lineConf{id: line.ID, cal: cal, loc: loc, threshold: line.DowntimeThreshold(),
		minMicro: time.Duration(line.MicroStopMinMS) * time.Millisecond, ideal: line.IdealCycleTime()})
	f.microLog = new([]store.MicroStopRow)
	return &Booker{f: f}, nil
}

// MicroStops is the micro-stop rows of everything observed so far (what the engine
// stores for the same detections).
func (b *Booker) MicroStops() []store.MicroStopRow { return b.f.microRows() }

// Observe feeds the next detection time and returns the downtime events the gap before it
// completes (one per shift instance the gap's planned time touches).
func (b *Booker) Observe(at time.Time) []store.DowntimeEvent {
	var out []store.DowntimeEvent
	for _, c := range b.f.observe(store.Detection{At: at, OK: true}, at) {
		if c.State == DowntimeEnded {
			end := c.End
			out = append(out, store.DowntimeEvent{LineID: b.f.conf.id, Start: c.Start, End: &end, DurationMS: c.Duration.Milliseconds()})
		}
	}
	return out
}
