package ui

import (
	"net/http"
	"strings"
)

// setupData is what templates/setup.html receives (pageData.Setup): the side menu of the
// screens the viewer may open and, on a screen's page, the screen.
type setupData struct {
	Menu   []menuGroup
	Screen *screenView // nil on the setup index
}

type menuGroup struct {
	Key   string
	Items []menuItem
}

type menuItem struct {
	Slug    string
	Key     string // the screen's i18n prefix (<Key>.title, <Key>.intro)
	Current bool
}

// screenView is a screen prepared for the template and for its script: labels resolved to
// i18n keys, fields named for Alpine (model), and the JSON spec setupScreen reads.
type screenView struct {
	*screen
	CanWrite bool
	Columns  []columnView
	Fields   []fieldView
	Spec     screenSpec
}

type columnView struct {
	column
	LabelKey string
}

type fieldView struct {
	field
	LabelKey string
	// Model is the property of the form's values (form.v.<Model>) the input binds.
	Model string
}

// screenSpec is the screen as setupScreen (assets/setup.js) reads it from the page.
type screenSpec struct {
	Slug        string       `json:"slug"`
	API         string       `json:"api"`
	IDField     string       `json:"id_field"`
	Single      bool         `json:"single"`
	Upsert      bool         `json:"upsert"`
	NoEdit      bool         `json:"no_edit"`
	KeepRow     bool         `json:"keep_row"`
	Revoke      bool         `json:"revoke"`
	Paged       bool         `json:"paged"`
	NewestFirst bool         `json:"newest_first"`
	CanWrite    bool         `json:"can_write"`
	Secret      bool         `json:"secret"`
	Columns     []columnSpec `json:"columns"`
	Fields      []fieldSpec  `json:"fields"`
}

type columnSpec struct {
	Name     string   `json:"name"`
	Kind     string   `json:"kind"`
	Ref      string   `json:"ref,omitempty"`
	RefLabel string   `json:"ref_label,omitempty"`
	Options  []option `json:"options,omitempty"`
	Extra    string   `json:"extra,omitempty"`
	Zero     string   `json:"zero,omitempty"` // the translated label of 0 or []
}

type fieldSpec struct {
	Name     string            `json:"name"`
	Model    string            `json:"model"`
	Kind     string            `json:"kind"`
	Ref      string            `json:"ref,omitempty"`
	RefLabel string            `json:"ref_label,omitempty"`
	RefWhere map[string]string `json:"ref_where,omitempty"`
	Zero     string            `json:"zero,omitempty"` // the translated label of value 0
	Create   bool              `json:"create,omitempty"`
	Fixed    bool              `json:"fixed,omitempty"`
	ReadOnly bool              `json:"read_only,omitempty"`
	Default  any               `json:"default,omitempty"`
	Options  []option          `json:"options,omitempty"`
}

// modelName turns a JSON path into an Alpine property name (dots are not allowed there).
func modelName(path string) string { return strings.ReplaceAll(path, ".", "__") }

// labelKey is a field's or column's label key: its own, else <screen>.field.<name>.
func (s *screen) labelKey(own, name string) string {
	if own != "" {
		return own
	}
	return s.Key + ".field." + name
}

// view prepares s for viewer v in the request's language.
func (q *req) screenView(s *screen) *screenView {
	sv := &screenView{screen: s, CanWrite: s.writableBy(q.viewer)}
	id := s.IDField
	if id == "" {
		id = "id"
	}
	sv.Spec = screenSpec{Slug: s.Slug, API: s.API, IDField: id, Single: s.Single, Upsert: s.Upsert, NoEdit: s.NoEdit, KeepRow: s.KeepRow,
		Revoke: s.Revoke, Paged: s.Paged, NewestFirst: s.NewestFirst, CanWrite: sv.CanWrite, Secret: len(s.Secret) > 0,
		// Lists, never null: the script iterates them (a single screen has no columns, a log no fields).
		Columns: []columnSpec{}, Fields: []fieldSpec{}}
	for _, c := range s.Columns {
		sv.Columns = append(sv.Columns, columnView{column: c, LabelKey: s.labelKey(c.Label, c.Name)})
		cs := columnSpec{Name: c.Name, Kind: c.Kind, Ref: c.Ref, RefLabel: c.RefLabel, Options: q.options(c.Options), Extra: c.Extra}
		if c.Zero != "" {
			cs.Zero = q.t(c.Zero)
		}
		sv.Spec.Columns = append(sv.Spec.Columns, cs)
	}
	for _, f := range s.Fields {
		f.Options = q.options(f.Options)
		fv := fieldView{field: f, LabelKey: s.labelKey(f.Label, f.Name), Model: modelName(f.Name)}
		sv.Fields = append(sv.Fields, fv)
		fs := fieldSpec{Name: f.Name, Model: fv.Model, Kind: f.Kind, Ref: f.Ref, RefLabel: f.RefLabel, RefWhere: f.RefWhere, Create: f.Create,
			Fixed: f.Fixed, ReadOnly: f.ReadOnly, Default: f.Default, Options: f.Options}
		if f.Zero != "" {
			fs.Zero = q.t(f.Zero)
		}
		sv.Spec.Fields = append(sv.Spec.Fields, fs)
	}
	return sv
}

// options translates the labels of fixed choices.
func (q *req) options(in []option) []option {
	out := make([]option, len(in))
	for i, o := range in {
		o.Label = q.t(o.Key)
		out[i] = o
	}
	return out
}

// setupMenu is the side menu: the screens v may open, by group, in declaration order.
func setupMenu(q *req, current string) []menuGroup {
	var out []menuGroup
	for i := range screens {
		s := &screens[i]
		if !s.visibleTo(q.viewer) {
			continue
		}
		if len(out) == 0 || out[len(out)-1].Key != s.Group {
			out = append(out, menuGroup{Key: s.Group})
		}
		g := &out[len(out)-1]
		g.Items = append(g.Items, menuItem{Slug: s.Slug, Key: s.Key, Current: s.Slug == current})
	}
	return out
}

// setupPage serves /setup (the index of the screens the viewer may open) and
// /setup/{slug} (one screen). A screen the viewer may not open is refused with 403 (the
// navigation never links it); signed out, the page renders empty and its script signs in.
func (u *UI) setupPage(w http.ResponseWriter, r *http.Request) {
	q := u.begin(w, r, "")
	if q == nil {
		return
	}
	slug := r.PathValue("slug")
	var s *screen
	if slug != "" {
		if s = screenBySlug(slug); s == nil {
			q.notFound()
			return
		}
	}
	if q.viewer == nil && q.auth == "none" {
		// Not signed in (or the access cookie expired): the script refreshes or signs in.
		d := q.data("setup", "page.setup")
		d.Setup = &setupData{}
		q.render(http.StatusOK, "setup", d)
		return
	}
	if s != nil && !s.visibleTo(q.viewer) {
		q.fail(http.StatusForbidden, "page.forbidden", q.t("error.forbidden_screen"))
		return
	}
	d := q.data("setup", "page.setup")
	d.Setup = &setupData{Menu: setupMenu(q, slug)}
	if s != nil {
		d.Title = q.t(s.Key + ".title")
		d.Setup.Screen = q.screenView(s)
	}
	q.render(http.StatusOK, "setup", d)
}
