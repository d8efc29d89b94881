package web

import (
	"context"
	"strings"
	"time"

	"github.com/linepulse/linepulse/store"
)

// Tenants: customer companies, managed by platform administrators. Creating a tenant
// creates its database; deleting one drops it with its users. The slug never changes: it
// is part of NATS subjects and device credentials. A deactivated tenant's users, kiosks
// and devices are refused.
func (a *API) tenantRoutes() []*Route {
	return crud(spec[store.Tenant]{path: "/api/v1/tenants", tag: "tenants", entity: "tenant", audit: "tenant", scope: ScopePlatform,
		read: ActTenants, write: ActTenants, id: func(v *store.Tenant) *int64 { return &v.ID },
		prepare: func(_ *call, v, old *store.Tenant) error {
			if old != nil && v.Slug != old.Slug {
				return fieldErr("slug", "cannot change (it is part of NATS subjects and device credentials)")
			}
			return nil
		}},
		scoped[store.Tenant]{
			list: func(ctx context.Context, _ int64, p store.Page) ([]store.Tenant, error) {
				return a.st.ListTenants(ctx, p)
			},
			get:    func(ctx context.Context, _, id int64) (store.Tenant, error) { return a.st.GetTenant(ctx, id) },
			create: func(ctx context.Context, _ int64, v *store.Tenant) error { return a.st.CreateTenant(ctx, v) },
			update: func(ctx context.Context, _ int64, v *store.Tenant) error { return a.st.UpdateTenant(ctx, v) },
			del:    func(ctx context.Context, _, id int64) error { return a.st.DeleteTenant(ctx, id) },
		}.ops(callerTenant))
}

// TenantSettings is what a tenant admin may change of its own tenant (PUT /api/v1/tenant).
type TenantSettings struct {
	Name          string `json:"name"`
	Timezone      string `json:"timezone"`       // IANA zone of the plant; shifts are read in it
	RetentionDays int    `json:"retention_days"` // detections older than this are dropped (31..3650)
	Language      string `json:"language"`       // interface language of users without their own ("" = the browser's)
}

// TenantInfo answers GET and PUT /api/v1/tenant.
type TenantInfo struct {
	ID   int64  `json:"id"`
	Slug string `json:"slug"`
	TenantSettings
}

// The caller's own tenant: every principal of a tenant reads it; tenant admins change its
// settings. A new time zone is checked against the shift calendar first, since shifts are
// written in local time.
func (a *API) tenantSettingsRoutes() []*Route {
	return []*Route{
		{Method: "GET", Path: "/api/v1/tenant", Summary: "Your tenant: name, time zone, retention, language", Tag: "tenant",
			Resource: "tenant", Action: ActSelf, Resp: TenantInfo{}, handle: a.handleTenantGet},
		{Method: "PUT", Path: "/api/v1/tenant", Summary: "Change your tenant's settings", Tag: "tenant",
			Resource: "tenant", Action: ActSettings, Body: TenantSettings{}, Resp: TenantInfo{}, handle: a.handleTenantPut},
	}
}

func tenantInfo(t store.Tenant) TenantInfo {
	return TenantInfo{ID: t.ID, Slug: t.Slug, TenantSettings: TenantSettings{Name: t.Name, Timezone: t.Config.Timezone,
		RetentionDays: t.Config.RetentionDays, Language: t.Config.Language}}
}

func (a *API) handleTenantGet(c *call) error {
	t, err := a.st.GetTenant(c.r.Context(), c.p.TenantID)
	if err != nil {
		return err
	}
	return c.reply(tenantInfo(t))
}

func (a *API) handleTenantPut(c *call) error {
	var in TenantSettings
	if err := c.decode(&in); err != nil {
		return err
	}
	ctx := c.r.Context()
	old, err := a.st.GetTenant(ctx, c.p.TenantID)
	if err != nil {
		return err
	}
	t := old
	t.Name, t.Config.Timezone, t.Config.RetentionDays, t.Config.Language = in.Name, in.Timezone, in.RetentionDays, in.Language
	// A new (well-formed) zone must keep the shift calendar valid; the store reports the rest.
	if _, zerr := time.LoadLocation(t.Config.Timezone); zerr == nil && t.Config.Timezone != old.Config.Timezone && a.deps.ValidateShifts != nil {
		tdb, err := c.tenant()
		if err != nil {
			return err
		}
		shifts, err := tdb.Shifts.All(ctx)
		if err != nil {
			return err
		}
		if err := a.deps.ValidateShifts(t.Config.Timezone, shifts); err != nil {
			return errorOf(err).withField("timezone")
		}
	}
	if err := a.st.UpdateTenant(ctx, &t); err != nil {
		return settingsField(err)
	}
	c.auditChange("tenant.settings", t.ID, tenantInfo(old), tenantInfo(t))
	return c.reply(tenantInfo(t))
}

// settingsField names the fields of TenantSettings in the store's validation errors
// (config_tenant.timezone → timezone).
func settingsField(err error) error {
	e := errorOf(err)
	for i, f := range e.fields {
		e.fields[i].Field = strings.TrimPrefix(f.Field, "config_tenant.")
	}
	return e
}
