package web

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/stream"
)

// Analytics answers questions about a line's past; *stream.History implements it.
type Analytics interface {
	Production(ctx context.Context, tenantID, lineID int64, from, to time.Time, interval string) ([]stream.ProductionBucket, error)
	OEE(ctx context.Context, tenantID, lineID int64, from, to time.Time) (stream.OEEReport, error)
	ShiftOEE(ctx context.Context, tenantID, lineID int64, which string, now time.Time) (stream.OEEReport, error)
	Downtime(ctx context.Context, tenantID, lineID int64, from, to time.Time, f store.DowntimeFilter, p store.Page) ([]store.DowntimeEvent, error)
}

// ProductionResponse answers GET /api/v1/lines/{id}/production.
type ProductionResponse struct {
	LineID   int64                     `json:"line_id"`
	From     time.Time                 `json:"from"`
	To       time.Time                 `json:"to"`
	Interval string                    `json:"interval"`
	Items    []stream.ProductionBucket `json:"items"`
}

// ReasonInput is the body of PUT /api/v1/lines/{id}/downtime/{event}/reason.
type ReasonInput struct {
	ReasonCode string `json:"reason_code"`       // a code of the failure catalogue
	Comment    string `json:"comment,omitempty"` // at most 2000 characters
}

var rangeParams = []Param{
	{Name: "from", Type: "string", Format: "date-time", Desc: "start (RFC 3339); default to - 24h"},
	{Name: "to", Type: "string", Format: "date-time", Desc: "end, exclusive (RFC 3339); default now"},
}

// Data endpoints: production, OEE and downtime history of a line, and downtime reason
// coding. Each query is recorded in USER_QUERY; each reason change in the audit log.
func (a *API) dataRoutes() []*Route {
	line := "/api/v1/lines/{id}"
	return []*Route{
		{Method: "GET", Path: line + "/production", Summary: "Production of a line per minute, hour, day or shift instance", Tag: "data",
			Action: ActDataRead, Resource: "lines", Resp: ProductionResponse{}, handle: a.handleProduction,
			Query: slices.Concat(rangeParams, []Param{{Name: "interval", Type: "string", Enum: []string{"minute", "hour", "day", "shift"}, Desc: "bucket size; default hour"}})},
		{Method: "GET", Path: line + "/oee", Summary: "OEE of a line over from..to, or of the current or previous shift", Tag: "data",
			Action: ActDataRead, Resource: "lines", Resp: stream.OEEReport{}, handle: a.handleOEE,
			Query: slices.Concat(rangeParams, []Param{{Name: "shift", Type: "string", Enum: []string{"current", "previous"}, Desc: "instead of from/to: the current shift (so far) or the previous one"}})},
		{Method: "GET", Path: line + "/downtime", Summary: "Downtime events of a line overlapping from..to", Tag: "data",
			Action: ActDataRead, Resource: "lines", Resp: Page[store.DowntimeEvent]{}, List: true, handle: a.handleDowntime,
			Query: slices.Concat(rangeParams, pageParams, []Param{
				{Name: "reason_code", Type: "string", Desc: "only events coded with this failure code"},
				{Name: "uncoded", Type: "string", Enum: []string{"true", "false"}, Desc: "only events without a reason code"}})},
		{Method: "PUT", Path: line + "/downtime/{event}/reason", Summary: "Code the reason of a downtime event with a failure code", Tag: "data",
			Action: ActDowntimeCode, Resource: "lines", Body: ReasonInput{}, Resp: store.DowntimeEvent{}, handle: a.handleReason},
	}
}

// dataLine reads {id}: a line of the caller's tenant that it may see.
func (c *call) dataLine() (int64, error) {
	id, err := c.pathID("id")
	if err != nil {
		return 0, err
	}
	if err := c.seeLine(id); err != nil {
		return 0, err
	}
	t, err := c.tenant()
	if err != nil {
		return 0, err
	}
	if _, err := t.GetLine(c.r.Context(), id); err != nil {
		return 0, err
	}
	return id, nil
}

// dataRange reads from/to with their defaults and bounds.
func (c *call) dataRange(maxSpan time.Duration) (time.Time, time.Time, error) {
	to, hasTo, err := c.q.time("to")
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	if !hasTo {
		to = c.a.now()
	}
	from, hasFrom, err := c.q.time("from")
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	if !hasFrom {
		from = to.Add(-24 * time.Hour)
	}
	switch {
	case !to.After(from):
		return time.Time{}, time.Time{}, fieldErr("to", "must be after from")
	case to.Sub(from) > maxSpan:
		return time.Time{}, time.Time{}, fieldErr("to", "the range may span at most %d days", int(maxSpan/(24*time.Hour)))
	}
	return from, to, nil
}

// dataQuery is the start of every history query: the analytics backend and the line.
func (a *API) dataQuery(c *call) (Analytics, int64, error) {
	if a.deps.Analytics == nil {
		return nil, 0, errf(http.StatusServiceUnavailable, CodeUnavailable, "history queries are not configured on this server")
	}
	id, err := c.dataLine()
	return a.deps.Analytics, id, err
}

// recordQuery writes the USER_QUERY row of a data query.
func (c *call) recordQuery(line int64, from, to *time.Time, interval string, filters map[string]any) {
	if c.p.Kiosk {
		filters["kiosk_id"] = c.p.KioskID
	}
	raw, _ := json.Marshal(filters)
	q := store.UserQuery{TenantID: c.p.TenantID, UserID: c.p.UserID, SQLQuery: truncate(c.r.Method+" "+c.r.URL.RequestURI(), 2000),
		StartDate: from, EndDate: to, Line: line, IntervalType: interval, Filters: store.JSON(raw)}
	if err := c.a.st.RecordQuery(context.WithoutCancel(c.r.Context()), &q); err != nil {
		c.a.log.Warn("api: cannot record data query", "err", err)
	}
}

func (a *API) handleProduction(c *call) error {
	p, err := a.production(c, "production")
	if err != nil {
		return err
	}
	return c.reply(p)
}

// production answers a production query (recorded in USER_QUERY as kind).
func (a *API) production(c *call, kind string) (ProductionResponse, error) {
	an, id, err := a.dataQuery(c)
	if err != nil {
		return ProductionResponse{}, err
	}
	interval, err := c.q.oneOf("interval", stream.IntervalHour, stream.IntervalMinute, stream.IntervalHour, stream.IntervalDay, stream.IntervalShift)
	if err != nil {
		return ProductionResponse{}, err
	}
	span := a.cfg.DataQueryMaxSpan
	if interval == stream.IntervalMinute {
		span = min(span, 31*24*time.Hour)
	}
	from, to, err := c.dataRange(span)
	if err != nil {
		return ProductionResponse{}, err
	}
	c.recordQuery(id, &from, &to, interval, map[string]any{"kind": kind})
	b, err := an.Production(c.r.Context(), c.p.TenantID, id, from, to, interval)
	return ProductionResponse{LineID: id, From: from, To: to, Interval: interval, Items: b}, err
}

func (a *API) handleOEE(c *call) error {
	an, id, err := a.dataQuery(c)
	if err != nil {
		return err
	}
	if c.q.has("shift") {
		if c.q.has("from") || c.q.has("to") {
			return fieldErr("shift", "give either shift or from/to, not both")
		}
		which, err := c.q.oneOf("shift", "", stream.ShiftCurrent, stream.ShiftPrevious)
		if err != nil {
			return err
		}
		c.recordQuery(id, nil, nil, "shift", map[string]any{"kind": "oee", "shift": which})
		rep, err := an.ShiftOEE(c.r.Context(), c.p.TenantID, id, which, a.cfg.Now())
		if err != nil {
			return err
		}
		return c.reply(rep)
	}
	from, to, err := c.dataRange(a.cfg.DataQueryMaxSpan)
	if err != nil {
		return err
	}
	c.recordQuery(id, &from, &to, "", map[string]any{"kind": "oee"})
	rep, err := an.OEE(c.r.Context(), c.p.TenantID, id, from, to)
	if err != nil {
		return err
	}
	return c.reply(rep)
}

func (a *API) handleDowntime(c *call) error {
	an, id, err := a.dataQuery(c)
	if err != nil {
		return err
	}
	from, to, err := c.dataRange(a.cfg.DataQueryMaxSpan)
	if err != nil {
		return err
	}
	p, err := c.q.page()
	if err != nil {
		return err
	}
	uncoded, err := c.q.oneOf("uncoded", "false", "true", "false")
	if err != nil {
		return err
	}
	f := store.DowntimeFilter{ReasonCode: c.q.str("reason_code"), Uncoded: uncoded == "true"}
	c.recordQuery(id, &from, &to, "", map[string]any{"kind": "downtime", "reason_code": f.ReasonCode, "uncoded": f.Uncoded})
	evs, err := an.Downtime(c.r.Context(), c.p.TenantID, id, from, to, f, p)
	return replyList(c, p, evs, err, func(e *store.DowntimeEvent) int64 { return e.ID })
}

func (a *API) handleReason(c *call) error {
	id, err := c.dataLine()
	if err != nil {
		return err
	}
	ev, err := c.pathID("event")
	if err != nil {
		return err
	}
	t, err := c.tenant()
	if err != nil {
		return err
	}
	ctx := c.r.Context()
	old, err := t.GetDowntime(ctx, id, ev)
	if err != nil {
		return err
	}
	var in ReasonInput
	if err := c.decode(&in); err != nil {
		return err
	}
	if err := t.SetDowntimeReason(ctx, id, ev, in.ReasonCode, in.Comment, c.p.UserID); err != nil {
		return err
	}
	now, err := t.GetDowntime(ctx, id, ev)
	if err != nil {
		return err
	}
	a.audit(ctx, c.p.TenantID, c.p.UserID, "downtime.reason", c.ip, map[string]any{"line_id": id, "event_id": ev,
		"before": map[string]any{"reason_code": old.ReasonCode, "comment": old.Comment},
		"after":  map[string]any{"reason_code": now.ReasonCode, "comment": now.Comment}})
	if a.deps.Alerts != nil {
		a.deps.Alerts.DowntimeCoded(context.WithoutCancel(ctx), c.p.TenantID, id, ev)
	}
	if a.deps.OnDowntimeCoded != nil {
		a.deps.OnDowntimeCoded(c.p.TenantID, id)
	}
	return c.reply(now)
}

// downtimeExists checks that a downtime event of the line exists (incident links).
func (a *API) downtimeExists(c *call, line, event int64) error {
	t, err := c.tenant()
	if err != nil {
		return err
	}
	_, err = t.GetDowntime(c.r.Context(), line, event)
	return refErr(err, "downtime_event_id", "no such downtime event on this line")
}
