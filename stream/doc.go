// Package stream turns the detection stream into what operators and supervisors look at.
//
// It owns the live KPI/OEE and downtime engine (Engine: a deterministic fold over the
// LP_DET JetStream stream, publishing lp.<tenant>.line.<line>.kpi and .downtime and the
// LP_KPI snapshots), the history queries of the API (History: production, OEE and downtime
// from the minute rollups and the booked events), and the validation of shift
// configuration (ValidateShifts). The arithmetic lives in stream/oee and the shift
// calendar in stream/shiftcal, both pure.
//
// The engine is a loop (engine.go) that folds detections, fires the lines' timers and
// publishes; its registry (registry.go) holds the tenants and lines it folds and keeps them
// in step with the plant model (store.OnChange, a refresh every MetaRefresh, a lookup for
// detections of an unknown line); persist.go books downtime events and checkpoints.
//
// Downtime is decided by event time (a gap between consecutive detections longer than the
// line's threshold, clipped to planned production time; one event per gap and shift
// instance), so a live run, a replay and a late backfill of the same detections book the
// same events. The live "line stopped" alert fires on the engine's clock (Config.Clock: the
// wall clock in production, a fake clock that tests move), which also drives every timer,
// ticker and retry of the engine.
package stream
