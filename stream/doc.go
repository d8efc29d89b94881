// Package stream turns the detection stream into what operators and supervisors look at.
//
// It owns the live KPI/OEE and downtime engine (Engine: a deterministic fold over the
// LP_DET JetStream stream, publishing lp.<tenant>.line.<line>.kpi and .downtime and the
// LP_KPI snapshots), the history queries of the API (History: production, OEE and downtime
// from the minute rollups and the booked events), and the validation of shift
// configuration (ValidateShifts). The arithmetic lives in stream/oee and the shift
// calendar in stream/shiftcal, both pure.
//
// Downtime is decided by event time (a gap between consecutive detections longer than the
// line's threshold, clipped to planned production time; one event per gap and shift
// instance), so a live run, a replay and a late backfill of the same detections book the
// same events. The live "line stopped" alert fires on the wall clock.
package stream
