package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/linepulse/linepulse/store"
)

// DashboardView is a dashboard template as a page renders it: its widgets in reading order
// (by row, then column), each checked again against the catalogue as it is now.
type DashboardView struct {
	ID         int64
	Name       string
	RoleAccess string
	Columns    int
	Widgets    []PlacedWidget
}

// PlacedWidget is one widget of a DashboardView.
type PlacedWidget struct {
	LayoutWidget
	// LineID is the line its params name (0 = none).
	LineID int64
	// Problem is why it cannot be shown ("" = it can): "unknown_type", "bad_params" (the
	// catalogue's schema refuses them now) or "line_forbidden" (outside the viewer's lines).
	Problem string
}

// ViewerDashboard is the dashboard a page shows to v: the template id (when v may see it),
// else with id 0 the kiosk's bound dashboard, else the first template made for v's role.
// False when none applies (the page then shows its default, a tile per line); an unknown
// or forbidden id is store.ErrNotFound.
func (a *API) ViewerDashboard(ctx context.Context, v Viewer, id int64) (DashboardView, bool, error) {
	if v.TenantID == 0 {
		if id != 0 {
			return DashboardView{}, false, fmt.Errorf("web: dashboard %d: %w", id, store.ErrNotFound)
		}
		return DashboardView{}, false, nil
	}
	var d store.DashboardTemplate
	switch {
	case id != 0:
		var err error
		d, err = a.st.GetDashboard(ctx, v.TenantID, id)
		if err != nil {
			return DashboardView{}, false, err
		}
		if (v.Kiosk && v.DashboardID != 0 && d.ID != v.DashboardID) || roleRank(v.Role) < roleRank(d.RoleAccess) {
			return DashboardView{}, false, fmt.Errorf("web: dashboard %d: %w", id, store.ErrNotFound)
		}
	case v.Kiosk && v.DashboardID != 0:
		var err error
		d, err = a.st.GetDashboard(ctx, v.TenantID, v.DashboardID)
		if errors.Is(err, store.ErrNotFound) {
			return DashboardView{}, false, nil // deleted since it was bound
		}
		if err != nil {
			return DashboardView{}, false, err
		}
	case v.Kiosk:
		return DashboardView{}, false, nil
	default:
		found := false
		for p := (store.Page{Limit: store.MaxPageSize}); !found; {
			list, err := a.st.ListDashboards(ctx, v.TenantID, p)
			if err != nil {
				return DashboardView{}, false, err
			}
			if i := slices.IndexFunc(list, func(x store.DashboardTemplate) bool { return x.RoleAccess == v.Role }); i >= 0 {
				d, found = list[i], true
			}
			if len(list) < p.Limit {
				break
			}
			p.AfterID = list[len(list)-1].ID
		}
		if !found {
			return DashboardView{}, false, nil
		}
	}
	view, err := a.dashboardView(ctx, v, d)
	return view, err == nil, err
}

func (a *API) dashboardView(ctx context.Context, v Viewer, d store.DashboardTemplate) (DashboardView, error) {
	out := DashboardView{ID: d.ID, Name: d.Name, RoleAccess: d.RoleAccess, Columns: 12}
	var l Layout
	if err := json.Unmarshal(d.LayoutConfig, &l); err != nil {
		return out, fmt.Errorf("web: dashboard %d has a broken layout: %w", d.ID, err)
	}
	if l.Columns > 0 {
		out.Columns = l.Columns
	}
	catalog, err := a.st.ListWidgets(ctx)
	if err != nil {
		return out, err
	}
	for _, w := range l.Widgets {
		pw := PlacedWidget{LayoutWidget: w}
		if len(pw.Params) == 0 || string(pw.Params) == "null" {
			pw.Params = json.RawMessage("{}")
		}
		i := slices.IndexFunc(catalog, func(c store.Widget) bool { return c.WidgetType == w.WidgetType })
		if i < 0 {
			pw.Problem = "unknown_type"
		} else if problems, err := a.widgets.validate(catalog[i], pw.Params); err != nil || len(problems) > 0 {
			pw.Problem = "bad_params"
		}
		var ref struct {
			LineID int64 `json:"line_id"`
		}
		if json.Unmarshal(pw.Params, &ref) == nil && ref.LineID > 0 {
			pw.LineID = ref.LineID
			if v.Lines != nil && !slices.Contains(v.Lines, ref.LineID) {
				pw.Problem = "line_forbidden"
			}
		}
		out.Widgets = append(out.Widgets, pw)
	}
	slices.SortStableFunc(out.Widgets, func(x, y PlacedWidget) int {
		if x.Y != y.Y {
			return x.Y - y.Y
		}
		return x.X - y.X
	})
	return out, nil
}
