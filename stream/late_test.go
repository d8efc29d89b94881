package stream

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/linepulse/linepulse/bus"
	"github.com/linepulse/linepulse/internal/clock"
	"github.com/linepulse/linepulse/internal/testkit"
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
		live := newLineFold(lineConf{id: l.ID, cal: mustCalendar(t), loc: loc, threshold: 30 * time.Second, ideal: time.Second})
		inOrder := booked(simulate(live, dets, true, time.Time{}, day.AddDate(0, 0, 2)), loc)
		if len(inOrder) != 4 {
			t.Fatalf("in-order events %v", inOrder)
		}
		shuffled := shuffledArrival(dets)
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
		// The micro-stops recompute stored are those of the in-order fold (micro_stop_min 0:
		// every gap that is not downtime, 9 s lost by the 10 s one).
		morning := live.periodFor(time.Date(2026, 1, 7, 6, 0, 0, 0, loc), false)
		if morning == nil || rep.MicroStops != morning.Micro || rep.MicroStopS != morning.MicroDur.Seconds() || rep.MicroStopS != 9 || rep.MicroStops < 1000 {
			t.Errorf("recomputed micro-stops %d, %v s; in-order fold %+v", rep.MicroStops, rep.MicroStopS, morning)
		}
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

// shuffledArrival returns dets in the order they arrive when each is late by up to 2 h.
func shuffledArrival(dets []store.Detection) []store.Detection {
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
	out := make([]store.Detection, len(arr))
	for i, a := range arr {
		out[i] = a.d
	}
	return out
}

// TestEngineShuffledDay: the live engine fed the golden day shuffled (late by up to 2 h)
// re-books the line by itself once late detections stop arriving, and ends with the
// events of the in-order delivery (TestEngineGolden), stored and republished, on both
// engines, without linepulse recompute. The re-booking waits for the writer's durable
// consumer to acknowledge the late messages (stood in for by the test), and survives a
// restart of the engine.
func TestEngineShuffledDay(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		r, loc, day, dets := goldenRig(t, e)
		line := r.lines[0].ID
		clk := clock.NewFake(time.Date(day.Year(), day.Month(), day.Day(), 15, 0, 0, 0, loc))
		r.publish(line, shuffledArrival(dets), true)
		writer, err := r.js.CreateConsumer(ctx, bus.DetStream, jetstream.ConsumerConfig{Durable: "lp-writer", AckPolicy: jetstream.AckExplicitPolicy})
		if err != nil {
			t.Fatal(err)
		}
		cfg := Config{Clock: clk, PublishRate: 50, LateRecompute: time.Minute}
		x := r.start(cfg)
		testkit.CheckFor(t, waitLong, poll, func() error {
			s := x.line(t, line)
			return testkit.Unless(s.total == int64(len(dets)) && s.pending == 0, "folded %d of %d detections, %d to store", s.total, len(dets), s.pending)
		})
		want := []string{"06:00:00 35000ms", "07:00:00 1200000ms", "11:50:00 1500000ms"}
		stored := func() []string {
			evs, err := r.tdb.ListDowntime(ctx, line, day, day.AddDate(0, 0, 2), store.DowntimeFilter{}, store.Page{})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, ev := range evs {
				got = append(got, fmt.Sprintf("%s %dms", ev.Start.In(loc).Format("15:04:05"), ev.DurationMS))
			}
			slices.Sort(got)
			return got
		}
		if got := stored(); slices.Equal(got, want) {
			t.Fatalf("the shuffle changed nothing: %v", got)
		}
		// The pending re-booking survives a restart (checkpoint).
		x.stop(t)
		x = r.start(cfg)
		// The writer has committed nothing: the re-booking is due but waits.
		advancing(t, clk, time.Second, 0, func() error {
			var failures int
			x.inspect(t, func(e *Engine) { failures = e.reg.line("acme", line).failures })
			return testkit.Unless(failures > 1, "the re-booking has not waited for the writer yet")
		})
		if got := stored(); slices.Equal(got, want) {
			t.Fatalf("re-booked before the writer committed: %v", got)
		}
		batch, err := writer.Fetch(len(dets), jetstream.FetchMaxWait(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		for m := range batch.Messages() {
			if err := m.DoubleAck(ctx); err != nil {
				t.Fatal(err)
			}
		}
		advancing(t, clk, time.Second, 0, func() error {
			got := stored()
			return testkit.Unless(slices.Equal(got, want), "stored events %v, want %v", got, want)
		})
		// The engine's own figures of the shift are corrected too.
		morning := time.Date(day.Year(), day.Month(), day.Day(), 6, 0, 0, 0, loc)
		testkit.CheckFor(t, waitLong, poll, func() error {
			reps, err := x.e.Periods(ctx, "acme", line)
			if err != nil {
				return err
			}
			for _, rep := range reps {
				if rep.Shift != nil && rep.Shift.Start.Equal(morning) {
					return testkit.Unless(rep.Events == 2 && rep.DowntimeS == goldenDown.Seconds(), "engine shift: %d events, %vs down", rep.Events, rep.DowntimeS)
				}
			}
			return fmt.Errorf("no Morning period in %+v", reps)
		})
		reps, err := x.e.Periods(ctx, "acme", line)
		if err != nil {
			t.Fatal(err)
		}
		for _, rep := range reps {
			if rep.Shift != nil && rep.Shift.Start.Equal(morning) {
				checkGolden(t, "engine after re-booking", rep)
			}
		}
		// Republished: the last message about each start is its corrected "ended" event.
		testkit.CheckFor(t, waitLong, poll, func() error {
			last := map[string]DowntimeMessage{}
			for _, dm := range r.seen.downtime(line) {
				last[time.Time(dm.Event.Start).In(loc).Format("01-02 15:04:05")] = dm
			}
			var got []string
			for start, dm := range last {
				if dm.Event.State == DowntimeEnded {
					got = append(got, fmt.Sprintf("%s %dms", start[6:], dm.Event.DurationMS))
				}
			}
			slices.Sort(got)
			return testkit.Unless(slices.Equal(got, want), "published events %v, want %v", got, want)
		})
	})
}
