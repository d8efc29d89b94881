package web

import (
	"context"
	"slices"
	"time"

	"github.com/linepulse/linepulse/audit"
	"github.com/linepulse/linepulse/store"
)

// audit appends a security event to the chain of tenantID (0 = platform). It runs even
// when the client has gone away. A failure is logged and counted, never hidden: the
// change it records has already happened and the operator must look.
func (a *API) audit(ctx context.Context, tenantID, userID int64, action, ip string, details any) {
	e := audit.NewEntry(tenantID, userID, action, ip, details, a.now())
	if err := audit.Append(context.WithoutCancel(ctx), a.st, e); err != nil {
		a.metrics.auditErr.Inc()
		a.log.Error("api: AUDIT ENTRY NOT WRITTEN", "tenant", tenantID, "user", userID, "action", action, "ip", e.IP, "details", string(e.Details), "err", err)
	}
}

// auditChange records a change by the caller, with the object before and after.
func (c *call) auditChange(action string, id int64, before, after any) {
	d := map[string]any{"id": id}
	if before != nil {
		d["before"] = before
	}
	if after != nil {
		d["after"] = after
	}
	c.a.audit(c.r.Context(), c.p.TenantID, c.p.UserID, action, c.ip, d)
}

// AuditReport answers GET /api/v1/audit/verify (its own type keeps the OpenAPI schema
// name).
type AuditReport audit.Report

// ---- audit endpoints ----

func (a *API) auditRoutes() []*Route {
	return []*Route{
		{Method: "GET", Path: "/api/v1/audit", Summary: "Read your scope's audit log in sequence order (order=desc: newest first, after= then pages backwards)", Tag: "audit",
			Scope: ScopeAny, Action: ActAudit, Query: auditParams, Resp: Page[store.AuditEntry]{}, List: true, handle: a.handleAuditList},
		{Method: "GET", Path: "/api/v1/audit/verify", Summary: "Verify your scope's audit hash chain", Tag: "audit",
			Scope: ScopeAny, Action: ActAudit, Resp: AuditReport{}, handle: a.handleAuditVerify},
		{Method: "GET", Path: "/api/v1/logins", Summary: "Sign-ins and sign-outs of your scope's users (USER_LOGIN)", Tag: "audit",
			Scope: ScopeAny, Action: ActUsers, Query: pageParams, Resp: Page[store.UserLogin]{}, List: true, handle: a.handleLogins},
	}
}

// auditParams: the page parameters and the order.
var auditParams = append(slices.Clone(pageParams), Param{Name: "order", Type: "string", Enum: []string{"asc", "desc"},
	Desc: "asc (default): oldest first, after= is the last seq seen; desc: newest first, after= is the oldest seq seen"})

// handleAuditList pages by seq (?after is a seq here).
func (a *API) handleAuditList(c *call) error {
	p, err := c.q.page()
	if err != nil {
		return err
	}
	order, err := c.q.oneOf("order", "asc", "asc", "desc")
	if err != nil {
		return err
	}
	limit := p.Limit
	if limit == 0 {
		limit = store.DefaultPageSize
	}
	var list []store.AuditEntry
	if order == "desc" {
		list, err = a.st.AuditEntriesNewestFirst(c.r.Context(), c.p.TenantID, p.AfterID, limit)
	} else {
		list, err = a.st.AuditEntries(c.r.Context(), c.p.TenantID, p.AfterID, limit)
	}
	return replyList(c, p, list, err, func(e *store.AuditEntry) int64 { return e.Seq })
}

func (a *API) handleAuditVerify(c *call) error {
	ctx, cancel := context.WithTimeout(c.r.Context(), time.Minute)
	defer cancel()
	rep, err := audit.Verify(ctx, a.st, c.p.TenantID, 1000)
	if err != nil {
		return err
	}
	return c.reply(AuditReport(rep))
}

func (a *API) handleLogins(c *call) error {
	p, err := c.q.page()
	if err != nil {
		return err
	}
	list, err := a.st.ListLogins(c.r.Context(), c.p.TenantID, p)
	return replyList(c, p, list, err, func(l *store.UserLogin) int64 { return l.ID })
}
