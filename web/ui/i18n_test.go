package ui

import (
	"context"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/web"
	"github.com/linepulse/linepulse/web/ui/i18n"
)

// The rules every page and script of the UI keeps (see README.md, "Strings"):
//   - a visible text node of a template is a {{t}} or {{tn}} call: no literal words except
//     the allowed brand names and units (allowedWords);
//   - the people-facing attributes (title, placeholder, aria-label, alt) are {{t}} calls;
//     Alpine bindings of text (x-text, :title, ...) hold no quoted literal words;
//   - every key a template, a Go file or a script names exists in every language.

// allowedWords may appear literally in templates: names and unit symbols that every
// language writes alike.
var allowedWords = []string{"LinePulse", "OEE", "h", "min", "s", "km", "kg", "CSV", "JSON", "NATS", "TV", "URL", "ID", "SKU", "IANA", "x", "y"}

var (
	reComment   = regexp.MustCompile(`(?s)\{\{-?\s*/\*.*?\*/\s*-?\}\}`)
	reAction    = regexp.MustCompile(`(?s)\{\{.*?\}\}`)
	reTKey      = regexp.MustCompile(`(?:^|[\s(])(tn?)\s+"([^"]+)"`)
	reRawBlock  = regexp.MustCompile(`(?is)<(script|style)\b[^>]*>.*?</(script|style)>`)
	reTag       = regexp.MustCompile(`(?s)<[^>]*>`)
	reAttr      = regexp.MustCompile(`([:@a-zA-Z_.-]+)\s*=\s*"([^"]*)"`)
	reWord      = regexp.MustCompile(`\p{L}+`)
	reEntity    = regexp.MustCompile(`&[a-zA-Z]+;|&#[0-9]+;`)
	reQuoted    = regexp.MustCompile(`'([^']*)'`)
	reJSKey     = regexp.MustCompile(`['"` + "`" + `](js\.[a-z0-9_.]+)['"` + "`" + `]`)
	reJSPlural  = regexp.MustCompile(`\btn\(\s*'(js\.[a-z0-9_.]+)'`)
	reGoKey     = regexp.MustCompile(`"([a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+)"`)
	peopleAttrs = []string{"title", "placeholder", "aria-label", "alt", "label"}
	textBinds   = []string{"x-text", "x-html", ":title", ":placeholder", ":aria-label", ":alt", "x-bind:title"}
)

// templateFiles returns the templates of the package, by path.
func templateFiles(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := fs.WalkDir(os.DirFS("."), "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".html") {
			return err
		}
		b, err := os.ReadFile(p)
		out[p] = string(b)
		return err
	})
	if err != nil || len(out) == 0 {
		t.Fatalf("no templates: %v", err)
	}
	return out
}

func catalogue(t *testing.T) *i18n.Catalog {
	t.Helper()
	c, err := i18n.Load(os.DirFS("i18n"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// needKey fails unless key (a plural: its .one and .other forms) is in every language.
func needKey(t *testing.T, c *i18n.Catalog, where, key string, plural bool) {
	t.Helper()
	keys := []string{key}
	if plural {
		keys = []string{key + ".one", key + ".other"}
	}
	for _, k := range keys {
		for _, lang := range i18n.Supported {
			if !c.Has(lang, k) {
				t.Errorf("%s: key %q missing in %s.json", where, k, lang)
			}
		}
	}
}

func TestTemplatesHaveNoMissingKeyOrLiteral(t *testing.T) {
	c := catalogue(t)
	for path, src := range templateFiles(t) {
		src = reComment.ReplaceAllString(src, "")
		for _, act := range reAction.FindAllString(src, -1) {
			for _, m := range reTKey.FindAllStringSubmatch(strings.Trim(act, "{}-"), -1) {
				needKey(t, c, path, m[2], m[1] == "tn")
			}
		}
		for _, lit := range literals(src) {
			t.Errorf("%s: visible literal %q: use {{t \"key\"}} (or add a name or unit to allowedWords)", path, lit)
		}
	}
}

// literals returns the visible words of a template that are not {{t}} calls.
func literals(src string) []string {
	src = reAction.ReplaceAllString(src, "\x00")
	src = reRawBlock.ReplaceAllString(src, "")
	var out []string
	words := func(s string) []string {
		s = reEntity.ReplaceAllString(strings.ReplaceAll(s, "\x00", " "), " ")
		var bad []string
		for _, w := range reWord.FindAllString(s, -1) {
			if !slices.Contains(allowedWords, w) {
				bad = append(bad, w)
			}
		}
		return bad
	}
	for _, text := range reTag.Split(src, -1) {
		if bad := words(text); len(bad) > 0 {
			out = append(out, strings.TrimSpace(text))
		}
	}
	for _, tag := range reTag.FindAllString(src, -1) {
		for _, a := range reAttr.FindAllStringSubmatch(tag, -1) {
			name, val := a[1], a[2]
			switch {
			case slices.Contains(peopleAttrs, name):
				if bad := words(val); len(bad) > 0 {
					out = append(out, name+"="+val)
				}
			case slices.Contains(textBinds, name):
				for _, q := range reQuoted.FindAllStringSubmatch(val, -1) {
					if bad := words(q[1]); len(bad) > 0 {
						out = append(out, name+"="+val)
					}
				}
			}
		}
	}
	return out
}

func TestLiteralDetector(t *testing.T) {
	for src, want := range map[string]int{
		`<p>{{t "a.b"}}</p>`:                                 0,
		`<p>Hello</p>`:                                       1,
		`<p>{{.Name}} is down</p>`:                           1,
		`<span>LinePulse</span><b>24 h</b>`:                  0,
		`<input placeholder="Search">`:                       1,
		`<input placeholder="{{t "x.y"}}">`:                  0,
		`<p x-text="name || 'Line 1'"></p>`:                  1,
		`<p :class="on ? 'text-white' : ''"></p>`:            0,
		`<script type="application/json">{"a":"b"}</script>`: 0,
		`{{/* a comment with words */}}<p>&nbsp;</p>`:        0,
	} {
		if got := len(literals(reComment.ReplaceAllString(src, ""))); got != want {
			t.Errorf("literals(%q) found %d, want %d", src, got, want)
		}
	}
}

// TestScriptsAndCodeHaveNoMissingKey: every "js.…" key a script names, and every key-like
// string of the package's Go code (page titles, screen labels), is in every language.
func TestScriptsAndCodeHaveNoMissingKey(t *testing.T) {
	c := catalogue(t)
	js, _ := filepath.Glob("assets/*.js")
	n := 0
	for _, p := range js {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		src := string(b)
		plural := map[string]bool{}
		for _, m := range reJSPlural.FindAllStringSubmatch(src, -1) {
			plural[m[1]] = true
			needKey(t, c, p, m[1], true)
		}
		for _, m := range reJSKey.FindAllStringSubmatch(src, -1) {
			if !plural[m[1]] && !strings.HasSuffix(m[1], ".") {
				needKey(t, c, p, m[1], false)
				n++
			}
		}
	}
	if n < 20 {
		t.Errorf("only %d js keys found in the scripts: is the pattern still right?", n)
	}
	for _, r := range store.Roles { // the navigation shows role.<role>
		needKey(t, c, "nav.go", "role."+r, false)
	}
	for _, l := range i18n.Supported { // the language switch shows lang.<code>
		needKey(t, c, "nav.go", "lang."+l, false)
	}
	prefixes := map[string]bool{}
	for _, k := range c.Keys(i18n.Default) {
		prefixes[strings.SplitN(k, ".", 2)[0]] = true
	}
	gofiles, _ := filepath.Glob("*.go")
	for _, p := range gofiles {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range reGoKey.FindAllStringSubmatch(string(b), -1) {
			if prefixes[strings.SplitN(m[1], ".", 2)[0]] && !strings.HasSuffix(m[1], ".json") {
				needKey(t, c, p, m[1], false)
			}
		}
	}
}

// fakeViewers answers Viewer from a table of session cookies and kiosk tokens.
type fakeViewers struct {
	users  map[string]web.Viewer // lp_access cookie value → viewer
	kiosks map[string]web.Viewer
}

func (f fakeViewers) Viewer(r *http.Request) (web.Viewer, bool) {
	c, err := r.Cookie(web.AccessCookie)
	if err != nil {
		return web.Viewer{}, false
	}
	v, ok := f.users[c.Value]
	return v, ok
}

func (f fakeViewers) KioskViewer(_ context.Context, token string) (web.Viewer, bool) {
	v, ok := f.kiosks[token]
	return v, ok
}

// TestLanguageOfAPage: the user's language, else the tenant's (both in Viewer.Language),
// else the browser's Accept-Language, else English; the TV takes its kiosk's tenant's.
func TestLanguageOfAPage(t *testing.T) {
	builtUI(t)
	fv := fakeViewers{
		users: map[string]web.Viewer{
			"es-user":   {UserID: 1, TenantID: 1, Role: "operator", Language: "es", Timezone: "Europe/Madrid", TenantName: "Acme"},
			"no-choice": {UserID: 2, TenantID: 1, Role: "operator", Timezone: "America/Mexico_City"},
		},
		kiosks: map[string]web.Viewer{"k1": {TenantID: 1, Kiosk: true, Role: "viewer", Language: "es", Timezone: "Europe/Madrid"}},
	}
	u, err := New(Config{Logger: slog.New(slog.DiscardHandler), Viewers: fv})
	if err != nil {
		t.Fatal(err)
	}
	h := u.Handler()
	page := func(target, cookie, accept string) string {
		t.Helper()
		r := httptest.NewRequest("GET", target, nil)
		if cookie != "" {
			r.AddCookie(&http.Cookie{Name: web.AccessCookie, Value: cookie})
		}
		if accept != "" {
			r.Header.Set("Accept-Language", accept)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Body.String()
	}
	for _, tc := range []struct {
		target, cookie, accept string
		want                   []string
	}{
		{"/", "es-user", "en-US", []string{`lang="es"`, `data-tz="Europe/Madrid"`, `data-auth="user"`, "Líneas", `"js.state.running":"En marcha"`}},
		{"/", "no-choice", "es-ES,es;q=0.9", []string{`lang="es"`, `data-tz="America/Mexico_City"`, "Líneas"}},
		{"/", "no-choice", "", []string{`lang="en"`, ">Lines<"}},
		{"/", "", "es", []string{`lang="es"`, `data-auth="none"`, `data-tz=""`}},
		{"/login", "", "fr-FR, es;q=0.5", []string{`lang="es"`, "Contraseña"}},
		{"/tv?kiosk=k1", "", "en", []string{`lang="es"`, `data-tz="Europe/Madrid"`, "Disponibilidad"}},
		{"/tv?kiosk=bad", "", "en", []string{`lang="en"`, "Availability"}},
		{"/nowhere", "es-user", "", []string{`lang="es"`, "No hay ninguna página en /nowhere."}},
	} {
		body := page(tc.target, tc.cookie, tc.accept)
		for _, w := range tc.want {
			if !strings.Contains(body, w) {
				t.Errorf("GET %s (cookie %q, Accept-Language %q): no %q in\n%.600s", tc.target, tc.cookie, tc.accept, w, body)
			}
		}
	}
}
