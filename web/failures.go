package web

import "github.com/linepulse/linepulse/store"

// Failures: the failure catalogue; a failure's code is a downtime reason code.
func (a *API) failureRoutes() []*Route {
	return crud(spec[store.Failure]{path: "/api/v1/failures", tag: "failures", entity: "failure",
		read: ActPlantRead, write: ActPlantWrite, id: func(v *store.Failure) *int64 { return &v.ID },
		prepare: a.checkReasonTree},
		collectionOps(func(t *store.TenantDB) store.Collection[store.Failure, *store.Failure] { return t.Failures }))
}
