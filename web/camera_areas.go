package web

import (
	"context"
	"errors"

	"github.com/linepulse/linepulse/store"
)

// Camera-areas: which camera (hardware) watches which area (logical), with a status. An
// object belongs to its area's line.
func (a *API) cameraAreaRoutes() []*Route {
	return crud(spec[store.CameraArea]{path: "/api/v1/camera-areas", tag: "camera-areas", entity: "camera_area",
		read: ActConfigRead, write: ActPlantWrite, id: func(v *store.CameraArea) *int64 { return &v.ID }, line: areaLine,
		prepare: func(c *call, v, _ *store.CameraArea) error {
			return checks(c.cameraExists("camera_id", v.CameraID), c.areaExists("area_id", v.AreaID))
		}},
		collectionOps(func(t *store.TenantDB) store.Collection[store.CameraArea, *store.CameraArea] { return t.CameraAreas }))
}

// areaLine is the line of a camera-area's area (0 when the area does not exist: prepare
// reports that).
func areaLine(c *call, v *store.CameraArea) (int64, error) {
	if v.AreaID == 0 {
		return 0, nil
	}
	t, err := c.tenant()
	if err != nil {
		return 0, err
	}
	ar, err := t.Areas.Get(c.r.Context(), v.AreaID)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	return ar.LineID, err
}

// areaExists checks an area id of the caller's tenant on a line it may see.
func (c *call) areaExists(field string, id int64) error {
	return c.refExists(field, "no such area", id, func(ctx context.Context, t *store.TenantDB) error {
		ar, err := t.Areas.Get(ctx, id)
		if err == nil && !c.p.CanSeeLine(ar.LineID) {
			err = store.ErrNotFound
		}
		return err
	})
}
