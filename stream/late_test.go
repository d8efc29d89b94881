package stream

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/store/storetest"
	"github.com/linepulse/linepulse/stream/shiftcal"
)

// TestRecomputeShuffledDay: the golden day delivered shuffled (each detection late by up to
// 2 h, stored in arrival order, and the events a fold booked in that order stored as the
// live engine would) is, after linepulse recompute, the in-order day: the same events,
// rollups and shift figures, on both engines.
func TestRecomputeShuffledDay(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		loc := madrid(t)
		s, ten, tdb, l := historyLine(t, e, 30000, goldenShifts())
		day := time.Date(2026, 1, 7, 0, 0, 0, 0, loc)
		dets := goldenDetections(loc, day)

		// Live and in order, the fold books the golden events, and the next morning's stop
		// after 06:00:35 at the shift's end.
		inOrder := booked(simulate(newLineFold(lineConf{id: l.ID, cal: mustCalendar(t), loc: loc, threshold: 30 * time.Second, ideal: time.Second}), dets, true, time.Time{}, day.AddDate(0, 0, 2)), loc)
		if len(inOrder) != 4 {
			t.Fatalf("in-order events %v", inOrder)
		}
		// Shuffled: arrival = event time + up to 2 h.
		rng := rand.New(rand.NewPCG(14, 14))
		type arrival struct {
			d  store.Detection
			at time.Time
		}
		arr := make([]arrival, len(dets))
		for i, d := range dets {
			arr[i] = arrival{d, d.At.Add(time.Duration(rng.Int64N(int64(2 * time.Hour))))}
		}
		slices.SortFunc(arr, func(a, b arrival) int { return a.at.Compare(b.at) })
		shuffled := make([]store.Detection, len(arr))
		for i, a := range arr {
			shuffled[i] = a.d
		}
		w, err := tdb.NewWriterPool(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		for i := 0; i < len(shuffled); i += 500 {
			if _, err := tdb.WriteDetections(ctx, w, l.ID, shuffled[i:min(i+500, len(shuffled))]); err != nil {
				t.Fatal(err)
			}
		}
		// What a fold fed in arrival order books differs (late detections are not judged).
		wrong := simulate(newLineFold(lineConf{id: l.ID, cal: mustCalendar(t), loc: loc, threshold: 30 * time.Second, ideal: time.Second}), shuffled, false, day.AddDate(0, 0, 3), day.AddDate(0, 0, 2))
		if got := booked(wrong, loc); slices.Equal(got, inOrder) {
			t.Fatalf("the shuffle changed nothing: %v", got)
		}
		for _, c := range wrong {
			if c.State == DowntimeEnded {
				end := c.End
				if err := tdb.UpsertDowntime(ctx, l.ID, &store.DowntimeEvent{Start: c.Start, End: &end, DurationMS: c.Duration.Milliseconds()}); err != nil {
					t.Fatal(err)
				}
			}
		}

		h := NewHistory(s, store.NewMetaCache(s))
		res, err := h.Recompute(ctx, ten.ID, l.ID, day, day.AddDate(0, 0, 2))
		if err != nil {
			t.Fatal(err)
		}
		evs, err := h.Downtime(ctx, ten.ID, l.ID, day, day.AddDate(0, 0, 2), store.DowntimeFilter{}, store.Page{})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, ev := range evs {
			got = append(got, fmt.Sprintf("%s-%s %v", ev.Start.In(loc).Format("01-02 15:04:05"), ev.End.In(loc).Format("15:04:05"), time.Duration(ev.DurationMS)*time.Millisecond))
		}
		slices.Sort(got)
		if !slices.Equal(got, inOrder) || res.Detections != len(dets) || len(res.Events) != len(inOrder) {
			t.Errorf("after recompute: events %v (result %d detections, %d events, %d deleted), want %v", got, res.Detections, len(res.Events), res.Deleted, inOrder)
		}
		rep, err := h.OEE(ctx, ten.ID, l.ID, time.Date(2026, 1, 7, 6, 0, 0, 0, loc), time.Date(2026, 1, 7, 14, 0, 0, 0, loc))
		if err != nil {
			t.Fatal(err)
		}
		checkGolden(t, "recomputed shift", rep)
		// Idempotent: a second run changes nothing.
		if again, err := h.Recompute(ctx, ten.ID, l.ID, day, day.AddDate(0, 0, 2)); err != nil || again.Deleted != 0 || len(again.Events) != len(inOrder) {
			t.Errorf("second recompute: %+v %v", again, err)
		}
	})
}

func mustCalendar(t *testing.T) *shiftcal.Calendar {
	t.Helper()
	cal, err := Calendar("Europe/Madrid", goldenShifts())
	if err != nil {
		t.Fatal(err)
	}
	return cal
}
