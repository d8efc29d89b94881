// Package query is `linepulse bench query`: how much faster the history API answers
// from the minute rollups than from the raw detection table, and whether both give the
// same answers.
//
// Run opens the store of Config (MySQL/MariaDB is the target; SQLite works), then:
//
//   - load: a tenant (Config.Tenant, time zone Europe/Madrid, three 8-hour shifts with a
//     15-minute break each) with one line, and Days of detections at Rate per second
//     up to the last full hour, written through the writer's bulk path
//     (store.WriteDetections: rows and rollups in one transaction, Batch per
//     transaction) with a few stops and micro-stops a day, booking the downtime events
//     the engine would book. What was loaded is kept in the line's description, so a
//     later run with the same Days and Rate reuses it; Reload starts over.
//   - hourly production over the whole range: from the rollups (median of Runs) and from
//     the raw table (once).
//   - OEE of the last Shifts finished shift instances: from the rollups (median of Runs)
//     and recomputed from the raw table alone (one scan, the downtime rule replayed).
//
// # Output
//
// Text, three lines: what is loaded (and how fast it loaded), then per query the
// rollup and raw times, the speed-up ("<n>x faster") and "answers agree: yes|NO".
// With Format "json", one object with the same figures. Run fails when the answers
// disagree.
package query
