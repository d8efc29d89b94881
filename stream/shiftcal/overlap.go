package shiftcal

import "fmt"

// checkOverlaps rejects two shifts sharing a line that can run at once.
//
// It reasons in wall-clock minutes on a line of days: shift a starting on
// day D occupies [D·1440+start, D·1440+start+length). Shifts are at most one
// day long, so a on day D can only meet b on day D-1, D or D+1. For each of
// those offsets whose minute ranges intersect, the shifts overlap iff some
// day D has a active on D and b active on D+offset; both day predicates
// repeat with their period, so trying D over one joint period decides it.
// Real time equals wall time except on daylight-saving nights, which only
// stretch or shrink an instance (see the package comment).
func checkOverlaps(shifts []*compiled) error {
	for j, b := range shifts {
		for _, a := range shifts[:j] {
			la, lb := a.shift.LineID, b.shift.LineID
			if la != 0 && lb != 0 && la != lb {
				continue
			}
			if !overlaps(a, b) {
				continue
			}
			where := "on all lines"
			if l := max(la, lb); l != 0 {
				where = fmt.Sprintf("on line %d", l)
			}
			return fmt.Errorf("shiftcal: shift %s overlaps shift %s %s", b.label, a.label, where)
		}
	}
	return nil
}

func overlaps(a, b *compiled) bool {
	period := int64(lcm(a.period, b.period))
	for offset := -1; offset <= 1; offset++ {
		bStart := offset*minutesPerDay + b.start
		if a.start >= bStart+b.length || bStart >= a.start+a.length {
			continue
		}
		for d := int64(0); d < period; d++ {
			if a.active(d) && b.active(d+int64(offset)) {
				return true
			}
		}
	}
	return false
}
