package i18n

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/linepulse/linepulse/store"
)

// TestCataloguesAgree: every language has exactly English's keys, with the same
// placeholders, and no empty text.
func TestCataloguesAgree(t *testing.T) {
	c, err := Embedded()
	if err != nil {
		t.Fatal(err)
	}
	ph := regexp.MustCompile(`\{[a-z_]+\}`)
	en := c.Keys(Default)
	if len(en) < 50 {
		t.Fatalf("the English catalogue has only %d keys", len(en))
	}
	for _, lang := range Supported {
		for _, k := range en {
			s, ok := c.Text(lang, k)
			if !ok {
				t.Errorf("%s.json lacks %q", lang, k)
				continue
			}
			if strings.TrimSpace(s) == "" {
				t.Errorf("%s.json: %q is empty", lang, k)
			}
			want, _ := c.Text(Default, k)
			if a, b := slices.Sorted(slices.Values(ph.FindAllString(s, -1))), slices.Sorted(slices.Values(ph.FindAllString(want, -1))); !slices.Equal(slices.Compact(a), slices.Compact(b)) {
				t.Errorf("%s.json: %q has placeholders %v, English %v", lang, k, a, b)
			}
		}
		for _, k := range c.Keys(lang) {
			if !c.Has(Default, k) && !strings.HasSuffix(k, ".many") {
				t.Errorf("%s.json has %q, which English lacks", lang, k)
			}
		}
	}
	if !slices.Equal(Supported, store.Languages) {
		t.Errorf("i18n.Supported %v and store.Languages %v differ", Supported, store.Languages)
	}
}

func TestLookup(t *testing.T) {
	c, err := Load(fstest.MapFS{
		"en/core.json": {Data: []byte(`{"hi":"Hello {name}","n.one":"{n} line","n.other":"{n} lines","only":"English"}`)},
		"es/core.json": {Data: []byte(`{"hi":"Hola {name}","n.one":"{n} línea","n.other":"{n} líneas","n.many":"{n} de líneas"}`)},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ got, want string }{
		{c.T("es", "hi", "name", "Ana"), "Hola Ana"},
		{c.T("en", "hi"), "Hello {name}"},
		{c.T("es", "only"), "English"},
		{c.T("es", "nope"), "⟦nope⟧"},
		{c.N("en", "n", 1), "1 line"},
		{c.N("en", "n", 1234), "1,234 lines"},
		{c.N("es", "n", 0), "0 líneas"},
		{c.N("es", "n", 12345), "12.345 líneas"},
		{c.N("es", "n", 2000000), "2.000.000 de líneas"},
		{c.N("en", "n", 2000000), "2,000,000 lines"},
		{Integer("es", 1234), "1234"},
		{Integer("es", -98765), "-98.765"},
		{Integer("en", -1234567), "-1,234,567"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
	if _, err := Load(fstest.MapFS{"en/core.json": {Data: []byte(`{`)}}); err == nil {
		t.Error("a broken catalogue loaded")
	}
	if _, err := Load(fstest.MapFS{
		"en/a.json": {Data: []byte(`{"k":"one"}`)}, "en/b.json": {Data: []byte(`{"k":"two"}`)},
		"es/a.json": {Data: []byte(`{"k":"uno"}`)},
	}); err == nil || !strings.Contains(err.Error(), `"k"`) {
		t.Errorf("a key defined in two files: %v", err)
	}
	split, err := Load(fstest.MapFS{
		"en/a.json": {Data: []byte(`{"a":"A"}`)}, "en/b.json": {Data: []byte(`{"b":"B"}`)},
		"es/a.json": {Data: []byte(`{"a":"Á","b":"Bé"}`)},
	})
	if err != nil || split.T("en", "b") != "B" || split.T("es", "a") != "Á" {
		t.Errorf("files of one language merge: %v", err)
	}
}

func TestMatchAndResolve(t *testing.T) {
	for in, want := range map[string]string{
		"":                         "",
		"es-ES,es;q=0.9,en;q=0.8":  "es",
		"en-US,en;q=0.9":           "en",
		"fr-FR,fr;q=0.9,es;q=0.5":  "es",
		"fr, de":                   "",
		"en;q=0.2, es-MX;q=0.8":    "es",
		"es;q=0, en":               "en",
		"es;q=abc, en":             "en",
		"ES":                       "es",
		strings.Repeat("x,", 2000): "",
	} {
		if got := Match(in); got != want {
			t.Errorf("Match(%q) = %q, want %q", in, got, want)
		}
	}
	if Resolve("", "es", "en") != "es" || Resolve("en", "es") != "en" || Resolve("", "") != Default || Resolve("fr") != Default {
		t.Error("Resolve does not take the first supported choice")
	}
}

func FuzzMatch(f *testing.F) {
	f.Add("es-ES,es;q=0.9,en;q=0.8")
	f.Add(";q=,,,-")
	f.Fuzz(func(t *testing.T, s string) {
		if got := Match(s); got != "" && !slices.Contains(Supported, got) {
			t.Fatalf("Match(%q) = %q", s, got)
		}
	})
}
