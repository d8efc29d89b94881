package web

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/linepulse/linepulse/store"
)

// The caller's query history: every data query is a USER_QUERY row with its real
// parameters (range, line, interval, filters), listed and run again from them.
func (a *API) queryRoutes() []*Route {
	return []*Route{
		{Method: "GET", Path: "/api/v1/queries", Summary: "The caller's data queries, oldest first: its saved (named) views and its history", Tag: "data",
			Action: ActDataRead, Resource: "queries", Resp: Page[store.UserQuery]{}, List: true, handle: a.handleQueries,
			Query: append(slices.Clone(pageParams), Param{Name: "saved", Type: "boolean", Desc: "true: only the saved (named) views; false: only the history; default both"})},
		{Method: "PUT", Path: "/api/v1/queries/{id}", Summary: "Name (save as a view) or rename one of the caller's queries; an empty name returns it to the history", Tag: "data",
			Action: ActDataRead, Resource: "queries", Body: QueryNameInput{}, Resp: store.UserQuery{}, handle: a.handleNameQuery},
		{Method: "POST", Path: "/api/v1/queries/{id}/run", Summary: "Run one of the caller's recorded queries again with its parameters", Tag: "data",
			Action: ActDataRead, Resource: "queries", Resp: map[string]any{}, handle: a.handleRunQuery, ReadOnly: true},
	}
}

// QueryNameInput is the body of PUT /api/v1/queries/{id}.
type QueryNameInput struct {
	Name *string `json:"name"` // required: at most 200 bytes, one line; "" = history again
}

func (a *API) handleQueries(c *call) error {
	p, err := c.q.page()
	if err != nil {
		return err
	}
	which := store.QueriesAll
	switch saved, err := c.q.oneOf("saved", "", "true", "false"); {
	case err != nil:
		return err
	case saved == "true":
		which = store.QueriesSaved
	case saved == "false":
		which = store.QueriesHistory
	}
	qs, err := a.st.ListUserQueries(c.r.Context(), c.p.TenantID, c.p.UserID, which, p)
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
	case "plant_losses":
		return a.handlePlantLosses, []string{"lines"}
	case "pareto":
		return a.handlePareto, []string{"group", "lines"}
	}
	return nil, nil
}

func (a *API) handleNameQuery(c *call) error {
	id, err := c.pathID("id")
	if err != nil {
		return err
	}
	var in QueryNameInput
	if err := c.decode(&in); err != nil {
		return err
	}
	if in.Name == nil {
		return fieldErr("name", "is required (\"\" returns the query to the history)")
	}
	ctx := c.r.Context()
	before, err := a.st.GetUserQuery(ctx, c.p.TenantID, c.p.UserID, id)
	if err != nil {
		return err
	}
	q, err := a.st.NameUserQuery(ctx, c.p.TenantID, c.p.UserID, id, strings.TrimSpace(*in.Name))
	if err != nil {
		return err
	}
	a.audit(ctx, c.p.TenantID, c.p.UserID, "query.name", c.ip, map[string]any{"id": id, "before": before.Name, "after": q.Name})
	return c.reply(q)
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
