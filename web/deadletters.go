package web

import (
	"net/http"

	"github.com/linepulse/linepulse/detection"
)

// DeadLetterList answers GET /api/v1/dead-letters.
type DeadLetterList struct {
	Items []detection.DeadLetter `json:"items"`
}

// deadLetterRoutes: the caller's tenant's recent refused device messages (whole
// messages the ingest edge refused, elements the writer refused), newest first, with
// their reasons. Tenant admins only: raw device payloads may be sensitive.
func (a *API) deadLetterRoutes() []*Route {
	return []*Route{
		{Method: "GET", Path: "/api/v1/dead-letters", Summary: "Recent refused device messages and elements of your tenant, newest first, with the reason",
			Tag: "devices", Scope: ScopeTenant, Action: ActDevices,
			Query: []Param{{Name: "limit", Type: "integer", Desc: "how many, 1..1000 (default 100)"}},
			Resp:  DeadLetterList{}, handle: a.handleDeadLetters},
	}
}

func (a *API) handleDeadLetters(c *call) error {
	if a.deps.DeadLetters == nil {
		return errf(http.StatusServiceUnavailable, CodeUnavailable, "dead letters are not available on this server")
	}
	limit := 100
	if s, ok := c.q.vals["limit"]; ok {
		v, good := parseID(s)
		if !good || v > 1000 {
			return fieldErr("limit", "must be an integer between 1 and 1000")
		}
		limit = int(v)
	}
	list, err := a.deps.DeadLetters.DeadLetters(c.r.Context(), c.p.TenantSlug, limit)
	if err != nil {
		return err
	}
	if list == nil {
		list = []detection.DeadLetter{}
	}
	return c.reply(DeadLetterList{Items: list})
}
