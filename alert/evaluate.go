package alert

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/linepulse/linepulse/bus"
	"github.com/linepulse/linepulse/store"
)

// kpiMsg and downMsg are the parts of the stream engine's messages (docs/CONTRACT.md) the
// rules read.
type kpiMsg struct {
	Line  int64     `json:"line"`
	At    time.Time `json:"at"`
	State string    `json:"state"`
	Shift *struct {
		Start time.Time `json:"start"`
	} `json:"shift"`
	Availability float64 `json:"availability"`
	Performance  float64 `json:"performance"`
	Quality      float64 `json:"quality"`
	OEE          float64 `json:"oee"`
}

type downMsg struct {
	Line  int64 `json:"line"`
	Event struct {
		ID         int64      `json:"id"`
		State      string     `json:"state"`
		Start      time.Time  `json:"start"`
		End        *time.Time `json:"end"`
		ReasonCode string     `json:"reason_code"`
	} `json:"event"`
}

// tenantState is what the evaluator keeps of one tenant.
type tenantState struct {
	id     int64
	slug   string
	tdb    *store.TenantDB
	rules  []store.AlertRule
	loaded time.Time
	// below: oee_below episodes by rule and line, the KPI time the value went below.
	below map[ruleLine]time.Time
	// open: whether an oee_below alert of a rule and line is open (absent: not known yet),
	// so a healthy KPI message costs no query.
	open map[ruleLine]bool
	// nodeOpen: the occurrence of each rule's open node_offline alert by node, once known.
	nodeOpen map[ruleNode]string
	// heard: each node's latest telemetry, and when it arrived, for rules created later.
	heard map[string]heardNode
	// nodeRules: the node_offline rules already armed for the heard nodes.
	nodeRules map[int64]bool
	// restored: the version (updated_at) of each rule whose delayed checks were rebuilt.
	restored map[int64]time.Time
}

type ruleLine struct{ rule, line int64 }

// tenant finds (and caches) a tenant by slug, with its active rules, reloaded every RuleTTL.
func (e *Engine) tenant(ctx context.Context, slug string) (*tenantState, []store.AlertRule, error) {
	e.mu.Lock()
	ts := e.tenants[slug]
	e.mu.Unlock()
	if ts == nil {
		ten, err := e.st.TenantBySlug(ctx, slug)
		if err != nil {
			return nil, nil, err
		}
		tdb, err := e.st.Tenant(ctx, ten.ID)
		if err != nil {
			return nil, nil, err
		}
		e.mu.Lock()
		if ts = e.tenants[slug]; ts == nil {
			ts = &tenantState{id: ten.ID, slug: slug, tdb: tdb, below: map[ruleLine]time.Time{}, open: map[ruleLine]bool{}, nodeOpen: map[ruleNode]string{}, heard: map[string]heardNode{}, nodeRules: map[int64]bool{}, restored: map[int64]time.Time{}}
			e.tenants[slug], e.ids[ten.ID] = ts, ts
		}
		e.mu.Unlock()
	}
	now := e.clk.Now()
	e.mu.Lock()
	rules, fresh := ts.rules, ts.rules != nil && now.Sub(ts.loaded) < e.cfg.RuleTTL
	e.mu.Unlock()
	if fresh {
		return ts, rules, nil
	}
	all, err := ts.tdb.AlertRules.All(ctx)
	if err != nil {
		return nil, nil, err
	}
	rules = make([]store.AlertRule, 0, len(all))
	for _, r := range all {
		if r.Active {
			rules = append(rules, r)
		}
	}
	e.mu.Lock()
	ts.rules, ts.loaded = rules, now
	e.mu.Unlock()
	e.armNewNodeRules(ts, rules)
	e.restoreRules(ts, rules)
	return ts, rules, nil
}

// Invalidate drops the cached rules of a tenant (the API calls it after a change, so this
// instance applies it at once; others within RuleTTL) and reloads them in the background,
// rebuilding the delayed checks of a new or changed rule.
func (e *Engine) Invalidate(tenantID int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	ts := e.ids[tenantID]
	if ts != nil {
		ts.rules = nil
	}
	ctx := e.runCtx
	if ctx == nil || e.stopped {
		return
	}
	e.bg.Add(1) // under mu, before Run's end waits for bg
	go func() {
		defer e.bg.Done()
		slug := ""
		if ts != nil {
			slug = ts.slug
		} else if ten, err := e.st.GetTenant(ctx, tenantID); err == nil {
			slug = ten.Slug
		}
		if slug != "" {
			_, _, _ = e.tenant(ctx, slug)
		}
	}()
}

// handle evaluates one live message.
func (e *Engine) handle(ctx context.Context, m *nats.Msg) {
	if strings.HasSuffix(m.Subject, ".telemetry") {
		e.onTelemetry(ctx, m)
		return
	}
	slug, line, kind, err := bus.ParseLineSubject(m.Subject)
	if err != nil {
		return
	}
	ts, rules, err := e.tenant(ctx, slug)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			e.log.Warn("alert: cannot load the rules", "tenant", slug, "err", err)
		}
		return
	}
	switch kind {
	case bus.KindDowntime:
		var d downMsg
		if err := json.Unmarshal(m.Data, &d); err != nil || d.Line != line {
			return
		}
		e.onDowntime(ctx, ts, rules, line, d)
	case bus.KindKPI:
		var k kpiMsg
		if err := json.Unmarshal(m.Data, &k); err != nil || k.Line != line {
			return
		}
		e.onKPI(ctx, ts, rules, line, k)
	}
}

func downKey(line int64, start time.Time) string {
	return "line_down:" + strconv.FormatInt(line, 10) + ":" + strconv.FormatInt(start.UnixMilli(), 10)
}

func uncodedKey(line, event int64) string {
	return "uncoded:" + strconv.FormatInt(line, 10) + ":" + strconv.FormatInt(event, 10)
}

func timerKey(ts *tenantState, r store.AlertRule, occurrence string) string {
	return strconv.FormatInt(ts.id, 10) + "/" + strconv.FormatInt(r.ID, 10) + "/" + occurrence
}

func (e *Engine) onDowntime(ctx context.Context, ts *tenantState, rules []store.AlertRule, line int64, d downMsg) {
	start := d.Event.Start.UTC()
	occ := downKey(line, start)
	for _, r := range rules {
		if !r.Covers(line) {
			continue
		}
		switch {
		case r.Kind == store.RuleLineDown && d.Event.State == "started":
			e.armLineDown(ctx, ts, r, line, start, r.After.D())
		case r.Kind == store.RuleLineDown: // ended or cancelled
			e.cancel(timerKey(ts, r, occ))
			e.resolveOccurrence(ctx, ts, r, occ)
		case r.Kind == store.RuleUncodedDowntime && d.Event.State == "ended" && d.Event.ReasonCode == "" && d.Event.ID > 0:
			ev, end := d.Event.ID, start
			if d.Event.End != nil {
				end = d.Event.End.UTC()
			}
			e.armUncoded(ctx, ts, r, line, ev, end, r.After.D())
		}
	}
}

// DowntimeCoded resolves the uncoded-downtime alerts of an event that was just coded (the
// API calls it after a reason is set).
func (e *Engine) DowntimeCoded(ctx context.Context, tenantID, line, event int64) {
	ten, err := e.st.GetTenant(ctx, tenantID)
	if err != nil {
		return
	}
	ts, rules, err := e.tenant(ctx, ten.Slug)
	if err != nil {
		return
	}
	occ := uncodedKey(line, event)
	for _, r := range rules {
		if r.Kind == store.RuleUncodedDowntime && r.Covers(line) {
			e.cancel(timerKey(ts, r, occ))
			e.resolveOccurrence(ctx, ts, r, occ)
		}
	}
}

// metric reads a rule's metric from a KPI message.
func metric(k kpiMsg, name string) float64 {
	switch name {
	case "availability":
		return k.Availability
	case "performance":
		return k.Performance
	case "quality":
		return k.Quality
	}
	return k.OEE
}

func (e *Engine) onKPI(ctx context.Context, ts *tenantState, rules []store.AlertRule, line int64, k kpiMsg) {
	for _, r := range rules {
		if r.Kind == store.RuleLineDown && r.Covers(line) && k.State != "down" {
			// A stop whose end this instance never saw (it was not running then): the KPI
			// state says the line runs again.
			e.mu.Lock()
			open, known := ts.open[ruleLine{r.ID, line}]
			e.mu.Unlock()
			if !known || open {
				e.resolveOpen(ctx, ts, r, line)
			}
			continue
		}
		if r.Kind != store.RuleOEEBelow || !r.Covers(line) {
			continue
		}
		key := ruleLine{r.ID, line}
		inShift := k.Shift != nil && (k.State == "running" || k.State == "down")
		v := metric(k, r.Metric)
		e.mu.Lock()
		since, below := ts.below[key]
		if inShift && v < r.Threshold {
			if !below {
				since = k.At.UTC()
				ts.below[key] = since
			}
		} else {
			delete(ts.below, key)
		}
		e.mu.Unlock()
		switch {
		case inShift && v < r.Threshold && k.At.Sub(since) >= r.After.D():
			// One episode per shift and start: every instance that saw the same messages
			// names it the same.
			occ := fmt.Sprintf("oee_below:%d:%d:%d", line, k.Shift.Start.UnixMilli(), since.UnixMilli())
			e.fire(ctx, ts, r, store.Alert{RuleID: r.ID, LineID: line, Occurrence: occ, Kind: r.Kind, Severity: r.Severity, StartedAt: since, Value: v})
		case !(inShift && v < r.Threshold):
			e.mu.Lock()
			open, known := ts.open[key]
			e.mu.Unlock()
			if !known || open {
				e.resolveOpen(ctx, ts, r, line)
			}
		}
	}
}

// fire opens an alert (once per occurrence across instances) and schedules its escalation.
func (e *Engine) fire(ctx context.Context, ts *tenantState, r store.AlertRule, al store.Alert) {
	if r.Kind == store.RuleOEEBelow {
		// An instance that joined mid-episode names it differently: one open alert per rule
		// and line is enough.
		open, err := ts.tdb.OpenAlertOf(ctx, r.ID, al.LineID)
		if err != nil {
			return
		}
		e.setOpen(ts, r.ID, al.LineID, open != nil)
		if open != nil {
			return
		}
	}
	created, err := ts.tdb.OpenAlert(ctx, &al, r.Channels)
	if err != nil {
		e.log.Error("alert: cannot open an alert", "tenant", ts.slug, "rule", r.ID, "err", err)
		return
	}
	if !created {
		return
	}
	e.setOpen(ts, r.ID, al.LineID, true)
	e.log.Info("alert: firing", "tenant", ts.slug, "rule", r.Name, "line", al.LineID, "alert", al.ID)
	if r.EscalateAfter > 0 {
		e.armEscalation(ctx, ts, r, al.ID, r.EscalateAfter.D())
	}
	e.poke()
}

func (e *Engine) escalate(ctx context.Context, ts *tenantState, r store.AlertRule, id int64) {
	ok, err := ts.tdb.EscalateAlert(ctx, id, r.EscalateChannels)
	if err != nil {
		e.log.Error("alert: cannot escalate", "tenant", ts.slug, "alert", id, "err", err)
		return
	}
	if ok {
		e.log.Info("alert: escalated", "tenant", ts.slug, "alert", id)
		e.poke()
	}
}

func (e *Engine) resolveOccurrence(ctx context.Context, ts *tenantState, r store.AlertRule, occ string) {
	al, err := ts.tdb.AlertByOccurrence(ctx, r.ID, occ)
	if err != nil {
		return
	}
	e.resolve(ctx, ts, r, al)
}

func (e *Engine) resolveOpen(ctx context.Context, ts *tenantState, r store.AlertRule, line int64) {
	al, err := ts.tdb.OpenAlertOf(ctx, r.ID, line)
	if err != nil {
		return
	}
	e.setOpen(ts, r.ID, line, false)
	if al != nil {
		e.resolve(ctx, ts, r, *al)
	}
}

func (e *Engine) setOpen(ts *tenantState, rule, line int64, open bool) {
	e.mu.Lock()
	ts.open[ruleLine{rule, line}] = open
	e.mu.Unlock()
}

// resolve ends an alert and tells every channel that was told it fired.
func (e *Engine) resolve(ctx context.Context, ts *tenantState, r store.AlertRule, al store.Alert) {
	if al.State == store.AlertResolved {
		return
	}
	channels := r.Channels
	if al.EscalatedAt != nil {
		channels = append(append([]int64{}, channels...), r.EscalateChannels...)
	}
	ok, err := ts.tdb.ResolveAlert(ctx, al.ID, channels)
	if err != nil {
		e.log.Error("alert: cannot resolve", "tenant", ts.slug, "alert", al.ID, "err", err)
		return
	}
	if ok {
		e.cancel(escKey(ts, al.ID))
		e.log.Info("alert: resolved", "tenant", ts.slug, "alert", al.ID)
		e.poke()
	}
}
