package shiftcal

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// TestOverlapMatchesBruteForce checks New's analytical overlap rule against
// the real instances of random shift pairs over a window longer than their
// joint repeat period. UTC keeps wall time and real time equal.
func TestOverlapMatchesBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(2026, 1))
	var rejected, accepted int
	for i := 0; i < 600; i++ {
		a, b := randomShift(r, 1), randomShift(r, 2)
		ca, errA := New(time.UTC, []Shift{a})
		cb, errB := New(time.UTC, []Shift{b})
		if errA != nil || errB != nil {
			continue // e.g. weekdays and rotation that never meet
		}
		_, err := New(time.UTC, []Shift{a, b})
		// Any multiple of the joint period will do: 7 × both cycles.
		days := 7 * cycle(a) * cycle(b)
		from := time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC)
		to := from.AddDate(0, 0, days+2)
		want := overlapping(ca.Instances(1, from, to), cb.Instances(1, from, to))
		if (err != nil) != want {
			t.Fatalf("shifts %s and %s: New error %v, brute force overlap %v", describe(a), describe(b), err, want)
		}
		if want {
			rejected++
		} else {
			accepted++
		}
	}
	if rejected < 50 || accepted < 50 {
		t.Fatalf("poor coverage: %d rejected, %d accepted", rejected, accepted)
	}
}

func randomShift(r *rand.Rand, id int64) Shift {
	start := r.IntN(24*4) * 15
	length := (r.IntN(12*4) + 1) * 15
	if r.IntN(10) == 0 {
		length = 24 * 60
	}
	end := (start + length) % (24 * 60)
	s := Shift{ID: id, LineID: 1, Name: fmt.Sprint("S", id), Start: hhmm(start), End: hhmm(end), Overnight: end <= start}
	if r.IntN(3) > 0 {
		for w := 1; w <= 7; w++ {
			if r.IntN(2) == 0 {
				s.Days.Weekdays = append(s.Days.Weekdays, w)
			}
		}
	}
	if r.IntN(2) == 0 {
		s.Days.Rotation = &Rotation{
			Anchor: time.Date(2026, 1, 1+r.IntN(20), 0, 0, 0, 0, time.UTC).Format(time.DateOnly),
			On:     1 + r.IntN(5),
			Off:    r.IntN(6),
		}
	}
	return s
}

func cycle(s Shift) int {
	if s.Days.Rotation == nil {
		return 1
	}
	return s.Days.Rotation.On + s.Days.Rotation.Off
}

func hhmm(m int) string { return fmt.Sprintf("%02d:%02d", m/60, m%60) }

func describe(s Shift) string {
	return fmt.Sprintf("%s-%s days=%v rot=%+v", s.Start, s.End, s.Days.Weekdays, s.Days.Rotation)
}

func overlapping(a, b []Instance) bool {
	for i, j := 0, 0; i < len(a) && j < len(b); {
		if a[i].Start.Before(b[j].End) && b[j].Start.Before(a[i].End) {
			return true
		}
		if a[i].End.Before(b[j].End) {
			i++
		} else {
			j++
		}
	}
	return false
}
