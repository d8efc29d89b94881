package web

import "github.com/linepulse/linepulse/store"

// Products: the catalogue; weight and colour feed the charts.
func (a *API) productRoutes() []*Route {
	return crud(spec[store.Product]{path: "/api/v1/products", tag: "products", entity: "product",
		read: ActPlantRead, write: ActPlantWrite, id: func(v *store.Product) *int64 { return &v.ID }},
		collectionOps(func(t *store.TenantDB) store.Collection[store.Product, *store.Product] { return t.Products }))
}
