package store

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
)

// Meta is one tenant's plant model held in memory for application-side joins: detection
// rows carry only integer ids, resolved here to names and colours without a query.
type Meta struct {
	Tenant   Tenant
	Lines    map[int64]Line
	Areas    map[int64]Area
	Products map[int64]Product
	Shifts   []Shift
	Failures map[string]Failure // by code
	// Nodes are each line's vision nodes: the node of every camera mapped (camera_area)
	// to one of the line's areas, sorted, without repeats.
	Nodes map[int64][]string
	// Targets are the planned quantities of good units per line and shift (see Target).
	Targets []Target
}

// Target is the planned quantity of a line's shift (0: none).
func (m *Meta) Target(line, shift int64) int64 {
	for _, x := range m.Targets {
		if x.LineID == line && x.ShiftID == shift {
			return x.Quantity
		}
	}
	return 0
}

// AreaName resolves an area id; unknown ids (relaxed integrity) read "unknown area N".
func (m *Meta) AreaName(id int64) string {
	if a, ok := m.Areas[id]; ok {
		return a.Name
	}
	return fmt.Sprintf("unknown area %d", id)
}

// ProductName resolves a product id, like AreaName.
func (m *Meta) ProductName(id int64) (name, color string) {
	if p, ok := m.Products[id]; ok {
		return p.Name, p.Color
	}
	return fmt.Sprintf("unknown product %d", id), ""
}

// MetaCache keeps each tenant's Meta, loading it on first use and reloading it after a
// change (Store.OnChange, or Invalidate when another instance changed it).
type MetaCache struct {
	s  *Store
	mu sync.Mutex
	m  map[int64]*metaEntry
}

type metaEntry struct {
	mu      sync.Mutex
	version atomic.Int64 // bumped by Invalidate
	loaded  atomic.Pointer[loadedMeta]
}

// loadedMeta pairs a Meta with the version it reflects, so both are read atomically.
type loadedMeta struct {
	meta    *Meta
	version int64
}

// NewMetaCache returns a cache that refreshes itself on the store's change notifications.
func NewMetaCache(s *Store) *MetaCache {
	c := &MetaCache{s: s, m: map[int64]*metaEntry{}}
	s.OnChange(c.Invalidate)
	return c
}

func (c *MetaCache) entry(tenantID int64) *metaEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[tenantID]
	if !ok {
		e = &metaEntry{}
		c.m[tenantID] = e
	}
	return e
}

// Invalidate marks a tenant's metadata stale; the next Get reloads it.
func (c *MetaCache) Invalidate(tenantID int64) { c.entry(tenantID).version.Add(1) }

// Get returns the tenant's current metadata. The returned value is shared and must not be
// modified.
func (c *MetaCache) Get(ctx context.Context, tenantID int64) (*Meta, error) {
	e := c.entry(tenantID)
	if l := e.loaded.Load(); l != nil && l.version == e.version.Load() {
		return l.meta, nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	want := e.version.Load()
	old := e.loaded.Load()
	if old != nil && old.version == want {
		return old.meta, nil
	}
	m, err := c.load(ctx, tenantID)
	if err != nil {
		if old != nil {
			return old.meta, nil // stale beats nothing while the database is away
		}
		return nil, err
	}
	e.loaded.Store(&loadedMeta{meta: m, version: want})
	return m, nil
}

func (c *MetaCache) load(ctx context.Context, tenantID int64) (*Meta, error) {
	t, err := c.s.Tenant(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	ten, err := c.s.GetTenant(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	m := &Meta{Tenant: ten, Lines: map[int64]Line{}, Areas: map[int64]Area{}, Products: map[int64]Product{}, Failures: map[string]Failure{}}
	lines, err := t.AllLines(ctx)
	if err != nil {
		return nil, err
	}
	for _, l := range lines {
		m.Lines[l.ID] = l
	}
	areas, err := t.Areas.All(ctx)
	if err != nil {
		return nil, err
	}
	for _, a := range areas {
		m.Areas[a.ID] = a
	}
	products, err := t.Products.All(ctx)
	if err != nil {
		return nil, err
	}
	for _, p := range products {
		m.Products[p.ID] = p
	}
	if m.Shifts, err = t.Shifts.All(ctx); err != nil {
		return nil, err
	}
	failures, err := t.Failures.All(ctx)
	if err != nil {
		return nil, err
	}
	for _, f := range failures {
		m.Failures[f.Code] = f
	}
	if m.Nodes, err = lineNodes(ctx, t, m.Areas); err != nil {
		return nil, err
	}
	if m.Targets, err = t.Targets(ctx); err != nil {
		return nil, err
	}
	return m, nil
}

// lineNodes maps lines to vision nodes through camera → camera_area → area.
func lineNodes(ctx context.Context, t *TenantDB, areas map[int64]Area) (map[int64][]string, error) {
	cams, err := t.Cameras.All(ctx)
	if err != nil {
		return nil, err
	}
	node := make(map[int64]string, len(cams))
	for _, c := range cams {
		if c.Node != "" {
			node[c.ID] = c.Node
		}
	}
	links, err := t.CameraAreas.All(ctx)
	if err != nil {
		return nil, err
	}
	out := map[int64][]string{}
	for _, ca := range links {
		a, ok := areas[ca.AreaID]
		if n := node[ca.CameraID]; ok && n != "" && !slices.Contains(out[a.LineID], n) {
			out[a.LineID] = append(out[a.LineID], n)
		}
	}
	for _, ns := range out {
		slices.Sort(ns)
	}
	return out, nil
}
