package ui

import (
	"slices"
	"strings"
	"testing"

	"github.com/linepulse/linepulse/web"
)

// screenKeys lists every i18n key a screen's page may show.
func screenKeys(s *screen) []string {
	keys := []string{s.Group, s.Key + ".title", s.Key + ".intro"}
	if !s.Single {
		keys = append(keys, s.Key+".empty")
	}
	if s.Write != "" && !s.Single {
		keys = append(keys, s.Key+".new")
		if !s.NoEdit {
			keys = append(keys, s.Key+".edit")
		}
	}
	if len(s.Secret) > 0 {
		keys = append(keys, s.Key+".created")
	}
	opts := func(os []option) {
		for _, o := range os {
			keys = append(keys, o.Key)
		}
	}
	for _, c := range s.Columns {
		keys = append(keys, s.labelKey(c.Label, c.Name))
		if c.Zero != "" {
			keys = append(keys, c.Zero)
		}
		opts(c.Options)
	}
	for _, f := range s.Fields {
		if f.Kind != "hidden" {
			keys = append(keys, s.labelKey(f.Label, f.Name))
		}
		for _, k := range []string{f.Help, f.Zero} {
			if k != "" {
				keys = append(keys, k)
			}
		}
		opts(f.Options)
	}
	for _, it := range s.Secret {
		keys = append(keys, it.Key)
	}
	return keys
}

// TestScreensHaveEveryString: every label, help, option and title of every screen is in
// every language.
func TestScreensHaveEveryString(t *testing.T) {
	c := catalogue(t)
	for i := range screens {
		for _, k := range screenKeys(&screens[i]) {
			needKey(t, c, "screen "+screens[i].Slug, k, false)
		}
	}
}

// TestScreensAreWellFormed: unique slugs, known kinds, actions that exist, API paths of
// the API.
func TestScreensAreWellFormed(t *testing.T) {
	fieldKinds := []string{"text", "email", "password", "textarea", "number", "percent", "seconds", "color", "checkbox", "select",
		"multi", "ref", "refs", "time", "date", "json", "addresses", "days", "breaks", "zone", "hidden"}
	cellKinds := []string{"", "text", "number", "integer", "percent", "seconds", "datetime", "option", "ref", "refs", "json", "addresses", "span",
		"days", "breaks", "rect", "color", "bool", "code"}
	seen := map[string]bool{}
	for _, s := range screens {
		if seen[s.Slug] {
			t.Errorf("slug %q twice", s.Slug)
		}
		seen[s.Slug] = true
		if !slices.Contains(web.Actions(), s.Read) || (s.Write != "" && !slices.Contains(web.Actions(), s.Write)) {
			t.Errorf("%s: unknown action %q or %q", s.Slug, s.Read, s.Write)
		}
		if !strings.HasPrefix(s.API, "/api/v1/") {
			t.Errorf("%s: API %q", s.Slug, s.API)
		}
		for _, f := range s.Fields {
			if !slices.Contains(fieldKinds, f.Kind) {
				t.Errorf("%s: field %s has unknown kind %q", s.Slug, f.Name, f.Kind)
			}
			if (f.Kind == "ref" || f.Kind == "refs") != (f.Ref != "") {
				t.Errorf("%s: field %s: kinds ref and refs (only) need Ref", s.Slug, f.Name)
			}
		}
		for _, c := range s.Columns {
			if !slices.Contains(cellKinds, c.Kind) {
				t.Errorf("%s: column %s has unknown kind %q", s.Slug, c.Name, c.Kind)
			}
		}
		if s.Single == (len(s.Columns) > 0) {
			t.Errorf("%s: a list screen has columns, a Single one none", s.Slug)
		}
	}
}
