package ui

import (
	"github.com/linepulse/linepulse/web"
)

// A setup screen is one declaration (a screen value in screens): the list of an API
// collection with its create/edit form and delete, or one object's form (Single). The
// page is always templates/setup.html driven by the Alpine component setupScreen
// (assets/setup.js), which reads the collection from the REST API, sends the form back
// and shows the API's validation errors next to their fields. A viewer whose role may
// only read gets no buttons (the API refuses writes anyway). To add a screen: add a value
// here and its strings (<Key>.title, <Key>.intro, <Key>.field.<name>, ...) to the
// catalogues; see README.md.
type screen struct {
	Slug  string // the URL is /setup/<Slug>
	Group string // i18n key of its group on the setup index and in the side menu
	Key   string // i18n key prefix of its strings
	API   string // collection path (Single: the object's path)
	Read  string // action needed to see the screen
	Write string // action needed to change (""= read-only for everyone)
	// Platform screens belong to platform administrators; the others to tenant users.
	Platform bool
	// Single: one object read with GET and saved with PUT on API (no list).
	Single bool
	// IDField names the objects in URLs (default "id"). With Upsert, objects are created
	// and replaced by PUT API/{IDField}.
	IDField string
	Upsert  bool
	NoEdit  bool // objects cannot be changed after creation (devices)
	// KeepRow: an edit sends the object as read with the form's fields over it (for
	// bodies that are the stored object itself and have parts no field shows).
	KeepRow bool
	// Revoke: DELETE revokes (the row stays, with revoked_at set) instead of deleting.
	Revoke bool
	// Paged lists load more on demand (?after=next_after) instead of everything.
	Paged bool
	// NewestFirst shows the list in reverse order (logs).
	NewestFirst bool
	Columns     []column
	Fields      []field
	// Secret lists what a create response shows once (credentials, tokens).
	Secret []secretItem
	// Extra names a template defined in templates/setup-extras.html shown under the list.
	Extra string
}

// column is a column of a screen's list.
type column struct {
	Name string // JSON path in the object ("config_tenant.timezone")
	Kind string // how the value is shown: see cellKinds in assets/setup.js
	// Label is the i18n key of the header; default <screen.Key>.field.<Name>.
	Label string
	// Ref is the collection (e.g. "/api/v1/lines") an id (kind ref) or ids (kind refs)
	// point into; RefLabel the field of those objects shown.
	Ref      string
	RefLabel string
	// Options label the values of kind option (static choices).
	Options []option
	// Extra is a second value shown with this one (kind span: start and end).
	Extra string
	// Zero is the i18n key shown for 0 (kind ref) or an empty list (kind refs).
	Zero string
}

// field is an input of a screen's form.
type field struct {
	Name string // JSON path in the request body ("config_tenant.language")
	// Kind is the input: text, email, password, textarea, number, percent (a fraction
	// entered in %), seconds (milliseconds entered in s), color, checkbox, select (Options),
	// multi (several Options), ref (one object of Ref), refs (several objects of Ref),
	// time (HH:MM), date, json, addresses (a list of e-mail addresses typed
	// separated by commas or new lines), days (weekdays and rotation), breaks (a list of start-end
	// times), zone (an IANA time zone), hidden (Default, always sent).
	Kind string
	// Label is the i18n key of the label; default <screen.Key>.field.<Name>. Help (an i18n
	// key) is shown under the input.
	Label string
	Help  string
	// Required marks the label; the API decides what is valid.
	Required bool
	Options  []option
	Ref      string
	RefLabel string
	// RefWhere offers only the objects of Ref whose fields have these values (the e-mail
	// channels of a report schedule); the API still checks what is sent.
	RefWhere map[string]string
	// Zero is the label key of the "none"/"all" choice of a ref (value 0); "" = none.
	Zero string
	// Create: only in the create form; Fixed: shown but not editable after creation (and
	// sent unchanged); ReadOnly: shown, never editable, never sent.
	Create   bool
	Fixed    bool
	ReadOnly bool
	// Default is the value of a new object's field.
	Default any
	// Min, Max, Step bound number inputs (as in HTML).
	Min, Max, Step string
}

// option is a fixed choice of a select or multi field.
type option struct {
	Value any    `json:"value"`
	Key   string `json:"-"` // i18n key of the label
	Label string `json:"label"`
}

// secretItem is one value a create response shows once.
type secretItem struct {
	Key  string // i18n key of its label
	Path string // JSON path in the create response
	// Kind: text (default), url (made absolute and linked), code (a block), list.
	Kind string
}

// The collections screens refer to.
const (
	apiLines      = "/api/v1/lines"
	apiShifts     = "/api/v1/shifts"
	apiAreas      = "/api/v1/areas"
	apiCameras    = "/api/v1/cameras"
	apiDashboards = "/api/v1/dashboards"
	apiUsers      = "/api/v1/users"
	apiChannels   = "/api/v1/notification-channels"
	apiFailures   = "/api/v1/failures"
)

var (
	scheduleKinds   = []option{{Value: "shift_end", Key: "schedules.kind.shift_end"}, {Value: "daily", Key: "schedules.kind.daily"}, {Value: "weekly", Key: "schedules.kind.weekly"}}
	reportLanguages = []option{{Value: "en", Key: "lang.en"}, {Value: "es", Key: "lang.es"}}
	languageOptions = []option{{Value: "", Key: "setup.language.none"}, {Value: "en", Key: "lang.en"}, {Value: "es", Key: "lang.es"}}
	tenantRoles     = []option{{Value: "tenant_admin", Key: "role.tenant_admin"}, {Value: "supervisor", Key: "role.supervisor"},
		{Value: "operator", Key: "role.operator"}, {Value: "viewer", Key: "role.viewer"}}
	// auditColumns are the columns of both audit logs (a tenant's and the platform's).
	auditColumns = []column{{Name: "seq", Kind: "integer", Label: "audit.field.seq"}, {Name: "at", Kind: "datetime", Label: "audit.field.at"},
		{Name: "user_id", Kind: "ref", Ref: apiUsers, RefLabel: "email", Zero: "audit.system", Label: "audit.field.user_id"},
		{Name: "action", Kind: "code", Label: "audit.field.action"}, {Name: "ip_address", Kind: "code", Label: "audit.field.ip_address"},
		{Name: "details", Kind: "json", Label: "audit.field.details"}}
)

// denyOptions are the actions a tenant user's permissions may remove, labelled action.<name>.
func denyOptions() []option {
	var out []option
	for _, a := range web.Actions() {
		// A tenant user never holds the platform's actions: nothing to deny.
		if a != web.ActSelf && a != web.ActTenants && a != web.ActSystemConfig {
			out = append(out, option{Value: a, Key: "action." + a})
		}
	}
	return out
}

// screens is every setup screen, in menu order within their groups.
var screens = []screen{
	{Slug: "lines", Group: "setup.group.plant", Key: "lines", API: apiLines, Read: web.ActPlantRead, Write: web.ActPlantWrite,
		Columns: []column{{Name: "name"}, {Name: "availability", Kind: "percent"}, {Name: "performance", Kind: "percent"},
			{Name: "quality", Kind: "percent"}, {Name: "downtime_threshold_ms", Kind: "seconds"}, {Name: "ideal_cycle_time_ms", Kind: "seconds"},
			{Name: "active", Kind: "bool"}},
		Fields: []field{{Name: "name", Kind: "text", Required: true}, {Name: "description", Kind: "textarea"},
			{Name: "availability", Kind: "percent", Default: 0.9, Required: true, Help: "lines.help.targets"},
			{Name: "performance", Kind: "percent", Default: 0.95, Required: true}, {Name: "quality", Kind: "percent", Default: 0.99, Required: true},
			{Name: "downtime_threshold_ms", Kind: "seconds", Default: 30000, Required: true, Help: "lines.help.threshold"},
			{Name: "ideal_cycle_time_ms", Kind: "seconds", Default: 1000, Required: true, Help: "lines.help.cycle"},
			{Name: "micro_stop_min_ms", Kind: "seconds", Default: 5000, Help: "lines.help.micro"},
			{Name: "active", Kind: "checkbox", Default: true}}},
	{Slug: "areas", Group: "setup.group.plant", Key: "areas", API: apiAreas, Read: web.ActPlantRead, Write: web.ActPlantWrite,
		Columns: []column{{Name: "name"}, {Name: "line_id", Kind: "ref", Ref: apiLines}, {Name: "coord_x1", Kind: "rect", Label: "areas.field.rect"}},
		Fields: []field{{Name: "line_id", Kind: "ref", Ref: apiLines, Required: true}, {Name: "name", Kind: "text", Required: true},
			{Name: "coord_x1", Kind: "number", Step: "any", Default: 0, Help: "areas.help.coords"}, {Name: "coord_y1", Kind: "number", Step: "any", Default: 0},
			{Name: "coord_x2", Kind: "number", Step: "any", Default: 10}, {Name: "coord_y2", Kind: "number", Step: "any", Default: 10}}},
	{Slug: "products", Group: "setup.group.plant", Key: "products", API: "/api/v1/products", Read: web.ActPlantRead, Write: web.ActPlantWrite,
		Columns: []column{{Name: "name"}, {Name: "sku", Kind: "code"}, {Name: "ideal_cycle_ms", Kind: "seconds", Zero: "products.cycle.line"},
			{Name: "product_weight", Kind: "number"}, {Name: "product_color", Kind: "color"}},
		Fields: []field{{Name: "name", Kind: "text", Required: true}, {Name: "sku", Kind: "text"},
			{Name: "ideal_cycle_ms", Kind: "seconds", Default: 0, Help: "products.help.cycle"},
			{Name: "product_weight", Kind: "number", Step: "any", Min: "0", Default: 0, Help: "products.help.weight"},
			{Name: "product_color", Kind: "color", Default: "#38bdf8", Help: "products.help.color"}}},
	{Slug: "shifts", Group: "setup.group.plant", Key: "shifts", API: "/api/v1/shifts", Read: web.ActPlantRead, Write: web.ActPlantWrite, Extra: "shift-calendar",
		Columns: []column{{Name: "name"}, {Name: "line_id", Kind: "ref", Ref: apiLines, Zero: "setup.all_lines"},
			{Name: "start_time", Kind: "span", Extra: "end_time", Label: "shifts.field.hours"}, {Name: "days_implemented", Kind: "days"},
			{Name: "breaks", Kind: "breaks"}, {Name: "active", Kind: "bool"}},
		Fields: []field{{Name: "name", Kind: "text", Required: true}, {Name: "line_id", Kind: "ref", Ref: apiLines, Zero: "setup.all_lines", Default: 0},
			{Name: "start_time", Kind: "time", Default: "06:00", Required: true}, {Name: "end_time", Kind: "time", Default: "14:00", Required: true, Help: "shifts.help.end"},
			{Name: "days_implemented", Kind: "days", Default: []int{1, 2, 3, 4, 5}}, {Name: "breaks", Kind: "breaks", Help: "shifts.help.breaks"},
			{Name: "is_overnight", Kind: "hidden", Default: false}, {Name: "active", Kind: "checkbox", Default: true}}},
	// Production targets: good units planned per instance of a line's shift (docs/OEE.md).
	{Slug: "targets", Group: "setup.group.plant", Key: "targets", API: "/api/v1/targets", Read: web.ActPlantRead, Write: web.ActPlantWrite, IDField: "key",
		Columns: []column{{Name: "line_id", Kind: "ref", Ref: apiLines}, {Name: "shift_id", Kind: "ref", Ref: apiShifts}, {Name: "quantity"}, {Name: "updated_at", Kind: "datetime"}},
		Fields: []field{{Name: "line_id", Kind: "ref", Ref: apiLines, Required: true, Fixed: true}, {Name: "shift_id", Kind: "ref", Ref: apiShifts, Required: true, Fixed: true},
			{Name: "quantity", Kind: "number", Required: true, Help: "targets.help.quantity"}}},
	// The reason tree: a failure's parent is another failure (its category), at most
	// store.MaxReasonDepth levels; the API refuses a cycle or a deeper tree.
	{Slug: "failures", Group: "setup.group.plant", Key: "failures", API: apiFailures, Read: web.ActPlantRead, Write: web.ActPlantWrite, KeepRow: true,
		Columns: []column{{Name: "code", Kind: "code"}, {Name: "name"}, {Name: "parent_id", Kind: "ref", Ref: apiFailures}, {Name: "kind", Kind: "option",
			Options: []option{{Value: "unplanned", Key: "failures.category.unplanned"}, {Value: "planned", Key: "failures.category.planned"}}},
			{Name: "description"}},
		Fields: []field{{Name: "code", Kind: "text", Required: true, Help: "failures.help.code"}, {Name: "name", Kind: "text", Required: true},
			{Name: "parent_id", Kind: "ref", Ref: apiFailures, Zero: "failures.parent.none", Default: 0, Help: "failures.help.parent"},
			{Name: "kind", Kind: "select", Default: "unplanned", Help: "failures.help.kind",
				Options: []option{{Value: "unplanned", Key: "failures.category.unplanned"}, {Value: "planned", Key: "failures.category.planned"}}},
			{Name: "description", Kind: "textarea"}}},
	{Slug: "filters", Group: "setup.group.plant", Key: "filters", API: "/api/v1/filters", Read: web.ActPlantRead, Write: web.ActPlantWrite,
		Columns: []column{{Name: "name"}, {Name: "filter_type", Kind: "option", Options: filterTypes}, {Name: "field", Kind: "code"},
			{Name: "default_value", Kind: "json"}, {Name: "position", Kind: "integer"}},
		Fields: []field{{Name: "name", Kind: "text", Required: true}, {Name: "filter_type", Kind: "select", Options: filterTypes, Default: "time_range"},
			{Name: "field", Kind: "text", Required: true, Help: "filters.help.field"}, {Name: "position", Kind: "number", Step: "1", Default: 0},
			{Name: "default_value", Kind: "json", Help: "filters.help.default"}, {Name: "additional_filter", Kind: "json", Default: map[string]any{}}}},

	{Slug: "cameras", Group: "setup.group.equipment", Key: "cameras", API: apiCameras, Read: web.ActConfigRead, Write: web.ActPlantWrite,
		Columns: []column{{Name: "name", Kind: "code"}, {Name: "node"}, {Name: "model"}},
		Fields:  []field{{Name: "name", Kind: "text", Required: true, Help: "cameras.help.name"}, {Name: "node", Kind: "text"}, {Name: "model", Kind: "text"}}},
	{Slug: "camera-areas", Group: "setup.group.equipment", Key: "camera_areas", API: "/api/v1/camera-areas", Read: web.ActConfigRead, Write: web.ActPlantWrite,
		Columns: []column{{Name: "camera_id", Kind: "ref", Ref: apiCameras}, {Name: "area_id", Kind: "ref", Ref: apiAreas},
			{Name: "status", Kind: "option", Options: cameraStatuses}},
		Fields: []field{{Name: "camera_id", Kind: "ref", Ref: apiCameras, Required: true}, {Name: "area_id", Kind: "ref", Ref: apiAreas, Required: true},
			{Name: "status", Kind: "select", Options: cameraStatuses, Default: "active"}}},
	{Slug: "devices", Group: "setup.group.equipment", Key: "devices", API: "/api/v1/devices", Read: web.ActConfigRead, Write: web.ActDevices,
		NoEdit: true, Revoke: true,
		Columns: []column{{Name: "name", Kind: "code"}, {Name: "lines", Kind: "refs", Ref: apiLines, Zero: "setup.all_lines"},
			{Name: "created_at", Kind: "datetime"}, {Name: "revoked_at", Kind: "datetime"}},
		Fields: []field{{Name: "name", Kind: "text", Required: true, Help: "devices.help.name"},
			{Name: "lines", Kind: "refs", Ref: apiLines, Help: "devices.help.lines"}},
		Secret: []secretItem{{Key: "devices.secret.user", Path: "credentials.user"}, {Key: "devices.secret.password", Path: "credentials.password"},
			{Key: "devices.secret.url", Path: "credentials.url"}, {Key: "devices.secret.inbox", Path: "credentials.inbox_prefix"},
			{Key: "devices.secret.publish", Path: "credentials.publish", Kind: "code"}, {Key: "devices.secret.cli", Path: "credentials.nats_cli", Kind: "code"}}},
	{Slug: "kiosks", Group: "setup.group.equipment", Key: "kiosks", API: "/api/v1/kiosks", Read: web.ActKiosks, Write: web.ActKiosks, Revoke: true,
		Columns: []column{{Name: "name"}, {Name: "lines", Kind: "refs", Ref: apiLines, Zero: "setup.all_lines"},
			{Name: "dashboard_id", Kind: "ref", Ref: apiDashboards, Zero: "kiosks.default_dashboard"},
			{Name: "last_used_at", Kind: "datetime"}, {Name: "revoked_at", Kind: "datetime"}},
		Fields: []field{{Name: "name", Kind: "text", Required: true}, {Name: "lines", Kind: "refs", Ref: apiLines, Help: "kiosks.help.lines"},
			{Name: "dashboard_id", Kind: "ref", Ref: apiDashboards, Zero: "kiosks.default_dashboard", Default: 0}},
		Secret: []secretItem{{Key: "kiosks.secret.tv_url", Path: "tv_url", Kind: "url"}, {Key: "kiosks.secret.token", Path: "token"}}},

	{Slug: "notification-channels", Group: "setup.group.alerts", Key: "channels", API: apiChannels, Read: web.ActAlertsRead, Write: web.ActAlertsManage,
		Columns: []column{{Name: "name"}, {Name: "kind", Kind: "option", Options: channelKinds}, {Name: "config.url", Kind: "code"},
			{Name: "config.to", Kind: "addresses"}, {Name: "failing", Kind: "bool"}, {Name: "last_error"}},
		Fields: []field{{Name: "name", Kind: "text", Required: true}, {Name: "kind", Kind: "select", Options: channelKinds, Default: "webhook"},
			{Name: "config.url", Kind: "text", Help: "channels.help.url"},
			{Name: "config.format", Kind: "select", Options: webhookFormats, Default: "generic"},
			{Name: "config.secret", Kind: "password", Help: "channels.help.secret"},
			{Name: "config.host", Kind: "text", Help: "channels.help.host"}, {Name: "config.port", Kind: "number", Step: "1", Min: "0", Max: "65535", Default: 587},
			{Name: "config.tls", Kind: "select", Options: tlsModes, Default: "starttls"},
			{Name: "config.username", Kind: "text"}, {Name: "config.password", Kind: "password", Help: "channels.help.secret"},
			{Name: "config.from", Kind: "text"}, {Name: "config.to", Kind: "addresses", Default: []string{}, Help: "channels.help.to"}}},
	{Slug: "alert-rules", Group: "setup.group.alerts", Key: "rules", API: "/api/v1/alert-rules", Read: web.ActAlertsRead, Write: web.ActAlertsManage,
		Columns: []column{{Name: "name"}, {Name: "kind", Kind: "option", Options: ruleKinds}, {Name: "severity", Kind: "option", Options: severities},
			{Name: "lines", Kind: "refs", Ref: apiLines, Zero: "setup.all_lines"}, {Name: "after", Kind: "code"},
			{Name: "channels", Kind: "refs", Ref: apiChannels, RefLabel: "name"}, {Name: "escalate_after", Kind: "code"}, {Name: "active", Kind: "bool"}},
		Fields: []field{{Name: "name", Kind: "text", Required: true}, {Name: "kind", Kind: "select", Options: ruleKinds, Default: "line_down"},
			{Name: "severity", Kind: "select", Options: severities, Default: "warning"},
			{Name: "lines", Kind: "refs", Ref: apiLines, Help: "rules.help.lines"},
			{Name: "after", Kind: "text", Default: "0s", Required: true, Help: "rules.help.after"},
			{Name: "threshold", Kind: "percent", Default: 0.6, Help: "rules.help.threshold"},
			{Name: "metric", Kind: "select", Options: ruleMetrics, Default: "oee"},
			{Name: "channels", Kind: "refs", Ref: apiChannels, RefLabel: "name", Required: true},
			{Name: "escalate_after", Kind: "text", Default: "0s", Help: "rules.help.escalate"},
			{Name: "escalate_channels", Kind: "refs", Ref: apiChannels, RefLabel: "name"},
			{Name: "active", Kind: "checkbox", Default: true}}},
	{Slug: "report-schedules", Group: "setup.group.alerts", Key: "schedules", API: "/api/v1/report-schedules", Read: web.ActAlertsRead, Write: web.ActAlertsManage,
		Columns: []column{{Name: "name"}, {Name: "kind", Kind: "option", Options: scheduleKinds}, {Name: "recipients", Kind: "addresses"},
			{Name: "lines", Kind: "refs", Ref: apiLines, Zero: "setup.all_lines"}, {Name: "hour", Kind: "integer"},
			{Name: "channel_id", Kind: "ref", Ref: apiChannels, RefLabel: "name"}, {Name: "language", Kind: "option", Options: reportLanguages}, {Name: "active", Kind: "bool"}},
		Fields: []field{{Name: "name", Kind: "text", Required: true}, {Name: "kind", Kind: "select", Options: scheduleKinds, Default: "shift_end"},
			{Name: "recipients", Kind: "addresses", Default: []string{}, Help: "schedules.help.recipients"},
			{Name: "lines", Kind: "refs", Ref: apiLines, Help: "schedules.help.lines"},
			{Name: "hour", Kind: "number", Step: "1", Min: "0", Max: "23", Default: 6, Help: "schedules.help.hour"},
			{Name: "channel_id", Kind: "ref", Ref: apiChannels, RefLabel: "name", RefWhere: map[string]string{"kind": "email"}, Required: true, Help: "schedules.help.channel"},
			{Name: "language", Kind: "select", Options: reportLanguages, Default: "en"},
			{Name: "active", Kind: "checkbox", Default: true}}},

	{Slug: "users", Group: "setup.group.people", Key: "users", API: apiUsers, Read: web.ActUsers, Write: web.ActUsers,
		Columns: []column{{Name: "email"}, {Name: "name"}, {Name: "role", Kind: "option", Options: tenantRoles},
			{Name: "permissions.lines", Kind: "refs", Ref: apiLines, Zero: "setup.all_lines"}, {Name: "language", Kind: "option", Options: languageOptions},
			{Name: "active", Kind: "bool"}},
		Fields: []field{{Name: "email", Kind: "email", Required: true}, {Name: "name", Kind: "text"},
			{Name: "role", Kind: "select", Options: tenantRoles, Default: "operator"},
			{Name: "password", Kind: "password", Help: "users.help.password"},
			{Name: "permissions.lines", Kind: "refs", Ref: apiLines, Help: "users.help.lines"},
			{Name: "permissions.deny", Kind: "multi", Options: denyOptions(), Help: "users.help.deny"},
			{Name: "language", Kind: "select", Options: languageOptions, Default: ""}, {Name: "active", Kind: "checkbox", Default: true}}},

	{Slug: "settings", Group: "setup.group.admin", Key: "settings", API: "/api/v1/tenant", Read: web.ActSettings, Write: web.ActSettings, Single: true,
		Fields: []field{{Name: "slug", Kind: "text", ReadOnly: true, Help: "settings.help.slug"}, {Name: "name", Kind: "text", Required: true},
			{Name: "timezone", Kind: "zone", Required: true, Help: "settings.help.timezone"},
			{Name: "retention_days", Kind: "number", Min: "31", Max: "3650", Step: "1", Help: "settings.help.retention"},
			{Name: "language", Kind: "select", Options: languageOptions, Help: "settings.help.language"}}},
	{Slug: "audit", Group: "setup.group.admin", Key: "audit", API: "/api/v1/audit", Read: web.ActAudit, IDField: "seq", Paged: true, NewestFirst: true,
		Extra: "audit-verify", Columns: auditColumns},

	{Slug: "tenants", Group: "setup.group.platform", Key: "tenants", API: "/api/v1/tenants", Read: web.ActTenants, Write: web.ActTenants, Platform: true, KeepRow: true,
		Columns: []column{{Name: "slug", Kind: "code"}, {Name: "name"}, {Name: "config_tenant.timezone"},
			{Name: "config_tenant.language", Kind: "option", Options: languageOptions}, {Name: "active", Kind: "bool"}},
		Fields: []field{{Name: "slug", Kind: "text", Fixed: true, Required: true, Help: "tenants.help.slug"}, {Name: "name", Kind: "text", Required: true},
			{Name: "config_tenant.timezone", Kind: "zone", Default: "UTC", Required: true},
			{Name: "config_tenant.retention_days", Kind: "number", Min: "31", Max: "3650", Step: "1", Default: 365},
			{Name: "config_tenant.language", Kind: "select", Options: languageOptions, Default: ""}, {Name: "active", Kind: "checkbox", Default: true}}},
	{Slug: "platform-users", Group: "setup.group.platform", Key: "admins", API: apiUsers, Read: web.ActUsers, Write: web.ActUsers, Platform: true,
		Columns: []column{{Name: "email"}, {Name: "name"}, {Name: "language", Kind: "option", Options: languageOptions}, {Name: "active", Kind: "bool"}},
		Fields: []field{{Name: "email", Kind: "email", Required: true}, {Name: "name", Kind: "text"},
			{Name: "password", Kind: "password", Help: "users.help.password"},
			{Name: "language", Kind: "select", Options: languageOptions, Default: ""}, {Name: "active", Kind: "checkbox", Default: true},
			{Name: "role", Kind: "hidden", Default: "platform_admin"}, {Name: "permissions", Kind: "hidden", Default: map[string]any{}}}},
	{Slug: "system", Group: "setup.group.platform", Key: "system", API: "/api/v1/config", Read: web.ActSystemConfig, Write: web.ActSystemConfig,
		Platform: true, IDField: "key", Upsert: true,
		Columns: []column{{Name: "key", Kind: "code"}, {Name: "value", Kind: "json"}, {Name: "updated_at", Kind: "datetime"}},
		Fields:  []field{{Name: "key", Kind: "text", Fixed: true, Required: true, Help: "system.help.key"}, {Name: "value", Kind: "json", Required: true}}},
	{Slug: "platform-audit", Group: "setup.group.platform", Key: "platform_audit", API: "/api/v1/audit", Read: web.ActAudit, Platform: true,
		IDField: "seq", Paged: true, NewestFirst: true, Extra: "audit-verify", Columns: auditColumns},
}

var (
	channelKinds = []option{{Value: "webhook", Key: "channels.kind.webhook"}, {Value: "email", Key: "channels.kind.email"},
		{Value: "browser", Key: "channels.kind.browser"}}
	webhookFormats = []option{{Value: "generic", Key: "channels.format.generic"}, {Value: "slack", Key: "channels.format.slack"},
		{Value: "teams", Key: "channels.format.teams"}}
	tlsModes = []option{{Value: "starttls", Key: "channels.tls.starttls"}, {Value: "tls", Key: "channels.tls.tls"},
		{Value: "none", Key: "channels.tls.none"}}
	ruleKinds = []option{{Value: "line_down", Key: "rules.kind.line_down"}, {Value: "oee_below", Key: "rules.kind.oee_below"},
		{Value: "uncoded_downtime", Key: "rules.kind.uncoded_downtime"}, {Value: "node_offline", Key: "rules.kind.node_offline"}}
	severities = []option{{Value: "info", Key: "rules.severity.info"}, {Value: "warning", Key: "rules.severity.warning"},
		{Value: "critical", Key: "rules.severity.critical"}}
	ruleMetrics = []option{{Value: "oee", Key: "rules.metric.oee"}, {Value: "availability", Key: "rules.metric.availability"},
		{Value: "performance", Key: "rules.metric.performance"}, {Value: "quality", Key: "rules.metric.quality"}}
	filterTypes = []option{{Value: "time_range", Key: "filters.type.time_range"}, {Value: "line", Key: "filters.type.line"},
		{Value: "product", Key: "filters.type.product"}, {Value: "area", Key: "filters.type.area"}, {Value: "shift", Key: "filters.type.shift"}}
	cameraStatuses = []option{{Value: "active", Key: "camera_areas.status.active"}, {Value: "inactive", Key: "camera_areas.status.inactive"},
		{Value: "maintenance", Key: "camera_areas.status.maintenance"}}
)

// screenBySlug finds a screen.
func screenBySlug(slug string) *screen {
	for i := range screens {
		if screens[i].Slug == slug {
			return &screens[i]
		}
	}
	return nil
}

// visibleTo reports whether v may open the screen.
func (s *screen) visibleTo(v *web.Viewer) bool {
	return v != nil && !v.Kiosk && s.Platform == (v.TenantID == 0) && v.Can(s.Read)
}

// writableBy reports whether v may change the screen's objects.
func (s *screen) writableBy(v *web.Viewer) bool {
	return s.Write != "" && s.visibleTo(v) && v.Can(s.Write)
}

// firstScreen is the first screen v may open, nil when none.
func firstScreen(v *web.Viewer) *screen {
	for i := range screens {
		if screens[i].visibleTo(v) {
			return &screens[i]
		}
	}
	return nil
}
