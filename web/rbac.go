package web

import (
	"slices"

	"github.com/linepulse/linepulse/identity"
	"github.com/linepulse/linepulse/store"
)

// Actions are what a route (or a WebSocket subscription) requires. A role grants a set of
// actions; USER.permissions.deny removes some of them for one user, and
// USER.permissions.lines limits every line-bound action to those lines.
const (
	ActSelf             = "self"             // read one's own identity; every principal, never denied
	ActTenants          = "tenants.manage"   // create, change, delete tenants (platform)
	ActSystemConfig     = "system.config"    // SYSTEM_CONFIG (platform)
	ActUsers            = "users.manage"     // users of one's own scope, their roles and permissions
	ActAudit            = "audit.read"       // read and verify one's scope's audit log
	ActPlantRead        = "plant.read"       // lines, areas, products, shifts, filters, failures
	ActPlantWrite       = "plant.write"      // change the plant model (configuration)
	ActConfigRead       = "config.read"      // cameras, camera-area mapping, devices, camera events
	ActDevices          = "devices.manage"   // issue and revoke edge-device credentials
	ActKiosks           = "kiosks.manage"    // issue and revoke kiosk tokens
	ActDataRead         = "data.read"        // production, OEE and downtime history
	ActLive             = "live.read"        // live KPI and downtime over WebSocket
	ActDowntimeCode     = "downtime.code"    // set the reason code of a downtime event
	ActRunsSet          = "runs.set"         // start a product run on a line (set the product)
	ActIncidentsRead    = "incidents.read"   // read incidents
	ActIncidentsCreate  = "incidents.create" // report incidents
	ActIncidentsWrite   = "incidents.write"  // edit, solve and delete incidents
	ActCameraControl    = "cameras.control"  // record camera control events
	ActDashboardsRead   = "dashboards.read"  // dashboard templates visible to one's role
	ActDashboardsWrite  = "dashboards.write" // change dashboard templates
	ActWidgetsRead      = "widgets.read"     // the widget catalogue
	ActSettings         = "settings.manage"  // the own tenant's settings: name, time zone, retention, language
	ActAlertsRead       = "alerts.read"      // alerts, their deliveries, alert rules and notification channels
	ActAlertsAck        = "alerts.ack"       // acknowledge a firing alert
	ActAlertsManage     = "alerts.manage"    // change alert rules and notification channels
	roleKiosk           = "kiosk"            // pseudo-role of kiosk tokens, in roleActions only
	maxPermissionsLines = store.MaxKioskLines
)

// roleActions is the role table; see docs in README ("Roles").
var roleActions = map[string][]string{
	store.RolePlatformAdmin: {ActSelf, ActTenants, ActSystemConfig, ActUsers, ActAudit, ActWidgetsRead},
	store.RoleTenantAdmin: {ActSelf, ActUsers, ActAudit, ActPlantRead, ActPlantWrite, ActConfigRead, ActDevices,
		ActKiosks, ActDataRead, ActLive, ActDowntimeCode, ActRunsSet, ActIncidentsRead, ActIncidentsCreate, ActIncidentsWrite,
		ActCameraControl, ActDashboardsRead, ActDashboardsWrite, ActWidgetsRead, ActSettings,
		ActAlertsRead, ActAlertsAck, ActAlertsManage},
	store.RoleSupervisor: {ActSelf, ActPlantRead, ActConfigRead, ActDataRead, ActLive, ActDowntimeCode, ActRunsSet,
		ActIncidentsRead, ActIncidentsCreate, ActIncidentsWrite, ActCameraControl, ActDashboardsRead, ActWidgetsRead,
		ActAlertsRead, ActAlertsAck},
	store.RoleOperator: {ActSelf, ActPlantRead, ActDataRead, ActLive, ActDowntimeCode, ActRunsSet, ActIncidentsRead,
		ActIncidentsCreate, ActDashboardsRead, ActWidgetsRead, ActAlertsRead},
	store.RoleViewer: {ActSelf, ActPlantRead, ActDataRead, ActLive, ActIncidentsRead, ActDashboardsRead, ActWidgetsRead},
	roleKiosk:        {ActSelf, ActPlantRead, ActDataRead, ActLive, ActDashboardsRead, ActWidgetsRead},
}

// Actions lists every action, for validating USER.permissions.deny and for docs.
func Actions() []string {
	return []string{ActSelf, ActTenants, ActSystemConfig, ActUsers, ActAudit, ActPlantRead, ActPlantWrite,
		ActConfigRead, ActDevices, ActKiosks, ActDataRead, ActLive, ActDowntimeCode, ActRunsSet, ActIncidentsRead,
		ActIncidentsCreate, ActIncidentsWrite, ActCameraControl, ActDashboardsRead, ActDashboardsWrite, ActWidgetsRead, ActSettings,
		ActAlertsRead, ActAlertsAck, ActAlertsManage}
}

// RoleActions returns the actions a role grants before per-user denials.
func RoleActions(role string) []string { return slices.Clone(roleActions[role]) }

// Can reports whether p may perform action: its role (kiosk tokens have the kiosk set)
// grants it and its permissions do not deny it. Line limits are checked separately with
// p.CanSeeLine. The hub calls Can(p, ActLive) before every subscription.
func Can(p identity.Principal, action string) bool {
	role := p.Role
	if p.Kiosk {
		role = roleKiosk
	}
	if !slices.Contains(roleActions[role], action) {
		return false
	}
	return action == ActSelf || !slices.Contains(p.Deny, action)
}

// roleRank orders roles: a dashboard template for role R is visible to R and to every
// more powerful tenant role.
func roleRank(role string) int {
	for i, r := range store.Roles {
		if r == role {
			return len(store.Roles) - i
		}
	}
	return 0
}
