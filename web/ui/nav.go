package ui

import (
	"slices"

	"github.com/linepulse/linepulse/web"
	"github.com/linepulse/linepulse/web/ui/i18n"
)

// navLink is an entry of the top navigation. A feature with pages of its own (the plant
// map, reports, node health, ...) adds its entry here: the navigation shows it to viewers
// whose role grants Action.
type navLink struct {
	Href   string
	Key    string   // i18n key of the label
	Action string   // the action the viewer needs (web.Act...)
	Pages  []string // pageData.Page values on which the entry is the current one
}

var navLinks = []navLink{
	{Href: "/", Key: "nav.dashboard", Action: web.ActLive, Pages: []string{"dashboard", "line"}},
	{Href: "/map", Key: "nav.map", Action: web.ActPlantRead, Pages: []string{"map"}},
	{Href: "/dashboards", Key: "nav.dashboards", Action: web.ActDashboardsRead, Pages: []string{"dashboards", "board", "boardedit"}},
	{Href: "/losses", Key: "nav.losses", Action: web.ActDataRead, Pages: []string{"losses"}},
	{Href: "/reports/plant", Key: "nav.reports", Action: web.ActDataRead, Pages: []string{"plant", "report"}},
	{Href: "/nodes", Key: "nav.nodes", Action: web.ActDataRead, Pages: []string{"nodes"}},
}

// nav is the navigation of a page, computed for its viewer.
type nav struct {
	Links []navItem
	// Setup is the entry of the setup area, present when the viewer may read at least one
	// setup screen (platform administrators: the platform's).
	Setup *navItem
	// Tenant, User and Role (an i18n key) say who is signed in where.
	Tenant string
	User   string
	Role   string
	Langs  []langOption
	// Bell shows the unacknowledged-alert count, linked to the notification centre.
	Bell bool
}

type navItem struct {
	Href    string
	Key     string
	Current bool
}

// langOption is an entry of the language switch; Code "" = the tenant's (or browser's).
type langOption struct {
	Code     string
	Key      string
	Selected bool
}

// navFor builds the navigation of page for viewer v (nil: signed out, no navigation).
func navFor(v *web.Viewer, page string) *nav {
	if v == nil || v.Kiosk {
		return nil
	}
	n := &nav{Tenant: v.TenantName, User: v.Name, Role: "role." + v.Role, Bell: v.Can(web.ActAlertsRead)}
	if n.User == "" {
		n.User = v.Email
	}
	for _, l := range navLinks {
		if v.Can(l.Action) {
			n.Links = append(n.Links, navItem{Href: l.Href, Key: l.Key, Current: slices.Contains(l.Pages, page)})
		}
	}
	if first := firstScreen(v); first != nil {
		n.Setup = &navItem{Href: "/setup", Key: "nav.setup", Current: page == "setup"}
		if v.TenantID == 0 {
			n.Setup.Key = "nav.platform"
		}
	}
	n.Langs = append(n.Langs, langOption{Code: "", Key: "nav.lang.default", Selected: v.UserLanguage == ""})
	for _, l := range i18n.Supported {
		n.Langs = append(n.Langs, langOption{Code: l, Key: "lang." + l, Selected: v.UserLanguage == l})
	}
	return n
}
