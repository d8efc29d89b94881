package alert

import (
	"context"
	"strconv"
	"time"

	"github.com/linepulse/linepulse/store"
)

// The delayed checks (line_down's and uncoded_downtime's `after`, escalation) are timers in
// memory; what they wait for is in the database, so an instance rebuilds them from it when
// it starts and when a rule is new or changed. Every rebuilt check ends in the same
// exactly-once operations as the live one (OpenAlert by occurrence, EscalateAlert's
// conditional update), so several instances rebuilding the same check still act once.

// restoreTimers rebuilds the delayed checks of every tenant (Run, on start).
func (e *Engine) restoreTimers(ctx context.Context) {
	tens, err := e.st.AllTenants(ctx)
	if err != nil {
		e.log.Warn("alert: cannot list the tenants", "err", err)
		return
	}
	for _, t := range tens {
		if t.Active {
			// tenant() loads the rules and rebuilds their checks.
			if _, _, err := e.tenant(ctx, t.Slug); err != nil {
				e.log.Warn("alert: cannot load the rules", "tenant", t.Slug, "err", err)
			}
		}
	}
}

// restoreRules rebuilds the delayed checks of the rules not rebuilt yet in their current
// version. It arms timers on Run's context (not the caller's, which may be a request's);
// before Run it does nothing.
func (e *Engine) restoreRules(ts *tenantState, rules []store.AlertRule) {
	e.mu.Lock()
	ctx := e.runCtx
	var fresh []store.AlertRule
	if ctx != nil {
		for _, r := range rules {
			if v, ok := ts.restored[r.ID]; !ok || !v.Equal(r.UpdatedAt) {
				ts.restored[r.ID] = r.UpdatedAt
				fresh = append(fresh, r)
			}
		}
	}
	e.mu.Unlock()
	if len(fresh) == 0 || ctx.Err() != nil {
		return
	}
	err := e.restoreEscalations(ctx, ts, fresh)
	if err == nil {
		err = e.restoreDowntime(ctx, ts, fresh)
	}
	if err != nil {
		e.log.Warn("alert: cannot rebuild the delayed checks", "tenant", ts.slug, "err", err)
		// Try again on the next rule reload (rebuilding twice is harmless).
		e.mu.Lock()
		for _, r := range fresh {
			delete(ts.restored, r.ID)
		}
		e.mu.Unlock()
	}
}

// restoreEscalations schedules the escalation of every firing (unacknowledged, not yet
// escalated) alert of the rules at fired_at + escalate_after, as fire does; at once if that
// is past.
func (e *Engine) restoreEscalations(ctx context.Context, ts *tenantState, rules []store.AlertRule) error {
	byID := map[int64]store.AlertRule{}
	for _, r := range rules {
		if r.EscalateAfter > 0 {
			byID[r.ID] = r
		}
	}
	if len(byID) == 0 {
		return nil
	}
	open, err := ts.tdb.OpenAlerts(ctx)
	if err != nil {
		return err
	}
	now := e.clk.Now()
	for _, al := range open {
		r, ok := byID[al.RuleID]
		if !ok || al.State != store.AlertFiring || al.EscalatedAt != nil {
			continue
		}
		e.armEscalation(ctx, ts, r, al.ID, al.FiredAt.Add(r.EscalateAfter.D()).Sub(now))
	}
	return nil
}

// restoreDowntime schedules line_down for the lines' open stops and uncoded_downtime for
// the uncoded stops that ended within the rule's `after` plus Lookback (and not before the
// rule existed: a new rule does not page about old stops).
func (e *Engine) restoreDowntime(ctx context.Context, ts *tenantState, rules []store.AlertRule) error {
	var down []store.AlertRule
	for _, r := range rules {
		if r.Kind == store.RuleLineDown || r.Kind == store.RuleUncodedDowntime {
			down = append(down, r)
		}
	}
	if len(down) == 0 {
		return nil
	}
	lines, err := ts.tdb.AllLines(ctx)
	if err != nil {
		return err
	}
	now := e.clk.Now()
	for _, l := range lines {
		var covering []store.AlertRule
		from := now
		for _, r := range down {
			if !r.Covers(l.ID) {
				continue
			}
			covering = append(covering, r)
			if r.Kind == store.RuleUncodedDowntime {
				from = minTime(from, now.Add(-r.After.D()-e.cfg.Lookback))
			}
		}
		if len(covering) == 0 {
			continue
		}
		evs, err := ts.tdb.DowntimeBetween(ctx, l.ID, from, now.Add(time.Millisecond))
		if err != nil {
			return err
		}
		for _, ev := range evs {
			for _, r := range covering {
				switch {
				case r.Kind == store.RuleLineDown && ev.End == nil:
					e.armLineDown(ctx, ts, r, l.ID, ev.Start.UTC(), ev.Start.Add(r.After.D()).Sub(now))
				case r.Kind == store.RuleUncodedDowntime && ev.End != nil && ev.ReasonCode == "":
					end := ev.End.UTC()
					if end.Before(now.Add(-r.After.D()-e.cfg.Lookback)) || end.Before(r.CreatedAt) {
						continue
					}
					if _, err := ts.tdb.AlertByOccurrence(ctx, r.ID, uncodedKey(l.ID, ev.ID)); err == nil {
						continue // fired already (and perhaps resolved)
					}
					e.armUncoded(ctx, ts, r, l.ID, ev.ID, end, end.Add(r.After.D()).Sub(now))
				}
			}
		}
	}
	return nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func escKey(ts *tenantState, alertID int64) string {
	return "esc/" + strconv.FormatInt(ts.id, 10) + "/" + strconv.FormatInt(alertID, 10)
}

// armEscalation escalates an alert d from now (at once if d ≤ 0).
func (e *Engine) armEscalation(ctx context.Context, ts *tenantState, r store.AlertRule, id int64, d time.Duration) {
	e.after(ctx, escKey(ts, id), max(d, time.Millisecond), func(ctx context.Context) {
		e.escalate(ctx, ts, r, id)
	})
}

// armLineDown fires line_down for the stop that started at start d from now (at once if
// d ≤ 0 or the rule's after is 0).
func (e *Engine) armLineDown(ctx context.Context, ts *tenantState, r store.AlertRule, line int64, start time.Time, d time.Duration) {
	occ := downKey(line, start)
	al := store.Alert{RuleID: r.ID, LineID: line, Occurrence: occ, Kind: r.Kind, Severity: r.Severity, StartedAt: start}
	if r.After == 0 {
		e.fire(ctx, ts, r, al)
		return
	}
	e.after(ctx, timerKey(ts, r, occ), max(d, time.Millisecond), func(ctx context.Context) {
		al.Value = e.clk.Now().Sub(start).Seconds()
		e.fire(ctx, ts, r, al)
	})
}

// armUncoded fires uncoded_downtime for the stop ev (ended at end) d from now, if it is
// still uncoded then.
func (e *Engine) armUncoded(ctx context.Context, ts *tenantState, r store.AlertRule, line, ev int64, end time.Time, d time.Duration) {
	occ := uncodedKey(line, ev)
	e.after(ctx, timerKey(ts, r, occ), max(d, time.Millisecond), func(ctx context.Context) {
		got, err := ts.tdb.GetDowntime(ctx, line, ev)
		if err != nil || got.ReasonCode != "" {
			return
		}
		e.fire(ctx, ts, r, store.Alert{RuleID: r.ID, LineID: line, Occurrence: occ, Kind: r.Kind, Severity: r.Severity,
			StartedAt: end, Value: e.clk.Now().Sub(end).Seconds()})
	})
}
