package stream

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/linepulse/linepulse/detection"
)

// Names of the NATS key-value buckets the engine uses.
const (
	// KPIBucket holds the latest KPI update of every line under KPIKey, the same bytes
	// that were published on lp.<tenant>.line.<line>.kpi. The hub reads it for snapshots.
	KPIBucket = "LP_KPI"
	// CheckpointBucket holds the engine's checkpoint (one key per line, plus "seq").
	CheckpointBucket = "LP_ENGINE"
	// PublishedAtHeader carries the publish time (Unix nanoseconds, decimal) on every kpi
	// and downtime message, for latency measurements.
	PublishedAtHeader = "Lp-Published-At"
)

// KPIKey is the LP_KPI key of a line: "<tenant>.<line>".
func KPIKey(tenant string, line int64) string { return tenant + "." + strconv.FormatInt(line, 10) }

// Line states of a KPI update.
const (
	StateRunning     = "running"      // planned time, producing
	StateDown        = "down"         // planned time, a stop is running
	StatePlannedStop = "planned_stop" // inside a planned break
	StateNoData      = "no_data"      // planned time, and the line has sent no detection yet
	StateOffline     = "offline"      // planned time, and every vision node of the line is silent
	StateNoShift     = "no_shift"     // outside every shift
)

// Downtime event states of a downtime message.
const (
	DowntimeStarted = "started" // live alert: the line stopped (the event is open)
	DowntimeEnded   = "ended"   // the event is booked with its end and duration
	// DowntimeCancelled withdraws a "started" alert that late detections proved false
	// (the edge was offline and uploaded what it had buffered), or a booked event (with
	// its id) that the re-booking after late detections found was no stop. It is rare.
	DowntimeCancelled = "cancelled"
)

// KPIUpdate is the message on lp.<tenant>.line.<line>.kpi (binding contract between the
// engine, the hub and WebSocket clients): the exact JSON a client receives, "type" first.
type KPIUpdate struct {
	Type               string        `json:"type"` // "kpi"
	Line               int64         `json:"line"`
	Seq                uint64        `json:"seq"`
	At                 Time          `json:"at"`
	Shift              *KPIShift     `json:"shift"`
	State              string        `json:"state"`
	Counts             Counts        `json:"counts"`
	RatePerMin         float64       `json:"rate_per_min"`
	Availability       float64       `json:"availability"`
	Performance        float64       `json:"performance"`
	Quality            float64       `json:"quality"`
	OEE                float64       `json:"oee"`
	PerformanceOver100 bool          `json:"performance_over_100"`
	PlannedS           float64       `json:"planned_s"`
	RunS               float64       `json:"run_s"`
	DowntimeS          float64       `json:"downtime_s"`
	UnmonitoredS       float64       `json:"unmonitored_s"`
	OpenDowntime       *OpenDowntime `json:"open_downtime"`
	MicroStops         int64         `json:"micro_stops"`
	// MicroStopS is the time the micro-stops lost (docs/LOSSES.md).
	MicroStopS float64 `json:"micro_stop_s"`
	// PlannedStopS is the time of stops coded with a planned reason: outside PlannedS.
	PlannedStopS float64 `json:"planned_stop_s"`
	// Target is the shift instance's planned quantity of good units (0: none), TargetToNow
	// its share for the planned time elapsed (docs/OEE.md, "Targets").
	Target      int64          `json:"target,omitempty"`
	TargetToNow int64          `json:"target_to_now,omitempty"`
	Products    []ProductCount `json:"products"`
	Areas       []AreaCount    `json:"areas"`
	StreamSeq   uint64         `json:"stream_seq"`
}

// OpenDowntime is the line's running stop in a KPI update, so a page opened in the middle
// of a stop shows it: Start is where the stop's downtime begins (the same start as the
// "started" downtime message), ElapsedS the wall-clock seconds from Start to the update.
type OpenDowntime struct {
	Start    Time    `json:"start"`
	ElapsedS float64 `json:"elapsed_s"`
}

// KPIShift is the shift instance a KPI update covers.
type KPIShift struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Start Time   `json:"start"`
	End   Time   `json:"end"`
}

// Counts are units made: Reject = Total − Good.
type Counts struct {
	Total  int64 `json:"total"`
	Good   int64 `json:"good"`
	Reject int64 `json:"reject"`
}

// ProductCount is one product's share of a period, named from the metadata cache.
type ProductCount struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Color string `json:"color"`
	Count int64  `json:"count"`
}

// AreaCount is one area's detections in a period.
type AreaCount struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Count int64  `json:"count"`
}

// DowntimeMessage is the message on lp.<tenant>.line.<line>.downtime. Seq is taken from
// the same per-line counter as KPIUpdate.Seq.
type DowntimeMessage struct {
	Type  string          `json:"type"` // "downtime"
	Line  int64           `json:"line"`
	Seq   uint64          `json:"seq"`
	Event DowntimeMsgBody `json:"event"`
}

// DowntimeMsgBody is the event of a DowntimeMessage. ID is the row id in
// downtime_events_line_<id>, or 0 when it is not stored yet (always 0 for "started" until
// the database answered, and while the database is down).
type DowntimeMsgBody struct {
	ID         int64  `json:"id"`
	State      string `json:"state"`
	Start      Time   `json:"start"`
	End        *Time  `json:"end"`
	DurationMS int64  `json:"duration_ms"`
	ReasonCode string `json:"reason_code"`
	// NodeOffline marks a stop that began while the line's vision nodes were silent: the
	// line may have run unseen.
	NodeOffline bool `json:"node_offline,omitempty"`
}

// Time marshals as RFC 3339 in UTC with exactly three fraction digits
// ("2026-01-07T06:00:00.000Z"), the format of every time in the live messages.
type Time time.Time

// MarshalJSON implements json.Marshaler.
func (t Time) MarshalJSON() ([]byte, error) {
	b := append(make([]byte, 0, 32), '"')
	b = detection.AppendTime(b, time.Time(t))
	return append(b, '"'), nil
}

// UnmarshalJSON implements json.Unmarshaler (any RFC 3339 time).
func (t *Time) UnmarshalJSON(b []byte) error {
	var v time.Time
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*t = Time(v.UTC())
	return nil
}

// Time returns the value as a time.Time.
func (t Time) Time() time.Time { return time.Time(t) }
