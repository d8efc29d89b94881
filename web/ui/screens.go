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
}

// field is an input of a screen's form.
type field struct {
	Name string // JSON path in the request body ("config_tenant.language")
	// Kind is the input: text, email, password, textarea, number, percent (a fraction
	// entered in %), seconds (milliseconds entered in s), color, checkbox, select (Options),
	// multi (several Options), ref (one object of Ref), refs (several objects of Ref),
	// time (HH:MM), date, json, days (weekdays and rotation), breaks (a list of start-end
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
	// Zero is the label key of the "none"/"all" choice of a ref (value 0); "" = none.
	Zero string
	// Create: only in the create form; Fixed: shown but not editable after creation (and
	// sent unchanged).
	Create bool
	Fixed  bool
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

// screens is every setup screen, in menu order within their groups.
var screens = []screen{}

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
