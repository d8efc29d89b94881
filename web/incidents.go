package web

import (
	"context"

	"github.com/linepulse/linepulse/store"
)

// Incidents: maintenance records of a line, optionally linked to a downtime event of that
// line and to a failure of the catalogue. Operators report them; supervisors and tenant
// admins edit, solve and delete them. reported_by is the reporting user.
func (a *API) incidentRoutes() []*Route {
	return crud(spec[store.Incident]{path: "/api/v1/incidents", tag: "incidents", entity: "incident", audit: "incident", byLine: true,
		read: ActIncidentsRead, create: ActIncidentsCreate, write: ActIncidentsWrite,
		id: func(v *store.Incident) *int64 { return &v.ID }, line: lineField(func(v *store.Incident) int64 { return v.LineID }),
		prepare: a.checkIncident},
		collectionOps(func(t *store.TenantDB) store.Collection[store.Incident, *store.Incident] { return t.Incidents }))
}

func (a *API) checkIncident(c *call, v, old *store.Incident) error {
	if old == nil {
		v.ReportedBy = c.p.UserID
	} else {
		v.ReportedBy = old.ReportedBy
	}
	if v.OccurredAt.IsZero() {
		v.OccurredAt = a.now()
	}
	failErr := c.refExists("failure_id", "no such failure", v.FailureID, func(ctx context.Context, t *store.TenantDB) error {
		_, err := t.Failures.Get(ctx, v.FailureID)
		return err
	})
	lineErr := c.lineExists("line_id", v.LineID)
	var downErr error
	if lineErr == nil && v.LineID > 0 && v.DowntimeEventID > 0 {
		downErr = a.downtimeExists(c, v.LineID, v.DowntimeEventID)
	}
	return checks(lineErr, failErr, downErr)
}
