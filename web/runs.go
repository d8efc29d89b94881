package web

import (
	"context"
	"net/http"
	"time"

	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/stream"
)

// RunAnalytics answers the product-run endpoints; *stream.History implements it.
type RunAnalytics interface {
	Runs(ctx context.Context, tenantID, lineID int64, from, to time.Time) ([]stream.Run, error)
	SetRun(ctx context.Context, tenantID, lineID, product, userID int64, at time.Time) (store.RunMark, error)
}

// RunListResponse answers GET /api/v1/lines/{id}/runs.
type RunListResponse struct {
	LineID int64        `json:"line_id"`
	From   time.Time    `json:"from"`
	To     time.Time    `json:"to"`
	Items  []stream.Run `json:"items"`
}

// RunInput is the body of POST /api/v1/lines/{id}/runs.
type RunInput struct {
	ProductID int64 `json:"product_id"`
	// Start is when the run began; default now. At most maxRunBackdate before now and not
	// in the future.
	Start *time.Time `json:"start,omitempty"`
}

// maxRunBackdate bounds how far back an operator may start a run.
const maxRunBackdate = 24 * time.Hour

// Product runs: the runs a line's detections make, and an operator setting the product.
func (a *API) runRoutes() []*Route {
	line := "/api/v1/lines/{id}"
	return []*Route{
		{Method: "GET", Path: line + "/runs", Summary: "Product runs of a line over from..to (at most 31 days) with product, start, end, counts and ideal cycle time", Tag: "data",
			Action: ActDataRead, Resource: "lines", Resp: RunListResponse{}, handle: a.handleRuns, Query: rangeParams},
		{Method: "POST", Path: line + "/runs", Summary: "Start a run of a product on a line (an operator sets the product)", Tag: "data",
			Action: ActRunsSet, Resource: "lines", Body: RunInput{}, Resp: store.RunMark{}, Status: http.StatusCreated, handle: a.handleSetRun},
	}
}

// runQuery is the start of a run request: the backend and the line.
func (a *API) runQuery(c *call) (RunAnalytics, int64, error) {
	ra, ok := a.deps.Analytics.(RunAnalytics)
	if !ok {
		return nil, 0, errf(http.StatusServiceUnavailable, CodeUnavailable, "product runs are not configured on this server")
	}
	id, err := c.dataLine()
	return ra, id, err
}

func (a *API) handleRuns(c *call) error {
	ra, id, err := a.runQuery(c)
	if err != nil {
		return err
	}
	from, to, err := c.dataRange(a.cfg.DataQueryMaxSpan)
	if err != nil {
		return err
	}
	c.recordQuery(id, &from, &to, "", map[string]any{"kind": "runs"})
	items, err := ra.Runs(c.r.Context(), c.p.TenantID, id, from, to)
	if err != nil {
		return err
	}
	return c.reply(RunListResponse{LineID: id, From: from, To: to, Items: items})
}

func (a *API) handleSetRun(c *call) error {
	ra, id, err := a.runQuery(c)
	if err != nil {
		return err
	}
	var in RunInput
	if err := c.decode(&in); err != nil {
		return err
	}
	now := a.now()
	start := now
	if in.Start != nil {
		start = in.Start.UTC().Truncate(time.Millisecond)
		switch {
		case start.After(now):
			return fieldErr("start", "must not be in the future")
		case now.Sub(start) > maxRunBackdate:
			return fieldErr("start", "must be within the last 24 hours")
		}
	}
	ctx := c.r.Context()
	m, err := ra.SetRun(ctx, c.p.TenantID, id, in.ProductID, c.p.UserID, start)
	if err != nil {
		return err
	}
	a.audit(ctx, c.p.TenantID, c.p.UserID, "run.set", c.ip, map[string]any{"line_id": id, "run_id": m.ID,
		"product_id": m.ProductID, "start": m.Start})
	return c.reply(m)
}
