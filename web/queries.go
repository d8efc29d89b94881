package web

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/linepulse/linepulse/store"
)

// The caller's query history: every data query is a USER_QUERY row with its real
// parameters (range, line, interval, filters), listed and run again from them.
func (a *API) queryRoutes() []*Route {
	return []*Route{
		{Method: "GET", Path: "/api/v1/queries", Summary: "The caller's data queries, oldest first (its history)", Tag: "data",
			Action: ActDataRead, Resource: "queries", Resp: Page[store.UserQuery]{}, List: true, handle: a.handleQueries, Query: pageParams},
		{Method: "POST", Path: "/api/v1/queries/{id}/run", Summary: "Run one of the caller's recorded queries again with its parameters", Tag: "data",
			Action: ActDataRead, Resource: "queries", Resp: map[string]any{}, handle: a.handleRunQuery},
	}
}

func (a *API) handleQueries(c *call) error {
	p, err := c.q.page()
	if err != nil {
		return err
	}
	qs, err := a.st.ListUserQueries(c.r.Context(), c.p.TenantID, c.p.UserID, p)
	return replyList(c, p, qs, err, func(q *store.UserQuery) int64 { return q.ID })
}

// rerunnable maps a recorded kind to its handler and the filters that become parameters.
func (a *API) rerunnable(kind string) (func(*call) error, []string) {
	switch kind {
	case "production", "production.csv":
		return map[string]func(*call) error{"production": a.handleProduction, "production.csv": a.handleProductionCSV}[kind], nil
	case "oee":
		return a.handleOEE, []string{"shift"}
	case "downtime":
		return a.handleDowntime, []string{"reason_code", "uncoded"}
	case "shifts":
		return a.handleShifts, nil
	case "losses":
		return a.handleLosses, nil
	case "pareto":
		return a.handlePareto, []string{"group", "lines"}
	}
	return nil, nil
}

func (a *API) handleRunQuery(c *call) error {
	id, err := c.pathID("id")
	if err != nil {
		return err
	}
	q, err := a.st.GetUserQuery(c.r.Context(), c.p.TenantID, c.p.UserID, id)
	if err != nil {
		return err
	}
	var f map[string]any
	if err := json.Unmarshal(q.Filters, &f); err != nil {
		return fmt.Errorf("cannot read query %d: %w", id, err)
	}
	kind, _ := f["kind"].(string)
	h, params := a.rerunnable(kind)
	if h == nil {
		return fieldErr("id", "a %q query cannot be run again", kind)
	}
	vals := map[string]string{}
	if q.StartDate != nil && q.EndDate != nil {
		vals["from"], vals["to"] = q.StartDate.UTC().Format(time.RFC3339Nano), q.EndDate.UTC().Format(time.RFC3339Nano)
	}
	if q.IntervalType != "" && strings.HasPrefix(kind, "production") {
		vals["interval"] = q.IntervalType
	}
	for _, k := range params {
		switch v := f[k].(type) {
		case string:
			if v != "" {
				vals[k] = v
			}
		case bool:
			vals[k] = strconv.FormatBool(v)
		case []any:
			ids := make([]string, 0, len(v))
			for _, x := range v {
				if n, ok := x.(float64); ok {
					ids = append(ids, strconv.FormatInt(int64(n), 10))
				}
			}
			if len(ids) > 0 {
				vals[k] = strings.Join(ids, ",")
			}
		}
	}
	// The handler reads the recorded parameters as if they were this request's; its
	// checks (line visibility, ranges) run again for the caller as it is now.
	c.q = query{vals: vals}
	c.r.SetPathValue("id", strconv.FormatInt(q.Line, 10))
	return h(c)
}
