package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/store/storetest"
)

// collectionCase exercises create/get/list/update/delete of one plant entity.
type collectionCase[T any, P interface {
	*T
	store.Entity
}] struct {
	name   string
	col    func(*store.TenantDB) store.Collection[T, P]
	make   func(lineID int64) T
	mutate func(*T)
	id     func(*T) int64
}

func (c collectionCase[T, P]) run(t *testing.T, a, b *store.TenantDB, lineA int64) {
	t.Run(c.name, func(t *testing.T) {
		ctx := context.Background()
		v := c.make(lineA)
		if err := c.col(a).Create(ctx, &v); err != nil {
			t.Fatalf("create: %v", err)
		}
		id := c.id(&v)
		if id <= 0 {
			t.Fatalf("create did not set id")
		}
		got, err := c.col(a).Get(ctx, id)
		if err != nil {
			t.Fatalf("get: %v", err)
		}
		assertSameJSON(t, v, got)
		c.mutate(&got)
		if err := c.col(a).Update(ctx, &got); err != nil {
			t.Fatalf("update: %v", err)
		}
		again, err := c.col(a).Get(ctx, id)
		if err != nil {
			t.Fatalf("get after update: %v", err)
		}
		assertSameJSON(t, got, again)
		list, err := c.col(a).List(ctx, store.ListOptions{})
		if err != nil || len(list) != 1 {
			t.Fatalf("list: %d rows, %v", len(list), err)
		}
		// Tenant isolation: tenant B sees nothing of tenant A, and cannot change or delete it.
		if _, err := c.col(b).Get(ctx, id); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("tenant B read tenant A's %s: %v", c.name, err)
		}
		if err := c.col(b).Update(ctx, &again); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("tenant B updated tenant A's %s: %v", c.name, err)
		}
		if err := c.col(b).Delete(ctx, id); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("tenant B deleted tenant A's %s: %v", c.name, err)
		}
		if list, _ := c.col(b).List(ctx, store.ListOptions{}); len(list) != 0 {
			t.Fatalf("tenant B lists %d of tenant A's %s", len(list), c.name)
		}
		if err := c.col(a).Delete(ctx, id); err != nil {
			t.Fatalf("delete: %v", err)
		}
		if _, err := c.col(a).Get(ctx, id); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("get after delete: %v", err)
		}
	})
}

// assertSameJSON compares two values by their JSON form, with JSON documents compacted
// (MySQL normalises JSON whitespace) and times compared as instants.
func assertSameJSON(t *testing.T, want, got any) {
	t.Helper()
	var w, g any
	wb, _ := json.Marshal(want)
	gb, _ := json.Marshal(got)
	json.Unmarshal(wb, &w)
	json.Unmarshal(gb, &g)
	if !reflect.DeepEqual(w, g) {
		t.Fatalf("round trip differs:\nwant %s\n got %s", wb, gb)
	}
}

var at = time.Date(2026, 3, 10, 8, 30, 0, 123e6, time.UTC)

func TestConformancePlantModel(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		s := e.Open(t)
		a := storetest.Tenant(t, s, "acme")
		b := storetest.Tenant(t, s, "globex")
		ctx := context.Background()
		line := store.Line{Name: "Line 1", DowntimeThresholdMS: 30000, IdealCycleTimeMS: 1000}
		if err := a.CreateLine(ctx, &line); err != nil {
			t.Fatal(err)
		}
		collectionCase[store.Area, *store.Area]{"area", func(t *store.TenantDB) store.Collection[store.Area, *store.Area] { return t.Areas },
			func(l int64) store.Area { return store.Area{LineID: l, Name: "Filler", X1: 1, Y1: 2, X2: 30.5, Y2: 40} },
			func(v *store.Area) { v.Name = "Capper"; v.X2 = 99 }, func(v *store.Area) int64 { return v.ID }}.run(t, a, b, line.ID)
		collectionCase[store.Product, *store.Product]{"product", func(t *store.TenantDB) store.Collection[store.Product, *store.Product] { return t.Products },
			func(int64) store.Product {
				return store.Product{Name: "Cola 33cl", SKU: "C33", Weight: 0.35, Color: "#ff0000"}
			},
			func(v *store.Product) { v.Color = "#00ff00"; v.Weight = 0.5 }, func(v *store.Product) int64 { return v.ID }}.run(t, a, b, line.ID)
		collectionCase[store.Shift, *store.Shift]{"shift", func(t *store.TenantDB) store.Collection[store.Shift, *store.Shift] { return t.Shifts },
			func(l int64) store.Shift {
				return store.Shift{LineID: l, Name: "Night", StartTime: "22:00", EndTime: "06:00", IsOvernight: true,
					DaysImplemented: store.JSON(`{"rotation":{"anchor":"2026-01-05","on":4,"off":4}}`), Breaks: store.JSON(`[{"start":"02:00","end":"02:30"}]`), Active: true}
			},
			func(v *store.Shift) { v.DaysImplemented = store.JSON(`[1,2,3]`); v.Active = false }, func(v *store.Shift) int64 { return v.ID }}.run(t, a, b, line.ID)
		collectionCase[store.Filter, *store.Filter]{"filter", func(t *store.TenantDB) store.Collection[store.Filter, *store.Filter] { return t.Filters },
			func(int64) store.Filter {
				return store.Filter{Name: "Product", FilterType: "select", Field: "product_id", DefaultValue: store.JSON(`[1,2]`), AdditionalFilter: store.JSON(`{"multi":true,"label":"ñandú"}`)}
			},
			func(v *store.Filter) { v.DefaultValue = store.JSON(`{"x":null}`) }, func(v *store.Filter) int64 { return v.ID }}.run(t, a, b, line.ID)
		collectionCase[store.Failure, *store.Failure]{"failure", func(t *store.TenantDB) store.Collection[store.Failure, *store.Failure] { return t.Failures },
			func(int64) store.Failure {
				return store.Failure{Code: "MECH-01", Name: "Jam", TypeFailure: store.JSON(`{"category":"mechanical","severity":2}`)}
			},
			func(v *store.Failure) { v.Description = "conveyor jam" }, func(v *store.Failure) int64 { return v.ID }}.run(t, a, b, line.ID)
		collectionCase[store.Incident, *store.Incident]{"incident", func(t *store.TenantDB) store.Collection[store.Incident, *store.Incident] { return t.Incidents },
			func(l int64) store.Incident {
				return store.Incident{LineID: l, Title: "Jam at filler", OccurredAt: at, DowntimeEventID: 7}
			},
			func(v *store.Incident) {
				v.Solution, v.HasSolution = "cleared the guide rail", true
				r := at.Add(time.Hour)
				v.ResolvedAt = &r
			}, func(v *store.Incident) int64 { return v.ID }}.run(t, a, b, line.ID)
		collectionCase[store.MonitorSample, *store.MonitorSample]{"system_monitor", func(t *store.TenantDB) store.Collection[store.MonitorSample, *store.MonitorSample] { return t.Monitor },
			func(int64) store.MonitorSample {
				return store.MonitorSample{Node: "edge-1", RecordedAt: at, CPUUsage: 41.5, RAMUsage: 63, GPUTemp: 71, GPUMemUsedBytes: 3 << 30}
			},
			func(v *store.MonitorSample) { v.GPUTemp = 80 }, func(v *store.MonitorSample) int64 { return v.ID }}.run(t, a, b, line.ID)
		collectionCase[store.Camera, *store.Camera]{"camera", func(t *store.TenantDB) store.Collection[store.Camera, *store.Camera] { return t.Cameras },
			func(int64) store.Camera { return store.Camera{Name: "cam-07", Node: "edge-1", Model: "Basler"} },
			func(v *store.Camera) { v.Node = "edge-2" }, func(v *store.Camera) int64 { return v.ID }}.run(t, a, b, line.ID)
		collectionCase[store.CameraArea, *store.CameraArea]{"camera_area", func(t *store.TenantDB) store.Collection[store.CameraArea, *store.CameraArea] { return t.CameraAreas },
			func(int64) store.CameraArea { return store.CameraArea{CameraID: 1, AreaID: 2} },
			func(v *store.CameraArea) { v.Status = "maintenance" }, func(v *store.CameraArea) int64 { return v.ID }}.run(t, a, b, line.ID)
		collectionCase[store.CameraControlEvent, *store.CameraControlEvent]{"camera_control_event", func(t *store.TenantDB) store.Collection[store.CameraControlEvent, *store.CameraControlEvent] {
			return t.CameraLog
		},
			func(int64) store.CameraControlEvent {
				return store.CameraControlEvent{CameraID: 1, UserID: 3, Action: "restart", Reason: "frozen image", GPUUsage: 0.8, OccurredAt: at}
			},
			func(v *store.CameraControlEvent) { v.Reason = "frozen" }, func(v *store.CameraControlEvent) int64 { return v.ID }}.run(t, a, b, line.ID)
	})
}

func TestConformanceLines(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		s := e.Open(t)
		a := storetest.Tenant(t, s, "acme")
		b := storetest.Tenant(t, s, "globex")
		ctx := context.Background()
		l := store.Line{Name: "L1", DowntimeThresholdMS: 30000, IdealCycleTimeMS: 800, MicroStopMinMS: 5000}
		if err := a.CreateLine(ctx, &l); err != nil {
			t.Fatal(err)
		}
		got, err := a.GetLine(ctx, l.ID)
		if err != nil {
			t.Fatal(err)
		}
		assertSameJSON(t, l, got)
		got.Name, got.IdealCycleTimeMS = "Line one", 750
		if err := a.UpdateLine(ctx, &got); err != nil {
			t.Fatal(err)
		}
		if _, err := b.GetLine(ctx, l.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("tenant B sees tenant A's line: %v", err)
		}
		if err := b.DeleteLine(ctx, l.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("tenant B deleted tenant A's line: %v", err)
		}
		for _, bad := range []store.Line{
			{Name: "", DowntimeThresholdMS: 1, IdealCycleTimeMS: 1},
			{Name: "x", DowntimeThresholdMS: 0, IdealCycleTimeMS: 1},
			{Name: "x", DowntimeThresholdMS: -5, IdealCycleTimeMS: 1},
			{Name: "x", DowntimeThresholdMS: 1000, IdealCycleTimeMS: 0},
			{Name: "x", DowntimeThresholdMS: 1000, IdealCycleTimeMS: -1},
		} {
			if err := a.CreateLine(ctx, &bad); !errors.Is(err, store.ErrInvalid) {
				t.Fatalf("invalid line %+v accepted: %v", bad, err)
			}
		}
		if err := a.DeleteLine(ctx, l.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := a.GetLine(ctx, l.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("line still there: %v", err)
		}
		// A new line after a delete gets fresh tables, never the archived ones.
		l2 := store.Line{Name: "L2", DowntimeThresholdMS: 30000, IdealCycleTimeMS: 800}
		if err := a.CreateLine(ctx, &l2); err != nil {
			t.Fatal(err)
		}
		if l2.ID == l.ID {
			t.Fatalf("line id %d reused", l.ID)
		}
	})
}

// TestAllTenantsWalksEveryPage: AllTenants reads page after page, so the tenants past the
// first page are there too (the report and alert senders, the engine's registry and the
// CLI walk the tenants with it). Pages of 2 stand for MaxPageSize.
func TestAllTenantsWalksEveryPage(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		s := e.Open(t, func(c *store.Config) { c.TenantPage = 2 })
		ctx := context.Background()
		var want []string
		check := func(what string) {
			t.Helper()
			all, err := s.AllTenants(ctx)
			var got []string
			for i, ten := range all {
				got = append(got, ten.Slug)
				if i > 0 && ten.ID <= all[i-1].ID {
					t.Errorf("%s: not in id order: %d after %d", what, ten.ID, all[i-1].ID)
				}
			}
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("%s: AllTenants %q %v, want %q", what, got, err, want)
			}
		}
		check("no tenants")
		for _, slug := range []string{"t1", "t2", "t3", "t4"} { // two full pages
			storetest.Tenant(t, s, slug)
			want = append(want, slug)
		}
		check("two full pages")
		last := storetest.Tenant(t, s, "t5").Tenant() // a third page of one, inactive
		last.Active = false
		if err := s.UpdateTenant(ctx, &last); err != nil {
			t.Fatal(err)
		}
		want = append(want, "t5")
		check("a page and a half")
		if first, err := s.ListTenants(ctx, store.Page{Limit: 2}); err != nil || len(first) != 2 {
			t.Fatalf("one page: %d tenants, %v", len(first), err)
		}
	})
}

func TestConformanceGlobal(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		s := e.Open(t)
		ctx := context.Background()
		ten := store.Tenant{Slug: "acme", Name: "Acme", Config: store.TenantConfig{Timezone: "America/New_York", RetentionDays: 400, UI: store.JSON(`{"logo":"a.svg"}`)}}
		if err := s.CreateTenant(ctx, &ten); err != nil {
			t.Fatal(err)
		}
		got, err := s.TenantBySlug(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		assertSameJSON(t, ten, got)
		if err := s.CreateTenant(ctx, &store.Tenant{Slug: "acme", Name: "Again"}); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("duplicate slug: %v", err)
		}
		for _, bad := range []store.Tenant{
			{Slug: "Bad Slug", Name: "x"},
			{Slug: "ok", Name: "x", Config: store.TenantConfig{Timezone: "Mars/Olympus"}},
			{Slug: "ok", Name: ""},
			{Slug: "ok", Name: "x", Config: store.TenantConfig{Language: "fr"}},
		} {
			if err := s.CreateTenant(ctx, &bad); !errors.Is(err, store.ErrInvalid) {
				t.Fatalf("bad tenant %+v accepted: %v", bad, err)
			}
		}
		got.Name = "Acme Corp"
		got.Config.RetentionDays = 200
		got.Config.Language = "es"
		if err := s.UpdateTenant(ctx, &got); err != nil {
			t.Fatal(err)
		}
		if back, err := s.GetTenant(ctx, got.ID); err != nil || back.Config.Language != "es" {
			t.Fatalf("tenant language not kept: %+v %v", back.Config, err)
		}

		u := store.User{TenantID: ten.ID, Email: "Ana@Example.com", PasswordHash: "$argon2id$x", Role: store.RoleSupervisor,
			Permissions: store.Permissions{Lines: []int64{1, 2}, Deny: []string{"downtime.code"}}, Language: "es"}
		if err := s.CreateUser(ctx, &u); err != nil {
			t.Fatal(err)
		}
		byEmail, err := s.UserByEmail(ctx, ten.ID, "ana@example.COM")
		if err != nil {
			t.Fatal(err)
		}
		assertSameJSON(t, u, byEmail)
		if _, err := s.GetUser(ctx, ten.ID+1, u.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("user visible from another tenant: %v", err)
		}
		byEmail.Role = store.RoleOperator
		if err := s.UpdateUser(ctx, ten.ID, &byEmail); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateUser(ctx, &store.User{TenantID: ten.ID, Email: "ana@example.com", PasswordHash: "h", Role: store.RoleViewer}); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("duplicate email: %v", err)
		}
		if err := s.CreateUser(ctx, &store.User{TenantID: ten.ID, Email: "fr@example.com", PasswordHash: "h", Role: store.RoleViewer, Language: "fr"}); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("unknown language accepted: %v", err)
		}

		login := store.UserLogin{UserID: u.ID, TenantID: ten.ID, SessionID: "s1", IP: "10.0.0.1", UserAgent: "test"}
		if err := s.RecordLogin(ctx, &login); err != nil {
			t.Fatal(err)
		}
		if err := s.RecordLogout(ctx, "s1"); err != nil {
			t.Fatal(err)
		}
		logins, err := s.ListLogins(ctx, ten.ID, store.Page{})
		if err != nil || len(logins) != 1 || logins[0].LogoutAt == nil {
			t.Fatalf("logins: %+v %v", logins, err)
		}
		from, to := at, at.Add(24*time.Hour)
		q := store.UserQuery{TenantID: ten.ID, UserID: u.ID, SQLQuery: "production", StartDate: &from, EndDate: &to, Line: 3, IntervalType: "hour", Filters: store.JSON(`{"product":[1]}`)}
		if err := s.RecordQuery(ctx, &q); err != nil {
			t.Fatal(err)
		}
		qs, err := s.ListQueries(ctx, ten.ID, store.Page{})
		if err != nil || len(qs) != 1 {
			t.Fatal(qs, err)
		}
		assertSameJSON(t, q, qs[0])

		w := store.Widget{WidgetType: "kpi_cards", Name: "KPI cards", RequiredParams: store.JSON(`{"type":"object","required":["line"]}`)}
		if err := s.UpsertWidget(ctx, &w); err != nil {
			t.Fatal(err)
		}
		w.Description = "tiles"
		if err := s.UpsertWidget(ctx, &w); err != nil {
			t.Fatal(err)
		}
		ws, _ := s.ListWidgets(ctx)
		if len(ws) != 1 || ws[0].Description != "tiles" {
			t.Fatalf("widgets: %+v", ws)
		}
		d := store.DashboardTemplate{TenantID: ten.ID, Name: "Operator TV", RoleAccess: store.RoleOperator, LayoutConfig: store.JSON(`{"cells":[{"x":0,"y":0,"w":4,"h":2,"widget":"kpi_cards"}]}`)}
		if err := s.CreateDashboard(ctx, &d); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetDashboard(ctx, ten.ID+1, d.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("dashboard visible from another tenant: %v", err)
		}
		if err := s.SetConfig(ctx, "ingest.batch", store.JSON(`{"size":400}`)); err != nil {
			t.Fatal(err)
		}
		if err := s.SetConfig(ctx, "ingest.batch", store.JSON(`{"size":500}`)); err != nil {
			t.Fatal(err)
		}
		c, err := s.GetConfig(ctx, "ingest.batch")
		if err != nil || string(compact(c.Value)) != `{"size":500}` {
			t.Fatalf("config: %s %v", c.Value, err)
		}
		if err := s.DeleteTenant(ctx, ten.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetUser(ctx, ten.ID, u.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("user of deleted tenant: %v", err)
		}
	})
}

func compact(b []byte) []byte {
	var v any
	json.Unmarshal(b, &v)
	out, _ := json.Marshal(v)
	return out
}
