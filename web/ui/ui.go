// Package ui serves LinePulse's server-rendered browser interface: the login page, the live
// dashboard, the shop-floor TV view and the line detail page. It owns the HTML templates
// and the embedded front-end bundle (HTMX, Alpine.js CSP build, Chart.js and Tailwind CSS,
// built from npm packages by `make assets` into static/dist). It holds no data of its own:
// pages fetch JSON from /api/v1 and live updates from /ws with the browser's session
// cookie (or a kiosk token on the TV view); the printable reports are rendered on the
// server from the API's report values (report.go).
//
// Each page is rendered for its viewer (Config.Viewers, the API): in the viewer's language
// (the user's own, else the tenant's, else the browser's Accept-Language; catalogues in
// package i18n) with times in the tenant's zone. README.md says how to add a page and a
// string.
package ui

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/linepulse/linepulse/web"
	"github.com/linepulse/linepulse/web/ui/i18n"
)

//go:embed templates static
var embedded embed.FS

// CSP is the Content-Security-Policy the UI's pages are served with when nothing in
// front of the handler has set one: scripts, styles and connections from this origin
// only, no inline code, no framing.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; " +
	"form-action 'self'; frame-ancestors 'none'"

// Config configures the UI.
type Config struct {
	// Logger receives start-up problems (missing assets) and template errors.
	// Default slog.Default().
	Logger *slog.Logger
	// Dev reads templates, catalogues and assets from Dir on every request instead of the
	// copies embedded in the binary, so edits and `npm run watch` show up on reload.
	// Default false.
	Dev bool
	// Dir is the source folder of this package, used when Dev is set. Default "web/ui"
	// (the repository root is the working directory of `make run`).
	Dir string
	// Now is the clock used for the Last-Modified of assets; default time.Now.
	Now func() time.Time
	// Viewers says who looks at a page (the API: *web.API). Nil means the UI cannot tell:
	// pages render for nobody in the browser's language and their scripts find out from
	// the API (tests with a stub API do this).
	Viewers Viewers
}

// Viewers identifies the viewer of a page request; *web.API implements it.
type Viewers interface {
	// Viewer authenticates the request's session cookie; false = signed out.
	Viewer(r *http.Request) (web.Viewer, bool)
	// KioskViewer checks the kiosk token of a TV URL; false = unknown or revoked.
	KioskViewer(ctx context.Context, token string) (web.Viewer, bool)
}

// UI is the browser interface. Create it with New; serve it with Handler.
type UI struct {
	cfg     Config
	fsys    fs.FS // holds templates/ and static/
	catfs   fs.FS // holds the catalogues (<lang>.json)
	started time.Time
	site    *site // nil in Dev mode: loaded per request
}

// New parses the templates and indexes the embedded assets. A template error fails New
// (fail fast); missing built assets do not, so the binary still starts, but every page
// then answers 500 with an explanation and the problem is logged.
func New(cfg Config) (*UI, error) {
	if cfg.Dir == "" {
		cfg.Dir = "web/ui"
	}
	var fsys fs.FS = embedded
	var catfs fs.FS
	if cfg.Dev {
		fsys = os.DirFS(cfg.Dir)
		catfs = os.DirFS(path.Join(cfg.Dir, "i18n"))
	}
	return newUI(cfg, fsys, catfs)
}

// newUI is New with the file systems injected (tests use fstest.MapFS); a nil catfs means
// the embedded catalogues.
func newUI(cfg Config, fsys, catfs fs.FS) (*UI, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	u := &UI{cfg: cfg, fsys: fsys, catfs: catfs, started: cfg.Now().UTC().Truncate(time.Second)}
	s, err := u.load()
	if err != nil {
		return nil, err
	}
	if s.missing != nil {
		cfg.Logger.Error("ui: browser assets missing: pages will answer 500 until they are built", "err", s.missing, "fix", "make assets")
	}
	if !cfg.Dev {
		u.site = s
	}
	return u, nil
}

func (u *UI) load() (*site, error) {
	var cat *i18n.Catalog
	var err error
	if u.catfs == nil {
		cat, err = i18n.Embedded()
	} else {
		cat, err = i18n.Load(u.catfs)
	}
	if err != nil {
		return nil, err
	}
	return load(u.fsys, cat)
}

// current returns the loaded site; in Dev mode it reloads from disk each time.
func (u *UI) current() (*site, error) {
	if u.site != nil {
		return u.site, nil
	}
	return u.load()
}

// Handler serves the pages and static assets. Mount it on the catch-all pattern of the
// application's mux ("GET /"); more specific routes (/api/, /ws, /healthz) win over it.
//
//	GET /login              sign-in form
//	GET /{$}                dashboard: the template for the viewer's role, else a live tile per visible line
//	GET /tv?kiosk=T&lines=1,2   big-font shop-floor view, authenticated by the kiosk token
//	                        (its bound dashboard template when it has one)
//	GET /lines/{id}         line detail: production chart, shift OEE, downtime reason coding
//	GET /lines/{id}/shifts/{instance}/report   the printable shift report (report.go)
//	GET /reports/plant?period=day|week&date=D   the printable plant report (report.go)
//	GET /map                the plant map: areas over the floor plan, coloured live
//	GET /dashboards         the dashboard templates the viewer may see
//	GET /dashboards/{id}    one dashboard template, widget by widget (boards.go)
//	GET /dashboards/{id}/edit   the grid editor of a template
//	GET /setup              the setup screens the viewer may open
//	GET /setup/{slug}       one setup screen (screens.go)
//	GET /static/{hash}/{name}   content-addressed assets, cached for a year
func (u *UI) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /static/{hash}/{name...}", u.static)
	mux.HandleFunc("GET /{$}", u.page("dashboard", "page.dashboard"))
	mux.HandleFunc("GET /login", u.page("login", "page.login"))
	mux.HandleFunc("GET /tv", u.page("tv", "page.tv"))
	mux.HandleFunc("GET /nodes", u.page("nodes", "page.nodes"))
	mux.HandleFunc("GET /lines/{id}", u.linePage)
	mux.HandleFunc("GET /lines/{id}/shifts/{instance}/report", u.shiftReportPage)
	mux.HandleFunc("GET /reports/plant", u.plantReportPage)
	mux.HandleFunc("GET /map", u.mapPage)
	mux.HandleFunc("GET /dashboards", u.boardsPage(false))
	mux.HandleFunc("GET /dashboards/{id}", u.boardPage)
	mux.HandleFunc("GET /dashboards/{id}/edit", u.boardsPage(true))
	mux.HandleFunc("GET /alerts", u.page("notifications", "page.notifications"))
	mux.HandleFunc("GET /alerts/ack", u.page("ack", "page.ack"))
	mux.HandleFunc("GET /losses", u.page("losses", "page.losses"))
	mux.HandleFunc("GET /setup", u.setupPage)
	mux.HandleFunc("GET /setup/{slug}", u.setupPage)
	mux.HandleFunc("/", u.notFound)
	return securityHeaders(mux)
}

// pageData is what every template receives.
type pageData struct {
	Page  string
	Title string
	// Lang is the page's language (<html lang>); Zone the IANA zone times are shown in
	// ("" = the browser's).
	Lang string
	Zone string
	// Viewer is who looks at the page; nil when signed out or unknown.
	Viewer *web.Viewer
	// Auth tells the page's script what the server knows of the session: "user" (signed
	// in), "none" (no valid session: refresh it or sign in), "unknown" (no Viewers).
	Auth string
	// Nav is the navigation for the viewer; nil when signed out.
	Nav *nav
	// Setup is the content of the setup pages.
	Setup *setupData
	// Board is the dashboard template the page renders (nil: the default tiles); BoardID
	// the template the editor opens; Roles the role names (role → label) its scripts show.
	Board   *boardData
	BoardID int64
	Roles   map[string]string
	// JS holds the strings the page's scripts show, in Lang (i18n "js." keys).
	JS map[string]string
	// Report is the printable report a report page shows; Shifts the line page's links
	// to the reports of its recent shift instances.
	Report  *reportView
	Plant   *plantView
	Shifts  []shiftLinkView
	LineID  int64
	Kiosk   string
	Lines   string // comma-separated line ids for the TV view, validated
	Next    string // where login goes afterwards, a local path
	Message string // the explanation on the error page
}

// req is one page request on its way to a template: who asks, in which language.
type req struct {
	u      *UI
	w      http.ResponseWriter
	r      *http.Request
	s      *site
	viewer *web.Viewer
	lang   string
	auth   string
}

// begin loads the site and decides the viewer and the language of a page request. kiosk
// is the TV view's token ("" elsewhere). Nil means an answer was already written.
func (u *UI) begin(w http.ResponseWriter, r *http.Request, kiosk string) *req {
	s, err := u.current()
	if err != nil {
		u.cfg.Logger.Error("ui: cannot load templates", "err", err)
		plainError(w, http.StatusInternalServerError, "LinePulse UI: cannot load templates: "+err.Error())
		return nil
	}
	q := &req{u: u, w: w, r: r, s: s, auth: "unknown"}
	if u.cfg.Viewers != nil {
		q.auth = "none"
		var v web.Viewer
		var ok bool
		if kiosk != "" {
			v, ok = u.cfg.Viewers.KioskViewer(r.Context(), kiosk)
		} else {
			v, ok = u.cfg.Viewers.Viewer(r)
		}
		if ok {
			q.viewer, q.auth = &v, "user"
		}
	}
	var chosen string
	if q.viewer != nil {
		chosen = q.viewer.Language
	}
	q.lang = i18n.Resolve(chosen, i18n.Match(r.Header.Get("Accept-Language")))
	return q
}

// t is the text of key in the request's language.
func (q *req) t(key string, args ...any) string { return q.s.i18n.T(q.lang, key, args...) }

// data starts the page data of a page with the request's viewer and language.
func (q *req) data(page, titleKey string, args ...any) pageData {
	d := pageData{Page: page, Title: q.t(titleKey, args...), Lang: q.lang, Viewer: q.viewer, Auth: q.auth, JS: q.s.i18n.JS(q.lang)}
	if q.viewer != nil {
		d.Zone = q.viewer.Timezone
	}
	d.Nav = navFor(q.viewer, page)
	return d
}

func (u *UI) page(name, titleKey string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		kiosk := ""
		if name == "tv" {
			kiosk = q.Get("kiosk")
			if len(kiosk) > 4096 {
				kiosk = ""
			}
		}
		rq := u.begin(w, r, kiosk)
		if rq == nil {
			return
		}
		d := rq.data(name, titleKey)
		switch name {
		case "tv":
			d.Kiosk = q.Get("kiosk")
			if len(d.Kiosk) > 4096 {
				rq.fail(http.StatusBadRequest, "page.bad_request", rq.t("error.kiosk_too_long"))
				return
			}
			lines, ok := parseLineList(q.Get("lines"))
			if !ok {
				rq.fail(http.StatusBadRequest, "page.bad_request", rq.t("error.bad_lines"))
				return
			}
			d.Lines = lines
			d.Board = rq.applicableBoard()
		case "dashboard":
			d.Board = rq.applicableBoard()
		case "login":
			d.Next = localPath(q.Get("next"))
		}
		rq.render(http.StatusOK, name, d)
	}
}

// applicableBoard is the dashboard template that applies to the viewer, nil for the
// default tiles (also when it cannot be read: the plant still sees its lines).
func (q *req) applicableBoard() *boardData {
	b, err := q.board(0)
	if err != nil {
		q.u.cfg.Logger.Error("ui: cannot load the applicable dashboard", "err", err)
		return nil
	}
	return b
}

// beginID begins a page request whose path names an {id}; 0 means an answer (404) was
// already written.
func (u *UI) beginID(w http.ResponseWriter, r *http.Request) (*req, int64) {
	rq := u.begin(w, r, "")
	if rq == nil {
		return nil, 0
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		rq.notFound()
		return nil, 0
	}
	return rq, id
}

func (u *UI) linePage(w http.ResponseWriter, r *http.Request) {
	rq, id := u.beginID(w, r)
	if id == 0 {
		return
	}
	d := rq.data("line", "page.line", "id", id)
	d.LineID = id
	d.Shifts = rq.shiftLinks(id)
	rq.render(http.StatusOK, "line", d)
}

func (u *UI) notFound(w http.ResponseWriter, r *http.Request) {
	if rq := u.begin(w, r, ""); rq != nil {
		rq.notFound()
	}
}

func (q *req) notFound() {
	q.fail(http.StatusNotFound, "page.not_found", q.t("error.no_page", "path", q.r.URL.Path))
}

// fail answers with the error page.
func (q *req) fail(status int, titleKey, msg string) {
	d := q.data("error", titleKey)
	d.Message = msg
	q.render(status, "error", d)
}

// render executes a page into a buffer first, so a template error becomes a clean 500.
func (q *req) render(status int, name string, d pageData) {
	u, w, s := q.u, q.w, q.s
	if s.missing != nil {
		u.cfg.Logger.Error("ui: page requested but browser assets are missing", "path", q.r.URL.Path, "err", s.missing, "fix", "make assets")
		plainError(w, http.StatusInternalServerError, "LinePulse UI: the browser assets are not built ("+s.missing.Error()+").\n\n"+
			"Run `make assets` (npm ci && npm run build) in the repository, then rebuild the binary.\n")
		return
	}
	t, ok := s.pages[q.lang][name]
	if !ok {
		plainError(w, http.StatusInternalServerError, "LinePulse UI: no template "+name)
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", d); err != nil {
		u.cfg.Logger.Error("ui: cannot render page", "page", name, "err", err)
		plainError(w, http.StatusInternalServerError, "LinePulse UI: cannot render page "+name)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Language", q.lang)
	h.Set("Cache-Control", "no-store")
	h.Add("Vary", "Accept-Language, Cookie")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// static serves an asset. The hash in the URL makes it immutable; a stale hash (a page
// rendered before a deploy) still gets the current file, but without the long cache.
func (u *UI) static(w http.ResponseWriter, r *http.Request) {
	s, err := u.current()
	if err != nil {
		plainError(w, http.StatusInternalServerError, "LinePulse UI: cannot load assets: "+err.Error())
		return
	}
	a, ok := s.assets[r.PathValue("name")]
	if !ok {
		if s.missing != nil {
			u.cfg.Logger.Error("ui: asset requested but browser assets are missing", "path", r.URL.Path, "fix", "make assets")
		}
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("X-Content-Type-Options", "nosniff")
	if r.PathValue("hash") == a.hash && !u.cfg.Dev {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	h.Set("Vary", "Accept-Encoding")
	body, etag := a.body, `"`+a.hash+`"`
	if a.gz != nil && acceptsGzip(r) {
		body, etag = a.gz, `"`+a.hash+`-gz"`
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("ETag", etag)
	http.ServeContent(w, r, a.name, u.started, bytes.NewReader(body))
}

// securityHeaders adds the UI's CSP and companions unless something in front (the API's
// middleware) already chose them.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		if h.Get("Content-Security-Policy") == "" {
			h.Set("Content-Security-Policy", CSP)
		}
		if h.Get("X-Content-Type-Options") == "" {
			h.Set("X-Content-Type-Options", "nosniff")
		}
		if h.Get("Referrer-Policy") == "" {
			// The TV URL carries a kiosk token: never send it to another site.
			h.Set("Referrer-Policy", "same-origin")
		}
		next.ServeHTTP(w, r)
	})
}

// acceptsGzip reports whether the client takes gzip (and did not refuse it with q=0).
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, params, _ := strings.Cut(part, ";")
		if !strings.EqualFold(strings.TrimSpace(enc), "gzip") {
			continue
		}
		if k, v, ok := strings.Cut(strings.TrimSpace(params), "="); ok && strings.TrimSpace(k) == "q" {
			q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return err == nil && q > 0
		}
		return true
	}
	return false
}

func plainError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	fmt.Fprintln(w, msg)
}

// parseLineList validates "1,2,3" (at most 64 positive ids) and returns it normalised.
func parseLineList(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", true
	}
	parts := strings.Split(s, ",")
	if len(parts) > 64 {
		return "", false
	}
	out := make([]string, 0, len(parts))
	for _, p := range parts {
		n, err := strconv.ParseInt(strings.TrimSpace(p), 10, 64)
		if err != nil || n <= 0 {
			return "", false
		}
		out = append(out, strconv.FormatInt(n, 10))
	}
	return strings.Join(out, ","), true
}

// localPath keeps only same-site paths ("/lines/2"), so ?next= cannot send a user elsewhere.
func localPath(p string) string {
	if p == "" || !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") ||
		strings.ContainsAny(p, "\r\n\t") || len(p) > 1024 {
		return "/"
	}
	if c := path.Clean(p); c == "/login" {
		return "/"
	}
	return p
}
