package web

import (
	"context"
	"net"
	"net/http"

	"github.com/linepulse/linepulse/ingest"
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
	Device      store.Device       `json:"device"`
	Credentials ingest.Credentials `json:"credentials"`
}

// Devices: edge devices (vision nodes) and their NATS credentials, managed by tenant
// admins. DELETE revokes: the device can no longer authenticate, its live connections
// are closed, and its row (and name) stays for the record.
func (a *API) deviceRoutes() []*Route {
	var o ops[store.Device]
	if d := a.deps.Devices; d != nil {
		o = scoped[store.Device]{list: d.ListDevices, get: d.GetDevice, del: d.RevokeDevice,
			create: func(ctx context.Context, tid int64, v *store.Device) error {
				v.TenantID = tid
				return d.CreateDevice(ctx, v)
			},
		}.ops(callerTenant)
	} else {
		o = unavailableOps[store.Device]("device credentials are not configured on this server")
	}
	o.update = nil
	return crud(spec[store.Device]{path: "/api/v1/devices", tag: "devices", entity: "device", audit: "device",
		read: ActConfigRead, write: ActDevices, body: DeviceInput{}, createdResp: DeviceCreated{},
		id: func(v *store.Device) *int64 { return &v.ID }, decode: a.decodeDevice, created: a.deviceCreated,
		removed: func(c *call, old *store.Device) {
			if a.deps.ForgetDevice != nil {
				a.deps.ForgetDevice(c.p.TenantSlug, old.Name)
			}
			if a.deps.Disconnect != nil {
				n := a.deps.Disconnect(c.p.TenantSlug, old.Name)
				a.log.Info("api: device revoked", "tenant", c.p.TenantSlug, "device", old.Name, "connections_closed", n)
			}
		}}, o)
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
	secret, hash, err := ingest.GenerateDeviceSecret()
	if err != nil {
		return err
	}
	v.Name, v.Lines, v.SecretHash = in.Name, in.Lines, hash
	c.secret = secret
	return nil
}

func (a *API) deviceCreated(c *call, v *store.Device) any {
	secret := c.secret
	url := a.cfg.NATSURL
	if url == "" {
		host := c.r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		url = "nats://" + net.JoinHostPort(host, "4222")
	}
	return DeviceCreated{Device: *v, Credentials: ingest.DeviceCredentials(c.p.TenantSlug, *v, secret, url)}
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
