package store_test

import (
	"context"
	"testing"

	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/store/storetest"
)

func TestMetaCacheRefreshesOnChange(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		s := e.Open(t)
		a := storetest.Tenant(t, s, "acme")
		b := storetest.Tenant(t, s, "globex")
		cache := store.NewMetaCache(s)
		l := newLine(t, a)
		p := store.Product{Name: "Cola", Color: "#ff0000"}
		if err := a.Products.Create(ctx, &p); err != nil {
			t.Fatal(err)
		}
		m, err := cache.Get(ctx, a.ID())
		if err != nil {
			t.Fatal(err)
		}
		if name, color := m.ProductName(p.ID); name != "Cola" || color != "#ff0000" {
			t.Fatalf("product %q %q", name, color)
		}
		if _, ok := m.Lines[l.ID]; !ok {
			t.Fatal("line missing from cache")
		}
		if got := m.AreaName(42); got != "unknown area 42" {
			t.Fatalf("unknown area: %q", got)
		}
		p.Name = "Cola Zero"
		if err := a.Products.Update(ctx, &p); err != nil {
			t.Fatal(err)
		}
		m, _ = cache.Get(ctx, a.ID())
		if name, _ := m.ProductName(p.ID); name != "Cola Zero" {
			t.Fatalf("cache not refreshed: %q", name)
		}
		mb, err := cache.Get(ctx, b.ID())
		if err != nil {
			t.Fatal(err)
		}
		if len(mb.Products) != 0 || len(mb.Lines) != 0 {
			t.Fatalf("tenant B's cache holds tenant A's model: %+v", mb)
		}
	})
}
