package ui

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"path"
	"strings"

	"github.com/linepulse/linepulse/loss"
	"github.com/linepulse/linepulse/web/ui/i18n"
)

// site is the parsed templates and the indexed assets, loaded once (or per request in Dev).
type site struct {
	// pages holds each page template per language: lang → page → template, whose t and tn
	// functions speak that language.
	pages  map[string]map[string]*template.Template
	assets map[string]*asset
	i18n   *i18n.Catalog
	// missing says why the built assets cannot be served (nil when they can).
	missing error
}

// asset is one built file, addressed by the hash of its content.
type asset struct {
	name        string
	hash        string // first 16 hex digits of its SHA-256
	contentType string
	body        []byte
	gz          []byte // gzip of body for text types, nil when it does not pay
}

// manifest is written by web/ui/assets/build.mjs next to the files it lists.
type manifest struct {
	Version int      `json:"version"`
	Files   []string `json:"files"`
}

const (
	distDir         = "static/dist"
	maxManifestSize = 64 << 10
	maxAssetSize    = 16 << 20
)

// pageNames are the page templates under templates/; each is parsed with its own copy of
// the layout and the partials.
var pageNames = []string{"login", "dashboard", "tv", "line", "error", "setup", "board", "dashboards", "boardedit", "map", "notifications", "ack", "losses", "nodes", "report", "plant"}

// lossColors name the colours of loss.Bar for the templates.
var lossColors = map[string]string{
	"total": loss.ColorTotal, "outside": loss.ColorOutside, "availability": loss.ColorAvailability,
	"performance": loss.ColorPerformance, "quality": loss.ColorQuality, "fully": loss.ColorFully,
}

// load parses the templates of fsys with the catalogues of cat.
func load(fsys fs.FS, cat *i18n.Catalog) (*site, error) {
	s := &site{assets: map[string]*asset{}, i18n: cat}
	s.missing = loadAssets(fsys, s.assets)
	base := template.New("").Funcs(template.FuncMap{
		"asset": func(name string) (string, error) {
			a, ok := s.assets[name]
			if !ok {
				return "", fmt.Errorf("ui: no built asset %q (run make assets)", name)
			}
			return "/static/" + a.hash + "/" + a.name, nil
		},
		// lossColor is a colour of the drawn loss waterfall (its legend).
		"lossColor": func(name string) (string, error) {
			c, ok := lossColors[name]
			if !ok {
				return "", fmt.Errorf("ui: no loss colour %q", name)
			}
			return c, nil
		},
		// weekdays are the ISO weekdays, 1 = Monday.
		"weekdays": func() []int { return []int{1, 2, 3, 4, 5, 6, 7} },
	}).Funcs(langFuncs(cat, i18n.Default))
	if _, err := base.ParseFS(fsys, "templates/layout.html", "templates/partials/*.html"); err != nil {
		return nil, fmt.Errorf("ui: cannot parse layout templates: %w", err)
	}
	parsed := make(map[string]*template.Template, len(pageNames))
	for _, p := range pageNames {
		t, err := base.Clone()
		if err != nil {
			return nil, fmt.Errorf("ui: cannot clone layout for %s: %w", p, err)
		}
		if _, err := t.ParseFS(fsys, "templates/"+p+".html"); err != nil {
			return nil, fmt.Errorf("ui: cannot parse template %s: %w", p, err)
		}
		if t.Lookup("layout") == nil || t.Lookup("content") == nil {
			return nil, fmt.Errorf("ui: template %s must define \"content\" and the layout must define \"layout\"", p)
		}
		parsed[p] = t
	}
	// One copy per language, its t and tn bound to that language's catalogue.
	s.pages = map[string]map[string]*template.Template{}
	for _, lang := range i18n.Supported {
		s.pages[lang] = make(map[string]*template.Template, len(parsed))
		for name, t := range parsed {
			c, err := t.Clone()
			if err != nil {
				return nil, fmt.Errorf("ui: cannot clone %s for %s: %w", name, lang, err)
			}
			s.pages[lang][name] = c.Funcs(langFuncs(cat, lang))
		}
	}
	return s, nil
}

// langFuncs are the template functions of one language:
//
//	{{t "key"}}                     the text of key
//	{{t "key" "name" .Value ...}}   with {name} placeholders filled (name/value pairs)
//	{{tn "key" .Count ...}}         the plural form of key for .Count ({n} is the count)
func langFuncs(cat *i18n.Catalog, lang string) template.FuncMap {
	return template.FuncMap{
		"t":  func(key string, args ...any) string { return cat.T(lang, key, args...) },
		"tn": func(key string, n int, args ...any) string { return cat.N(lang, key, n, args...) },
	}
}

// loadAssets reads the manifest and hashes every file it lists. The error it returns
// is shown to the developer, so it says which file is missing.
func loadAssets(fsys fs.FS, into map[string]*asset) error {
	raw, err := fs.ReadFile(fsys, distDir+"/manifest.json")
	if errors.Is(err, fs.ErrNotExist) {
		return errors.New(distDir + "/manifest.json not found")
	}
	if err != nil {
		return fmt.Errorf("cannot read %s/manifest.json: %w", distDir, err)
	}
	if len(raw) > maxManifestSize {
		return fmt.Errorf("%s/manifest.json is larger than %d bytes", distDir, maxManifestSize)
	}
	var m manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return fmt.Errorf("cannot decode %s/manifest.json: %w", distDir, err)
	}
	if m.Version != 1 || len(m.Files) == 0 {
		return fmt.Errorf("%s/manifest.json: unsupported version %d or no files", distDir, m.Version)
	}
	for _, name := range m.Files {
		if name == "" || strings.ContainsAny(name, "/\\") || name != path.Clean(name) || strings.HasPrefix(name, ".") {
			return fmt.Errorf("%s/manifest.json: bad file name %q", distDir, name)
		}
		body, err := fs.ReadFile(fsys, distDir+"/"+name)
		if err != nil {
			return fmt.Errorf("manifest lists %s but it cannot be read: %w", name, err)
		}
		if len(body) > maxAssetSize {
			return fmt.Errorf("asset %s is larger than %d bytes", name, maxAssetSize)
		}
		sum := sha256.Sum256(body)
		a := &asset{name: name, hash: hex.EncodeToString(sum[:8]), contentType: contentType(name), body: body}
		a.gz = compress(a)
		into[name] = a
	}
	for _, need := range []string{"app.js", "app.css"} {
		if into[need] == nil {
			return fmt.Errorf("%s/manifest.json does not list %s", distDir, need)
		}
	}
	return nil
}

// compress gzips text assets once at start-up: plants often sit behind slow links.
func compress(a *asset) []byte {
	if !strings.HasPrefix(a.contentType, "text/") && a.contentType != "image/svg+xml" && a.contentType != "application/json" {
		return nil
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(a.body)
	if err := zw.Close(); err != nil || buf.Len() >= len(a.body)*9/10 {
		return nil
	}
	return buf.Bytes()
}

func contentType(name string) string {
	switch path.Ext(name) {
	case ".js", ".mjs":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".png":
		return "image/png"
	case ".woff2":
		return "font/woff2"
	case ".json", ".map":
		return "application/json"
	}
	return "application/octet-stream"
}
