// Package i18n holds LinePulse's interface languages: one catalogue per language, the
// files <lang>/*.json in this folder (embedded; one file per feature, merged on load), the lookup of a string by key with named
// arguments and plurals, and the choice of a language for a request.
//
// Each file is a flat JSON object of key → text; a key defined in two files of one
// language is an error. Keys are dotted, grouped by page or
// subject ("nav.setup", "lines.field.name"). Texts may hold named placeholders, {name},
// filled from arguments given as name/value pairs. A plural has one key per CLDR
// category, key.one and key.other (Spanish may add key.many); N picks the form for a
// count, falling back to .other. Keys starting with "js." are the strings the browser
// scripts show: the UI sends them to each page (see JS), nothing else.
//
// Every language has exactly the keys of English: TestCataloguesAgree (and the template
// walk of package ui) fail on a key missing in any language.
package i18n

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Default is the language used when nothing else decides.
const Default = "en"

// Supported lists the languages with a catalogue, Default first. store.Languages names the
// same codes (a test keeps them in step).
var Supported = []string{"en", "es"}

//go:embed en es
var embedded embed.FS

// Catalog is the loaded catalogues. It does not change after Load.
type Catalog struct {
	texts map[string]map[string]string // lang → key → text
}

// Embedded returns the catalogues built into the binary.
func Embedded() (*Catalog, error) { return Load(embedded) }

// maxCatalogSize bounds a catalogue file.
const maxCatalogSize = 1 << 20

// Load reads <lang>/*.json for every supported language from fsys.
func Load(fsys fs.FS) (*Catalog, error) {
	c := &Catalog{texts: map[string]map[string]string{}}
	for _, lang := range Supported {
		files, err := fs.Glob(fsys, lang+"/*.json")
		if err != nil || len(files) == 0 {
			return nil, fmt.Errorf("i18n: cannot find the %s catalogue (%s/*.json): %v", lang, lang, err)
		}
		m := map[string]string{}
		for _, name := range files {
			if err := loadFile(fsys, name, m); err != nil {
				return nil, err
			}
		}
		c.texts[lang] = m
	}
	return c, nil
}

// loadFile adds the keys of one catalogue file to m.
func loadFile(fsys fs.FS, name string, m map[string]string) error {
	raw, err := fs.ReadFile(fsys, name)
	if err != nil {
		return fmt.Errorf("i18n: cannot read %s: %w", name, err)
	}
	if len(raw) > maxCatalogSize {
		return fmt.Errorf("i18n: %s is larger than %d bytes", name, maxCatalogSize)
	}
	part := map[string]string{}
	if err := json.Unmarshal(raw, &part); err != nil {
		return fmt.Errorf("i18n: %s: %w", name, err)
	}
	for k, v := range part {
		if _, dup := m[k]; dup {
			return fmt.Errorf("i18n: %s: key %q is already defined in another file", name, k)
		}
		m[k] = v
	}
	return nil
}

// Has reports whether lang's catalogue has key.
func (c *Catalog) Has(lang, key string) bool {
	_, ok := c.texts[lang][key]
	return ok
}

// Keys lists the keys of lang's catalogue, sorted.
func (c *Catalog) Keys(lang string) []string { return slices.Sorted(maps.Keys(c.texts[lang])) }

// Text is the raw text of key in lang (no arguments filled), and whether it exists.
func (c *Catalog) Text(lang, key string) (string, bool) {
	s, ok := c.texts[lang][key]
	return s, ok
}

// T returns the text of key in lang with its {placeholders} filled from args (name/value
// pairs). A key missing in lang falls back to English; a key missing everywhere shows as
// ⟦key⟧, so it is seen (and the catalogue tests fail first).
func (c *Catalog) T(lang, key string, args ...any) string {
	s, ok := c.texts[lang][key]
	if !ok {
		if s, ok = c.texts[Default][key]; !ok {
			return "⟦" + key + "⟧"
		}
	}
	return fill(lang, s, args)
}

// N returns the plural form of key for the count n (key.one, key.other, ...), with
// {n} and the other placeholders filled.
func (c *Catalog) N(lang, key string, n int, args ...any) string {
	k := key + "." + PluralCategory(lang, n)
	if !c.Has(lang, k) && !c.Has(Default, k) {
		k = key + ".other"
	}
	return c.T(lang, k, append([]any{"n", n}, args...)...)
}

// JS returns the strings of lang the browser scripts use (the "js." keys).
func (c *Catalog) JS(lang string) map[string]string {
	if _, ok := c.texts[lang]; !ok {
		lang = Default
	}
	out := map[string]string{}
	for k, v := range c.texts[lang] {
		if strings.HasPrefix(k, "js.") {
			out[k] = v
		}
	}
	return out
}

// PluralCategory is the CLDR plural category of an integer count in lang ("one" or
// "other"; Spanish "many" for millions).
func PluralCategory(lang string, n int) string {
	if n == 1 || n == -1 {
		return "one"
	}
	if lang == "es" && n != 0 && n%1000000 == 0 {
		return "many"
	}
	return "other"
}

// fill replaces {name} placeholders with the values of the name/value pairs in args;
// numbers are written in lang's style.
func fill(lang, s string, args []any) string {
	if len(args) == 0 || !strings.Contains(s, "{") {
		return s
	}
	pairs := make([]string, 0, len(args))
	for i := 0; i+1 < len(args); i += 2 {
		name := fmt.Sprint(args[i])
		pairs = append(pairs, "{"+name+"}", value(lang, args[i+1]))
	}
	return strings.NewReplacer(pairs...).Replace(s)
}

func value(lang string, v any) string {
	switch n := v.(type) {
	case int:
		return Integer(lang, int64(n))
	case int64:
		return Integer(lang, n)
	}
	return fmt.Sprint(v)
}

// Integer writes n with lang's digit grouping (1,234 in English, 1.234 in Spanish; as in
// CLDR, Spanish groups only from five digits on).
func Integer(lang string, n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	sep := ","
	if lang == "es" {
		sep = "."
		if len(s) <= 4 {
			sep = ""
		}
	}
	if sep != "" {
		for i := len(s) - 3; i > 0; i -= 3 {
			s = s[:i] + sep + s[i:]
		}
	}
	if neg {
		s = "-" + s
	}
	return s
}

// Match picks the supported language an Accept-Language header prefers most ("" when it
// names none). Quality values are honoured; a region is ignored (es-MX → es).
func Match(acceptLanguage string) string {
	if len(acceptLanguage) > 1024 {
		acceptLanguage = acceptLanguage[:1024]
	}
	type pref struct {
		lang string
		q    float64
		pos  int
	}
	var prefs []pref
	for i, part := range strings.Split(acceptLanguage, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if k, v, ok := strings.Cut(strings.TrimSpace(params), "="); ok && strings.TrimSpace(k) == "q" {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				continue
			}
			q = f
		}
		base, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
		if q > 0 && slices.Contains(Supported, base) {
			prefs = append(prefs, pref{base, q, i})
		}
	}
	sort.SliceStable(prefs, func(i, j int) bool { return prefs[i].q > prefs[j].q })
	if len(prefs) == 0 {
		return ""
	}
	return prefs[0].lang
}

// Resolve returns the first of the choices that is a supported language, else Default.
// Callers list them by precedence: the user's own, the tenant's, the browser's (Match).
func Resolve(choices ...string) string {
	for _, c := range choices {
		if slices.Contains(Supported, c) {
			return c
		}
	}
	return Default
}
