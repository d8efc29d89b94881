package web

import (
	"context"

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
