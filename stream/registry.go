package stream

import (
	"context"
	"iter"
	"log/slog"
	"time"

	"github.com/linepulse/linepulse/internal/clock"
	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/stream/shiftcal"
)

// The registry is the engine's view of the plant model: every tenant and line it folds,
// with their calendars and settings, kept in step with the database. Its maps are owned by
// the engine's loop (every method but run is called there); run, the refresher, re-reads
// models off the loop (on store.OnChange notifications and every MetaRefresh) and hands
// them to the loop on updates, which applies them. The engine hears about lines appearing,
// changing and going through lineHooks.

// lineHooks is what the engine does when the registry adds, reconfigures or drops a line.
type lineHooks interface {
	// lineAdded is called for a new line before it is registered (restore its state).
	lineAdded(ls *lineState)
	// lineChanged is called for every line of an applied model, new ones included (its
	// deadline may have moved).
	lineChanged(ls *lineState)
	// lineRemoved is called for a line the model no longer has (release its timer).
	lineRemoved(ls *lineState)
}

// unknownRetry is the least time between two database lookups for detections of a tenant
// or line the registry does not know, so a database outage does not stall the fold.
const unknownRetry = 5 * time.Second

type registry struct {
	st    *store.Store
	meta  *store.MetaCache
	log   *slog.Logger
	every time.Duration // MetaRefresh
	clk   clock.Clock
	hooks lineHooks

	changed chan int64       // tenant ids whose plant model changed (store.OnChange)
	updates chan *store.Meta // models read by run, for the loop to apply

	// Owned by the loop.
	tenants map[string]*tenantState // by slug
	byID    map[int64]*tenantState
	unknown map[string]time.Time // slug -> last lookup that found no tenant or no line
}

type tenantState struct {
	id        int64
	slug      string
	meta      *store.Meta
	metaDirty bool // changed since the last checkpoint
	cal       *shiftcal.Calendar
	calErr    string
	loc       *time.Location
	retention int // days
	lines     map[int64]*lineState
}

func newRegistry(st *store.Store, meta *store.MetaCache, log *slog.Logger, every time.Duration, clk clock.Clock, hooks lineHooks) *registry {
	r := &registry{st: st, meta: meta, log: log, every: every, clk: clk, hooks: hooks,
		changed: make(chan int64, 64), updates: make(chan *store.Meta, 16),
		tenants: map[string]*tenantState{}, byID: map[int64]*tenantState{}, unknown: map[string]time.Time{}}
	st.OnChange(func(id int64) {
		select {
		case r.changed <- id:
		default:
		}
	})
	return r
}

// line returns a registered line, or nil.
func (r *registry) line(slug string, lineID int64) *lineState {
	if ts := r.tenants[slug]; ts != nil {
		return ts.lines[lineID]
	}
	return nil
}

// lineByID returns a registered line by tenant id, or nil.
func (r *registry) lineByID(tenantID, lineID int64) *lineState {
	if ts := r.byID[tenantID]; ts != nil {
		return ts.lines[lineID]
	}
	return nil
}

// registered reports whether ls is still the registry's line (not deleted or replaced).
func (r *registry) registered(ls *lineState) bool { return ls.ten.lines[ls.id] == ls }

// all yields every tenant.
func (r *registry) all() iter.Seq[*tenantState] {
	return func(yield func(*tenantState) bool) {
		for _, ts := range r.tenants {
			if !yield(ts) {
				return
			}
		}
	}
}

// lineFor finds a line's state, loading the tenant's plant model when the tenant or the
// line is not known yet (at most every unknownRetry per tenant, so a database outage does
// not stall the fold).
func (r *registry) lineFor(slug string, lineID int64) *lineState {
	ts := r.tenants[slug]
	if ts != nil {
		if ls := ts.lines[lineID]; ls != nil {
			return ls
		}
	}
	now := r.clk.Now()
	if t, ok := r.unknown[slug]; ok && now.Sub(t) < unknownRetry {
		return nil
	}
	r.unknown[slug] = now
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var id int64
	if ts != nil {
		id = ts.id
	} else {
		ten, err := r.st.TenantBySlug(ctx, slug)
		if err != nil {
			r.log.Warn("detections for an unknown tenant skipped", "tenant", slug, "err", err)
			return nil
		}
		id = ten.ID
	}
	r.meta.Invalidate(id)
	m, err := r.meta.Get(ctx, id)
	if err != nil {
		r.log.Warn("cannot load plant model; detections skipped", "tenant", slug, "err", err)
		return nil
	}
	r.apply(m, true)
	if ls := r.line(slug, lineID); ls != nil {
		delete(r.unknown, slug)
		return ls
	}
	r.log.Warn("detections for an unknown line skipped", "tenant", slug, "line", lineID)
	return nil
}

// apply installs a tenant's plant model: calendar, lines and their settings. fromDB marks
// it for the next checkpoint (a model read back from the checkpoint is not).
func (r *registry) apply(m *store.Meta, fromDB bool) {
	if m == nil || m.Tenant.ID <= 0 || m.Tenant.Slug == "" {
		return
	}
	ts := r.byID[m.Tenant.ID]
	if ts != nil && ts.meta == m {
		return
	}
	if ts == nil {
		ts = &tenantState{id: m.Tenant.ID, slug: m.Tenant.Slug, lines: map[int64]*lineState{}}
		r.byID[ts.id], r.tenants[ts.slug] = ts, ts
	}
	ts.meta, ts.metaDirty = m, fromDB
	ts.retention = m.Tenant.Config.RetentionDays
	if loc, err := loadZone(m.Tenant.Config.Timezone); err == nil {
		ts.loc = loc
	} else if ts.loc == nil {
		ts.loc = time.UTC
	}
	cal, err := Calendar(m.Tenant.Config.Timezone, m.Shifts)
	switch {
	case err == nil:
		ts.cal, ts.calErr = cal, ""
	case err.Error() != ts.calErr:
		ts.calErr = err.Error()
		r.log.Error("shift configuration is invalid; keeping the previous calendar", "tenant", ts.slug, "err", err)
	}
	for id, l := range m.Lines {
		conf := r.lineConf(ts, l)
		ls := ts.lines[id]
		if ls == nil {
			ls = &lineState{ten: ts, id: id, line: l, fold: newLineFold(conf), dirty: true}
			r.hooks.lineAdded(ls)
			ts.lines[id] = ls
		} else {
			ls.line = l
			ls.fold.reconfigure(conf)
			ls.dirty = true
		}
		r.hooks.lineChanged(ls)
	}
	for id, ls := range ts.lines {
		if _, ok := m.Lines[id]; !ok {
			r.hooks.lineRemoved(ls)
			delete(ts.lines, id)
		}
	}
}

func (r *registry) lineConf(ts *tenantState, l store.Line) lineConf {
	c := lineConf{id: l.ID, cal: ts.cal, loc: ts.loc, threshold: l.DowntimeThreshold(),
		minMicro: time.Duration(l.MicroStopMinMS) * time.Millisecond, ideal: l.IdealCycleTime(),
		failures: ts.meta.Failures, targets: lineTargets(ts.meta, l.ID)}
	if ts.meta != nil {
		c.products = ts.meta.Products
	}
	if err := ValidateLine(l); err != nil {
		r.log.Error("line configuration is invalid; downtime is not computed for it", "tenant", ts.slug, "line", l.ID, "err", err)
		c.threshold, c.minMicro = 24*time.Hour, 0
	}
	return c
}

// load reads every active tenant's plant model (best effort: with the database down the
// checkpointed models serve).
func (r *registry) load(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for _, m := range r.fetchAll(ctx, false) {
		r.apply(m, true)
	}
}

// fetchAll lists the tenants and loads their metadata (used by load and run). fresh
// re-reads each model even if the cache holds it: changes made by another process (the
// CLI, another node) do not reach this process's OnChange.
func (r *registry) fetchAll(ctx context.Context, fresh bool) []*store.Meta {
	ts, err := r.st.AllTenants(ctx)
	if err != nil {
		r.log.Warn("cannot list tenants", "err", err)
		return nil
	}
	var out []*store.Meta
	for _, t := range ts {
		if !t.Active {
			continue
		}
		if fresh {
			r.meta.Invalidate(t.ID)
		}
		m, err := r.meta.Get(ctx, t.ID)
		if err != nil {
			r.log.Warn("cannot load plant model", "tenant", t.Slug, "err", err)
			continue
		}
		out = append(out, m)
	}
	return out
}

// run is the refresher: it re-reads plant models on change notifications and every
// MetaRefresh, off the loop, and sends them on updates until ctx ends.
func (r *registry) run(ctx context.Context) {
	tick := r.clk.NewTicker(r.every)
	defer tick.Stop()
	send := func(m *store.Meta) {
		select {
		case r.updates <- m:
		case <-ctx.Done():
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case id := <-r.changed:
			c, cancel := context.WithTimeout(ctx, 5*time.Second)
			m, err := r.meta.Get(c, id)
			cancel()
			if err == nil {
				send(m)
			}
		case <-tick.C():
			c, cancel := context.WithTimeout(ctx, 10*time.Second)
			for _, m := range r.fetchAll(c, true) {
				send(m)
			}
			cancel()
		}
	}
}
