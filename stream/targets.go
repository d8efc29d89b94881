package stream

import (
	"time"

	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/stream/shiftcal"
)

// Production targets (docs/OEE.md, "Targets"): a line's planned quantity of good units for
// every instance of one of its shifts. The live KPI updates and history's shift summaries
// carry it with its share so far.

// lineTargets is a line's targets by shift id.
func lineTargets(m *store.Meta, line int64) map[int64]int64 {
	var out map[int64]int64
	for _, x := range m.Targets {
		if x.LineID == line {
			if out == nil {
				out = map[int64]int64{}
			}
			out[x.ShiftID] = x.Quantity
		}
	}
	return out
}

// targetToNow is target prorated by the planned time of [start, end) elapsed at now
// (rounded down; the whole target once the instance is over).
func targetToNow(cal *shiftcal.Calendar, line int64, start, end, now time.Time, target int64) int64 {
	if target <= 0 || cal == nil || !now.Before(end) {
		return max(target, 0)
	}
	if !now.After(start) {
		return 0
	}
	whole := cal.PlannedTime(line, start, end)
	if whole < time.Millisecond {
		return target
	}
	// In milliseconds: target (≤ 1e9) × an instance's planned ms (≤ 1e8) fits in an int64.
	return target * cal.PlannedTime(line, start, now).Milliseconds() / whole.Milliseconds()
}
