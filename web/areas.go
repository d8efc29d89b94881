package web

import "github.com/linepulse/linepulse/store"

// Areas: detection stations of a line, with their rectangle on the plant map.
func (a *API) areaRoutes() []*Route {
	return crud(spec[store.Area]{path: "/api/v1/areas", tag: "areas", entity: "area", read: ActPlantRead, write: ActPlantWrite, byLine: true,
		id: func(v *store.Area) *int64 { return &v.ID }, line: lineField(func(v *store.Area) int64 { return v.LineID }),
		prepare: func(c *call, v, _ *store.Area) error { return c.lineExists("line_id", v.LineID) }},
		collectionOps(func(t *store.TenantDB) store.Collection[store.Area, *store.Area] { return t.Areas }))
}

// lineField adapts an object's line_id field to spec.line.
func lineField[T any](f func(*T) int64) func(*call, *T) (int64, error) {
	return func(_ *call, v *T) (int64, error) { return f(v), nil }
}
