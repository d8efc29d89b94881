package ingest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/linepulse/linepulse/ingest"
	"github.com/linepulse/linepulse/store/storetest"
)

// The writer's defaults come from these two benchmarks (figures in the package report):
//
//	LINEPULSE_TEST_MYSQL_DSN='root@tcp(127.0.0.1:42657)/' \
//	  go test ./ingest -run '^$' -bench 'BenchmarkWriter' -benchtime 3x
//
// BenchmarkWriterFlush is the store's cost per batch size (one line, one connection):
// where rows/s stops growing is the smallest batch size that is not wasteful.
// BenchmarkWriter is the whole writer draining a JetStream backlog of 8 lines × 20,000
// detections in messages of 50, per BatchSize and PoolSize: published → committed.

// BenchmarkWriterFlush measures tdb.WriteDetections per batch size.
func BenchmarkWriterFlush(b *testing.B) {
	for _, e := range storetest.Engines(b) {
		for _, size := range []int{100, 250, 500, 1000, 2000, 4000, 8000} {
			b.Run(fmt.Sprintf("%s/batch=%d", e.Name, size), func(b *testing.B) {
				ctx := context.Background()
				st := e.Open(b)
				p := newPlant(b, st, "bench", 1)
				pool, err := p.tdb.NewWriterPool(ctx, 1)
				if err != nil {
					b.Fatal(err)
				}
				defer pool.Close()
				next := uint64(1)
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					batch := dets(next, size)
					next += uint64(size)
					if _, err := p.tdb.WriteDetections(ctx, pool, p.lines[0], batch); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "rows/s")
			})
		}
	}
}

// BenchmarkWriter measures the writer end to end on a backlog of 8 lines, per
// BatchSize, PoolSize, MaxAckPending and detections per message.
func BenchmarkWriter(b *testing.B) {
	const lines = 8
	type variant struct{ batch, pool, ackPending, perMsg, perLine int }
	variants := []variant{
		{500, 2, 50000, 50, 20000}, {1000, 2, 50000, 50, 20000}, {2000, 2, 50000, 50, 20000}, {4000, 2, 50000, 50, 20000},
		{2000, 1, 50000, 50, 20000}, {2000, 4, 50000, 50, 20000},
		{2000, 2, 50000, 1, 5000}, {2000, 2, 10000, 1, 5000},
	}
	for _, e := range storetest.Engines(b) {
		for _, v := range variants {
			name := fmt.Sprintf("%s/batch=%d/pool=%d/ackpending=%d/msg=%d", e.Name, v.batch, v.pool, v.ackPending, v.perMsg)
			b.Run(name, func(b *testing.B) {
				st := e.Open(b)
				p := newPlant(b, st, "bench", lines)
				bs := newBus(b)
				pub := newPublisher(b, bs)
				cfg := ingest.WriterConfig{BatchSize: v.batch, PoolSize: v.pool, MaxAckPending: v.ackPending, Durable: "bench"}
				next := uint64(1)
				var stored uint64
				var elapsed time.Duration
				for i := range b.N {
					b.StopTimer()
					for _, l := range p.lines {
						pub.publishAll(b, "bench", l, dets(next, v.perLine), v.perMsg, fmt.Sprint("it", i))
					}
					next += uint64(v.perLine)
					b.StartTimer()
					start := time.Now()
					r := startWriter(b, cfg, connect(b, bs, "writer"), st)
					for r.w.Stats().Stored < uint64(lines*v.perLine) {
						if time.Since(start) > 5*time.Minute {
							b.Fatal("writer did not drain the backlog")
						}
						time.Sleep(time.Millisecond)
					}
					elapsed += time.Since(start)
					b.StopTimer()
					stored += r.w.Stats().Stored
					if err := r.stop(b); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
				b.ReportMetric(float64(stored)/elapsed.Seconds(), "det/s")
			})
		}
	}
}
