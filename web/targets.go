package web

import (
	"context"

	"github.com/linepulse/linepulse/store"
)

// Production targets: a line's planned quantity of good units for each instance of one of
// its shifts (docs/OEE.md, "Targets"). The live KPI updates and the shift summaries carry
// them. Users limited to some lines see and set only theirs.

// TargetInput is the body of PUT /api/v1/lines/{id}/targets/{shift}.
type TargetInput struct {
	Quantity int64 `json:"quantity"` // good units per shift instance, 1..1e9
}

func (a *API) targetRoutes() []*Route {
	item := "/api/v1/lines/{id}/targets/{shift}"
	return []*Route{
		{Method: "GET", Path: "/api/v1/targets", Summary: "Production targets of the lines one may see", Tag: "lines",
			Action: ActPlantRead, Resp: []store.Target{}, handle: a.handleTargets},
		{Method: "PUT", Path: item, Summary: "Set the production target of a line's shift", Tag: "lines",
			Action: ActPlantWrite, Resource: "lines", Body: TargetInput{}, Resp: store.Target{}, handle: a.handleSetTarget},
		{Method: "DELETE", Path: item, Summary: "Remove the production target of a line's shift", Tag: "lines",
			Action: ActPlantWrite, Resource: "lines", handle: a.handleDeleteTarget},
	}
}

func (a *API) handleTargets(c *call) error {
	all, err := inTenant(c, func(ctx context.Context, t *store.TenantDB) ([]store.Target, error) { return t.Targets(ctx) })
	if err != nil {
		return err
	}
	out := make([]store.Target, 0, len(all))
	for _, x := range all {
		if c.seeLine(x.LineID) == nil {
			out = append(out, x)
		}
	}
	return c.reply(out)
}

// targetPath reads {id} (a line the caller may see) and {shift}.
func (c *call) targetPath() (line, shift int64, err error) {
	if line, err = c.dataLine(); err != nil {
		return 0, 0, err
	}
	shift, err = c.pathID("shift")
	return line, shift, err
}

func (a *API) handleSetTarget(c *call) error {
	line, shift, err := c.targetPath()
	if err != nil {
		return err
	}
	var in TargetInput
	if err := c.decode(&in); err != nil {
		return err
	}
	x := store.Target{LineID: line, ShiftID: shift, Quantity: in.Quantity}
	if err := inTenantErr(c, func(ctx context.Context, t *store.TenantDB) error { return t.SetTarget(ctx, &x) }); err != nil {
		return err
	}
	c.a.audit(c.r.Context(), c.p.TenantID, c.p.UserID, "target.set", c.ip, map[string]any{"line_id": line, "shift_id": shift, "quantity": x.Quantity})
	return c.reply(x)
}

func (a *API) handleDeleteTarget(c *call) error {
	line, shift, err := c.targetPath()
	if err != nil {
		return err
	}
	if err := inTenantErr(c, func(ctx context.Context, t *store.TenantDB) error { return t.DeleteTarget(ctx, line, shift) }); err != nil {
		return err
	}
	c.a.audit(c.r.Context(), c.p.TenantID, c.p.UserID, "target.delete", c.ip, map[string]any{"line_id": line, "shift_id": shift})
	return c.reply(nil)
}
