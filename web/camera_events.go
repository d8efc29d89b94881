package web

import "github.com/linepulse/linepulse/store"

// Camera control events: the hardware audit (action taken on a camera, why, GPU use).
// Append-only: recorded by supervisors and up, never changed or deleted; each one also
// goes to the tamper-evident audit log.
func (a *API) cameraEventRoutes() []*Route {
	o := collectionOps(func(t *store.TenantDB) store.Collection[store.CameraControlEvent, *store.CameraControlEvent] {
		return t.CameraLog
	})
	o.update, o.del = nil, nil
	return crud(spec[store.CameraControlEvent]{path: "/api/v1/camera-events", tag: "camera-events", entity: "camera_control_event",
		read: ActConfigRead, write: ActCameraControl, audit: "camera.control", id: func(v *store.CameraControlEvent) *int64 { return &v.ID },
		prepare: func(c *call, v, _ *store.CameraControlEvent) error {
			v.UserID = c.p.UserID
			return c.cameraExists("camera_id", v.CameraID)
		}}, o)
}
