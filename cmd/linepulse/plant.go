package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"reflect"
	"slices"
	"time"

	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/stream"
)

// maxPlantFile bounds the plant file read by plant apply.
const maxPlantFile = 4 << 20

// plantFile is the document `linepulse plant apply` reads (docs/plant.example.json): a
// tenant and its whole plant model. Objects are found by their natural key (a line,
// product or shift by name, an area by its line and name, a failure by code); the ones
// missing are created, the ones that differ are updated, nothing is deleted.
type plantFile struct {
	Tenant   plantTenant    `json:"tenant"`
	Lines    []plantLine    `json:"lines"`
	Products []plantProduct `json:"products"`
	Shifts   []plantShift   `json:"shifts"`
	Failures []plantFailure `json:"failures"`
	Targets  []plantTarget  `json:"targets"`
}

// plantTarget is a production target: good units planned per instance of a line's shift.
type plantTarget struct {
	Line     string `json:"line"`  // a line's name
	Shift    string `json:"shift"` // a shift's name
	Quantity int64  `json:"quantity"`
}

type plantTenant struct {
	Slug          string `json:"slug"`
	Name          string `json:"name"`
	Timezone      string `json:"timezone"`
	Language      string `json:"language"`
	RetentionDays int    `json:"retention_days"`
}

type plantLine struct {
	Name              string      `json:"name"`
	Description       string      `json:"description"`
	Availability      float64     `json:"availability"`
	Performance       float64     `json:"performance"`
	Quality           float64     `json:"quality"`
	DowntimeThreshold duration    `json:"downtime_threshold"`
	IdealCycleTime    duration    `json:"ideal_cycle_time"`
	MicroStopMin      duration    `json:"micro_stop_min"`
	Inactive          bool        `json:"inactive"`
	Areas             []plantArea `json:"areas"`
}

type plantArea struct {
	Name string  `json:"name"`
	X1   float64 `json:"x1"`
	Y1   float64 `json:"y1"`
	X2   float64 `json:"x2"`
	Y2   float64 `json:"y2"`
}

type plantProduct struct {
	Name   string  `json:"name"`
	SKU    string  `json:"sku"`
	Weight float64 `json:"weight"`
	Color  string  `json:"color"`
	// IdealCycleMS is the product's ideal cycle time; 0 or absent = the line's.
	IdealCycleMS int64 `json:"ideal_cycle_ms"`
}

type plantShift struct {
	Name     string       `json:"name"`
	Line     string       `json:"line"` // a line's name; "" = every line
	Start    string       `json:"start"`
	End      string       `json:"end"`
	Days     []int        `json:"days"` // ISO weekdays, 1 = Monday; empty = every day
	Breaks   []plantBreak `json:"breaks"`
	Inactive bool         `json:"inactive"`
}

type plantBreak struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

type plantFailure struct {
	Code        string `json:"code"`
	Name        string `json:"name"`
	Category    string `json:"category"` // unplanned (default) or planned
	Description string `json:"description"`
}

// duration is a time.Duration written as "30s", "800ms".
type duration time.Duration

func (d *duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New(`a duration is a string like "30s" or "800ms"`)
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return fmt.Errorf("invalid duration %q: use e.g. \"30s\" or \"800ms\"", s)
	}
	*d = duration(v)
	return nil
}

func (d duration) ms(def time.Duration) int64 {
	if d == 0 {
		return def.Milliseconds()
	}
	return time.Duration(d).Milliseconds()
}

// parsePlant reads a plant file strictly: unknown fields are errors (a typo must not be
// silently ignored).
func parsePlant(r io.Reader) (plantFile, error) {
	var p plantFile
	b, err := io.ReadAll(io.LimitReader(r, maxPlantFile+1))
	if err != nil {
		return p, fmt.Errorf("cannot read the plant file: %w", err)
	}
	if len(b) > maxPlantFile {
		return p, fmt.Errorf("the plant file is larger than %d bytes", maxPlantFile)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return p, fmt.Errorf("invalid plant file: %w", err)
	}
	if dec.More() {
		return p, errors.New("invalid plant file: more than one JSON value")
	}
	if p.Tenant.Slug == "" {
		return p, errors.New("invalid plant file: tenant.slug is required")
	}
	return p, nil
}

func plantApplyCommand() *command {
	c := &command{name: "plant apply", short: "create or update a whole plant model (tenant, lines, areas, products, shifts, failures, targets) from a JSON file",
		flags: newFlags("plant apply")}
	sf := addStoreFlags(c.flags)
	file := c.flags.String("f", "", "plant file (JSON, see docs/plant.example.json); - = standard input (required)")
	format := c.flags.String("format", "text", "output format: text or json")
	c.run = sf.withStore(func(cc *cliContext, s *store.Store) error {
		var r io.Reader = cc.stdin
		switch *file {
		case "":
			return errors.New("-f is required")
		case "-":
		default:
			f, err := os.Open(*file)
			if err != nil {
				return fmt.Errorf("cannot open the plant file: %w", err)
			}
			defer f.Close()
			r = f
		}
		p, err := parsePlant(r)
		if err != nil {
			return err
		}
		a := &plantApply{cc: cc, s: s, counts: map[string]*applyCount{}}
		if err := a.apply(p); err != nil {
			return err
		}
		return a.report(*format)
	})
	return c
}

// applyCount counts what plant apply did to one kind of object.
type applyCount struct {
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
}

// plantApply is one run of plant apply. Every change it makes is audited with the API's
// action names.
type plantApply struct {
	cc     *cliContext
	s      *store.Store
	t      *store.TenantDB
	counts map[string]*applyCount
	order  []string
}

func (a *plantApply) count(kind string) *applyCount {
	if a.counts[kind] == nil {
		a.counts[kind] = &applyCount{}
		a.order = append(a.order, kind)
	}
	return a.counts[kind]
}

func (a *plantApply) apply(p plantFile) error {
	ctx := a.cc.ctx
	if err := a.tenant(p.Tenant); err != nil {
		return err
	}
	lines, err := a.t.AllLines(ctx)
	if err != nil {
		return err
	}
	lineIDs := map[string]int64{}
	for _, pl := range p.Lines {
		want := store.Line{Name: pl.Name, Description: pl.Description, Availability: pl.Availability, Performance: pl.Performance,
			Quality: pl.Quality, DowntimeThresholdMS: pl.DowntimeThreshold.ms(30 * time.Second), IdealCycleTimeMS: pl.IdealCycleTime.ms(time.Second),
			Active: !pl.Inactive}
		if want.Availability == 0 && want.Performance == 0 && want.Quality == 0 {
			want.Availability, want.Performance, want.Quality = 0.9, 0.95, 0.99
		}
		want.MicroStopMinMS = pl.MicroStopMin.ms(time.Duration(want.DowntimeThresholdMS) * time.Millisecond / 6)
		l, err := ensure(a, "line", lines, want, func(h store.Line) bool { return h.Name == pl.Name },
			func(v *store.Line) *int64 { return &v.ID },
			func(v *store.Line) error { return a.t.CreateLine(ctx, v) }, func(v *store.Line) error { return a.t.UpdateLine(ctx, v) })
		if err != nil {
			return err
		}
		if l.Active != want.Active { // CreateLine makes every new line active
			l.Active = want.Active
			if err := a.t.UpdateLine(ctx, &l); err != nil {
				return fmt.Errorf("line %q: %w", l.Name, err)
			}
		}
		lineIDs[pl.Name] = l.ID
	}
	areas, err := a.t.Areas.All(ctx)
	if err != nil {
		return err
	}
	for _, pl := range p.Lines {
		for _, pa := range pl.Areas {
			want := store.Area{LineID: lineIDs[pl.Name], Name: pa.Name, X1: pa.X1, Y1: pa.Y1, X2: pa.X2, Y2: pa.Y2}
			if err := ensureIn(a, "area", a.t.Areas, areas, want, func(h store.Area) bool { return h.LineID == want.LineID && h.Name == pa.Name },
				func(v *store.Area) *int64 { return &v.ID }); err != nil {
				return err
			}
		}
	}
	products, err := a.t.Products.All(ctx)
	if err != nil {
		return err
	}
	for _, pp := range p.Products {
		want := store.Product{Name: pp.Name, SKU: pp.SKU, Weight: pp.Weight, Color: pp.Color, IdealCycleMS: pp.IdealCycleMS}
		if err := ensureIn(a, "product", a.t.Products, products, want, func(h store.Product) bool { return h.Name == pp.Name },
			func(v *store.Product) *int64 { return &v.ID }); err != nil {
			return err
		}
	}
	if err := a.shifts(p.Shifts, lineIDs); err != nil {
		return err
	}
	failures, err := a.t.Failures.All(ctx)
	if err != nil {
		return err
	}
	for _, pf := range p.Failures {
		cat := pf.Category
		if cat == "" {
			cat = "unplanned"
		}
		if cat != "unplanned" && cat != "planned" {
			return fmt.Errorf("failure %q: category must be unplanned or planned", pf.Code)
		}
		want := store.Failure{Code: pf.Code, Name: pf.Name, TypeFailure: store.JSON(`{"category":"` + cat + `"}`), Kind: cat, Description: pf.Description}
		if err := ensureIn(a, "failure", a.t.Failures, failures, want, func(h store.Failure) bool { return h.Code == pf.Code },
			func(v *store.Failure) *int64 { return &v.ID }); err != nil {
			return err
		}
	}
	return a.targets(p.Targets, lineIDs)
}

// targets applies the file's production targets (found by line and shift name).
func (a *plantApply) targets(pts []plantTarget, lineIDs map[string]int64) error {
	if len(pts) == 0 {
		return nil
	}
	ctx := a.cc.ctx
	shifts, err := a.t.Shifts.All(ctx)
	if err != nil {
		return err
	}
	have, err := a.t.Targets(ctx)
	if err != nil {
		return err
	}
	set := func(v *store.Target) error { return a.t.SetTarget(ctx, v) }
	for _, pt := range pts {
		line, ok := lineIDs[pt.Line]
		sh, found := findBy(shifts, func(h store.Shift) bool { return h.Name == pt.Shift })
		if !ok || !found {
			return fmt.Errorf("target of line %q, shift %q: no such line or shift in the file", pt.Line, pt.Shift)
		}
		want := store.Target{Key: store.TargetKey(line, sh.ID), LineID: line, ShiftID: sh.ID, Quantity: pt.Quantity}
		// A target has no id of its own: its audit entries name the shift.
		if _, err := ensure(a, "target", have, want, func(h store.Target) bool { return h.LineID == line && h.ShiftID == sh.ID },
			func(v *store.Target) *int64 { return &v.ShiftID }, set, set); err != nil {
			return err
		}
	}
	return nil
}

// tenant finds or creates the file's tenant and brings its settings to the file's.
func (a *plantApply) tenant(pt plantTenant) error {
	ctx := a.cc.ctx
	ten, err := a.s.TenantBySlug(ctx, pt.Slug)
	switch {
	case errors.Is(err, store.ErrNotFound):
		ten = store.Tenant{Slug: pt.Slug, Name: pt.Name, Active: true,
			Config: store.TenantConfig{Timezone: pt.Timezone, RetentionDays: pt.RetentionDays, Language: pt.Language}}
		if ten.Name == "" {
			ten.Name = pt.Slug
		}
		if err := a.s.CreateTenant(ctx, &ten); err != nil {
			return fmt.Errorf("tenant %q: %w", pt.Slug, err)
		}
		auditChange(a.cc, a.s, 0, "tenant.create", ten.ID, nil, ten)
		a.count("tenant").Created++
	case err != nil:
		return err
	default:
		old := ten
		if pt.Name != "" {
			ten.Name = pt.Name
		}
		if pt.Timezone != "" {
			ten.Config.Timezone = pt.Timezone
		}
		if pt.RetentionDays != 0 {
			ten.Config.RetentionDays = pt.RetentionDays
		}
		ten.Config.Language = pt.Language
		if reflect.DeepEqual(old, ten) {
			a.count("tenant").Unchanged++
			break
		}
		if ten.Config.Timezone != old.Config.Timezone {
			if err := a.checkShiftsIn(ten, ten.Config.Timezone); err != nil {
				return err
			}
		}
		if err := a.s.UpdateTenant(ctx, &ten); err != nil {
			return fmt.Errorf("tenant %q: %w", pt.Slug, err)
		}
		auditChange(a.cc, a.s, ten.ID, "tenant.settings", ten.ID, old.Config, ten.Config)
		a.count("tenant").Updated++
	}
	a.t, err = a.s.Tenant(ctx, ten.ID)
	return err
}

// checkShiftsIn checks the tenant's stored shifts in a new time zone (as the API does).
func (a *plantApply) checkShiftsIn(ten store.Tenant, tz string) error {
	t, err := a.s.Tenant(a.cc.ctx, ten.ID)
	if err != nil {
		return err
	}
	all, err := t.Shifts.All(a.cc.ctx)
	if err != nil {
		return err
	}
	if err := stream.ValidateShifts(tz, all); err != nil {
		return fmt.Errorf("tenant %q: time zone %s: %w", ten.Slug, tz, err)
	}
	return nil
}

// shifts applies the file's shifts after checking the calendar they make with the stored
// ones (overlaps, breaks, days) exactly as the API does, so nothing is written when the
// calendar would be invalid.
func (a *plantApply) shifts(ps []plantShift, lineIDs map[string]int64) error {
	ctx := a.cc.ctx
	have, err := a.t.Shifts.All(ctx)
	if err != nil {
		return err
	}
	var want []store.Shift
	for _, p := range ps {
		var line int64
		if p.Line != "" {
			id, ok := lineIDs[p.Line]
			if !ok {
				return fmt.Errorf("shift %q: line %q is not in the plant file", p.Name, p.Line)
			}
			line = id
		}
		days := p.Days
		if len(days) == 0 {
			days = []int{1, 2, 3, 4, 5, 6, 7}
		}
		d, _ := json.Marshal(days)
		breaks := p.Breaks
		if breaks == nil {
			breaks = []plantBreak{}
		}
		b, _ := json.Marshal(breaks)
		want = append(want, store.Shift{LineID: line, Name: p.Name, StartTime: p.Start, EndTime: p.End,
			IsOvernight: p.End <= p.Start, DaysImplemented: store.JSON(d), Breaks: store.JSON(b), Active: !p.Inactive})
	}
	// The calendar checker tells shifts apart by id: a new one gets one no stored shift has.
	set := slices.Clone(want)
	for i := range set {
		if h, ok := findBy(have, func(h store.Shift) bool { return h.Name == set[i].Name }); ok {
			set[i].ID = h.ID
		} else {
			set[i].ID = math.MaxInt64 - int64(i)
		}
	}
	for _, h := range have {
		if !slices.ContainsFunc(want, func(w store.Shift) bool { return w.Name == h.Name }) {
			set = append(set, h)
		}
	}
	if err := stream.ValidateShifts(a.t.Tenant().Config.Timezone, set); err != nil {
		return fmt.Errorf("shifts: %w", err)
	}
	for _, w := range want {
		if err := ensureIn(a, "shift", a.t.Shifts, have, w, func(h store.Shift) bool { return h.Name == w.Name },
			func(v *store.Shift) *int64 { return &v.ID }); err != nil {
			return err
		}
	}
	return nil
}

// ensureIn is ensure for an entity kept in a store.Collection.
func ensureIn[T any, P interface {
	*T
	store.Entity
}](a *plantApply, entity string, c store.Collection[T, P], have []T, want T, match func(T) bool, id func(*T) *int64) error {
	_, err := ensure(a, entity, have, want, match, id, func(v *T) error { return c.Create(a.cc.ctx, v) }, func(v *T) error { return c.Update(a.cc.ctx, v) })
	return err
}

// ensure creates want when no stored object matches, updates the match when it differs
// (timestamps aside), and audits what it did as config.<entity>.create or .update.
func ensure[T any](a *plantApply, entity string, have []T, want T, match func(T) bool, id func(*T) *int64,
	create, update func(*T) error) (T, error) {
	n := a.count(entity)
	old, found := findBy(have, match)
	if !found {
		if err := create(&want); err != nil {
			return want, fmt.Errorf("cannot create %s: %w", entity, err)
		}
		auditChange(a.cc, a.s, a.t.ID(), "config."+entity+".create", *id(&want), nil, want)
		n.Created++
		return want, nil
	}
	*id(&want) = *id(&old)
	if sameObject(old, want) {
		n.Unchanged++
		return old, nil
	}
	if err := update(&want); err != nil {
		return want, fmt.Errorf("cannot update %s %d: %w", entity, *id(&want), err)
	}
	auditChange(a.cc, a.s, a.t.ID(), "config."+entity+".update", *id(&want), old, want)
	n.Updated++
	return want, nil
}

// sameObject compares two objects as the API shows them, without their timestamps.
func sameObject(x, y any) bool {
	norm := func(v any) map[string]any {
		b, _ := json.Marshal(v)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		delete(m, "created_at")
		delete(m, "updated_at")
		return m
	}
	return reflect.DeepEqual(norm(x), norm(y))
}

func (a *plantApply) report(format string) error {
	if format == "json" {
		out := map[string]any{"tenant": a.t.Tenant().Slug, "tenant_id": a.t.ID()}
		for k, v := range a.counts {
			out[k] = v
		}
		return output(a.cc.stdout, "json", out)
	}
	if format != "text" && format != "" {
		return fmt.Errorf("invalid --format %q: use text or json", format)
	}
	fmt.Fprintf(a.cc.stdout, "tenant %s (id %d)\n", a.t.Tenant().Slug, a.t.ID())
	for _, k := range a.order {
		c := a.counts[k]
		fmt.Fprintf(a.cc.stdout, "%-8s created %d  updated %d  unchanged %d\n", k, c.Created, c.Updated, c.Unchanged)
	}
	return nil
}
