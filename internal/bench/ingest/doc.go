// Package ingest is `linepulse bench ingest`: how many detections per second the whole
// ingest path (device → NATS → JetStream → writer → database) commits, against the
// ceiling of the database alone, and how long a detection takes from publish to commit.
//
// Run works on throwaway state: a temporary directory (JetStream store, SQLite files), a
// tenant with Config.Lines lines plus as many twin lines, all removed afterwards (on
// MySQL the tenant database is dropped). The edge judges every device message before
// storing it (ingest.Admission, as `linepulse serve` configures it). It runs, in order:
//
//   - the disk probe (with SyncAlways): appends and fsyncs in the JetStream directory
//     for a second. With an fsync per message this would bound durable publishing at
//     about fsync/s × Batch detections/s; the ingest edge shares one fsync among every
//     message waiting (group commit), and the report's "acknowledged" line says how
//     many messages/s were acknowledged, as a multiple of that fsync rate, and how many
//     messages each of the edge's writes held.
//   - phase 1, throughput: Publishers simulated devices publish flat out for Duration
//     (from when they are connected), each keeping Window messages unacknowledged; then
//     the bench waits until the writer has committed every acknowledged detection and
//     checks the database holds each once. End-to-end = detections / (last commit −
//     first publish). It also reports the writer's commit rate while the publishers ran
//     and while it drained what they left.
//   - phase 2, latency: publishing paced at LatencyShare of the end-to-end rate for
//     LatencyDuration, polling each line's minute rollups every 10 ms; a message is
//     committed once its line's count covers its last detection. p50/p99 of publish →
//     commit.
//   - phase 3, the raw ceiling: phase 1's detections replayed into the twin lines with
//     store.WriteDetections in batches of WriterBatch, from Pool goroutines over as many
//     connections, no NATS. It ends when every row is written or, after Duration, when
//     the batches in flight have committed (each goroutine commits at least one), so it
//     always measures committed rows.
//
// Phases 1 and 2 also report stage timings (bus.Config.Observe,
// ingest.WriterConfig.Observe), p50/p99 per stage: edge.gather (a group's oldest message
// waiting for its write to start), edge.store (the atomic batch publish until the
// stream's answer), writer.deliver (stream time until the writer took the message),
// writer.queue (a batch's oldest message waiting for its flush) and writer.commit (the
// database write, connection wait included). --cpuprofile writes a CPU profile of phase 1.
//
// Phase 1 and phase 3 also report this process's CPU time (getrusage) per detection and
// the cores it kept busy: everything but a MySQL server's own work. On a machine where
// both phases use every core, the ratio cannot exceed the raw phase's CPU per row over
// phase 1's CPU per detection (each including the database server's).
//
// # Output
//
// Text: one line per phase, then the summary, the last line, whose shape is a contract
// (scripts and tests read it):
//
//	ingest: <n> detections/s end-to-end, raw insert <n> rows/s, ratio <x.xx>, p99 commit latency <n> ms
//
// ratio = end-to-end / raw: how close the pipeline comes to the database's own speed.
// A report never shows +Inf or NaN: a rate with nothing to divide by is named instead
// ("no ratio (the raw phase committed no row)"). With Format "json" the output is one
// Result object (ratio 0 when undefined) with the same figures and the summary line.
package ingest
