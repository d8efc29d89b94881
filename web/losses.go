package web

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/linepulse/linepulse/loss"
	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/stream"
)

// LossAnalytics answers the loss-analysis endpoints; *stream.History implements it (the
// Analytics dependency is asked for it, so the wiring stays one History).
type LossAnalytics interface {
	Shifts(ctx context.Context, tenantID, lineID int64, from, to time.Time) ([]stream.ShiftSummary, error)
	Shift(ctx context.Context, tenantID, lineID int64, id string) (stream.ShiftDetail, error)
	Pareto(ctx context.Context, tenantID int64, lines []int64, from, to time.Time, group string) (loss.Pareto, error)
	Losses(ctx context.Context, tenantID, lineID int64, from, to time.Time) (stream.LossReport, error)
	PlantLosses(ctx context.Context, tenantID int64, lines []int64, from, to time.Time) (stream.PlantLossReport, error)
	Stops(ctx context.Context, tenantID, lineID int64, from, to time.Time) ([]stream.Stop, error)
}

// ShiftListResponse answers GET /api/v1/lines/{id}/shifts.
type ShiftListResponse struct {
	LineID int64                 `json:"line_id"`
	From   time.Time             `json:"from"`
	To     time.Time             `json:"to"`
	Items  []stream.ShiftSummary `json:"items"`
}

// ParetoResponse answers GET /api/v1/downtime/pareto.
type ParetoResponse struct {
	From  time.Time `json:"from"`
	To    time.Time `json:"to"`
	Lines []int64   `json:"lines"`
	Group string    `json:"group"`
	loss.Pareto
}

// maxLinesParam bounds the text of ?lines.
const maxLinesParam = 2000

// Loss-analysis endpoints: shift instances, the Pareto of stops, the loss waterfall.
func (a *API) lossRoutes() []*Route {
	line := "/api/v1/lines/{id}"
	return []*Route{
		{Method: "GET", Path: line + "/shifts", Summary: "Shift instances of a line that started in from..to, with OEE, counts and downtime", Tag: "data",
			Action: ActDataRead, Resource: "lines", Resp: ShiftListResponse{}, handle: a.handleShifts, Query: rangeParams},
		{Method: "GET", Path: line + "/shifts/{instance}", Summary: "One shift instance (id date.shift, e.g. 2026-12-01.1) with its stops and loss waterfall", Tag: "data",
			Action: ActDataRead, Resource: "lines", Resp: stream.ShiftDetail{}, handle: a.handleShift},
		{Method: "GET", Path: line + "/losses", Summary: "Six big losses: the waterfall from planned time to fully productive time over from..to", Tag: "data",
			Action: ActDataRead, Resource: "lines", Resp: stream.LossReport{}, handle: a.handleLosses, Query: rangeParams},
		{Method: "GET", Path: "/api/v1/losses", Summary: "Six big losses of several lines over from..to: their times added, each line weighed by its planned time", Tag: "data",
			Action: ActDataRead, Resource: "lines", Resp: stream.PlantLossReport{}, handle: a.handlePlantLosses,
			Query: slices.Concat(rangeParams, []Param{{Name: "lines", Type: "string", Desc: "comma-separated line ids; default every line the caller may see"}})},
		{Method: "GET", Path: "/api/v1/downtime/pareto", Summary: "Pareto of stops over from..to by reason, category, line or shift", Tag: "data",
			Action: ActDataRead, Resource: "lines", Resp: ParetoResponse{}, handle: a.handlePareto,
			Query: slices.Concat(rangeParams, []Param{
				{Name: "lines", Type: "string", Desc: "comma-separated line ids; default every line the caller may see"},
				{Name: "group", Type: "string", Enum: []string{stream.GroupReason, stream.GroupCategory, stream.GroupLine, stream.GroupShift}, Desc: "grouping; default reason"}})},
	}
}

func (a *API) lossAnalytics() (LossAnalytics, error) {
	la, ok := a.deps.Analytics.(LossAnalytics)
	if !ok {
		return nil, errf(http.StatusServiceUnavailable, CodeUnavailable, "loss analysis is not configured on this server")
	}
	return la, nil
}

// lossQuery is the start of a line's loss query: the backend and the line.
func (a *API) lossQuery(c *call) (LossAnalytics, int64, error) {
	la, err := a.lossAnalytics()
	if err != nil {
		return nil, 0, err
	}
	id, err := c.dataLine()
	return la, id, err
}

func (a *API) handleShifts(c *call) error {
	return a.lossRange(c, "shifts", func(la LossAnalytics, id int64, from, to time.Time) (any, error) {
		items, err := la.Shifts(c.r.Context(), c.p.TenantID, id, from, to)
		return ShiftListResponse{LineID: id, From: from, To: to, Items: items}, err
	})
}

// lossRange answers a line's loss query over from..to, recorded in USER_QUERY as kind.
func (a *API) lossRange(c *call, kind string, q func(la LossAnalytics, id int64, from, to time.Time) (any, error)) error {
	v, err := a.lossFetch(c, kind, q)
	if err != nil {
		return err
	}
	return c.reply(v)
}

// lossFetch runs a line's loss query over from..to, recorded in USER_QUERY as kind.
func (a *API) lossFetch(c *call, kind string, q func(la LossAnalytics, id int64, from, to time.Time) (any, error)) (any, error) {
	la, id, err := a.lossQuery(c)
	if err != nil {
		return nil, err
	}
	from, to, err := c.dataRange(a.cfg.DataQueryMaxSpan)
	if err != nil {
		return nil, err
	}
	c.recordQuery(id, &from, &to, "", map[string]any{"kind": kind})
	return q(la, id, from, to)
}

func (a *API) handleShift(c *call) error {
	la, id, err := a.lossQuery(c)
	if err != nil {
		return err
	}
	inst := c.r.PathValue("instance")
	if len(inst) > 40 {
		return fieldErr("instance", "must be a shift instance id such as 2026-12-01.1")
	}
	c.recordQuery(id, nil, nil, "shift", map[string]any{"kind": "shift", "instance": inst})
	d, err := la.Shift(c.r.Context(), c.p.TenantID, id, inst)
	if err != nil {
		return err
	}
	return c.reply(d)
}

func (a *API) handleLosses(c *call) error {
	return a.lossRange(c, "losses", func(la LossAnalytics, id int64, from, to time.Time) (any, error) {
		return la.Losses(c.r.Context(), c.p.TenantID, id, from, to)
	})
}

func (a *API) handlePlantLosses(c *call) error {
	return a.plantRange(c, map[string]any{"kind": "plant_losses"}, func(la LossAnalytics, lines []int64, from, to time.Time) (any, error) {
		return la.PlantLosses(c.r.Context(), c.p.TenantID, lines, from, to)
	})
}

func (a *API) handlePareto(c *call) error {
	group, err := c.q.oneOf("group", stream.GroupReason, stream.GroupReason, stream.GroupCategory, stream.GroupLine, stream.GroupShift)
	if err != nil {
		return err
	}
	return a.plantRange(c, map[string]any{"kind": "pareto", "group": group}, func(la LossAnalytics, lines []int64, from, to time.Time) (any, error) {
		p, err := la.Pareto(c.r.Context(), c.p.TenantID, lines, from, to, group)
		return ParetoResponse{From: from, To: to, Lines: lines, Group: group, Pareto: p}, err
	})
}

// plantRange answers a query over several lines: it reads from, to and ?lines
// (linesParam), records the query with details and the lines, and replies with fn's answer.
func (a *API) plantRange(c *call, details map[string]any, fn func(la LossAnalytics, lines []int64, from, to time.Time) (any, error)) error {
	la, err := a.lossAnalytics()
	if err != nil {
		return err
	}
	from, to, err := c.dataRange(a.cfg.DataQueryMaxSpan)
	if err != nil {
		return err
	}
	lines, err := c.linesParam()
	if err != nil {
		return err
	}
	details["lines"] = lines
	c.recordQuery(0, &from, &to, "", details)
	r, err := fn(la, lines, from, to)
	if err != nil {
		return err
	}
	return c.reply(r)
}

// linesParam reads ?lines of the Pareto and the plant waterfall (each must exist and be
// visible: else 404 as for one line), or every line of the tenant the caller may see.
func (c *call) linesParam() ([]int64, error) {
	t, err := c.tenant()
	if err != nil {
		return nil, err
	}
	raw := c.q.str("lines")
	if !c.q.has("lines") {
		all, err := t.AllLines(c.r.Context())
		if err != nil {
			return nil, err
		}
		ids := []int64{}
		for _, l := range all {
			if c.p.CanSeeLine(l.ID) {
				ids = append(ids, l.ID)
			}
		}
		return ids, nil
	}
	if len(raw) > maxLinesParam {
		return nil, fieldErr("lines", "at most %d characters", maxLinesParam)
	}
	var ids []int64
	for _, s := range strings.Split(raw, ",") {
		id, ok := parseID(strings.TrimSpace(s))
		if !ok {
			return nil, fieldErr("lines", "must be comma-separated line ids, e.g. 1,2")
		}
		if slices.Contains(ids, id) {
			continue
		}
		if err := c.seeLine(id); err != nil {
			return nil, err
		}
		if _, err := t.GetLine(c.r.Context(), id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	if len(ids) > stream.MaxParetoLines {
		return nil, fieldErr("lines", "at most %s lines", strconv.Itoa(stream.MaxParetoLines))
	}
	return ids, nil
}

// checkReasonTree refuses a parent that does not exist, a cycle, or a tree deeper than
// store.MaxReasonDepth (counting the failure's own children when it is moved).
func (a *API) checkReasonTree(c *call, v, old *store.Failure) error {
	if v.Kind == "" && old != nil {
		v.Kind = old.Kind
	}
	if v.ParentID == 0 {
		return nil
	}
	t, err := c.tenant()
	if err != nil {
		return err
	}
	all, err := t.Failures.All(c.r.Context())
	if err != nil {
		return err
	}
	byID := map[int64]store.Failure{}
	for _, f := range all {
		byID[f.ID] = f
	}
	if _, ok := byID[v.ParentID]; !ok {
		return fieldErr("parent_id", "no such failure")
	}
	depth := 1 // v's level below the root
	for p := v.ParentID; p != 0; p = byID[p].ParentID {
		if old != nil && p == old.ID {
			return fieldErr("parent_id", "a failure cannot sit under itself or its own children")
		}
		if depth++; depth > store.MaxReasonDepth {
			return fieldErr("parent_id", "the reason tree is at most %d levels deep", store.MaxReasonDepth)
		}
	}
	if old != nil {
		below := subtreeDepth(all, old.ID)
		if depth+below > store.MaxReasonDepth {
			return fieldErr("parent_id", "the reason tree is at most %d levels deep (this failure has children)", store.MaxReasonDepth)
		}
	}
	return nil
}

// subtreeDepth is how many levels hang below id.
func subtreeDepth(all []store.Failure, id int64) int {
	deepest := 0
	for _, f := range all {
		if f.ParentID == id && f.ID != id {
			deepest = max(deepest, 1+subtreeDepth(all, f.ID))
		}
	}
	return deepest
}
