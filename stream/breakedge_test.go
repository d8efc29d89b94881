package stream

import (
	"testing"
	"time"

	"github.com/linepulse/linepulse/store"
)

// TestFoldBreakEdge: stops are judged on planned time, live and on replay alike. The golden
// shift's break 10:00-10:15, threshold 120 s: the last detection 1.5 s before the break
// and the next 1 s after it make no event and no alert (2.5 s of planned time); a line that
// restarts 3 minutes after the break books 10:15-10:18 (180 s > 120 s) and nothing before
// the break (3 s).
func TestFoldBreakEdge(t *testing.T) {
	loc := madrid(t)
	at := func(h, m int, s float64) time.Time {
		return time.Date(2026, 1, 7, h, m, 0, 0, loc).Add(time.Duration(s * float64(time.Second)))
	}
	cal, err := Calendar("Europe/Madrid", goldenShifts())
	if err != nil {
		t.Fatal(err)
	}
	fold := func() *lineFold {
		return newLineFold(lineConf{id: 1, cal: cal, loc: loc, threshold: 120 * time.Second, minMicro: 5 * time.Second, ideal: time.Second})
	}
	run := func(from, to time.Time, id uint64) []store.Detection { return everySecond(from, to, id) }
	for _, c := range []struct {
		name    string
		dets    []store.Detection
		want    []string
		wantMsg string
	}{
		{
			name: "1.5 s before, 1 s after",
			dets: append(run(at(9, 50, 0), at(9, 59, 58.5), 0), run(at(10, 15, 1), at(10, 30, 0), 10000)...),
		},
		{
			name:    "3 s before, restart 3 min after",
			dets:    append(run(at(9, 50, 0), at(9, 59, 57), 0), run(at(10, 18, 0), at(10, 30, 0), 10000)...),
			want:    []string{"01-07 10:15:00-10:18:00 3m0s"},
			wantMsg: "se",
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			end := at(10, 30, 0)
			live := simulate(fold(), c.dets, true, time.Time{}, end)
			replay := simulate(fold(), c.dets, false, at(12, 0, 0), end)
			for who, chs := range map[string][]change{"live": live, "replay": replay} {
				if got := booked(chs, loc); len(got) != len(c.want) || (len(got) > 0 && got[0] != c.want[0]) {
					t.Errorf("%s booked %v, want %v", who, got, c.want)
				}
			}
			if s := states(live); s != c.wantMsg {
				t.Errorf("live messages %q, want %q", s, c.wantMsg)
			}
		})
	}
}
