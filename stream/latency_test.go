package stream

import (
	"context"
	"encoding/json"
	"flag"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/linepulse/linepulse/bus"
	"github.com/linepulse/linepulse/detection"
	"github.com/linepulse/linepulse/internal/testkit"
	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/store/storetest"
)

var (
	stopLoad  = flag.Int("stop-load", 20000, "BenchmarkStopLatency: background detections per second on other lines")
	stopCount = flag.Int("stop-count", 100, "BenchmarkStopLatency: stops measured per iteration")
)

// BenchmarkStopLatency measures the "line stopped" alert: for each of -stop-count lines,
// live detections every 50 ms then silence; the latency of a stop is the alert's publish
// time (its Lp-Published-At header) minus (last detection + threshold). Meanwhile other
// lines receive -stop-load detections a second (batched as edges send them), so the engine
// is folding while its timers fire. Reports p50, p99 and max in ms. Run with
//
//	go test ./stream -run '^$' -bench StopLatency -benchtime 1x [-stop-load 20000]
func BenchmarkStopLatency(b *testing.B) {
	const threshold = time.Second
	e := storetest.Engines(b)[0] // SQLite: the database is not on this path
	r := newRig(b, e, rigOpts{tz: "UTC", shifts: shiftAllDay(), lines: *stopCount + 4, threshold: threshold, micro: 100 * time.Millisecond, ideal: 10 * time.Millisecond})
	r.start(Config{Heartbeat: time.Second})
	testkit.CheckFor(b, waitLong, poll, func() error {
		return testkit.Unless(r.seen.kpis(r.lines[len(r.lines)-1].ID) > 0, "the engine does not know the lines yet")
	})

	// Alerts, by line: publish time minus (start + threshold).
	var mu sync.Mutex
	lat := map[int64]time.Duration{}
	sub, err := r.nc.Subscribe("lp.acme.line.*.downtime", func(m *nats.Msg) {
		pub, err := strconv.ParseInt(m.Header.Get(PublishedAtHeader), 10, 64)
		if err != nil {
			b.Errorf("bad %s header", PublishedAtHeader)
			return
		}
		var d DowntimeMessage
		if err := json.Unmarshal(m.Data, &d); err != nil || d.Event.State != DowntimeStarted {
			return
		}
		mu.Lock()
		lat[d.Line] = time.Unix(0, pub).Sub(d.Event.Start.Time().Add(threshold))
		mu.Unlock()
	})
	if err != nil {
		b.Fatal(err)
	}
	defer sub.Unsubscribe()

	var all []time.Duration
	var loadSent atomic.Int64
	for b.Loop() {
		clear(lat)
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		// Background load on the last 4 lines: 500 detections a message, paced.
		load := r.lines[len(r.lines)-4:]
		wg.Add(1)
		go func() {
			defer wg.Done()
			if *stopLoad <= 0 {
				return
			}
			perMsg := 500
			tick := time.NewTicker(time.Second * time.Duration(perMsg) / time.Duration(*stopLoad))
			defer tick.Stop()
			var id uint64
			for i := 0; ; i++ {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				now := time.Now().UTC()
				buf := []byte{'['}
				for j := range perMsg {
					id++
					if j > 0 {
						buf = append(buf, ',')
					}
					buf = detection.AppendJSON(buf, store.Detection{ID: id, At: now.Add(-time.Duration(perMsg-j) * time.Microsecond).Truncate(time.Millisecond), Area: 1, Product: 1, OK: true})
				}
				buf = append(buf, ']')
				if _, err := r.js.PublishAsync(bus.DetSubject("acme", load[i%4].ID), buf); err != nil {
					b.Error(err)
					return
				}
				loadSent.Add(int64(perMsg))
			}
		}()
		// The measured lines: stops spread over the run.
		for i, l := range r.lines[:*stopCount] {
			wg.Add(1)
			go func() {
				defer wg.Done()
				time.Sleep(time.Duration(i) * 37 * time.Millisecond)
				for k := range 10 {
					d := store.Detection{ID: uint64(k + 1), At: time.Now().UTC().Truncate(time.Millisecond), Area: 1, Product: 1, OK: true}
					if err := r.nc.Publish(bus.DetSubject("acme", l.ID), detection.AppendJSON(nil, d)); err != nil {
						b.Error(err)
					}
					time.Sleep(50 * time.Millisecond)
				}
			}()
		}
		testkit.CheckFor(b, waitLong, poll, func() error {
			mu.Lock()
			defer mu.Unlock()
			return testkit.Unless(len(lat) == *stopCount, "%d of %d stop alerts", len(lat), *stopCount)
		})
		cancel()
		wg.Wait()
		mu.Lock()
		for _, d := range lat {
			all = append(all, d)
		}
		mu.Unlock()
	}
	slices.Sort(all)
	q := func(p float64) time.Duration { return all[min(len(all)-1, int(p*float64(len(all))))] }
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(q(0.5)), "p50-ms")
	b.ReportMetric(ms(q(0.99)), "p99-ms")
	b.ReportMetric(ms(all[len(all)-1]), "max-ms")
	b.Logf("%d stops, threshold %v, background %d det/s (%d sent): p50 %.1f ms, p99 %.1f ms, max %.1f ms after last detection + threshold",
		len(all), threshold, *stopLoad, loadSent.Load(), ms(q(0.5)), ms(q(0.99)), ms(all[len(all)-1]))
}
