package web

import (
	"context"
	"regexp"
	"strconv"

	"github.com/linepulse/linepulse/store"
)

// Production targets: a line's planned quantity of good units for each instance of one of
// its shifts (docs/OEE.md, "Targets"). The live KPI updates and the shift summaries carry
// them. A target is named by its key "<line_id>.<shift_id>"; users limited to some lines
// see and set only theirs.

// TargetInput is the body of POST /api/v1/targets and PUT /api/v1/targets/{target}.
type TargetInput struct {
	LineID   int64 `json:"line_id"`
	ShiftID  int64 `json:"shift_id"`
	Quantity int64 `json:"quantity"` // good units per shift instance, 1..1e9
}

func (a *API) targetRoutes() []*Route {
	item := "/api/v1/targets/{target}"
	return []*Route{
		{Method: "GET", Path: "/api/v1/targets", Summary: "Production targets of the lines one may see (one page holds them all)", Tag: "lines",
			Action: ActPlantRead, Resp: Page[store.Target]{}, List: true, Query: pageParams, handle: a.handleTargets},
		{Method: "POST", Path: "/api/v1/targets", Summary: "Set the production target of a line's shift (replaces the one it has)", Tag: "lines",
			Action: ActPlantWrite, Resource: "targets", Body: TargetInput{}, Resp: store.Target{}, Status: 201, handle: a.handleSetTarget},
		{Method: "PUT", Path: item, Summary: "Change the production target of a line's shift", Tag: "lines",
			Action: ActPlantWrite, Resource: "targets", Body: TargetInput{}, Resp: store.Target{}, handle: a.handleSetTarget},
		{Method: "DELETE", Path: item, Summary: "Remove the production target of a line's shift", Tag: "lines",
			Action: ActPlantWrite, Resource: "targets", handle: a.handleDeleteTarget},
	}
}

func (a *API) handleTargets(c *call) error {
	if _, err := c.q.page(); err != nil {
		return err
	}
	all, err := inTenant(c, func(ctx context.Context, t *store.TenantDB) ([]store.Target, error) { return t.Targets(ctx) })
	if err != nil {
		return err
	}
	out := Page[store.Target]{Items: make([]store.Target, 0, len(all))}
	for _, x := range all {
		if c.seeLine(x.LineID) == nil {
			out.Items = append(out.Items, x)
		}
	}
	return c.reply(out)
}

var targetKeyRe = regexp.MustCompile(`^([1-9][0-9]{0,17})\.([1-9][0-9]{0,17})$`)

// targetPath reads {target}: the target of a line the caller may see (404 otherwise).
func (c *call) targetPath() (store.Target, error) {
	m := targetKeyRe.FindStringSubmatch(c.r.PathValue("target"))
	if m == nil {
		return store.Target{}, fieldErr("target", "must be <line_id>.<shift_id>, e.g. 3.1")
	}
	var x store.Target
	x.LineID, _ = strconv.ParseInt(m[1], 10, 64)
	x.ShiftID, _ = strconv.ParseInt(m[2], 10, 64)
	if err := c.seeLine(x.LineID); err != nil {
		return store.Target{}, err
	}
	all, err := inTenant(c, func(ctx context.Context, t *store.TenantDB) ([]store.Target, error) { return t.Targets(ctx) })
	if err != nil {
		return store.Target{}, err
	}
	for _, y := range all {
		if y.LineID == x.LineID && y.ShiftID == x.ShiftID {
			return y, nil
		}
	}
	return store.Target{}, store.ErrNotFound
}

func (a *API) handleSetTarget(c *call) error {
	var in TargetInput
	if err := c.decode(&in); err != nil {
		return err
	}
	// The body first: a bad one is refused whatever the path names.
	if in.LineID <= 0 {
		return fieldErr("line_id", "required")
	}
	if in.Quantity <= 0 || in.Quantity > store.MaxTargetQuantity {
		return fieldErr("quantity", "must be 1 to %d (delete the target to have none)", store.MaxTargetQuantity)
	}
	var old *store.Target
	if c.r.Method == "PUT" {
		x, err := c.targetPath()
		if err != nil {
			return err
		}
		if in.LineID != x.LineID || in.ShiftID != x.ShiftID {
			return fieldErr("line_id", "a target's line and shift do not change: delete it and set another")
		}
		old = &x
	}
	if err := c.lineExists("line_id", in.LineID); err != nil {
		return err
	}
	x := store.Target{LineID: in.LineID, ShiftID: in.ShiftID, Quantity: in.Quantity}
	if err := inTenantErr(c, func(ctx context.Context, t *store.TenantDB) error { return t.SetTarget(ctx, &x) }); err != nil {
		return refErr(err, "shift_id", "no such shift")
	}
	var before any
	if old != nil {
		before = old
	}
	c.auditChange("target.set", 0, before, x)
	return c.reply(x)
}

func (a *API) handleDeleteTarget(c *call) error {
	x, err := c.targetPath()
	if err != nil {
		return err
	}
	if err := inTenantErr(c, func(ctx context.Context, t *store.TenantDB) error { return t.DeleteTarget(ctx, x.LineID, x.ShiftID) }); err != nil {
		return err
	}
	c.auditChange("target.delete", 0, x, nil)
	return c.reply(nil)
}
