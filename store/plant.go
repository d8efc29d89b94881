package store

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Line is a PRODUCTION_LINE. Durations are milliseconds (the *MS fields); availability,
// performance and quality are the line's OEE targets as fractions (0..1].
type Line struct {
	ID                  int64   `json:"id"`
	Name                string  `json:"name"`
	Description         string  `json:"description"`
	Availability        float64 `json:"availability"`
	Performance         float64 `json:"performance"`
	Quality             float64 `json:"quality"`
	DowntimeThresholdMS int64   `json:"downtime_threshold_ms"`
	IdealCycleTimeMS    int64   `json:"ideal_cycle_time_ms"`
	MicroStopMinMS      int64   `json:"micro_stop_min_ms"`
	Active              bool    `json:"active"`
	timestamps
}

// DowntimeThreshold is the line's threshold as a Duration.
func (l Line) DowntimeThreshold() time.Duration {
	return time.Duration(l.DowntimeThresholdMS) * time.Millisecond
}

// IdealCycleTime is the line's ideal cycle time as a Duration.
func (l Line) IdealCycleTime() time.Duration {
	return time.Duration(l.IdealCycleTimeMS) * time.Millisecond
}

func nameOK(s string, max int) bool { return strings.TrimSpace(s) != "" && len(s) <= max }

func (l *Line) validate() error {
	v := validator{entity: "line"}
	v.check(nameOK(l.Name, 200), "name", "is required (at most 200 characters)")
	v.check(len(l.Description) <= 4000, "description", "at most 4000 characters")
	for _, f := range []struct {
		name string
		val  float64
	}{{"availability", l.Availability}, {"performance", l.Performance}, {"quality", l.Quality}} {
		v.check(f.val > 0 && f.val <= 1, f.name, "target must be a fraction in (0, 1]")
	}
	v.check(l.DowntimeThresholdMS > 0, "downtime_threshold_ms", "must be greater than zero")
	v.check(l.DowntimeThresholdMS <= int64(24*time.Hour/time.Millisecond), "downtime_threshold_ms", "must be at most 24 h")
	v.check(l.IdealCycleTimeMS > 0, "ideal_cycle_time_ms", "must be greater than zero")
	v.check(l.MicroStopMinMS >= 0 && (l.MicroStopMinMS < l.DowntimeThresholdMS || l.DowntimeThresholdMS <= 0), "micro_stop_min_ms", "must be at least 0 and below the downtime threshold")
	return v.err()
}

// Area is a logical detection station of a line, with its rectangle on the plant map.
type Area struct {
	ID     int64   `json:"id"`
	LineID int64   `json:"line_id"`
	Name   string  `json:"name"`
	X1     float64 `json:"coord_x1"`
	Y1     float64 `json:"coord_y1"`
	X2     float64 `json:"coord_x2"`
	Y2     float64 `json:"coord_y2"`
	timestamps
}

func (a *Area) validate() error {
	v := validator{entity: "area"}
	v.check(a.LineID > 0, "line_id", "is required")
	v.check(nameOK(a.Name, 200), "name", "is required (at most 200 characters)")
	v.check(a.X1 <= a.X2 && a.Y1 <= a.Y2, "coord_x2", "the rectangle needs x1 <= x2 and y1 <= y2")
	return v.err()
}

// Product is a catalogue product; weight and colour feed the charts.
type Product struct {
	ID     int64   `json:"id"`
	Name   string  `json:"name"`
	SKU    string  `json:"sku"`
	Weight float64 `json:"product_weight"`
	Color  string  `json:"product_color"`
	// IdealCycleMS is the product's ideal cycle time; 0 = the line's (IdealCycle).
	IdealCycleMS int64 `json:"ideal_cycle_ms"`
	timestamps
}

// MaxIdealCycleMS bounds a product's ideal cycle time (one hour a unit).
const MaxIdealCycleMS = 3600 * 1000

// IdealCycle is the ideal cycle time of product on a line whose own is lineIdeal: the
// product's, else the line's (an unknown product, 0 included, runs at the line's).
func IdealCycle(lineIdeal time.Duration, products map[int64]Product, product int64) time.Duration {
	if p, ok := products[product]; ok && p.IdealCycleMS > 0 {
		return time.Duration(p.IdealCycleMS) * time.Millisecond
	}
	return lineIdeal
}

var colorRe = regexp.MustCompile(`^(#[0-9a-fA-F]{6})?$`)

func (p *Product) validate() error {
	v := validator{entity: "product"}
	v.check(nameOK(p.Name, 200), "name", "is required (at most 200 characters)")
	v.check(len(p.SKU) <= 64, "sku", "at most 64 characters")
	v.check(p.Weight >= 0, "product_weight", "must not be negative")
	v.check(colorRe.MatchString(p.Color), "product_color", "must be a #rrggbb colour")
	v.check(p.IdealCycleMS >= 0 && p.IdealCycleMS <= MaxIdealCycleMS, "ideal_cycle_ms", fmt.Sprintf("must be 0 (the line's) to %d ms", MaxIdealCycleMS))
	return v.err()
}

// Shift is a SHIFT definition in the tenant's local time. Its calendar semantics (days,
// rotations, breaks, overlap rules) are checked by stream/shiftcal before it is saved.
type Shift struct {
	ID              int64  `json:"id"`
	LineID          int64  `json:"line_id"` // 0 = every line
	Name            string `json:"name"`
	StartTime       string `json:"start_time"` // "HH:MM"
	EndTime         string `json:"end_time"`
	IsOvernight     bool   `json:"is_overnight"`
	DaysImplemented JSON   `json:"days_implemented"`
	Breaks          JSON   `json:"breaks"`
	Active          bool   `json:"active"`
	timestamps
}

var hhmmRe = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)

func (s *Shift) validate() error {
	v := validator{entity: "shift"}
	v.check(s.LineID >= 0, "line_id", "must be 0 (all lines) or a line id")
	v.check(nameOK(s.Name, 100), "name", "is required (at most 100 characters)")
	v.check(hhmmRe.MatchString(s.StartTime), "start_time", "must be HH:MM")
	v.check(hhmmRe.MatchString(s.EndTime), "end_time", "must be HH:MM")
	if len(s.DaysImplemented) == 0 {
		s.DaysImplemented = JSON("[1,2,3,4,5,6,7]")
	}
	if len(s.Breaks) == 0 {
		s.Breaks = JSON("[]")
	}
	v.check(json.Valid(s.DaysImplemented), "days_implemented", "must be JSON")
	v.check(json.Valid(s.Breaks), "breaks", "must be JSON")
	return v.err()
}

// Filter is a UI filter offered to the tenant's users.
type Filter struct {
	ID               int64  `json:"id"`
	Name             string `json:"name"`
	FilterType       string `json:"filter_type"`
	Field            string `json:"field"`
	DefaultValue     JSON   `json:"default_value"`
	AdditionalFilter JSON   `json:"additional_filter"`
	Position         int    `json:"position"`
	timestamps
}

func (f *Filter) validate() error {
	v := validator{entity: "filter"}
	v.check(nameOK(f.Name, 100), "name", "is required (at most 100 characters)")
	v.check(nameOK(f.FilterType, 32), "filter_type", "is required (at most 32 characters)")
	v.check(nameOK(f.Field, 64), "field", "is required (at most 64 characters)")
	if len(f.DefaultValue) == 0 {
		f.DefaultValue = JSON("null")
	}
	if len(f.AdditionalFilter) == 0 {
		f.AdditionalFilter = JSON("{}")
	}
	v.check(json.Valid(f.DefaultValue), "default_value", "must be JSON")
	v.check(json.Valid(f.AdditionalFilter), "additional_filter", "must be JSON")
	return v.err()
}

// Failure is an entry of the failure catalogue; its code is a downtime reason code.
type Failure struct {
	ID          int64  `json:"id"`
	Code        string `json:"code"`
	Name        string `json:"name"`
	TypeFailure JSON   `json:"type_failure"`
	Description string `json:"description"`
	// ParentID places the failure in the reason tree (category → reason, at most
	// MaxReasonDepth levels); 0 = a root. The API checks the parent exists and the depth.
	ParentID int64 `json:"parent_id,omitempty"`
	// Kind is ReasonUnplanned (default; its stops are availability loss) or ReasonPlanned
	// (its stops leave planned time: changeover, planned cleaning). Both are optional in a
	// PUT, so clients that predate the tree keep working: an absent kind keeps the old one.
	Kind string `json:"kind,omitempty"`
	timestamps
}

// Reason kinds of Failure.Kind.
const (
	ReasonUnplanned = "unplanned"
	ReasonPlanned   = "planned"
)

// MaxReasonDepth is how deep the reason tree goes (category → group → reason).
const MaxReasonDepth = 3

// Planned reports whether stops coded with f leave planned time.
func (f Failure) Planned() bool { return f.Kind == ReasonPlanned }

var codeRe = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,32}$`)

func (f *Failure) validate() error {
	v := validator{entity: "failure"}
	v.check(codeRe.MatchString(f.Code), "code", "must be 1-32 letters, digits, '_', '.' or '-'")
	v.check(nameOK(f.Name, 200), "name", "is required (at most 200 characters)")
	if len(f.TypeFailure) == 0 {
		f.TypeFailure = JSON("{}")
	}
	// Kind and the design document's type_failure.category say one thing: a request may
	// set either (Kind wins when both are set), and the stored category follows Kind.
	var tf map[string]any
	if err := json.Unmarshal(f.TypeFailure, &tf); err != nil || tf == nil {
		v.check(false, "type_failure", "must be a JSON object")
		return v.err()
	}
	if cat, _ := tf["category"].(string); f.Kind == "" && (cat == ReasonUnplanned || cat == ReasonPlanned) {
		f.Kind = cat
	}
	v.check(len(f.Description) <= 4000, "description", "at most 4000 characters")
	if f.Kind == "" {
		f.Kind = ReasonUnplanned
	}
	v.check(f.Kind == ReasonUnplanned || f.Kind == ReasonPlanned, "kind", "must be unplanned or planned")
	if tf["category"] != f.Kind {
		tf["category"] = f.Kind
		f.TypeFailure, _ = json.Marshal(tf)
	}
	v.check(f.ParentID >= 0 && (f.ParentID == 0 || f.ParentID != f.ID), "parent_id", "must be another failure's id or 0")
	return v.err()
}

// Incident is a maintenance record, optionally tied to a downtime event of its line.
type Incident struct {
	ID              int64      `json:"id"`
	LineID          int64      `json:"line_id"`
	DowntimeEventID int64      `json:"downtime_event_id"` // 0 = none
	FailureID       int64      `json:"failure_id"`        // 0 = none
	Title           string     `json:"title"`
	Description     string     `json:"description"`
	Solution        string     `json:"solution"`
	HasSolution     bool       `json:"has_solution"`
	ReportedBy      int64      `json:"reported_by"`
	OccurredAt      time.Time  `json:"occurred_at"`
	ResolvedAt      *time.Time `json:"resolved_at"`
	timestamps
}

func (i *Incident) validate() error {
	v := validator{entity: "incident"}
	v.check(i.LineID > 0, "line_id", "is required")
	v.check(nameOK(i.Title, 200), "title", "is required (at most 200 characters)")
	v.check(len(i.Description) <= 8000 && len(i.Solution) <= 8000, "description", "description and solution: at most 8000 characters each")
	v.check(i.DowntimeEventID >= 0 && i.FailureID >= 0, "downtime_event_id", "must not be negative")
	v.check(!i.HasSolution || strings.TrimSpace(i.Solution) != "", "solution", "is required when has_solution is true")
	if i.OccurredAt.IsZero() {
		i.OccurredAt = time.Now().UTC()
	}
	i.OccurredAt = i.OccurredAt.UTC().Truncate(time.Millisecond)
	return v.err()
}

// MonitorSample is one SYSTEM_MONITOR row: a vision node's health.
type MonitorSample struct {
	ID              int64     `json:"id"`
	Node            string    `json:"node"`
	RecordedAt      time.Time `json:"recorded_at"`
	CPUUsage        float64   `json:"cpu_usage"`
	RAMUsage        float64   `json:"ram_usage"`
	GPUTemp         float64   `json:"gpu_temp"`
	GPUMemUsedBytes int64     `json:"gpu_mem_used_bytes"`
	noStamps
}

func (m *MonitorSample) validate() error {
	v := validator{entity: "system_monitor"}
	v.check(nameOK(m.Node, 64), "node", "is required (at most 64 characters)")
	v.check(!m.RecordedAt.IsZero(), "recorded_at", "is required")
	v.check(m.CPUUsage >= 0 && m.RAMUsage >= 0 && m.GPUMemUsedBytes >= 0, "cpu_usage", "usages must not be negative")
	m.RecordedAt = m.RecordedAt.UTC().Truncate(time.Millisecond)
	return v.err()
}

// Camera is a physical camera (hardware id = name) attached to a vision node.
type Camera struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Node  string `json:"node"`
	Model string `json:"model"`
	timestamps
}

func (c *Camera) validate() error {
	v := validator{entity: "camera"}
	v.check(nameOK(c.Name, 64), "name", "is required (at most 64 characters)")
	v.check(len(c.Node) <= 64 && len(c.Model) <= 100, "node", "node at most 64, model at most 100 characters")
	return v.err()
}

// CameraArea maps a camera (hardware) to an area (logical), with a status.
type CameraArea struct {
	ID       int64  `json:"id"`
	CameraID int64  `json:"camera_id"`
	AreaID   int64  `json:"area_id"`
	Status   string `json:"status"`
	timestamps
}

func (c *CameraArea) validate() error {
	v := validator{entity: "camera_area"}
	v.check(c.CameraID > 0, "camera_id", "is required")
	v.check(c.AreaID > 0, "area_id", "is required")
	if c.Status == "" {
		c.Status = "active"
	}
	v.check(c.Status == "active" || c.Status == "inactive" || c.Status == "maintenance", "status", "must be active, inactive or maintenance")
	return v.err()
}

// CameraControlEvent records an action taken on a camera (audit of hardware).
type CameraControlEvent struct {
	ID         int64     `json:"id"`
	CameraID   int64     `json:"camera_id"`
	UserID     int64     `json:"user_id"`
	Action     string    `json:"action"`
	Reason     string    `json:"reason"`
	GPUUsage   float64   `json:"gpu_usage"`
	OccurredAt time.Time `json:"occurred_at"`
	noStamps
}

func (c *CameraControlEvent) validate() error {
	v := validator{entity: "camera_control_event"}
	v.check(c.CameraID > 0, "camera_id", "is required")
	v.check(nameOK(c.Action, 64), "action", "is required (at most 64 characters)")
	v.check(len(c.Reason) <= 2000, "reason", "at most 2000 characters")
	v.check(c.GPUUsage >= 0, "gpu_usage", "must not be negative")
	if c.OccurredAt.IsZero() {
		c.OccurredAt = time.Now().UTC()
	}
	c.OccurredAt = c.OccurredAt.UTC().Truncate(time.Millisecond)
	return v.err()
}

// MonitorSamples lists a node's SYSTEM_MONITOR rows recorded in [from, to), oldest first,
// at most limit (1..10000).
func (t *TenantDB) MonitorSamples(ctx context.Context, node string, from, to time.Time, limit int) ([]MonitorSample, error) {
	limit = min(max(limit, 1), 10000)
	rows, err := t.db.QueryContext(ctx, "SELECT `id`, `node`, `recorded_at`, `cpu_usage`, `ram_usage`, `gpu_temp`, `gpu_mem_used_bytes` FROM `system_monitor` "+
		"WHERE `node` = ? AND `recorded_at` >= ? AND `recorded_at` < ? ORDER BY `recorded_at` LIMIT ?", node, from.UTC(), to.UTC(), limit)
	if err != nil {
		return nil, fmt.Errorf("store: cannot read telemetry of node %q: %w", node, err)
	}
	defer rows.Close()
	out := []MonitorSample{}
	for rows.Next() {
		var m MonitorSample
		if err := rows.Scan(&m.ID, &m.Node, &m.RecordedAt, &m.CPUUsage, &m.RAMUsage, &m.GPUTemp, &m.GPUMemUsedBytes); err != nil {
			return nil, fmt.Errorf("store: cannot read telemetry of node %q: %w", node, err)
		}
		m.RecordedAt = m.RecordedAt.UTC()
		out = append(out, m)
	}
	return out, rows.Err()
}

// IncidentsIn lists the incidents of a line that occurred in [from, to), oldest first
// (at most MaxPageSize: a report shows a shift's or a day's).
func (t *TenantDB) IncidentsIn(ctx context.Context, lineID int64, from, to time.Time) ([]Incident, error) {
	list, err := t.Incidents.tab.list(ctx, t.db, "`line_id` = ? AND `occurred_at` >= ? AND `occurred_at` < ?",
		[]any{lineID, from.UTC(), to.UTC()}, Page{Limit: MaxPageSize})
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(list, func(a, b Incident) int { return a.OccurredAt.Compare(b.OccurredAt) })
	return list, nil
}
