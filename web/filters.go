package web

import "github.com/linepulse/linepulse/store"

// Filters: the UI filters offered to the tenant's users.
func (a *API) filterRoutes() []*Route {
	return crud(spec[store.Filter]{path: "/api/v1/filters", tag: "filters", entity: "filter",
		read: ActPlantRead, write: ActPlantWrite, id: func(v *store.Filter) *int64 { return &v.ID }},
		collectionOps(func(t *store.TenantDB) store.Collection[store.Filter, *store.Filter] { return t.Filters }))
}
