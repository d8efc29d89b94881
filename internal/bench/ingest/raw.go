package ingest

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/linepulse/linepulse/ingest/sim"
	"github.com/linepulse/linepulse/store"
)

// fsyncRate measures how many small appends followed by fsync the disk under dir takes
// per second: JetStream's bound when it syncs every message before acknowledging it.
func fsyncRate(dir string, d time.Duration) (float64, error) {
	f, err := os.CreateTemp(dir, "fsync-probe-*")
	if err != nil {
		return 0, fmt.Errorf("bench ingest: fsync probe: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	rec := make([]byte, 2500) // about a 50-detection message
	n, start := 0, time.Now()
	for time.Since(start) < d {
		if _, err := f.Write(rec); err != nil {
			return 0, fmt.Errorf("bench ingest: fsync probe: %w", err)
		}
		if err := f.Sync(); err != nil {
			return 0, fmt.Errorf("bench ingest: fsync probe: %w", err)
		}
		n++
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// rawCeiling replays phase 1's detections (same generator, seed and start) into the twin
// lines with store.WriteDetections, in batches of the writer's size, from as many
// goroutines as the writer has connections (each owns a share of the lines, as the
// writer never writes one line twice at once), through the same kind of dedicated
// pool. No NATS in the path. It stops after the same number of rows, or once --duration
// has passed: then no new batch starts, but the batches in flight commit and count, and
// every goroutine commits at least one batch. Cutting batches off at the deadline
// instead measured 0 rows on a loaded machine, when a first batch took longer than a
// short --duration.
func (r *benchRun) rawCeiling() error {
	pool, err := r.tdb.NewWriterPool(r.ctx, r.cfg.Pool)
	if err != nil {
		return err
	}
	defer pool.Close()
	type result struct {
		rows int64
		err  error
	}
	results := make(chan result, r.cfg.Pool)
	cpu0 := processCPU()
	began := time.Now()
	stopAt := began.Add(r.cfg.Duration)
	for g := range r.cfg.Pool {
		var lines []rawLine
		for i := g; i < len(r.raw); i += r.cfg.Pool {
			lines = append(lines, rawLine{id: r.raw[i], rows: share(r.res.Detections, len(r.raw), i)})
		}
		go func() {
			n, err := r.rawWorker(pool, lines, stopAt)
			results <- result{n, err}
		}()
	}
	var rows int64
	var all []error
	for range r.cfg.Pool {
		res := <-results
		rows += res.rows
		all = append(all, res.err)
	}
	elapsed := time.Since(began)
	r.res.RawCPUPerRowUS, r.res.RawCPUCores = cpuUse(processCPU()-cpu0, rows, elapsed)
	if err := errors.Join(all...); err != nil {
		return fmt.Errorf("bench ingest: raw insert: %w", err)
	}
	r.res.RawRows = rows
	r.res.RawPerSec = float64(rows) / elapsed.Seconds()
	r.res.rawBatch, r.res.rawLines = r.cfg.WriterBatch, len(r.raw)
	r.log.Info("bench ingest: raw ceiling done", "rows", rows, "rows_per_s", int(r.res.RawPerSec))
	return nil
}

// rawLine is a twin line and the rows the raw phase writes into it.
type rawLine struct {
	id   int64
	rows int64
}

// share is line i's part of total rows spread over n lines: all of them, as evenly as
// they go.
func share(total int64, n, i int) int64 {
	part := total / int64(n)
	if int64(i) < total%int64(n) {
		part++
	}
	return part
}

// rawWorker writes each line's rows, batch by batch, round-robin over the lines, until
// done or, after its first batch, stopAt; it returns the rows inserted.
func (r *benchRun) rawWorker(pool *store.WriterPool, lines []rawLine, stopAt time.Time) (int64, error) {
	type gen struct {
		rawLine
		g    *sim.Generator
		done int64
	}
	var gens []*gen
	for _, l := range lines {
		sg, err := sim.NewGenerator(benchSpec(l.id, fastRate), 1, r.start, 1)
		if err != nil {
			return 0, err
		}
		gens = append(gens, &gen{rawLine: l, g: sg})
	}
	var n int64
	batch := make([]store.Detection, 0, r.cfg.WriterBatch)
	for active := true; active; {
		active = false
		for _, x := range gens {
			if x.done >= x.rows {
				continue
			}
			active = true
			batch = batch[:0]
			for ; len(batch) < r.cfg.WriterBatch && x.done < x.rows; x.done++ {
				d, _ := x.g.Next()
				batch = append(batch, d)
			}
			res, err := r.tdb.WriteDetections(r.ctx, pool, x.id, batch)
			if err != nil {
				return n, err
			}
			n += int64(res.Inserted)
			if time.Now().After(stopAt) {
				return n, nil // --duration is up
			}
		}
	}
	return n, nil
}
