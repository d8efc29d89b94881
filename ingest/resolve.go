package ingest

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/linepulse/linepulse/store"
)

// tenantState is what the writer knows about one tenant slug. The fetch goroutine owns
// id, missingUntil and recheck; mu guards the lazily opened writer pool, which line
// goroutines use.
type tenantState struct {
	slug         string
	id           int64               // 0 = no such tenant
	missingUntil time.Time           // re-ask the database after this when id == 0
	lastReload   time.Time           // last forced metadata reload for an unknown line
	absent       map[int64]time.Time // line -> when a reload confirmed it does not exist

	mu   sync.Mutex
	tdb  *store.TenantDB
	pool *store.WriterPool
}

// resolve maps a subject's tenant slug and line to the tenant and its retention in days.
// known is false when the tenant or the line does not exist. While the database cannot
// answer it retries (keeping msg alive) until it can or ctx ends (then it returns the
// context's error).
func (w *Writer) resolve(ctx context.Context, msg jetstream.Msg, slug string, line int64) (ts *tenantState, retention int, known bool, err error) {
	lastProgress := w.clk.Now()
	for attempt := 0; ; attempt++ {
		ts, retention, known, err = w.resolveOnce(ctx, slug, line)
		if err == nil {
			return ts, retention, known, nil
		}
		if attempt == 0 {
			w.log.Warn("ingest: cannot resolve tenant/line; retrying", "tenant", slug, "line", line, "err", err)
		}
		if !w.clk.Sleep(ctx, backoff(attempt)) {
			return nil, 0, false, ctx.Err()
		}
		if w.clk.Now().Sub(lastProgress) > w.cfg.AckWait/3 {
			_ = msg.InProgress()
			lastProgress = w.clk.Now()
		}
	}
}

func (w *Writer) resolveOnce(ctx context.Context, slug string, line int64) (*tenantState, int, bool, error) {
	w.mu.Lock()
	ts := w.tenants[slug]
	w.mu.Unlock()
	if ts == nil || (ts.id == 0 && w.clk.Now().After(ts.missingUntil)) {
		ten, err := w.st.TenantBySlug(ctx, slug)
		switch {
		case errors.Is(err, store.ErrNotFound):
			if ts == nil {
				ts = &tenantState{slug: slug}
				w.mu.Lock()
				w.tenants[slug] = ts
				w.mu.Unlock()
			}
			ts.missingUntil = w.clk.Now().Add(missingTenantTTL)
			return ts, 0, false, nil
		case err != nil:
			return nil, 0, false, err
		}
		if ts == nil {
			ts = &tenantState{slug: slug}
			w.mu.Lock()
			w.tenants[slug] = ts
			w.mu.Unlock()
		}
		ts.id = ten.ID
	}
	if ts.id == 0 {
		return ts, 0, false, nil
	}
	meta, err := w.meta.Get(ctx, ts.id)
	if errors.Is(err, store.ErrNotFound) {
		ts.id = 0 // deleted since: look the slug up again next time
		ts.missingUntil = time.Time{}
		return ts, 0, false, nil
	}
	if err != nil {
		return nil, 0, false, err
	}
	if _, ok := meta.Lines[line]; !ok {
		known, err := w.recheckLine(ctx, ts, line)
		if err != nil {
			ts.lastReload = time.Time{} // ask again on the retry
			return nil, 0, false, err
		}
		if !known {
			return ts, 0, false, nil
		}
	}
	return ts, meta.Tenant.Config.RetentionDays, true, nil
}

// recheckLine decides about a line missing from the cached metadata: it may have been
// created by another process (the CLI, another node), whose change notification this
// process never saw. It asks the database unless a check less than lineRecheck ago
// already found the line missing, at most once per reloadGap per tenant (a device
// publishing to many unknown lines must not hammer the database). An error means the
// database could not answer.
func (w *Writer) recheckLine(ctx context.Context, ts *tenantState, line int64) (bool, error) {
	now := w.clk.Now()
	if at, ok := ts.absent[line]; ok && now.Sub(at) < lineRecheck {
		return false, nil
	}
	if now.Sub(ts.lastReload) < reloadGap {
		return false, nil
	}
	ts.lastReload = now
	tdb, err := w.st.Tenant(ctx, ts.id)
	if err != nil {
		return false, err
	}
	_, err = tdb.GetLine(ctx, line)
	switch {
	case err == nil:
		delete(ts.absent, line)
		w.meta.Invalidate(ts.id) // the next lookup loads it
		return true, nil
	case !errors.Is(err, store.ErrNotFound):
		return false, err
	}
	if ts.absent == nil || len(ts.absent) >= 1024 {
		ts.absent = map[int64]time.Time{}
	}
	ts.absent[line] = now
	return false, nil
}

// lineExists asks the database whether a line still exists; it answers false only when
// the database said so.
func (w *Writer) lineExists(ctx context.Context, tenantID, line int64) bool {
	tdb, err := w.st.Tenant(ctx, tenantID)
	if err != nil {
		return !errors.Is(err, store.ErrNotFound)
	}
	_, err = tdb.GetLine(ctx, line)
	return !errors.Is(err, store.ErrNotFound)
}

// writer returns the tenant database and its dedicated writer pool, opening the pool on
// first use.
func (ts *tenantState) writer(ctx context.Context, id int64, st *store.Store, size int) (*store.TenantDB, *store.WriterPool, error) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.pool != nil {
		return ts.tdb, ts.pool, nil
	}
	tdb, err := st.Tenant(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	pool, err := tdb.NewWriterPool(ctx, size)
	if err != nil {
		return nil, nil, err
	}
	ts.tdb, ts.pool = tdb, pool
	return tdb, pool, nil
}

type poolTotals struct {
	wait  time.Duration
	empty int64
}

func (w *Writer) poolStats() poolTotals {
	w.mu.Lock()
	tenants := make([]*tenantState, 0, len(w.tenants))
	for _, ts := range w.tenants {
		tenants = append(tenants, ts)
	}
	w.mu.Unlock()
	w.mu.Lock()
	t := w.closedPools
	w.mu.Unlock()
	for _, ts := range tenants {
		ts.mu.Lock()
		if ts.pool != nil {
			s := ts.pool.Stat()
			t.wait += s.EmptyAcquireWaitTime()
			t.empty += s.EmptyAcquireCount()
		}
		ts.mu.Unlock()
	}
	return t
}

func (w *Writer) closePools() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, ts := range w.tenants {
		ts.mu.Lock()
		if ts.pool != nil {
			s := ts.pool.Stat()
			w.closedPools.wait += s.EmptyAcquireWaitTime()
			w.closedPools.empty += s.EmptyAcquireCount()
			ts.pool.Close()
			ts.pool = nil
		}
		ts.mu.Unlock()
	}
}
