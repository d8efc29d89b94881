package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
)

// TenantDB is one tenant's database: its plant model and per-line tables.
type TenantDB struct {
	s  *Store
	db *sql.DB

	mu     sync.RWMutex
	tenant Tenant

	lines *table[Line]

	Areas       Collection[Area, *Area]
	Products    Collection[Product, *Product]
	Shifts      Collection[Shift, *Shift]
	Filters     Collection[Filter, *Filter]
	Failures    Collection[Failure, *Failure]
	Incidents   Collection[Incident, *Incident]
	Monitor     Collection[MonitorSample, *MonitorSample]
	Cameras     Collection[Camera, *Camera]
	CameraAreas Collection[CameraArea, *CameraArea]
	CameraLog   Collection[CameraControlEvent, *CameraControlEvent]

	AlertChannels Collection[AlertChannel, *AlertChannel]
	AlertRules    Collection[AlertRule, *AlertRule]
	alerting      alertTables
	// ReportSchedules are the scheduled report mails; reportDeliveries their occurrences.
	ReportSchedules  Collection[ReportSchedule, *ReportSchedule]
	reportDeliveries *table[ReportDelivery]
}

func newTenantDB(s *Store, ten Tenant, db *sql.DB) *TenantDB {
	d := s.d
	t := &TenantDB{s: s, db: db, tenant: ten}
	t.lines = newTable(d, "production_line", []string{"name", "description", "availability", "performance", "quality", "downtime_threshold", "ideal_cycle_time", "micro_stop_min", "active", "created_at", "updated_at"},
		func(l *Line) *int64 { return &l.ID },
		func(l *Line) []any {
			return []any{&l.Name, &l.Description, &l.Availability, &l.Performance, &l.Quality, &l.DowntimeThresholdMS, &l.IdealCycleTimeMS, &l.MicroStopMinMS, &l.Active, &l.CreatedAt, &l.UpdatedAt}
		})
	t.Areas = Collection[Area, *Area]{t: t, byLine: true, model: true, tab: newTable(d, "area", []string{"line_id", "name", "coord_x1", "coord_y1", "coord_x2", "coord_y2", "created_at", "updated_at"},
		func(a *Area) *int64 { return &a.ID },
		func(a *Area) []any {
			return []any{&a.LineID, &a.Name, &a.X1, &a.Y1, &a.X2, &a.Y2, &a.CreatedAt, &a.UpdatedAt}
		})}
	t.Products = Collection[Product, *Product]{t: t, model: true, tab: newTable(d, "product", []string{"name", "sku", "product_weight", "product_color", "ideal_cycle_ms", "created_at", "updated_at"},
		func(p *Product) *int64 { return &p.ID },
		func(p *Product) []any {
			return []any{&p.Name, &p.SKU, &p.Weight, &p.Color, &p.IdealCycleMS, &p.CreatedAt, &p.UpdatedAt}
		})}
	t.Shifts = Collection[Shift, *Shift]{t: t, byLine: true, model: true, tab: newTable(d, "shift", []string{"line_id", "name", "start_time", "end_time", "is_overnight", "days_implemented", "breaks", "active", "created_at", "updated_at"},
		func(s *Shift) *int64 { return &s.ID },
		func(s *Shift) []any {
			return []any{&s.LineID, &s.Name, &s.StartTime, &s.EndTime, &s.IsOvernight, &s.DaysImplemented, &s.Breaks, &s.Active, &s.CreatedAt, &s.UpdatedAt}
		})}
	t.Filters = Collection[Filter, *Filter]{t: t, tab: newTable(d, "filter", []string{"name", "filter_type", "field", "default_value", "additional_filter", "position", "created_at", "updated_at"},
		func(f *Filter) *int64 { return &f.ID },
		func(f *Filter) []any {
			return []any{&f.Name, &f.FilterType, &f.Field, &f.DefaultValue, &f.AdditionalFilter, &f.Position, &f.CreatedAt, &f.UpdatedAt}
		})}
	t.Failures = Collection[Failure, *Failure]{t: t, model: true, tab: newTable(d, "failure", []string{"code", "name", "type_failure", "description", "parent_id", "kind", "created_at", "updated_at"},
		func(f *Failure) *int64 { return &f.ID },
		func(f *Failure) []any {
			return []any{&f.Code, &f.Name, &f.TypeFailure, &f.Description, &f.ParentID, &f.Kind, &f.CreatedAt, &f.UpdatedAt}
		})}
	t.Incidents = Collection[Incident, *Incident]{t: t, byLine: true, tab: newTable(d, "incident", []string{"line_id", "downtime_event_id", "failure_id", "title", "description", "solution", "has_solution", "reported_by", "occurred_at", "resolved_at", "created_at", "updated_at"},
		func(i *Incident) *int64 { return &i.ID },
		func(i *Incident) []any {
			return []any{&i.LineID, &i.DowntimeEventID, &i.FailureID, &i.Title, &i.Description, &i.Solution, &i.HasSolution, &i.ReportedBy, &i.OccurredAt, &i.ResolvedAt, &i.CreatedAt, &i.UpdatedAt}
		})}
	t.Monitor = Collection[MonitorSample, *MonitorSample]{t: t, tab: newTable(d, "system_monitor", []string{"node", "recorded_at", "cpu_usage", "ram_usage", "gpu_temp", "gpu_mem_used_bytes"},
		func(m *MonitorSample) *int64 { return &m.ID },
		func(m *MonitorSample) []any {
			return []any{&m.Node, &m.RecordedAt, &m.CPUUsage, &m.RAMUsage, &m.GPUTemp, &m.GPUMemUsedBytes}
		})}
	t.Cameras = Collection[Camera, *Camera]{t: t, tab: newTable(d, "camera", []string{"name", "node", "model", "created_at", "updated_at"},
		func(c *Camera) *int64 { return &c.ID },
		func(c *Camera) []any { return []any{&c.Name, &c.Node, &c.Model, &c.CreatedAt, &c.UpdatedAt} })}
	t.CameraAreas = Collection[CameraArea, *CameraArea]{t: t, tab: newTable(d, "camera_area", []string{"camera_id", "area_id", "status", "created_at", "updated_at"},
		func(c *CameraArea) *int64 { return &c.ID },
		func(c *CameraArea) []any { return []any{&c.CameraID, &c.AreaID, &c.Status, &c.CreatedAt, &c.UpdatedAt} })}
	t.CameraLog = Collection[CameraControlEvent, *CameraControlEvent]{t: t, tab: newTable(d, "camera_control_event", []string{"camera_id", "user_id", "action", "reason", "gpu_usage", "occurred_at"},
		func(c *CameraControlEvent) *int64 { return &c.ID },
		func(c *CameraControlEvent) []any {
			return []any{&c.CameraID, &c.UserID, &c.Action, &c.Reason, &c.GPUUsage, &c.OccurredAt}
		})}
	newAlertCollections(t)
	newReportTables(t)
	return t
}

// ID is the tenant id.
func (t *TenantDB) ID() int64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.tenant.ID
}

// Tenant returns the tenant row as last read.
func (t *TenantDB) Tenant() Tenant {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.tenant
}

func (t *TenantDB) setTenant(ten Tenant) {
	t.mu.Lock()
	t.tenant = ten
	t.mu.Unlock()
}

// Ping checks the tenant database.
func (t *TenantDB) Ping(ctx context.Context) error {
	if err := t.db.PingContext(ctx); err != nil {
		return fmt.Errorf("store: tenant %d database unreachable: %w", t.ID(), err)
	}
	return nil
}
