package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/linepulse/linepulse/store"
)

// Layout is the content of DASHBOARD_TEMPLATE.layout_config: widgets placed on a grid.
// Each widget's params must satisfy its catalogue entry's JSON Schema.
type Layout struct {
	Columns int            `json:"columns,omitempty"` // grid width; default 12
	Widgets []LayoutWidget `json:"widgets"`
}

// LayoutWidget is one placed widget.
type LayoutWidget struct {
	ID         string          `json:"id,omitempty"`
	WidgetType string          `json:"widget_type"`
	X          int             `json:"x"`
	Y          int             `json:"y"`
	W          int             `json:"w"`
	H          int             `json:"h"`
	Params     json.RawMessage `json:"params"`
}

const maxLayoutWidgets = 100

// Dashboard templates: layouts assigned to a role (role_access); a template is visible to
// its role and every more powerful one. Kiosk tokens bound to a dashboard see only it.
func (a *API) dashboardRoutes() []*Route {
	o := scoped[store.DashboardTemplate]{list: a.st.ListDashboards, get: a.st.GetDashboard, update: a.st.UpdateDashboard, del: a.st.DeleteDashboard,
		create: func(ctx context.Context, tid int64, d *store.DashboardTemplate) error {
			d.TenantID = tid
			return a.st.CreateDashboard(ctx, d)
		}}.ops(callerTenant)
	return crud(spec[store.DashboardTemplate]{path: "/api/v1/dashboards", tag: "dashboards", entity: "dashboard", audit: "dashboard",
		read: ActDashboardsRead, write: ActDashboardsWrite, id: func(v *store.DashboardTemplate) *int64 { return &v.ID },
		see: func(c *call, v *store.DashboardTemplate) bool {
			if c.p.Kiosk && c.kioskDashboard != 0 {
				return v.ID == c.kioskDashboard
			}
			return roleRank(c.p.Role) >= roleRank(v.RoleAccess)
		},
		prepare: a.checkLayout}, o)
}

// checkLayout validates layout_config: its shape, each widget's type and params, and the
// lines the params name.
func (a *API) checkLayout(c *call, v, _ *store.DashboardTemplate) error {
	if len(v.LayoutConfig) == 0 {
		return fieldErr("layout_config", "is required")
	}
	var l Layout
	if err := unmarshalStrict(v.LayoutConfig, &l); err != nil {
		var ae *apiError
		if errors.As(err, &ae) {
			return fieldErr("layout_config", "%s", ae.msg)
		}
		return fieldErr("layout_config", "must be an object with a widgets array")
	}
	if l.Widgets == nil {
		return fieldErr("layout_config.widgets", "is required")
	}
	var fields []store.FieldError
	bad := func(i int, format string, args ...any) {
		fields = append(fields, store.FieldError{Field: fmt.Sprintf("layout_config.widgets[%d]", i), Message: fmt.Sprintf(format, args...)})
	}
	if len(l.Widgets) > maxLayoutWidgets {
		return fieldErr("layout_config.widgets", "at most %d widgets", maxLayoutWidgets)
	}
	if l.Columns < 0 || l.Columns > 48 {
		return fieldErr("layout_config.columns", "must be between 1 and 48")
	}
	catalog, err := a.st.ListWidgets(c.r.Context())
	if err != nil {
		return err
	}
	for i, w := range l.Widgets {
		if w.X < 0 || w.Y < 0 || w.X > 1000 || w.Y > 1000 || w.W < 1 || w.H < 1 || w.W > 48 || w.H > 48 {
			bad(i, "x and y must be 0..1000, w and h 1..48")
			continue
		}
		var wt *store.Widget
		for j := range catalog {
			if catalog[j].WidgetType == w.WidgetType {
				wt = &catalog[j]
			}
		}
		if wt == nil {
			bad(i, "unknown widget_type %q (see %swidgets)", truncate(w.WidgetType, 64), APIPrefix)
			continue
		}
		params := w.Params
		if len(params) == 0 || string(params) == "null" {
			params = json.RawMessage("{}")
		}
		problems, err := a.widgets.validate(*wt, params)
		if err != nil {
			return fmt.Errorf("web: widget %s has a broken schema: %w", wt.WidgetType, err)
		}
		for _, p := range problems {
			bad(i, "%s", p)
		}
		if len(problems) == 0 {
			var ref struct {
				LineID int64 `json:"line_id"`
			}
			if json.Unmarshal(params, &ref) == nil && ref.LineID > 0 {
				if err := c.lineExists("line_id", ref.LineID); err != nil {
					var ae *apiError
					if !errors.As(err, &ae) || ae.code != CodeValidation {
						return err
					}
					bad(i, "params.line_id: no such line")
				}
			}
		}
	}
	if len(fields) > 0 {
		return &store.ValidationError{Entity: "dashboard", Fields: fields}
	}
	return nil
}
