package report

import (
	"testing"
	"time"

	"github.com/linepulse/linepulse/store"
)

// TestMorningsDue: a daily schedule is due every morning at its hour for the day before,
// a weekly one each Monday for the week before (named by that week's Monday), in the
// plant's zone across the spring DST change; (from, now] excludes from and includes now.
func TestMorningsDue(t *testing.T) {
	loc, err := time.LoadLocation("Europe/Madrid")
	if err != nil {
		t.Fatal(err)
	}
	at := func(d, h int) time.Time { return time.Date(2026, 3, d, h, 0, 0, 0, loc) }
	sc := store.ReportSchedule{ID: 4, Hour: 7}
	type due struct {
		subject string
		at      time.Time
	}
	got := func(days int, from, now time.Time) []due {
		var out []due
		for _, d := range morningsDue(sc, loc, from, now, days) {
			if d.ScheduleID != 4 || d.Occurrence != d.Subject || d.LineID != 0 {
				t.Errorf("delivery %+v", d)
			}
			out = append(out, due{d.Subject, d.DueAt})
		}
		return out
	}
	check := func(what string, got []due, want ...due) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %v, want %v", what, got, want)
		}
		for i := range got {
			if got[i].subject != want[i].subject || !got[i].at.Equal(want[i].at) {
				t.Errorf("%s: %v, want %v", what, got, want)
			}
		}
	}
	// Sunday 1 March to Tuesday 31 March: Mondays 2, 9, 16, 23 and 30 (after the clocks went
	// forward on the 29th: 07:00 is then UTC+2).
	check("weekly", got(7, at(1, 0), at(31, 12)),
		due{"2026-02-23", at(2, 7)}, due{"2026-03-02", at(9, 7)}, due{"2026-03-09", at(16, 7)},
		due{"2026-03-16", at(23, 7)}, due{"2026-03-23", at(30, 7)})
	if at(30, 7).UTC().Hour() != 5 {
		t.Fatalf("07:00 on 30 March is %s", at(30, 7).UTC())
	}
	check("weekly, from at a due time", got(7, at(2, 7), at(9, 7)), due{"2026-03-02", at(9, 7)})
	check("weekly, not a Monday yet", got(7, at(3, 0), at(8, 23)))
	check("daily", got(1, at(28, 12), at(30, 7)), due{"2026-03-28", at(29, 7)}, due{"2026-03-29", at(30, 7)})
}
