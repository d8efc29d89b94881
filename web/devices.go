package web

import (
	"net"
	"net/http"

	"github.com/linepulse/linepulse/identity"
	"github.com/linepulse/linepulse/store"
)

// DeviceInput is the body of POST /api/v1/devices.
type DeviceInput struct {
	Name  string  `json:"name"`            // [A-Za-z0-9_-]{1,64}; the NATS user is <tenant>.<name>
	Lines []int64 `json:"lines,omitempty"` // lines it may publish for; empty = every line
}

// DeviceCreated answers POST /api/v1/devices: the secret is in credentials.password and
// is shown this once; only its hash is stored.
type DeviceCreated struct {
	Device      store.Device         `json:"device"`
	Credentials identity.Credentials `json:"credentials"`
}

// Devices: edge devices (vision nodes) and their NATS credentials, managed by tenant
// admins through identity.Devices, the CLI's path too. DELETE revokes: the device can no
// longer authenticate, its live connections are closed, and its row (and name) stays for
// the record.
func (a *API) deviceRoutes() []*Route {
	var o ops[store.Device]
	if d := a.deps.Devices; d != nil {
		o = scoped[store.Device]{list: d.Store.ListDevices, get: d.Store.GetDevice}.ops(callerTenant)
		o.create = a.createDevice
		o.del = a.revokeDevice
	} else {
		o = unavailableOps[store.Device]("device credentials are not configured on this server")
	}
	o.update = nil
	return crud(spec[store.Device]{path: "/api/v1/devices", tag: "devices", entity: "device", audit: "device",
		read: ActConfigRead, write: ActDevices, body: DeviceInput{}, createdResp: DeviceCreated{},
		id: func(v *store.Device) *int64 { return &v.ID }, decode: a.decodeDevice,
		created: func(c *call, v *store.Device) any { return DeviceCreated{Device: *v, Credentials: c.device} }}, o)
}

func (a *API) decodeDevice(c *call, v *store.Device) error {
	var in DeviceInput
	if err := c.decode(&in); err != nil {
		return err
	}
	for _, l := range in.Lines {
		if l > 0 && !c.p.CanSeeLine(l) {
			return fieldErr("lines", "line %d is outside your permissions", l)
		}
	}
	v.Name, v.Lines = in.Name, in.Lines
	return nil
}

func (a *API) createDevice(c *call, v *store.Device) error {
	d, cred, err := a.deps.Devices.Create(c.r.Context(), c.p.TenantID, identity.NewDevice{Name: v.Name, Lines: v.Lines, NATSURL: a.natsURL(c.r)})
	if err != nil {
		return err
	}
	*v, c.device = d, cred
	return nil
}

func (a *API) revokeDevice(c *call, id int64) error {
	d, n, err := a.deps.Devices.Revoke(c.r.Context(), c.p.TenantID, id)
	if err != nil {
		return err
	}
	a.log.Info("api: device revoked", "tenant", c.p.TenantSlug, "device", d.Name, "connections_closed", n)
	return nil
}

// natsURL is where edges connect: APIConfig.NATSURL, else port 4222 of the host the API
// was reached at.
func (a *API) natsURL(r *http.Request) string {
	if a.cfg.NATSURL != "" {
		return a.cfg.NATSURL
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return "nats://" + net.JoinHostPort(host, "4222")
}

// unavailableOps answers every operation of a resource whose backend is not configured.
func unavailableOps[T any](why string) ops[T] {
	e := errf(http.StatusServiceUnavailable, CodeUnavailable, "%s", why)
	return ops[T]{
		list:   func(*call, store.ListOptions) ([]T, error) { return nil, e },
		get:    func(*call, int64) (T, error) { var zero T; return zero, e },
		create: func(*call, *T) error { return e },
		update: func(*call, *T) error { return e },
		del:    func(*call, int64) error { return e },
	}
}
