package web

import (
	"context"

	"github.com/linepulse/linepulse/store"
)

// Cameras: physical cameras (hardware id = name) on vision nodes. Plant configuration,
// readable by supervisors and up.
func (a *API) cameraRoutes() []*Route {
	return crud(spec[store.Camera]{path: "/api/v1/cameras", tag: "cameras", entity: "camera",
		read: ActConfigRead, write: ActPlantWrite, id: func(v *store.Camera) *int64 { return &v.ID }},
		collectionOps(func(t *store.TenantDB) store.Collection[store.Camera, *store.Camera] { return t.Cameras }))
}

// cameraExists checks a camera id of the caller's tenant.
func (c *call) cameraExists(field string, id int64) error {
	return c.refExists(field, "no such camera", id, func(ctx context.Context, t *store.TenantDB) error {
		_, err := t.Cameras.Get(ctx, id)
		return err
	})
}

// refExists checks a reference (0 = none) with get, as a field error when it is missing.
func (c *call) refExists(field, msg string, id int64, get func(context.Context, *store.TenantDB) error) error {
	if id == 0 {
		return nil
	}
	return refErr(inTenantErr(c, get), field, msg)
}
