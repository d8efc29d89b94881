package ingest_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/linepulse/linepulse/bus"
	"github.com/linepulse/linepulse/detection"
	"github.com/linepulse/linepulse/ingest"
	"github.com/linepulse/linepulse/internal/clock"
	"github.com/linepulse/linepulse/internal/testkit"
	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/store/storetest"
)

// metricValue sums the samples of a gathered metric whose labels include want.
func metricValue(t testing.TB, reg *prometheus.Registry, name string, want map[string]string) (float64, bool) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	found := false
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for k, v := range want {
				ok := false
				for _, lp := range m.GetLabel() {
					ok = ok || (lp.GetName() == k && lp.GetValue() == v)
				}
				if !ok {
					continue next
				}
			}
			found = true
			switch {
			case m.Counter != nil:
				sum += m.Counter.GetValue()
			case m.Gauge != nil:
				sum += m.Gauge.GetValue()
			case m.Histogram != nil:
				sum += float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return sum, found
}

// TestBadInputGoesToDLQ: every class of bad input lands in the DLQ with its reason, the
// valid elements of a mixed message are stored, and ingestion goes on.
func TestBadInputGoesToDLQ(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		st := e.Open(t)
		p := newPlant(t, st, "acme", 1)
		line := p.lines[0]
		b := newBus(t)
		pub := newPublisher(t, b)
		acmeDLQ := subscribeDLQ(t, b, "acme")
		nobodyDLQ := subscribeDLQ(t, b, "nobody")
		reg := prometheus.NewRegistry()
		w := startWriter(t, ingest.WriterConfig{Registerer: reg, FlushInterval: 10 * time.Millisecond}, connect(t, b, "writer"), st)

		now := time.Now().UTC()
		ts := func(at time.Time) string { return at.UTC().Format("2006-01-02T15:04:05.000Z") }
		det := func(id int, at time.Time) string {
			return fmt.Sprintf(`{"id":%d,"at":"%s","area":1,"product":1}`, id, ts(at))
		}
		recent := now.Add(-time.Minute)
		subj := bus.DetSubject("acme", line)

		// 1001 compact valid elements: under 64 KiB, one element too many.
		var many []string
		for i := range 1001 {
			many = append(many, det(i+1, recent))
		}
		manyBody := "[" + strings.Join(many, ",") + "]"
		if len(manyBody) > detection.MaxBytes {
			t.Fatalf("1001-element body is %d bytes, over the size limit", len(manyBody))
		}
		// 66 KiB: over the 64 KiB contract limit, under the 72 KiB NATS payload limit.
		oversized := "[" + det(1, recent) + "]" + strings.Repeat(" ", 66<<10)

		cases := []struct {
			name, subject, body string
			reason              detection.Reason
			index               int
			parts               []string // a pack the edge stored (bus.PartsHeader): body unused
		}{
			{"malformed JSON", subj, `{"id":1,"at":`, detection.ReasonMalformed, -1, nil},
			{"id as a string", subj, `{"id":"5","at":"` + ts(recent) + `","area":1,"product":1}`, detection.ReasonBadID, 0, nil},
			{"area as a string", subj, `{"id":5,"at":"` + ts(recent) + `","area":"one","product":1}`, detection.ReasonBadArea, 0, nil},
			{"timestamp not RFC 3339", subj, `{"id":5,"at":"yesterday","area":1,"product":1}`, detection.ReasonBadTime, 0, nil},
			{"oversized message", subj, oversized, detection.ReasonTooLarge, -1, nil},
			{"1001 elements", subj, manyBody, detection.ReasonTooMany, -1, nil},
			{"id 0", subj, det(0, recent), detection.ReasonBadID, 0, nil},
			{"far future", subj, det(6, now.Add(time.Hour)), detection.ReasonInFuture, 0, nil},
			{"past retention", subj, det(7, now.AddDate(0, 0, -100)), detection.ReasonTooOld, 0, nil},
			{"not an object", subj, `42`, detection.ReasonNotObject, -1, nil},
			{"empty array", subj, `[]`, detection.ReasonEmpty, -1, nil},
			{"mixed: one bad element", subj, "[" + det(100, recent) + "," + det(0, recent) + "," + det(101, recent) + "]", detection.ReasonBadID, 1, nil},
			{"unknown line", bus.DetSubject("acme", line+100), det(8, recent), detection.ReasonUnknownLine, -1, nil},
			// Each part of a pack is judged as the device message it was: indices are the part's.
			{"pack: a bad element in its second part", subj, "", detection.ReasonBadID, 1, []string{det(200, recent), "[" + det(201, recent) + "," + det(0, recent) + "]"}},
			{"pack: a malformed part", subj, "", detection.ReasonMalformed, -1, []string{`{"id":1,"at":`, det(202, recent)}},
			{"pack on an unknown line: a dead letter per part", bus.DetSubject("acme", line+100), "", detection.ReasonUnknownLine, -1, []string{det(9, recent), det(10, recent)}},
		}
		// The dead letters expected, in order: a pack on an unknown line gives one per part.
		want := cases[:0:0]
		for _, c := range cases {
			want = append(want, c)
			if c.parts != nil && c.reason == detection.ReasonUnknownLine {
				for range c.parts[1:] {
					want = append(want, c)
				}
			}
		}
		for _, c := range cases {
			if c.parts != nil {
				pub.publishPack(t, c.subject, c.parts)
				continue
			}
			pub.publishRaw(t, c.subject, []byte(c.body))
		}
		pub.publishRaw(t, bus.DetSubject("nobody", 1), []byte(det(9, recent)))
		// Ingestion goes on after all that.
		pub.publishAll(t, "acme", line, dets(1000, 10), 5, "after")

		testkit.CheckFor(t, waitLong, poll, func() error {
			rows, _ := p.counts(t, line)
			return testkit.Unless(rows == 15 && len(acmeDLQ.all()) >= len(want) && len(nobodyDLQ.all()) >= 1,
				"stored %d of 15, dead letters %d of %d and %d of 1", rows, len(acmeDLQ.all()), len(want), len(nobodyDLQ.all()))
		})
		testkit.CheckFor(t, waitLong, poll, func() error { return testkit.Unless(consumerIdle(t, b, ingest.DefaultDurable), "consumer not idle") })

		got := acmeDLQ.all()
		if len(got) != len(want) {
			t.Fatalf("%d dead letters, want %d: %+v", len(got), len(want), got)
		}
		for i, c := range want {
			dl := got[i] // one subscriber, one publisher, one consumer: order is kept
			if dl.Reason != c.reason || dl.Index != c.index || dl.Subject != c.subject {
				t.Errorf("%s: dead letter %+v, want reason %s index %d subject %s", c.name, dl, c.reason, c.index, c.subject)
			}
			if dl.Raw == "" || len(dl.Raw) > detection.MaxRawBytes || dl.Detail == "" || dl.At.IsZero() {
				t.Errorf("%s: dead letter lacks raw text, detail or time: %+v", c.name, dl)
			}
		}
		if n := nobodyDLQ.all(); n[0].Reason != detection.ReasonUnknownLine {
			t.Errorf("unknown tenant: %+v", n)
		}
		rows, rollup := p.counts(t, line)
		if rows != 15 || rollup != 15 {
			t.Fatalf("stored %d, rollups %d, want 15", rows, rollup)
		}

		s := w.w.Stats()
		if s.Rejected != uint64(len(want)+1) || s.Stored != 15 || s.Duplicates != 0 {
			t.Fatalf("stats %+v", s)
		}
		for _, r := range []detection.Reason{detection.ReasonMalformed, detection.ReasonBadID, detection.ReasonTooLarge, detection.ReasonTooMany, detection.ReasonInFuture, detection.ReasonTooOld, detection.ReasonUnknownLine} {
			n := 0
			for _, c := range want {
				if c.reason == r {
					n++
				}
			}
			if r == detection.ReasonUnknownLine {
				n++ // the unknown tenant
			}
			if v, _ := metricValue(t, reg, "linepulse_ingest_rejected_total", map[string]string{"reason": string(r)}); int(v) != n {
				t.Errorf("rejected_total{reason=%q} = %v, want %d", r, v, n)
			}
		}
		if v, _ := metricValue(t, reg, "linepulse_ingest_stored_total", nil); v != 15 {
			t.Errorf("stored_total = %v", v)
		}
		if v, ok := metricValue(t, reg, "linepulse_ingest_batch_size", nil); !ok || v < 1 {
			t.Errorf("batch_size histogram empty")
		}
		if err := w.stop(t); err != nil {
			t.Fatalf("Run: %v", err)
		}
	})
}

// TestRestartWritesBacklog: detections JetStream took while no writer ran (and across a
// restart of the bus itself) are written once a writer starts, exactly once; a second
// writer generation finds nothing left to do.
func TestRestartWritesBacklog(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		st := e.Open(t)
		p := newPlant(t, st, "acme", 2)
		dir := t.TempDir()
		startBus := func() *bus.Bus {
			cfg := bus.DefaultConfig()
			cfg.Listen = "-"
			cfg.StoreDir = dir
			cfg.Logger = quiet()
			b, err := bus.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if err := b.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { b.Close() })
			return b
		}

		// A writer runs once and stops: the durable consumer exists.
		b1 := startBus()
		pub := newPublisher(t, b1)
		pub.publishAll(t, "acme", p.lines[0], dets(1, 500), 50, "a")
		w1 := startWriter(t, ingest.WriterConfig{}, connect(t, b1, "writer-1"), st)
		testkit.CheckFor(t, waitLong, poll, func() error { r, _ := p.totals(t); return testkit.Unless(r == 500, "stored %d of the first 500", r) })
		if err := w1.stop(t); err != nil {
			t.Fatal(err)
		}
		// No writer: JetStream alone takes the next detections, then the server restarts.
		pub.publishAll(t, "acme", p.lines[0], dets(501, 3000), 50, "a")
		pub.publishAll(t, "acme", p.lines[1], dets(1, 2000), 1, "b")
		if r, _ := p.totals(t); r != 500 {
			t.Fatalf("%d stored without a writer", r)
		}
		b1.Close()
		b2 := startBus()

		w2 := startWriter(t, ingest.WriterConfig{}, connect(t, b2, "writer-2"), st)
		testkit.CheckFor(t, waitLong, poll, func() error { r, _ := p.totals(t); return testkit.Unless(r == 5500, "stored %d of 5500", r) })
		testkit.CheckFor(t, waitLong, poll, func() error { return testkit.Unless(consumerIdle(t, b2, ingest.DefaultDurable), "consumer not idle") })
		if err := w2.stop(t); err != nil {
			t.Fatal(err)
		}
		rows, rollup := p.totals(t)
		if rows != 5500 || rollup != 5500 {
			t.Fatalf("stored %d, rollups %d, want 5500", rows, rollup)
		}
		if s := w2.w.Stats(); s.Stored != 5000 || s.Messages != 3000/50+2000 {
			t.Fatalf("second writer stats %+v, want 5000 stored from %d messages", s, 3000/50+2000)
		}
		// Nothing is left for a third generation.
		w3 := startWriter(t, ingest.WriterConfig{}, connect(t, b2, "writer-3"), st)
		time.Sleep(200 * time.Millisecond)
		if err := w3.stop(t); err != nil {
			t.Fatal(err)
		}
		if s := w3.w.Stats(); s.Messages != 0 {
			t.Fatalf("third writer got %+v", s)
		}
		if rows, rollup := p.totals(t); rows != 5500 || rollup != 5500 {
			t.Fatalf("stored %d, rollups %d after the third writer", rows, rollup)
		}
	})
}

// TestLineLifecycle: a line created by another process (the CLI while serve runs) is
// written to from its first message; the detections of a line deleted while they waited
// for their batch go to the DLQ as unknown_line instead of blocking the writer.
func TestLineLifecycle(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		cfg := e.Config(t)
		st, err := store.Open(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		p := newPlant(t, st, "acme", 1)
		b := newBus(t)
		pub := newPublisher(t, b)
		dl := subscribeDLQ(t, b, "acme")
		w := startWriter(t, ingest.WriterConfig{FlushInterval: 2 * time.Second, HoldPartial: true}, connect(t, b, "writer"), st)
		pub.publishAll(t, "acme", p.lines[0], dets(1, 10), 10, "a")
		testkit.CheckFor(t, waitLong, poll, func() error {
			r, _ := p.counts(t, p.lines[0])
			return testkit.Unless(r == 10, "first line holds %d of 10", r)
		})

		// Another process creates a line: this one's metadata cache never hears of it.
		other, err := store.Open(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		otdb, err := other.Tenant(ctx, p.tdb.ID())
		if err != nil {
			t.Fatal(err)
		}
		l2 := store.Line{Name: "New", DowntimeThresholdMS: 30000, IdealCycleTimeMS: 1000}
		if err := otdb.CreateLine(ctx, &l2); err != nil {
			t.Fatal(err)
		}
		pub.publishAll(t, "acme", l2.ID, dets(1, 7), 7, "b")
		testkit.CheckFor(t, waitLong, poll, func() error { r, _ := p.counts(t, l2.ID); return testkit.Unless(r == 7, "new line holds %d of 7", r) })

		// The line is deleted while a message of it waits for its batch.
		before := w.w.Stats().Messages
		pub.publishAll(t, "acme", l2.ID, dets(100, 5), 5, "c")
		testkit.CheckFor(t, waitLong, poll, func() error {
			n := w.w.Stats().Messages
			return testkit.Unless(n == before+1, "%d messages taken, want %d", n, before+1)
		})
		if err := p.tdb.DeleteLine(ctx, l2.ID); err != nil {
			t.Fatal(err)
		}
		testkit.CheckFor(t, waitLong, poll, func() error {
			return testkit.Unless(len(dl.all()) == 1, "dead letters %+v, want the deleted line's", dl.all())
		})
		if got := dl.all()[0]; got.Reason != detection.ReasonUnknownLine || got.Index != -1 || !strings.Contains(got.Raw, `"id":100`) {
			t.Fatalf("dead letter %+v", got)
		}
		// The writer goes on.
		pub.publishAll(t, "acme", p.lines[0], dets(11, 10), 10, "d")
		testkit.CheckFor(t, waitLong, poll, func() error {
			r, _ := p.counts(t, p.lines[0])
			return testkit.Unless(r == 20, "first line holds %d of 20", r)
		})
		testkit.CheckFor(t, waitLong, poll, func() error { return testkit.Unless(consumerIdle(t, b, ingest.DefaultDurable), "consumer not idle") })
		if len(dl.all()) != 1 {
			t.Fatalf("dead letters %+v", dl.all())
		}
	})
}

// TestWriterBehindJudgesAtAcceptance: a writer that handles messages hours after LinePulse
// accepted them (its clock runs 3 h ahead here) judges their timestamps as of acceptance,
// as the KPI engine does, so the database holds exactly what the live KPIs count: a
// detection near the retention horizon is stored, one past the future margin is not.
func TestWriterBehindJudgesAtAcceptance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		st := e.Open(t)
		p := newPlant(t, st, "acme", 1)
		line := p.lines[0]
		retention := p.tdb.Tenant().Config.RetentionDays
		b := newBus(t)
		pub := newPublisher(t, b)
		dl := subscribeDLQ(t, b, "acme")
		behind := 3 * time.Hour
		w := startWriter(t, ingest.WriterConfig{Clock: aheadClock{clock.Real, behind}}, connect(t, b, "writer"), st)

		// Inside the horizon when accepted (unless publishing took an hour), outside it
		// when judged by the writer's clock.
		published := time.Now().UTC()
		old := detection.Detection{ID: 1, At: published.AddDate(0, 0, -retention).Add(time.Hour).Truncate(time.Millisecond), Area: 1, Product: 1, OK: true}
		pub.publishRaw(t, bus.DetSubject("acme", line), detection.AppendJSON(nil, old))
		// Past the future margin when accepted (unless publishing took 30 minutes), inside
		// it by the writer's clock.
		published = time.Now().UTC()
		ahead := detection.Detection{ID: 2, At: published.Add(detection.MaxFuture + 30*time.Minute).Truncate(time.Millisecond), Area: 1, Product: 1, OK: true}
		pub.publishRaw(t, bus.DetSubject("acme", line), detection.AppendJSON(nil, ahead))

		testkit.CheckFor(t, waitLong, poll, func() error {
			return testkit.Unless(consumerIdle(t, b, ingest.DefaultDurable) && len(dl.all()) >= 1, "consumer not idle or no dead letter yet")
		})
		if got := dl.all(); len(got) != 1 || got[0].Reason != detection.ReasonInFuture || got[0].Index != 0 || !strings.Contains(got[0].Raw, `"id":2`) {
			t.Fatalf("dead letters %+v, want one in_future for id 2", got)
		}
		n, err := p.tdb.CountDetections(context.Background(), line, old.At, ahead.At.Add(time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		if s := w.w.Stats(); n != 1 || s.Stored != 1 || s.Rejected != 1 {
			t.Fatalf("%d rows, stats %+v: want the old detection stored and the future one rejected", n, s)
		}
		if err := w.stop(t); err != nil {
			t.Fatal(err)
		}
	})
}

// aheadClock is the real clock, running d ahead.
type aheadClock struct {
	clock.Clock
	d time.Duration
}

func (c aheadClock) Now() time.Time { return c.Clock.Now().Add(c.d) }

// TestFlushIntervalOnTheWritersClock: a partial batch waits FlushInterval on the writer's
// clock, and is written and acknowledged when that clock passes it.
func TestFlushIntervalOnTheWritersClock(t *testing.T) {
	st := storetest.Engines(t)[0].Open(t) // SQLite: the clock is the point, not the database
	p := newPlant(t, st, "acme", 1)
	b := newBus(t)
	pub := newPublisher(t, b)
	clk := clock.NewFake(time.Now())
	w := startWriter(t, ingest.WriterConfig{Clock: clk, FlushInterval: time.Hour, HoldPartial: true}, connect(t, b, "writer"), st)
	pub.publishAll(t, "acme", p.lines[0], dets(1, 10), 5, "f")
	testkit.CheckFor(t, waitLong, poll, func() error {
		n := w.w.Stats().Messages
		return testkit.Unless(n == 2, "%d of 2 messages taken", n)
	})
	// The keep-alive and lag tickers, and the line's flush timer.
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	if err := clk.BlockUntil(ctx, 3); err != nil {
		t.Fatalf("the line's flush timer is not set: %v", err)
	}
	clk.Advance(59 * time.Minute)
	if r, _ := p.counts(t, p.lines[0]); r != 0 {
		t.Fatalf("%d detections stored before the flush interval passed", r)
	}
	clk.Advance(time.Minute)
	testkit.CheckFor(t, waitLong, poll, func() error {
		r, _ := p.counts(t, p.lines[0])
		return testkit.Unless(r == 10 && consumerIdle(t, b, ingest.DefaultDurable), "stored %d of 10 (or the consumer is not idle)", r)
	})
	if s := w.w.Stats(); s.Batches != 1 {
		t.Fatalf("%d batches, want the 2 messages in 1", s.Batches)
	}
}

// TestFlushWhenCaughtUp: once the writer has taken every message the stream holds, a
// partial batch is written at once; FlushInterval (an hour, on a clock that never moves)
// only bounds the wait while a backlog is read. A backlog published before the writer
// starts is read in full batches first.
func TestFlushWhenCaughtUp(t *testing.T) {
	st := storetest.Engines(t)[0].Open(t) // SQLite: the flush policy is the point
	p := newPlant(t, st, "acme", 2)
	b := newBus(t)
	pub := newPublisher(t, b)
	pub.publishAll(t, "acme", p.lines[0], dets(1, 400), 10, "backlog")
	clk := clock.NewFake(time.Now())
	w := startWriter(t, ingest.WriterConfig{Clock: clk, FlushInterval: time.Hour, BatchSize: 100}, connect(t, b, "writer"), st)
	testkit.CheckFor(t, waitLong, poll, func() error {
		r, _ := p.counts(t, p.lines[0])
		return testkit.Unless(r == 400, "backlog: stored %d of 400", r)
	})
	if n := w.w.Stats().Batches; n != 4 {
		t.Fatalf("the backlog of 400 detections took %d batches, want 4 full ones of 100", n)
	}
	for i := range 3 {
		pub.publishAll(t, "acme", p.lines[1], dets(uint64(100*i+1), 7), 7, fmt.Sprint("live-", i))
		testkit.CheckFor(t, waitLong, poll, func() error {
			r, _ := p.counts(t, p.lines[1])
			return testkit.Unless(r == int64(7*(i+1)) && consumerIdle(t, b, ingest.DefaultDurable), "stored %d of %d (or not acknowledged)", r, 7*(i+1))
		})
	}
}
