package stream

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/linepulse/linepulse/detection"
	"github.com/linepulse/linepulse/internal/testkit"
	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/store/storetest"
)

// BenchmarkFoldMessage is the engine's CPU cost per message of 500 detections (decode +
// fold), without NATS: the ceiling of one core.
func BenchmarkFoldMessage(b *testing.B) {
	loc := madrid(b)
	f := goldenFold(b, loc)
	t0 := time.Date(2026, 1, 7, 6, 0, 0, 0, loc)
	const perMsg = 500
	msgs := make([][]byte, 64)
	id := uint64(0)
	for i := range msgs {
		buf := []byte{'['}
		for j := range perMsg {
			id++
			if j > 0 {
				buf = append(buf, ',')
			}
			buf = detection.AppendJSON(buf, store.Detection{ID: id, At: t0.Add(time.Duration(id) * 10 * time.Millisecond).UTC(), Area: 1 + int64(j%3), Product: 1 + int64(j%5), OK: j%40 != 0})
		}
		msgs[i] = append(buf, ']')
	}
	now := t0.Add(24 * time.Hour)
	var dets []store.Detection
	b.ReportAllocs()
	b.SetBytes(int64(len(msgs[0])))
	i := 0
	for b.Loop() {
		// Each pass over the 64 messages continues in time, as a live line would.
		dets, _ = detection.Decode(dets[:0], msgs[i%len(msgs)], detection.WindowAt(now, 0))
		shift := time.Duration(i/len(msgs)) * time.Duration(len(msgs)*perMsg) * 10 * time.Millisecond
		for _, d := range dets {
			d.At = d.At.Add(shift)
			f.observe(d, d.At)
		}
		i++
	}
	b.ReportMetric(float64(b.N*perMsg)/b.Elapsed().Seconds(), "det/s")
}

// BenchmarkEngineCatchUp is the end-to-end fold rate through NATS: 200 000 detections in
// messages of 500 on 4 lines are in the stream; a new engine folds them all. Run with
// -cpu 1 for "one core".
func BenchmarkEngineCatchUp(b *testing.B) {
	e := storetest.Engines(b)[0]
	r := newRig(b, e, rigOpts{tz: "UTC", shifts: shiftAllDay(), lines: 4, threshold: time.Minute, ideal: 10 * time.Millisecond})
	const perMsg, msgs = 500, 400
	start := time.Now().Add(-time.Hour).UTC()
	id := uint64(0)
	for i := range msgs {
		dets := make([]store.Detection, perMsg)
		for j := range dets {
			id++
			dets[j] = store.Detection{ID: id, At: start.Add(time.Duration(id) * time.Millisecond).Truncate(time.Millisecond), Area: 1, Product: 1 + int64(j%3), OK: true}
		}
		r.publish(r.lines[i%4].ID, dets, false)
	}
	b.ResetTimer()
	for b.Loop() {
		// A fresh engine each time (no checkpoint): it folds the whole stream.
		_ = r.js.DeleteKeyValue(b.Context(), CheckpointBucket)
		x := r.start(Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		testkit.CheckFor(b, waitLong, poll, func() error {
			seq := x.line(b, r.lines[0].ID).lastSeq
			return testkit.Unless(seq == msgs, "folded to stream seq %d of %d", seq, msgs)
		})
		x.stop(b)
	}
	b.ReportMetric(float64(b.N*perMsg*msgs)/b.Elapsed().Seconds(), "det/s")
}
