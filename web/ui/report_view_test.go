package ui

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/linepulse/linepulse/web"
)

// TestShiftViewSaysTimeWithoutData: a shift whose planned time had no data for a while
// shows how long among its counts (A, P and Q leave it out, so A alone may read 100 %);
// a shift with data all along shows no such count.
func TestShiftViewSaysTimeWithoutData(t *testing.T) {
	u, err := New(Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	s, err := u.current()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 12, 3, 5, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		lang        string
		unmonitored float64
		want        string // "" = no such count
	}{{"en", 9792, "163.2"}, {"es", 9792, "163,2"}, {"en", 0, ""}} {
		var rep web.ShiftReport
		rep.Zone = "Europe/Madrid"
		rep.Shift.Start, rep.Shift.End = start, start.Add(8*time.Hour)
		rep.Shift.PlannedS, rep.Shift.RunS, rep.Shift.UnmonitoredS = 9984, 192, c.unmonitored
		q := &req{u: u, s: s, lang: c.lang}
		var got string
		for _, row := range q.shiftView(rep).Counts {
			if row.ID == "unmonitored" {
				got = row.Actual
			}
		}
		if got != c.want {
			t.Errorf("%s, %.0f s without data: count %q, want %q", c.lang, c.unmonitored, got, c.want)
		}
	}
}
