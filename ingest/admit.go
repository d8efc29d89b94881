package ingest

import (
	"context"
	"sync"
	"time"

	"github.com/linepulse/linepulse/detection"
	"github.com/linepulse/linepulse/internal/clock"
	"github.com/linepulse/linepulse/store"
)

// Admission is the ingest edge's verdict on a whole device message (bus.Config.Admit):
// it judges the message with detection.Admit (Decode's verdict, decoding only up to the
// first valid element) and detection.WindowAt at
// the time the edge received it and the tenant's retention, the rule the writer and the
// KPI engine apply with the message's stream time (a few milliseconds later). A message
// is refused only when none of it would be stored: malformed, too large, empty, or every
// element rejected (then with the first element's reason). Anything else is admitted;
// its rejected elements are dead-lettered by the writer as before.
//
// It never waits for the database on the edge's path: a tenant's retention is cached
// for admissionTTL and looked up in the background; until it is known, and for
// unknown tenants, the retention horizon is not applied (the writer still applies it).
type Admission struct {
	st  *store.Store
	clk clock.Clock

	mu      sync.Mutex
	tenants map[string]*admissionTenant
}

type admissionTenant struct {
	retention int
	fetched   time.Time
	fetching  bool
}

const admissionTTL = time.Minute

// NewAdmission returns the Admission of st's tenants; clk nil = the real clock.
func NewAdmission(st *store.Store, clk clock.Clock) *Admission {
	return &Admission{st: st, clk: clock.Or(clk), tenants: make(map[string]*admissionTenant)}
}

// Admit implements bus.Admit.
func (a *Admission) Admit(tenant, _ string, _ int64, body []byte, at time.Time) *detection.Rejected {
	r, ok := detection.Admit(body, detection.WindowAt(at, a.retention(tenant)))
	if ok {
		return nil
	}
	if r.Index >= 0 {
		r = detection.RejectMessage(r.Reason, "every detection refused, the first: "+r.Detail, body)
	}
	return &r
}

// retention returns the cached retention of tenant (0 while unknown) and refreshes it
// in the background when it is stale.
func (a *Admission) retention(slug string) int {
	now := a.clk.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	t := a.tenants[slug]
	if t == nil {
		if len(a.tenants) >= maxAdmissionTenants {
			return 0 // a flood of unknown slugs cannot grow the cache
		}
		t = &admissionTenant{}
		a.tenants[slug] = t
	}
	if !t.fetching && now.Sub(t.fetched) >= admissionTTL {
		t.fetching = true
		go a.fetch(slug, t)
	}
	return t.retention
}

const maxAdmissionTenants = 10_000

func (a *Admission) fetch(slug string, t *admissionTenant) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ten, err := a.st.TenantBySlug(ctx, slug)
	a.mu.Lock()
	defer a.mu.Unlock()
	t.fetching = false
	switch {
	case err == nil:
		t.retention, t.fetched = ten.Config.RetentionDays, a.clk.Now()
	default:
		// Unknown tenant or database away: ask again after the TTL.
		t.fetched = a.clk.Now()
	}
}
