package web

import (
	"context"

	"github.com/linepulse/linepulse/store"
)

// Lines: production lines. Creating one creates its detection and downtime tables;
// deleting one archives them (renamed, never dropped). Users limited to some lines see
// only those.
func (a *API) lineRoutes() []*Route {
	return crud(spec[store.Line]{path: "/api/v1/lines", tag: "lines", entity: "line", read: ActPlantRead, write: ActPlantWrite,
		id: func(v *store.Line) *int64 { return &v.ID }, line: lineField(func(v *store.Line) int64 { return v.ID }),
		init: func(v *store.Line) { v.Active, v.Availability, v.Performance, v.Quality = true, 0.9, 0.95, 0.99 }},
		ops[store.Line]{
			list: func(c *call, o store.ListOptions) ([]store.Line, error) {
				return inTenant(c, func(ctx context.Context, t *store.TenantDB) ([]store.Line, error) { return t.ListLines(ctx, o.Page) })
			},
			get: func(c *call, id int64) (store.Line, error) {
				return inTenant(c, func(ctx context.Context, t *store.TenantDB) (store.Line, error) { return t.GetLine(ctx, id) })
			},
			create: func(c *call, v *store.Line) error {
				return inTenantErr(c, func(ctx context.Context, t *store.TenantDB) error { return t.CreateLine(ctx, v) })
			},
			update: func(c *call, v *store.Line) error {
				return inTenantErr(c, func(ctx context.Context, t *store.TenantDB) error { return t.UpdateLine(ctx, v) })
			},
			del: func(c *call, id int64) error {
				return inTenantErr(c, func(ctx context.Context, t *store.TenantDB) error { return t.DeleteLine(ctx, id) })
			},
		})
}

// inTenant runs fn on the caller's tenant database.
func inTenant[R any](c *call, fn func(context.Context, *store.TenantDB) (R, error)) (R, error) {
	t, err := c.tenant()
	if err != nil {
		var zero R
		return zero, err
	}
	return fn(c.r.Context(), t)
}

func inTenantErr(c *call, fn func(context.Context, *store.TenantDB) error) error {
	_, err := inTenant(c, func(ctx context.Context, t *store.TenantDB) (struct{}, error) { return struct{}{}, fn(ctx, t) })
	return err
}
