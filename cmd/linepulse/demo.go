package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/linepulse/linepulse/identity"
	"github.com/linepulse/linepulse/ingest/sim"
	"github.com/linepulse/linepulse/store"
)

// The demo plant (serve --demo): a bottling plant in Madrid with three lines.
const (
	demoSlug     = "demo"
	demoTimezone = "Europe/Madrid"
	demoEmail    = "demo@linepulse.local"
)

// demoLine is the seed of one demo line and how the simulator runs it. The simulated
// rate stays below 1 / ideal cycle time, so performance is realistic (~90 %).
type demoLine struct {
	name, description                  string
	threshold, idealCycle              time.Duration
	areas                              []string
	rate, reject                       float64
	stopEvery, stopFor                 time.Duration
	microEvery, microFor               time.Duration
	availability, performance, quality float64
}

var demoLines = []demoLine{
	{name: "Filling", description: "Rotary filler, PET bottles", threshold: 30 * time.Second, idealCycle: 200 * time.Millisecond,
		areas: []string{"Infeed", "Filler", "Checkweigher"}, rate: 4.5, reject: 0.02,
		stopEvery: 15 * time.Minute, stopFor: 2 * time.Minute, microEvery: 3 * time.Minute, microFor: 10 * time.Second,
		availability: 0.9, performance: 0.9, quality: 0.98},
	{name: "Capping", description: "Capper and torque check", threshold: 20 * time.Second, idealCycle: 250 * time.Millisecond,
		areas: []string{"Capper", "Torque check"}, rate: 3.5, reject: 0.01,
		stopEvery: 20 * time.Minute, stopFor: 90 * time.Second, microEvery: 4 * time.Minute, microFor: 6 * time.Second,
		availability: 0.92, performance: 0.88, quality: 0.99},
	{name: "Packing", description: "Labelling, case packing and palletising", threshold: 60 * time.Second, idealCycle: 500 * time.Millisecond,
		areas: []string{"Labeler", "Case packer", "Palletizer"}, rate: 1.8, reject: 0.03,
		stopEvery: 25 * time.Minute, stopFor: 3 * time.Minute, microEvery: 5 * time.Minute, microFor: 20 * time.Second,
		availability: 0.85, performance: 0.9, quality: 0.97},
}

// demoRunEvery is how long a demo line runs one product, on average, before it changes
// at its next stop (a changeover).
const demoRunEvery = 45 * time.Minute

// demoProduct: Weight is the product's weight in kg (PRODUCT.product_weight), share its
// share of the mix a run picks from.
var demoProducts = []struct {
	name, sku, color string
	weight, share    float64
}{
	{"Water 0.5 L", "WAT-050", "#2563eb", 0.52, 40},
	{"Water 1.5 L", "WAT-150", "#16a34a", 1.55, 25},
	{"Orange juice 1 L", "JUI-100", "#f59e0b", 1.06, 20},
	{"Cola 0.33 L", "COL-033", "#dc2626", 0.35, 15},
}

var demoShifts = []store.Shift{
	{Name: "Morning", StartTime: "06:00", EndTime: "14:00", Breaks: store.JSON(`[{"start":"10:00","end":"10:30"}]`)},
	{Name: "Afternoon", StartTime: "14:00", EndTime: "22:00", Breaks: store.JSON(`[{"start":"18:00","end":"18:30"}]`)},
	{Name: "Night", StartTime: "22:00", EndTime: "06:00", IsOvernight: true, Breaks: store.JSON(`[{"start":"02:00","end":"02:30"}]`)},
}

var demoFailures = []store.Failure{
	{Code: "MECH", Name: "Mechanical failure", TypeFailure: store.JSON(`{"category":"unplanned"}`), Description: "Jam, broken part, conveyor stopped"},
	{Code: "ELEC", Name: "Electrical failure", TypeFailure: store.JSON(`{"category":"unplanned"}`), Description: "Drive, sensor or power fault"},
	{Code: "MAT", Name: "Material shortage", TypeFailure: store.JSON(`{"category":"unplanned"}`), Description: "Bottles, caps, labels or cases missing"},
	{Code: "CHG", Name: "Changeover", TypeFailure: store.JSON(`{"category":"planned"}`), Description: "Format or product change"},
	{Code: "QA", Name: "Quality hold", TypeFailure: store.JSON(`{"category":"unplanned"}`), Description: "Line held by quality control"},
}

// demoPlant is what seedDemo created or found: enough to drive the simulator.
type demoPlant struct {
	Tenant   store.Tenant
	Lines    []store.Line      // in demoLines order
	Areas    map[int64][]int64 // line id -> area ids
	Products []store.Product   // in demoProducts order
}

// seedDemo creates the demo tenant and its plant, or completes and reuses what an
// earlier run created (every entity is found by its name first), so serve --demo can
// be restarted on the same data. The demo admin's password is generated and logged
// only when the user is created.
func seedDemo(ctx context.Context, st *store.Store, log *slog.Logger) (demoPlant, error) {
	var p demoPlant
	ten, err := st.TenantBySlug(ctx, demoSlug)
	if errors.Is(err, store.ErrNotFound) {
		ten = store.Tenant{Slug: demoSlug, Name: "Demo Bottling Plant", Config: store.TenantConfig{Timezone: demoTimezone}}
		if err = st.CreateTenant(ctx, &ten); err == nil {
			recordChange(ctx, log, st, 0, "demo", "tenant.create", ten.ID, nil, ten)
		}
	}
	if err != nil {
		return p, fmt.Errorf("demo: tenant: %w", err)
	}
	p.Tenant = ten
	// Every object the demo creates is audited like the API's (details.via = "demo").
	record := func(entity string, id int64, v any) {
		recordChange(ctx, log, st, ten.ID, "demo", "config."+entity+".create", id, nil, v)
	}
	t, err := st.Tenant(ctx, ten.ID)
	if err != nil {
		return p, fmt.Errorf("demo: tenant database: %w", err)
	}

	lines, err := t.AllLines(ctx)
	if err != nil {
		return p, fmt.Errorf("demo: lines: %w", err)
	}
	areas, err := t.Areas.All(ctx)
	if err != nil {
		return p, fmt.Errorf("demo: areas: %w", err)
	}
	p.Areas = map[int64][]int64{}
	for i, dl := range demoLines {
		l, found := findBy(lines, func(l store.Line) bool { return l.Name == dl.name })
		if !found {
			l = store.Line{Name: dl.name, Description: dl.description, Availability: dl.availability, Performance: dl.performance,
				Quality: dl.quality, DowntimeThresholdMS: dl.threshold.Milliseconds(), IdealCycleTimeMS: dl.idealCycle.Milliseconds(),
				MicroStopMinMS: (dl.threshold / 6).Milliseconds(), Active: true}
			if err := t.CreateLine(ctx, &l); err != nil {
				return p, fmt.Errorf("demo: line %s: %w", dl.name, err)
			}
			record("line", l.ID, l)
		}
		p.Lines = append(p.Lines, l)
		for j, name := range dl.areas {
			a, found := findBy(areas, func(a store.Area) bool { return a.LineID == l.ID && a.Name == name })
			if !found {
				// The plant map: one row per line, stations left to right.
				x, y := 5+float64(j)*30, 5+float64(i)*30
				a = store.Area{LineID: l.ID, Name: name, X1: x, Y1: y, X2: x + 25, Y2: y + 20}
				if err := t.Areas.Create(ctx, &a); err != nil {
					return p, fmt.Errorf("demo: area %s/%s: %w", dl.name, name, err)
				}
				record("area", a.ID, a)
			}
			p.Areas[l.ID] = append(p.Areas[l.ID], a.ID)
		}
	}

	// One vision node per line, with the camera the simulator names in its detections
	// watching every area of the line (the node-health page and the offline state).
	var cams []store.Camera
	for _, l := range p.Lines {
		cams = append(cams, store.Camera{Name: demoCamera(l), Node: demoNode(l), Model: "Demo 1080p"})
	}
	if cams, err = ensureAll(ctx, record, "camera", t.Cameras, cams, func(a, b store.Camera) bool { return a.Name == b.Name }); err != nil {
		return p, err
	}
	var links []store.CameraArea
	for i, l := range p.Lines {
		for _, a := range p.Areas[l.ID] {
			links = append(links, store.CameraArea{CameraID: cams[i].ID, AreaID: a, Status: "active"})
		}
	}
	if _, err := ensureAll(ctx, record, "camera area", t.CameraAreas, links, func(a, b store.CameraArea) bool { return a.CameraID == b.CameraID && a.AreaID == b.AreaID }); err != nil {
		return p, err
	}

	var want []store.Product
	for _, dp := range demoProducts {
		want = append(want, store.Product{Name: dp.name, SKU: dp.sku, Weight: dp.weight, Color: dp.color})
	}
	if p.Products, err = ensureAll(ctx, record, "product", t.Products, want, func(a, b store.Product) bool { return a.Name == b.Name }); err != nil {
		return p, err
	}
	shifts := slices.Clone(demoShifts)
	for i := range shifts {
		shifts[i].DaysImplemented, shifts[i].Active = store.JSON("[1,2,3,4,5,6,7]"), true
	}
	if shifts, err = ensureAll(ctx, record, "shift", t.Shifts, shifts, func(a, b store.Shift) bool { return a.Name == b.Name }); err != nil {
		return p, err
	}
	if err := ensureDemoTargets(ctx, t, record, p.Lines, shifts); err != nil {
		return p, err
	}
	if _, err := ensureAll(ctx, record, "failure", t.Failures, demoFailures, func(a, b store.Failure) bool { return a.Code == b.Code }); err != nil {
		return p, err
	}

	switch _, err := st.UserByEmail(ctx, ten.ID, demoEmail); {
	case errors.Is(err, store.ErrNotFound):
		pw := rand.Text()
		hash, err := identity.Hasher{Params: identity.DefaultParams()}.Hash(pw)
		if err != nil {
			return p, fmt.Errorf("demo: password: %w", err)
		}
		u := store.User{TenantID: ten.ID, Email: demoEmail, Name: "Demo admin", Role: store.RoleTenantAdmin, PasswordHash: hash, Active: true}
		if err := st.CreateUser(ctx, &u); err != nil {
			return p, fmt.Errorf("demo: user: %w", err)
		}
		recordChange(ctx, log, st, ten.ID, "demo", "user.create", u.ID, nil, u)
		// A local demo: the password is shown once so whoever started it can sign in.
		log.Info("demo: sign in with these credentials (shown only once)", "tenant", demoSlug, "email", demoEmail, "password", pw)
	case err != nil:
		return p, fmt.Errorf("demo: user: %w", err)
	default:
		log.Info("demo: plant reused; sign in as before", "tenant", demoSlug, "email", demoEmail)
	}
	log.Info("demo: plant ready", "tenant", demoSlug, "lines", len(p.Lines), "products", len(p.Products))
	return p, nil
}

// ensureDemoTargets gives every demo line and shift a production target (kept when one is
// set): about 80 % of what the simulated rate makes in a shift's 7.5 planned hours, so
// the tiles' good units against target are plausible.
func ensureDemoTargets(ctx context.Context, t *store.TenantDB, record func(string, int64, any), lines []store.Line, shifts []store.Shift) error {
	have, err := t.Targets(ctx)
	if err != nil {
		return fmt.Errorf("demo: targets: %w", err)
	}
	for i, l := range lines {
		for _, sh := range shifts {
			if _, found := findBy(have, func(x store.Target) bool { return x.LineID == l.ID && x.ShiftID == sh.ID }); found {
				continue
			}
			x := store.Target{LineID: l.ID, ShiftID: sh.ID, Quantity: int64(demoLines[i].rate*7.5*3600*0.8/100) * 100}
			if err := t.SetTarget(ctx, &x); err != nil {
				return fmt.Errorf("demo: target: %w", err)
			}
			record("target", l.ID, x)
		}
	}
	return nil
}

// ensureAll returns, in order, the stored entity matching each of want, creating (and
// recording) the ones that are missing.
func ensureAll[T any, P interface {
	*T
	store.Entity
}](ctx context.Context, record func(entity string, id int64, v any), what string, c store.Collection[T, P], want []T, same func(a, b T) bool) ([]T, error) {
	have, err := c.All(ctx)
	if err != nil {
		return nil, fmt.Errorf("demo: %ss: %w", what, err)
	}
	out := make([]T, 0, len(want))
	for _, w := range want {
		v, found := findBy(have, func(h T) bool { return same(h, w) })
		if !found {
			v = w
			if err := c.Create(ctx, &v); err != nil {
				return nil, fmt.Errorf("demo: %s: %w", what, err)
			}
			record(what, idOf(v), v)
		}
		out = append(out, v)
	}
	return out, nil
}

// idOf reads the "id" an entity shows in JSON.
func idOf(v any) int64 {
	b, _ := json.Marshal(v)
	var o struct {
		ID int64 `json:"id"`
	}
	_ = json.Unmarshal(b, &o)
	return o.ID
}

func findBy[T any](list []T, match func(T) bool) (T, bool) {
	for _, v := range list {
		if match(v) {
			return v, true
		}
	}
	var zero T
	return zero, false
}

// simConfig returns the simulator configuration of the demo's three lines: rates of
// 2-5 detections/s, rejects, a stop (longer than the line's threshold) every 15-25 min
// and micro-stops every few minutes.
func (p demoPlant) simConfig(log *slog.Logger) sim.Config {
	mix := make([]sim.Product, len(p.Products))
	for i, pr := range p.Products {
		mix[i] = sim.Product{ID: pr.ID, Weight: demoProducts[i].share}
	}
	// A short drain: on shutdown the simulator must stop well within serve's stop timeout.
	cfg := sim.Config{Tenant: p.Tenant.Slug, Batch: 1, Seed: 1, Drain: 2 * time.Second, Logger: log}
	for i, l := range p.Lines {
		dl := demoLines[i]
		cfg.Lines = append(cfg.Lines, sim.LineSpec{
			Line: l.ID, Rate: dl.rate, Jitter: sim.DefaultJitter, Areas: p.Areas[l.ID], Products: mix, RejectRatio: dl.reject,
			Threshold: l.DowntimeThreshold(), StopEvery: dl.stopEvery, StopFor: dl.stopFor,
			MicroStopEvery: dl.microEvery, MicroStopFor: dl.microFor, RunEvery: demoRunEvery, Camera: demoCamera(l),
		})
	}
	return cfg
}

// runDemoSim runs the demo simulator in-process until ctx ends. connect opens an
// internal bus connection (bus.Bus.Connect); the simulator publishes through JetStream
// with acknowledgements like a real edge and rides out bus restarts.
func runDemoSim(ctx context.Context, connect func(name string, opts ...nats.Option) (*nats.Conn, error), p demoPlant, log *slog.Logger) error {
	nc, err := connect("linepulse-demo-sim", nats.MaxReconnects(-1))
	if err != nil {
		return fmt.Errorf("demo simulator: %w", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("demo simulator: %w", err)
	}
	s, err := sim.New(p.simConfig(log), js)
	if err != nil {
		return fmt.Errorf("demo simulator: %w", err)
	}
	log.Info("demo: simulator running", "tenant", p.Tenant.Slug, "lines", len(p.Lines))
	for i, l := range p.Lines {
		go func() {
			err := sim.PublishTelemetry(ctx, nc, sim.TelemetryConfig{Tenant: p.Tenant.Slug, Node: demoNode(l), Cameras: []string{demoCamera(l)}, Seed: int64(i + 1)})
			if err != nil {
				log.Warn("demo: telemetry stopped", "node", demoNode(l), "err", err)
			}
		}()
	}
	return s.Run(ctx)
}

// demoCamera and demoNode name a demo line's camera and vision node.
func demoCamera(l store.Line) string { return fmt.Sprintf("cam-%d", l.ID) }

func demoNode(l store.Line) string { return "edge-" + strings.ToLower(l.Name) }
