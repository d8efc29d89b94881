package ui

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/coder/websocket"

	hubpkg "github.com/linepulse/linepulse/hub"
	"github.com/linepulse/linepulse/internal/testkit"
	"github.com/linepulse/linepulse/loss"
	"github.com/linepulse/linepulse/stream"
)

// builtUI returns the UI with the embedded assets, or skips (fails in CI) when
// `make assets` has not run.
func builtUI(t *testing.T) *UI {
	t.Helper()
	u, err := New(Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if s, _ := u.current(); s.missing != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("browser assets missing in CI (%v): .ci/run must build them (make assets)", s.missing)
		}
		t.Skipf("*** UI TEST SKIPPED: browser assets not built (%v): run `make assets` ***", s.missing)
	}
	return u
}

func get(t *testing.T, h http.Handler, target string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest("GET", target, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

var assetURL = regexp.MustCompile(`/static/([0-9a-f]{16})/([a-z.]+)`)

func TestPagesAndAssets(t *testing.T) {
	u := builtUI(t)
	h := u.Handler()

	w := get(t, h, "/")
	if w.Code != 200 {
		t.Fatalf("GET / = %d\n%s", w.Code, w.Body)
	}
	if got := w.Header().Get("Content-Security-Policy"); got != CSP {
		t.Errorf("CSP = %q", got)
	}
	if strings.Contains(w.Body.String(), "<script>") || strings.Contains(w.Body.String(), " style=") {
		t.Error("page has an inline script or style attribute: the CSP forbids them")
	}
	urls := assetURL.FindAllStringSubmatch(w.Body.String(), -1)
	names := map[string]string{}
	for _, m := range urls {
		names[m[2]] = m[0]
	}
	for _, want := range []string{"app.js", "app.css", "favicon.svg"} {
		if names[want] == "" {
			t.Fatalf("page does not reference %s at a content-hash URL:\n%s", want, w.Body)
		}
	}

	a := get(t, h, names["app.js"])
	if a.Code != 200 || !strings.HasPrefix(a.Header().Get("Content-Type"), "text/javascript") {
		t.Fatalf("GET app.js = %d %q", a.Code, a.Header().Get("Content-Type"))
	}
	if cc := a.Header().Get("Cache-Control"); !strings.Contains(cc, "immutable") || !strings.Contains(cc, "max-age=31536000") {
		t.Errorf("app.js Cache-Control = %q, want a year, immutable", cc)
	}
	plain := a.Body.Bytes()

	gz := get(t, h, names["app.js"], "Accept-Encoding", "br, gzip")
	if gz.Header().Get("Content-Encoding") != "gzip" {
		t.Fatalf("app.js not served gzipped to a gzip client")
	}
	zr, err := gzip.NewReader(gz.Body)
	if err != nil {
		t.Fatal(err)
	}
	unz, err := io.ReadAll(zr)
	if err != nil || string(unz) != string(plain) {
		t.Fatalf("gzipped app.js differs from the plain one (err %v)", err)
	}
	if get(t, h, names["app.js"], "Accept-Encoding", "gzip;q=0").Header().Get("Content-Encoding") != "" {
		t.Error("gzip sent to a client that refused it with q=0")
	}

	stale := get(t, h, "/static/0000000000000000/app.css")
	if stale.Code != 200 || stale.Header().Get("Cache-Control") != "no-cache" {
		t.Errorf("stale hash: %d %q, want 200 no-cache", stale.Code, stale.Header().Get("Cache-Control"))
	}
	if c := get(t, h, "/static/0000000000000000/nope.js").Code; c != 404 {
		t.Errorf("unknown asset = %d, want 404", c)
	}

	for _, tc := range []struct {
		target string
		code   int
		has    string
	}{
		{"/login", 200, `x-data="login"`},
		{"/login?next=/lines/3", 200, `data-next="/lines/3"`},
		{"/login?next=//evil.example/x", 200, `data-next="/"`},
		{"/login?next=https://evil.example/", 200, `data-next="/"`},
		{"/tv?kiosk=abc%22%3E&lines=1,%202", 200, `data-kiosk="abc&#34;&gt;" data-lines="1,2"`},
		{"/tv?lines=1,x", 400, "comma-separated"},
		{"/tv?lines=0", 400, "comma-separated"},
		{"/lines/7", 200, `data-line="7"`},
		{"/nodes", 200, `x-data="nodeHealth"`},
		{"/lines/abc", 404, "Not found"},
		{"/lines/-1", 404, "Not found"},
		{"/nowhere", 404, "There is no page at /nowhere"},
	} {
		w := get(t, h, tc.target)
		if w.Code != tc.code || !strings.Contains(w.Body.String(), tc.has) {
			t.Errorf("GET %s = %d, want %d containing %q\n%s", tc.target, w.Code, tc.code, tc.has, w.Body)
		}
	}
}

func TestCSPIsNotOverridden(t *testing.T) {
	u := builtUI(t)
	outer := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'none'")
		u.Handler().ServeHTTP(w, r)
	})
	if got := get(t, outer, "/login").Header().Get("Content-Security-Policy"); got != "default-src 'none'" {
		t.Errorf("the UI replaced the CSP set in front of it: %q", got)
	}
}

// sourceFS is the package's own templates with a chosen static/ folder.
func sourceFS(t *testing.T, extra fstest.MapFS) fstest.MapFS {
	t.Helper()
	m := fstest.MapFS{}
	err := fs.WalkDir(os.DirFS("."), "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		m[p] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	m["static/README.txt"] = &fstest.MapFile{Data: []byte("placeholder")}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func TestMissingAssetsAnswerWithInstructions(t *testing.T) {
	var logs strings.Builder
	u, err := newUI(Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))}, sourceFS(t, nil), nil)
	if err != nil {
		t.Fatalf("New must not fail on missing assets: %v", err)
	}
	if !strings.Contains(logs.String(), "make assets") {
		t.Errorf("start-up log does not tell to run make assets: %q", logs.String())
	}
	w := get(t, u.Handler(), "/")
	if w.Code != 500 || !strings.Contains(w.Body.String(), "make assets") {
		t.Errorf("GET / without assets = %d %q", w.Code, w.Body)
	}

	bad := fstest.MapFS{
		"static/dist/manifest.json": {Data: []byte(`{"version":1,"files":["app.js","../x"]}`)},
		"static/dist/app.js":        {Data: []byte("x")},
	}
	u, err = newUI(Config{Logger: slog.New(slog.DiscardHandler)}, sourceFS(t, bad), nil)
	if err != nil {
		t.Fatal(err)
	}
	if w := get(t, u.Handler(), "/login"); w.Code != 500 || !strings.Contains(w.Body.String(), `bad file name`) {
		t.Errorf("bad manifest: %d %q", w.Code, w.Body)
	}
}

func TestBrokenTemplateFailsAtStart(t *testing.T) {
	fsys := sourceFS(t, fstest.MapFS{"templates/line.html": {Data: []byte(`{{define "content"}}{{.Nope`)}})
	if _, err := newUI(Config{}, fsys, nil); err == nil || !strings.Contains(err.Error(), "line") {
		t.Fatalf("newUI with a broken template: err = %v, want a parse error naming it", err)
	}
}

func TestDevModeReadsFromDisk(t *testing.T) {
	builtUI(t)
	u, err := New(Config{Dev: true, Dir: ".", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	w := get(t, u.Handler(), "/login")
	if w.Code != 200 {
		t.Fatalf("dev GET /login = %d %s", w.Code, w.Body)
	}
	m := assetURL.FindStringSubmatch(w.Body.String())
	if a := get(t, u.Handler(), m[0]); a.Header().Get("Cache-Control") != "no-cache" {
		t.Errorf("dev assets must not be cached: %q", a.Header().Get("Cache-Control"))
	}
}

func TestLocalPathAndLineList(t *testing.T) {
	for in, want := range map[string]string{
		"": "/", "/": "/", "/lines/2?x=1": "/lines/2?x=1", "//evil": "/", "/\\evil": "/",
		"http://evil/": "/", "lines": "/", "/login": "/", "/a\nb": "/",
	} {
		if got := localPath(in); got != want {
			t.Errorf("localPath(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"": "", "1": "1", " 1 , 22,3": "1,22,3"} {
		if got, ok := parseLineList(in); !ok || got != want {
			t.Errorf("parseLineList(%q) = %q %v", in, got, ok)
		}
	}
	for _, in := range []string{"x", "1,,2", "-1", "0", strings.Repeat("1,", 64) + "1"} {
		if _, ok := parseLineList(in); ok {
			t.Errorf("parseLineList(%q) accepted", in)
		}
	}
}

// ---------------------------------------------------------------------------
// Browser test: the real bundle in Debian's chromium against stub API endpoints
// and a stub hub that speaks the binding WebSocket format.

const (
	stubCookie   = "lp_session"
	stubSession  = "stub-session"
	stubKiosk    = "kiosk-token-1"
	stubTenant   = "acme"
	stubEmail    = "ops@acme.test"
	stubPassword = "s3cret"
)

type clientOp struct {
	Op    string  `json:"op"`
	Lines []int64 `json:"lines"`
	Line  int64   `json:"line"`
	Seq   uint64  `json:"seq"`
	Kiosk bool    `json:"-"`
}

// stubHub accepts /ws like the real hub (cookie or kiosk token), answers subscribe and
// resume with a snapshot, and lets the test push updates and drop connections.
type stubHub struct {
	t      *testing.T
	mu     sync.Mutex
	conns  map[*websocket.Conn]bool
	seq    map[int64]uint64
	oee    map[int64]float64
	target map[int64]int64
	state  map[int64]string
	ops    chan clientOp
}

func newStubHub(t *testing.T) *stubHub {
	return &stubHub{t: t, conns: map[*websocket.Conn]bool{}, seq: map[int64]uint64{}, ops: make(chan clientOp, 256),
		oee: map[int64]float64{1: 0.612, 2: 0.455, 3: 0.81}, target: map[int64]int64{1: 6000}, state: map[int64]string{1: "running", 2: "running", 3: "planned_stop"}}
}

// kpi encodes a snapshot or (typ "kpi") the next update of a line with the engine's own
// message type, so the stub speaks exactly the binding format.
func (h *stubHub) kpi(typ string, line int64) []byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	if typ == "kpi" || h.seq[line] == 0 {
		h.seq[line]++
	}
	now := time.Now()
	m := stream.KPIUpdate{
		Type: typ, Line: line, Seq: h.seq[line], At: stream.Time(now),
		Shift: &stream.KPIShift{ID: 1, Name: "Morning", Start: stream.Time(now.Add(-2 * time.Hour)), End: stream.Time(now.Add(6 * time.Hour))},
		State: h.state[line], Counts: stream.Counts{Total: 5230, Good: 5101, Reject: 129}, RatePerMin: 43.6,
		Availability: 0.91, Performance: 0.874, Quality: 0.975, OEE: h.oee[line], PlannedS: 7200, RunS: 6552, DowntimeS: 648, MicroStops: 4,
		Target: h.target[line], TargetToNow: h.target[line] * 4 / 5,
		Products: []stream.ProductCount{
			{ID: 1, Name: "Cola 0.5 l", Color: "#ef4444", Count: 3100},
			{ID: 2, Name: "Water 1 l", Color: "#38bdf8", Count: 1800},
			{ID: 3, Name: "Juice", Color: "not-a-colour", Count: 330},
		},
		Areas:     []stream.AreaCount{{ID: 1, Name: "Filler", Count: 5230}},
		StreamSeq: 1000 + h.seq[line],
	}
	b, _ := json.Marshal(m)
	return b
}

func (h *stubHub) downtime(line int64, state string, start time.Time) []byte {
	h.mu.Lock()
	h.seq[line]++
	seq := h.seq[line]
	if state == stream.DowntimeStarted {
		h.state[line] = stream.StateDown
	} else {
		h.state[line] = stream.StateRunning
	}
	h.mu.Unlock()
	ev := stream.DowntimeMsgBody{State: state, Start: stream.Time(start)}
	if state == stream.DowntimeEnded {
		end := stream.Time(time.Now())
		ev.ID, ev.End, ev.DurationMS = 99, &end, time.Since(start).Milliseconds()
	}
	b, _ := json.Marshal(stream.DowntimeMessage{Type: "downtime", Line: line, Seq: seq, Event: ev})
	return b
}

func (h *stubHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(stubCookie)
	kiosk := r.URL.Query().Get("kiosk") == stubKiosk
	if !kiosk && (err != nil || c.Value != stubSession) {
		http.Error(w, "unauthenticated", http.StatusUnauthorized)
		return
	}
	conn, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	conn.SetReadLimit(1 << 16)
	h.mu.Lock()
	h.conns[conn] = true
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(h.conns, conn)
		h.mu.Unlock()
		conn.CloseNow()
	}()
	ctx := r.Context()
	for {
		_, data, err := conn.Read(ctx)
		if err != nil {
			return
		}
		var op clientOp
		if err := json.Unmarshal(data, &op); err != nil {
			h.t.Errorf("stub hub: client sent bad JSON %q: %v", data, err)
			return
		}
		op.Kiosk = kiosk
		lines := op.Lines
		if op.Op == "resume" {
			lines = []int64{op.Line}
		}
		for _, l := range lines {
			conn.Write(ctx, websocket.MessageText, h.kpi("snapshot", l))
		}
		select {
		case h.ops <- op:
		default:
			h.t.Errorf("stub hub: op queue full")
		}
	}
}

func (h *stubHub) push(msg []byte) int {
	h.mu.Lock()
	conns := make([]*websocket.Conn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	for _, c := range conns {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		c.Write(ctx, websocket.MessageText, msg)
		cancel()
	}
	return len(conns)
}

// closeAll closes every connection with code, as the hub does when it goes away
// (1001) or when the credentials are revoked (4001).
func (h *stubHub) closeAll(code websocket.StatusCode) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.conns {
		c.Close(code, "test closes the connection")
	}
}

// waitOp returns the first op (in arrival order) that matches.
func (h *stubHub) waitOp(t *testing.T, what string, match func(clientOp) bool) clientOp {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case op := <-h.ops:
			if match(op) {
				return op
			}
		case <-deadline:
			t.Fatalf("stub hub: no %s from the browser within 30 s", what)
		}
	}
}

// stubAPI serves the /api/v1 endpoints the pages call, in the shapes of package web.
type stubAPI struct {
	mu        sync.Mutex
	reasons   []string        // "line/event=code[#comment]" of every PUT reason
	groups    []string        // the group of every Pareto request
	noStops   bool            // the Pareto has no stops (a quiet period)
	intervals []string        // interval of every production query
	lossSpans []time.Duration // to − from of every loss waterfall request
	incidents []map[string]any
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func apiError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

func (a *stubAPI) register(mux *http.ServeMux) {
	lines := []map[string]any{
		{"id": 1, "name": "Filling", "active": true, "availability": 0.9, "performance": 0.9, "quality": 0.98},
		{"id": 2, "name": "Packaging", "active": true},
		{"id": 3, "name": "Palletizer", "active": true},
	}
	authed := func(next http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if c, err := r.Cookie(stubCookie); err == nil && c.Value == stubSession {
				next(w, r)
				return
			}
			if r.URL.Path == "/api/v1/lines" && r.Header.Get("Authorization") == "Kiosk "+stubKiosk {
				next(w, r)
				return
			}
			apiError(w, http.StatusUnauthorized, "unauthenticated", "sign in first")
		}
	}
	mux.HandleFunc("POST /api/v1/auth/login", func(w http.ResponseWriter, r *http.Request) {
		var in struct{ Tenant, Email, Password string }
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&in); err != nil {
			apiError(w, 400, "invalid", err.Error())
			return
		}
		if in.Tenant != stubTenant || in.Email != stubEmail || in.Password != stubPassword {
			apiError(w, 401, "unauthenticated", "wrong credentials")
			return
		}
		http.SetCookie(w, &http.Cookie{Name: stubCookie, Value: stubSession, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
		writeJSON(w, 200, map[string]any{"access_token": "x", "refresh_token": "y", "token_type": "Bearer", "expires_in": 900})
	})
	mux.HandleFunc("POST /api/v1/auth/refresh", func(w http.ResponseWriter, r *http.Request) {
		apiError(w, 401, "unauthenticated", "no refresh cookie")
	})
	mux.HandleFunc("GET /api/v1/lines", authed(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"items": lines})
	}))
	mux.HandleFunc("GET /api/v1/lines/{id}", authed(func(w http.ResponseWriter, r *http.Request) {
		id, _ := strconv.Atoi(r.PathValue("id"))
		if id < 1 || id > len(lines) {
			apiError(w, 404, "not_found", "no such line")
			return
		}
		writeJSON(w, 200, lines[id-1])
	}))
	// Shapes of package web: ProductionResponse, stream.OEEReport, Page[store.DowntimeEvent].
	mux.HandleFunc("GET /api/v1/lines/{id}/production", authed(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		from, err1 := time.Parse(time.RFC3339, q.Get("from"))
		to, err2 := time.Parse(time.RFC3339, q.Get("to"))
		step, layout := time.Hour, "2006-01-02 15:04 MST"
		if q.Get("interval") == "day" {
			step, layout = 24*time.Hour, "2006-01-02"
		}
		if (q.Get("interval") != "hour" && q.Get("interval") != "day") || err1 != nil || err2 != nil || to.Sub(from) > 31*24*time.Hour {
			apiError(w, 400, "invalid", "want interval=hour|day and RFC 3339 from/to at most 31 days apart")
			return
		}
		a.mu.Lock()
		a.intervals = append(a.intervals, q.Get("interval"))
		a.mu.Unlock()
		var out []map[string]any
		for i, s := 0, from.Truncate(step); s.Before(to); i, s = i+1, s.Add(step) {
			good := 1500 + (i*337)%900
			out = append(out, map[string]any{"start": s, "end": s.Add(step), "label": s.UTC().Format(layout),
				"total": good + 20 + i, "good": good, "reject": 20 + i})
		}
		writeJSON(w, 200, map[string]any{"line_id": 2, "from": from, "to": to, "interval": q.Get("interval"), "items": out})
	}))
	mux.HandleFunc("GET /api/v1/lines/{id}/oee", authed(func(w http.ResponseWriter, r *http.Request) {
		name, oee := "Morning", 0.712
		if r.URL.Query().Get("shift") == "previous" {
			name, oee = "Night", 0.655
		}
		now := time.Now().UTC()
		writeJSON(w, 200, map[string]any{"from": now.Add(-8 * time.Hour), "to": now,
			"shift":     map[string]any{"id": 1, "name": name, "start": now.Add(-8 * time.Hour), "end": now},
			"planned_s": 28800, "run_s": 25920, "downtime_s": 2880,
			"availability": 0.9, "performance": 0.84, "quality": 0.96, "oee": oee, "performance_over_100": false,
			"total": 20000, "good": 19200, "reject": 800, "events": 3})
	}))
	mux.HandleFunc("GET /api/v1/lines/{id}/downtime", authed(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now().UTC()
		ev := func(id int, start time.Time, d time.Duration, code string) map[string]any {
			return map[string]any{"id": id, "line_id": 2, "start": start, "end": start.Add(d), "duration_ms": d.Milliseconds(),
				"reason_code": code, "comment": "", "coded_by": 0, "created_at": start, "updated_at": start}
		}
		writeJSON(w, 200, map[string]any{"items": []map[string]any{
			ev(11, now.Add(-3*time.Hour), 7*time.Minute, ""), ev(12, now.Add(-5*time.Hour), 95*time.Second, "F02"),
		}})
	}))
	mux.HandleFunc("PUT /api/v1/lines/{id}/downtime/{event}/reason", authed(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			ReasonCode string `json:"reason_code"`
			Comment    string `json:"comment"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&in); err != nil {
			apiError(w, 400, "invalid", err.Error())
			return
		}
		a.mu.Lock()
		note := ""
		if in.Comment != "" {
			note = "#" + in.Comment
		}
		a.reasons = append(a.reasons, r.PathValue("id")+"/"+r.PathValue("event")+"="+in.ReasonCode+note)
		a.mu.Unlock()
		writeJSON(w, 200, map[string]any{"id": r.PathValue("event"), "reason_code": in.ReasonCode})
	}))
	mux.HandleFunc("GET /api/v1/downtime/pareto", authed(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.groups = append(a.groups, r.URL.Query().Get("group"))
		noStops := a.noStops
		a.mu.Unlock()
		if noStops {
			writeJSON(w, 200, map[string]any{"groups": []map[string]any{}, "count": 0, "total_s": 0, "uncoded_s": 0, "uncoded_share": 0})
			return
		}
		writeJSON(w, 200, map[string]any{"groups": []map[string]any{
			{"key": "", "label": "", "count": 1, "duration_s": 420, "share": 0.8155, "cumulative": 0.8155},
			{"key": "F02", "label": "Material shortage", "count": 1, "duration_s": 95, "share": 0.1845, "cumulative": 1},
		}, "count": 2, "total_s": 515, "uncoded_s": 420, "uncoded_share": 0.8155})
	}))
	mux.HandleFunc("GET /api/v1/lines/{id}/losses", authed(func(w http.ResponseWriter, r *http.Request) {
		from, err1 := time.Parse(time.RFC3339, r.URL.Query().Get("from"))
		to, err2 := time.Parse(time.RFC3339, r.URL.Query().Get("to"))
		if err1 != nil || err2 != nil {
			apiError(w, 400, "invalid", "want RFC 3339 from and to")
			return
		}
		a.mu.Lock()
		a.lossSpans = append(a.lossSpans, to.Sub(from))
		a.mu.Unlock()
		id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
		writeJSON(w, 200, stream.LossReport{LineID: id, Losses: stubWaterfall()})
	}))
	mux.HandleFunc("GET /api/v1/losses", authed(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, stream.PlantLossReport{Lines: []int64{1, 2}, Losses: stubWaterfall()})
	}))
	mux.HandleFunc("GET /api/v1/failures", authed(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"items": []map[string]any{
			{"id": 1, "code": "F01", "name": "Jam at the filler", "parent_id": 3}, {"id": 2, "code": "F02", "name": "Material shortage"},
			{"id": 3, "code": "M", "name": "Mechanical"},
		}})
	}))
	// The filter panel's choices and the tenant's FILTER defaults (area 21).
	list := func(rows ...map[string]any) http.HandlerFunc {
		return authed(func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, map[string]any{"items": rows}) })
	}
	mux.HandleFunc("GET /api/v1/filters", list(map[string]any{"id": 1, "name": "Range", "filter_type": "time_range", "field": "at", "default_value": "24h", "position": 1},
		map[string]any{"id": 2, "name": "Station", "filter_type": "area", "field": "area_id", "default_value": []int{21}, "position": 2}))
	mux.HandleFunc("GET /api/v1/products", list(map[string]any{"id": 1, "name": "Cola 0.5 l"}, map[string]any{"id": 2, "name": "Water 1 l"}))
	mux.HandleFunc("GET /api/v1/queries", list()) // the losses page's saved views and history
	mux.HandleFunc("GET /api/v1/areas", list(map[string]any{"id": 21, "name": "Capper", "line_id": 2, "coord_x1": 0, "coord_y1": 0, "coord_x2": 10, "coord_y2": 10}))
	mux.HandleFunc("GET /api/v1/shifts", list(map[string]any{"id": 1, "name": "Morning", "line_id": 0}))
	// Incidents: a solved one of failure F02 (its solution shows under stops coded F02),
	// and what the page reports and solves.
	mux.HandleFunc("GET /api/v1/incidents", authed(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		defer a.mu.Unlock()
		if a.incidents == nil {
			a.incidents = []map[string]any{{"id": 1, "line_id": 1, "failure_id": 2, "title": "Empty cap hopper", "description": "", "solution": "Refill the cap hopper",
				"has_solution": true, "occurred_at": "2026-11-27T09:00:00Z", "resolved_at": "2026-11-27T09:20:00Z", "downtime_event_id": 0}}
		}
		writeJSON(w, 200, map[string]any{"items": a.incidents})
	}))
	mux.HandleFunc("POST /api/v1/incidents", authed(func(w http.ResponseWriter, r *http.Request) {
		var in map[string]any
		json.NewDecoder(r.Body).Decode(&in)
		a.mu.Lock()
		defer a.mu.Unlock()
		in["id"] = len(a.incidents) + 1
		a.incidents = append(a.incidents, in)
		writeJSON(w, 201, in)
	}))
	mux.HandleFunc("PUT /api/v1/incidents/{id}", authed(func(w http.ResponseWriter, r *http.Request) {
		var in map[string]any
		json.NewDecoder(r.Body).Decode(&in)
		a.mu.Lock()
		defer a.mu.Unlock()
		for i, inc := range a.incidents {
			if fmt.Sprint(inc["id"]) == r.PathValue("id") {
				a.incidents[i] = in
			}
		}
		writeJSON(w, 200, in)
	}))
}

// stubWaterfall is the stub's loss waterfall (package loss computes it): no unmonitored
// time (a bucket without time, not drawn), a planned cleaning, an uncoded and a coded
// category of unplanned stops, a changeover, micro-stops, reduced speed and both rejects.
func stubWaterfall() loss.Waterfall {
	return loss.Compute(loss.Input{
		Planned:        8 * time.Hour,
		PlannedStops:   []loss.Part{{Key: "CLEAN", Label: "Cleaning", Duration: 20 * time.Minute}},
		UnplannedStops: []loss.Part{{Duration: 7 * time.Minute}, {Key: "F02", Label: "Material shortage", Duration: 95 * time.Second}},
		Changeover:     12*time.Minute + 40*time.Second,
		MicroStops:     9*time.Minute + 10*time.Second,
		IdealTotal:     6*time.Hour + 11*time.Minute,
		IdealStartup:   2*time.Minute + 5*time.Second,
		IdealProcess:   5*time.Minute + 13*time.Second,
	})
}

// consoleLog collects what the page writes to the console and the CSP violations.
type consoleLog struct {
	mu   sync.Mutex
	msgs []string
}

func (c *consoleLog) add(s string) {
	c.mu.Lock()
	c.msgs = append(c.msgs, s)
	c.mu.Unlock()
}

func (c *consoleLog) since(i int) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.msgs[i:])
}

func (c *consoleLog) mark() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.msgs)
}

// cspProbe records securitypolicyviolation events in every document, from outside the
// page's CSP (DevTools scripts are not subject to it).
const cspProbe = `window.__csp = []; document.addEventListener('securitypolicyviolation', function (e) {
  window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' ' + e.sourceFile + ':' + e.lineNumber);
});`

func startBrowser(t *testing.T) context.Context {
	t.Helper()
	const chromium = "/usr/bin/chromium"
	if _, err := os.Stat(chromium); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s missing in CI: .ci/run must apt-get install chromium", chromium)
		}
		t.Skipf("*** BROWSER TEST SKIPPED: %s not installed (apt-get install chromium) ***", chromium)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1600, 1000),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelC(); cancelA() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("cannot start chromium: %v", err)
	}
	return ctx
}

func screenshotPath(name string) string {
	dir := os.Getenv("LINEPULSE_SCREENSHOTS")
	if dir == "" {
		dir = os.TempDir()
	}
	return filepath.Join(dir, name)
}

func TestBrowser(t *testing.T) {
	u := builtUI(t)
	ctx := startBrowser(t)

	hub := newStubHub(t)
	api := &stubAPI{}
	mux := http.NewServeMux()
	api.register(mux)
	mux.Handle("GET /ws", hub)
	mux.HandleFunc("GET /csp-canary", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", CSP)
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, `<!doctype html><link rel="icon" href="data:,"><p style="color:red">x</p><script>document.title='inline ran'</script>`)
	})
	mux.Handle("/", u.Handler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	logs := &consoleLog{}
	console := chromedp.Console(ctx)
	go func() {
		for m, err := range console {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleWarning || m.IsException() {
				logs.add(m.String())
			}
		}
	}()
	must := func(t *testing.T, what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 45*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, steps...); err != nil {
			t.Fatalf("%s: %v\nconsole: %q", what, err, logs.since(0))
		}
	}
	text := func(t *testing.T, sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}
	eval := func(t *testing.T, js string) any {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[any](js))
		if err != nil {
			t.Fatalf("evaluate %s: %v", js, err)
		}
		return v
	}
	// waitJS polls a predicate until it holds; errors while a page loads are retried.
	waitJS := func(t *testing.T, what, js string) {
		t.Helper()
		held := false
		defer func() { // runs on the Fatal of CheckFor too
			if !held {
				loc, _ := chromedp.Run(ctx, chromedp.Location())
				t.Logf("%s: at %s\nconsole: %q", what, loc, logs.since(0))
			}
		}()
		testkit.CheckFor(t, 30*time.Second, 50*time.Millisecond, func() error {
			last, err := chromedp.Run(ctx, chromedp.Evaluate[any](js))
			return testkit.Unless(err == nil && last == true, "%s: %s does not hold (last %v, err %v)", what, js, last, err)
		})
		held = true
	}
	cspViolations := func() []string {
		v, _ := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.__csp || []`))
		return v
	}
	noProblems := func(t *testing.T, phase string, since int, allow ...string) {
		t.Helper()
	next:
		for _, m := range logs.since(since) {
			for _, a := range allow {
				if strings.Contains(m, a) {
					continue next
				}
			}
			t.Errorf("%s: console: %s", phase, m)
		}
		if v := cspViolations(); len(v) > 0 {
			t.Errorf("%s: CSP violations: %q", phase, v)
		}
	}
	shot := func(t *testing.T, name string) {
		t.Helper()
		b, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100 = PNG
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		p := screenshotPath(name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", p)
	}
	must(t, "install the CSP probe", chromedp.Action[chromedp.Void](func(c context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(c, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: cspProbe})
		return chromedp.Void{}, err
	}))

	// The detectors must be able to fail: a page with inline code under our CSP is caught.
	mark := logs.mark()
	must(t, "canary", chromedp.Navigate(srv.URL+"/csp-canary"))
	waitJS(t, "canary violation", `window.__csp && window.__csp.length >= 2`)
	if title, _ := chromedp.Run(ctx, chromedp.Title()); title == "inline ran" {
		t.Fatal("the CSP did not block an inline script")
	}
	testkit.CheckFor(t, 10*time.Second, 50*time.Millisecond, func() error {
		return testkit.Unless(len(logs.since(mark)) > 0, "console listener saw no CSP error on the canary page")
	})

	t.Run("signed out goes to login", func(t *testing.T) {
		mark := logs.mark()
		must(t, "open /", chromedp.Navigate(srv.URL+"/"))
		waitJS(t, "redirect to /login", `location.pathname === '/login' && !!document.querySelector('#login')`)
		// The 401s of the API are expected here; nothing else is.
		noProblems(t, "signed out", mark, "401")
	})

	t.Run("login", func(t *testing.T) {
		mark := logs.mark()
		must(t, "open login", chromedp.Navigate(srv.URL+"/login"))
		must(t, "fill the form",
			chromedp.WaitVisible(chromedp.CSS(`input[name=tenant]`)),
			chromedp.SendKeys(chromedp.CSS(`input[name=tenant]`), stubTenant),
			chromedp.SendKeys(chromedp.CSS(`input[name=email]`), stubEmail),
			chromedp.SendKeys(chromedp.CSS(`input[name=password]`), stubPassword),
			chromedp.Click(chromedp.CSS(`#login button[type=submit]`)),
		)
		waitJS(t, "dashboard after login", `location.pathname === '/' && document.querySelectorAll('a.lp-tile').length === 3`)
		noProblems(t, "login", mark)
	})

	t.Run("dashboard", func(t *testing.T) {
		mark := logs.mark()
		op := hub.waitOp(t, "subscribe", func(o clientOp) bool { return o.Op == "subscribe" })
		if !slices.Equal(op.Lines, []int64{1, 2, 3}) || op.Kiosk {
			t.Fatalf("subscribe = %+v, want lines 1,2,3 with the session cookie", op)
		}
		waitJS(t, "snapshot shown", `document.querySelector('a.lp-tile[data-line="1"] .lp-oee').textContent.trim() === '61.2%'`)
		if got := text(t, `a.lp-tile[data-line="1"] .lp-name`); got != "Filling" {
			t.Errorf("tile 1 name = %q", got)
		}
		if got := text(t, `a.lp-tile[data-line="3"] .lp-state`); !strings.EqualFold(got, "planned stop") {
			t.Errorf("tile 3 state = %q, want Planned stop", got)
		}
		if got := text(t, `a.lp-tile[data-line="1"] .lp-good`); got != "5,101" && got != "5101" {
			t.Errorf("tile 1 good = %q", got)
		}
		// Target vs actual: line 1 has a target, line 2 none.
		waitJS(t, "target vs actual", `(() => { const s = document.querySelector('a.lp-tile[data-line="1"] .lp-plan').textContent;
			return s.includes('Good / target') && s.includes('5,101 / 6,000') && s.includes('4,800 planned so far'); })()`)
		if v := eval(t, `getComputedStyle(document.querySelector('a.lp-tile[data-line="2"] .lp-plan')).display`); v != "none" {
			t.Errorf("tile 2 without a target shows its target row (%v)", v)
		}
		if n := eval(t, `document.querySelectorAll('a.lp-tile[data-line="1"] .lp-mix > div').length`); n != float64(3) {
			t.Errorf("product mix segments = %v, want 3", n)
		}

		hub.mu.Lock()
		hub.oee[1] = 0.734
		hub.mu.Unlock()
		if n := hub.push(hub.kpi("kpi", 1)); n != 1 {
			t.Fatalf("pushed to %d connections, want 1", n)
		}
		waitJS(t, "kpi update shown", `document.querySelector('a.lp-tile[data-line="1"] .lp-oee').textContent.trim() === '73.4%'`)

		hub.push(hub.downtime(2, "started", time.Now().Add(-90*time.Second)))
		must(t, "downtime banner", chromedp.WaitVisible(chromedp.CSS(`#downtime-banner [data-alert-line="2"]`)))
		if got := text(t, `#downtime-banner [data-alert-line="2"]`); !strings.Contains(got, "Packaging") || !strings.Contains(got, "down") {
			t.Errorf("banner = %q", got)
		}
		if got := text(t, `a.lp-tile[data-line="2"] .lp-state`); !strings.EqualFold(got, "down") {
			t.Errorf("tile 2 state after downtime = %q", got)
		}
		shot(t, "linepulse-dashboard.png")

		// A dropped connection resumes from the last sequence number of each line.
		hub.mu.Lock()
		want := map[int64]uint64{1: hub.seq[1], 2: hub.seq[2], 3: hub.seq[3]}
		hub.mu.Unlock()
		hub.closeAll(websocket.StatusGoingAway)
		got := map[int64]uint64{}
		for len(got) < 3 {
			op := hub.waitOp(t, "resume", func(o clientOp) bool { return o.Op == "resume" })
			got[op.Line] = op.Seq
		}
		for l, s := range want {
			if got[l] != s {
				t.Errorf("resume line %d from seq %d, want %d", l, got[l], s)
			}
		}
		hub.push(hub.downtime(2, "ended", time.Now().Add(-2*time.Minute)))
		must(t, "banner cleared", chromedp.WaitNotVisible(chromedp.CSS(`#downtime-banner`)))
		noProblems(t, "dashboard", mark, "test drops the connection")
	})

	t.Run("line detail", func(t *testing.T) {
		mark := logs.mark()
		eval(t, `window.__notReloaded = true`)
		must(t, "open line 2", chromedp.Click(chromedp.CSS(`a.lp-tile[data-line="2"]`)))
		waitJS(t, "line page", `location.pathname === '/lines/2' && document.querySelectorAll('tr.lp-downtime').length === 2`)
		if eval(t, `window.__notReloaded === true`) != true {
			t.Error("tile link was not boosted by htmx: the page reloaded")
		}
		waitJS(t, "title", `document.querySelector('#line-name').textContent === 'Packaging'`)
		waitJS(t, "chart drawn", `(() => { const c = document.querySelector('#production-chart'); return c.width > 100 && c.height > 100; })()`)
		waitJS(t, "pareto drawn", `(() => { const c = document.querySelector('#pareto-chart'); return c.width > 100 && c.height > 100 && document.querySelector('#pareto-uncoded').textContent.includes('81.6%'); })()`)
		// The loss waterfall: planned time, each loss with time, the time left after each
		// factor's losses and fully productive time, labelled with the API's figures.
		waitJS(t, "waterfall drawn", fmt.Sprintf(`document.querySelectorAll('#waterfall > li').length === %d`, len(wantBars(stubWaterfall()))))
		checkWaterfall(t, "line page", readWaterfall(t, ctx, "#waterfall"), stubWaterfall(), "en", "Not coded")
		waitJS(t, "oee cards", `document.querySelector('#oee-current').textContent.includes('71.2%') && document.querySelector('#oee-previous').textContent.includes('Night')`)
		hub.waitOp(t, "subscribe to line 2", func(o clientOp) bool { return o.Op == "subscribe" && slices.Equal(o.Lines, []int64{2}) })
		if v := eval(t, `document.querySelector('tr[data-event="12"] select').value`); v != "F02" {
			t.Errorf("coded event shows reason %v, want F02", v)
		}
		eval(t, `(() => { const s = document.querySelector('tr[data-event="11"] select'); s.value = 'F01'; s.dispatchEvent(new Event('change', {bubbles: true})); })()`)
		waitJS(t, "saved", `document.querySelector('tr[data-event="11"]').textContent.includes('Saved')`)
		// The comment goes with the reason.
		eval(t, `(() => { const c = document.querySelector('tr[data-event="11"] input.lp-comment'); c.value = 'belt torn'; c.dispatchEvent(new Event('input', {bubbles: true})); c.dispatchEvent(new Event('change', {bubbles: true})); })()`)
		waitJS(t, "comment saved", `document.querySelector('tr[data-event="11"] input.lp-comment').disabled === false && document.querySelector('tr[data-event="11"]').textContent.includes('Saved')`)
		testkit.CheckFor(t, 10*time.Second, 50*time.Millisecond, func() error {
			api.mu.Lock()
			reasons := slices.Clone(api.reasons)
			api.mu.Unlock()
			if !slices.Equal(reasons, []string{"2/11=F01", "2/11=F01#belt torn"}) {
				return fmt.Errorf("PUT reasons = %q, want [2/11=F01 2/11=F01#belt torn]", reasons)
			}
			return nil
		})
		// The reason choices show their path in the reason tree, a category's reasons after it.
		if got := eval(t, `[...document.querySelector('tr[data-event="11"] select').options].slice(1).map((o) => o.textContent.trim()).join(' | ')`); got != "F02 — Material shortage | M — Mechanical | F01 — Mechanical › Jam at the filler" {
			t.Errorf("reason choices = %q, want F02, then M with F01 under it", got)
		}
		// CSV export of the production shown: the page writes the buckets it draws, so the
		// file keeps the filters chosen (a shift); the API's production.csv lists every shift.
		dir := t.TempDir()
		c := chromedp.FromContext(ctx)
		if _, err := cdp.Call(ctx, c.Browser, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir}); err != nil {
			t.Fatalf("allow downloads: %v", err)
		}
		must(t, "export csv", chromedp.Click(chromedp.ID("export-csv")))
		csvPath := filepath.Join(dir, "line-2-production-24h.csv")
		var csv []byte
		testkit.CheckFor(t, 30*time.Second, 50*time.Millisecond, func() error {
			var err error
			csv, err = os.ReadFile(csvPath)
			return testkit.Unless(err == nil && len(csv) > 0, "no CSV download: %v", err)
		})
		rows := strings.Split(strings.TrimSpace(string(csv)), "\r\n")
		if len(rows) < 24 || rows[0] != "start,end,label,total,good,reject" || strings.Count(rows[1], ",") != 5 {
			t.Errorf("CSV export: %d rows, head %q", len(rows), rows[:min(2, len(rows))])
		}
		// The filter panel: the tenant's default area, choices kept in the URL.
		waitJS(t, "filter defaults", `document.querySelector('#filters select[name=area]').value === '21' && document.querySelector('#filters select[name=range]').value === '24h'`)
		eval(t, `(() => { const s = document.querySelector('#filters select[name=product]'); s.value = '2'; s.dispatchEvent(new Event('change', {bubbles: true})); })()`)
		waitJS(t, "product in the URL", `new URLSearchParams(location.search).get('product') === '2' && new URLSearchParams(location.search).get('area') === '21'`)
		// Incidents: known solutions under the stop coded F02; report one from stop 11, solve it.
		waitJS(t, "known solution", `document.querySelector('tr[data-event="12"]').parentElement.querySelector('tr.lp-known').textContent.includes('Refill the cap hopper')`)
		must(t, "report", chromedp.Click(chromedp.CSS(`tr[data-event="11"] .lp-report`)))
		eval(t, `(() => { const f = document.querySelector('tr[data-event="11"]').parentElement; const d = f.querySelector('[name=incident-description]'); d.value = 'Bottle stuck in the star wheel'; d.dispatchEvent(new Event('input', {bubbles: true})); f.querySelector('.lp-send-report').click(); })()`)
		waitJS(t, "open incident listed", `document.querySelectorAll('.lp-incident').length === 1 && document.querySelector('.lp-incident').textContent.includes('Bottle stuck in the star wheel') && document.querySelector('.lp-incident').textContent.includes('F01')`)
		eval(t, `(() => { const s = document.querySelector('.lp-incident [name=incident-solution]'); s.value = 'Realign the guide'; s.dispatchEvent(new Event('input', {bubbles: true})); document.querySelector('.lp-incident .lp-solve').click(); })()`)
		waitJS(t, "solved", `document.querySelectorAll('.lp-incident').length === 0 && document.querySelector('tr[data-event="11"]').parentElement.querySelector('tr.lp-known').textContent.includes('Realign the guide')`)
		api.mu.Lock()
		last := api.incidents[len(api.incidents)-1]
		api.mu.Unlock()
		if last["downtime_event_id"] != float64(11) || last["failure_id"] != float64(1) || last["has_solution"] != true || last["resolved_at"] == nil || last["line_id"] != float64(2) {
			t.Errorf("incident saved as %v", last)
		}
		shot(t, "linepulse-line.png")

		must(t, "7 days", chromedp.Click(chromedp.CSS(`button[data-range="7d"]`)))
		waitJS(t, "7-day totals", `document.querySelector('#production-chart') && document.body.textContent.includes('last 7 days, per day')`)
		waitJS(t, "range in the panel and the URL", `document.querySelector('#filters select[name=range]').value === '7d' && new URLSearchParams(location.search).get('range') === '7d'`)
		eval(t, `location.reload()`)
		waitJS(t, "filters survive a reload", `document.querySelector('#filters select[name=range]').value === '7d' && document.querySelector('#filters select[name=product]').value === '2' && document.body.textContent.includes('last 7 days, per day')`)
		testkit.CheckFor(t, 30*time.Second, 50*time.Millisecond, func() error {
			api.mu.Lock()
			defer api.mu.Unlock()
			last := api.intervals[len(api.intervals)-1]
			return testkit.Unless(last == "day", "last production request per %s, want day", last)
		})
		api.mu.Lock()
		if got := api.intervals[len(api.intervals)-1]; got != "day" {
			t.Errorf("7-day view asked for interval %q, want day", got)
		}
		if got := api.lossSpans[len(api.lossSpans)-1]; got != 7*24*time.Hour {
			t.Errorf("7-day view asked for the loss waterfall of %v, want 168h", got)
		}
		api.mu.Unlock()
		noProblems(t, "line detail", mark)
		// Close the page: its live socket must not retry without cookies while the TV test signs out.
		must(t, "leave the line page", chromedp.Navigate("about:blank"))
	})

	t.Run("plant pareto", func(t *testing.T) {
		mark := logs.mark()
		must(t, "open losses", chromedp.Navigate(srv.URL+"/losses"))
		waitJS(t, "pareto page", `document.querySelectorAll('tr.lp-pareto-row').length === 2 && document.querySelector('#pareto-chart').width > 100`)
		waitJS(t, "uncoded first", `document.querySelector('tr.lp-pareto-row').textContent.includes('Not coded') && document.querySelector('#pareto-uncoded').textContent.includes('81.6%')`)
		waitJS(t, "plant waterfall drawn", fmt.Sprintf(`document.querySelectorAll('#plant-waterfall > li').length === %d`, len(wantBars(stubWaterfall()))))
		checkWaterfall(t, "plant losses page", readWaterfall(t, ctx, "#plant-waterfall"), stubWaterfall(), "en", "Not coded")
		eval(t, `(() => { const s = document.querySelector('#pareto-group'); s.value = 'line'; s.dispatchEvent(new Event('change', {bubbles: true})); })()`)
		testkit.CheckFor(t, 10*time.Second, 50*time.Millisecond, func() error {
			api.mu.Lock()
			defer api.mu.Unlock()
			last := api.groups[len(api.groups)-1]
			return testkit.Unless(last == "line", "last Pareto request by %s, want line", last)
		})
		// A period without stops: no "0.0 % not coded" note.
		api.mu.Lock()
		api.noStops = true
		api.mu.Unlock()
		eval(t, `(() => { const s = document.querySelector('#pareto-group'); s.value = 'reason'; s.dispatchEvent(new Event('change', {bubbles: true})); })()`)
		waitJS(t, "no stops", `document.querySelectorAll('tr.lp-pareto-row').length === 0 && document.querySelector('#pareto-uncoded').textContent === ''`)
		api.mu.Lock()
		api.noStops = false
		api.mu.Unlock()
		noProblems(t, "plant pareto", mark)
	})

	t.Run("tv", func(t *testing.T) {
		mark := logs.mark()
		must(t, "sign out of the browser, size a TV",
			chromedp.Action[chromedp.Void](func(c context.Context, tg *chromedp.Target) (chromedp.Void, error) {
				_, err := cdp.Call(c, tg, network.ClearBrowserCookies, cdp.Empty{})
				return chromedp.Void{}, err
			}),
			chromedp.EmulateViewport(1920, 1080),
		)
		must(t, "open tv", chromedp.Navigate(fmt.Sprintf("%s/tv?kiosk=%s&lines=1,2", srv.URL, stubKiosk)))
		op := hub.waitOp(t, "kiosk subscribe", func(o clientOp) bool { return o.Op == "subscribe" && o.Kiosk })
		if !slices.Equal(op.Lines, []int64{1, 2}) {
			t.Errorf("TV subscribed to %v, want [1 2]", op.Lines)
		}
		waitJS(t, "tv tiles", `document.querySelectorAll('section.lp-tile').length === 2 &&
			document.querySelector('section.lp-tile[data-line="1"] .lp-oee').textContent.trim() === '73.4%'`)
		if got := text(t, `section.lp-tile[data-line="2"] .lp-name`); got != "Packaging" {
			t.Errorf("TV tile 2 name = %q", got)
		}
		waitJS(t, "tv target vs actual", `document.querySelector('section.lp-tile[data-line="1"] .lp-plan').textContent.includes('5,101 / 6,000')`)
		hub.mu.Lock()
		hub.oee[2] = 0.5
		hub.mu.Unlock()
		hub.push(hub.kpi("kpi", 2))
		waitJS(t, "tv kpi update", `document.querySelector('section.lp-tile[data-line="2"] .lp-oee').textContent.trim() === '50.0%'`)
		// Readable from 5 m: on a 1080p TV the OEE figure is several centimetres high.
		size := func(sel string) float64 {
			v, _ := eval(t, fmt.Sprintf(`parseFloat(getComputedStyle(document.querySelector(%q)).fontSize)`, sel)).(float64)
			return v
		}
		if s := size(`section.lp-tile .lp-oee`); s < 150 {
			t.Errorf("TV OEE font %.0f px, want >= 150 px", s)
		}
		if s := size(`section.lp-tile .lp-good`); s < 48 {
			t.Errorf("TV count font %.0f px, want >= 48 px", s)
		}
		if s := size(`section.lp-tile .lp-name`); s < 48 {
			t.Errorf("TV name font %.0f px, want >= 48 px", s)
		}
		if v := eval(t, `document.documentElement.scrollHeight <= window.innerHeight + 1`); v != true {
			t.Error("the TV view scrolls: it must fit the screen")
		}
		hub.push(hub.downtime(1, "started", time.Now().Add(-4*time.Minute)))
		must(t, "tv downtime banner", chromedp.WaitVisible(chromedp.CSS(`#downtime-banner [data-alert-line="1"]`)))
		waitJS(t, "tv tile down", `document.querySelector('section.lp-tile[data-line="1"] .lp-state').textContent.trim() === 'Down'`)
		if v := eval(t, `document.documentElement.scrollHeight <= window.innerHeight + 1`); v != true {
			t.Error("the TV view scrolls with a downtime banner: it must fit the screen")
		}
		shot(t, "linepulse-tv.png")

		// The kiosk token is revoked: the TV says so and does not hammer the hub.
		hub.closeAll(hubpkg.CloseRevoked)
		waitJS(t, "tv revoked", `document.querySelector('.lp-status').textContent.includes('Access revoked')`)
		time.Sleep(1500 * time.Millisecond) // longer than the first reconnect delay
		hub.mu.Lock()
		open := len(hub.conns)
		hub.mu.Unlock()
		if open != 0 {
			t.Errorf("the TV reconnected after its kiosk token was revoked (%d connections)", open)
		}
		noProblems(t, "tv", mark)
	})

	// Stale is never shown as live: while updates flow (one a second) no tile is stale;
	// with the server stopped under the open TV, every tile turns stale within 15 s and
	// says how old its figures are.
	t.Run("tv stale", func(t *testing.T) {
		must(t, "open tv", chromedp.Navigate(fmt.Sprintf("%s/tv?kiosk=%s&lines=1,2", srv.URL, stubKiosk)))
		hub.waitOp(t, "kiosk subscribe", func(o clientOp) bool { return o.Op == "subscribe" && o.Kiosk })
		waitJS(t, "tv tiles", `document.querySelectorAll('section.lp-tile').length === 2`)
		stop := make(chan struct{})
		pushed := make(chan struct{})
		go func() {
			defer close(pushed)
			tick := time.NewTicker(time.Second)
			defer tick.Stop()
			for {
				hub.push(hub.kpi("kpi", 1))
				hub.push(hub.kpi("kpi", 2))
				select {
				case <-stop:
					return
				case <-tick.C:
				}
			}
		}()
		const stale = `document.querySelectorAll('section.lp-tile .lp-stale').length`
		live := time.Now()
		for time.Since(live) < 11*time.Second { // longer than the stale age (9 s)
			if n, _ := eval(t, stale).(float64); n != 0 {
				t.Fatalf("%v tiles stale while updates flow", n)
			}
			time.Sleep(100 * time.Millisecond)
		}
		close(stop)
		<-pushed
		stopped := time.Now()
		srv.CloseClientConnections()
		srv.Close()
		waitJS(t, "every tile stale", `document.querySelectorAll('section.lp-tile .lp-stale').length === 2 &&
			Array.from(document.querySelectorAll('section.lp-tile .lp-stale-text')).every((e) => /last update \d+ s ago/.test(e.textContent))`)
		if d := time.Since(stopped); d > 15*time.Second {
			t.Errorf("tiles turned stale %v after the server stopped, want within 15 s", d)
		} else {
			t.Logf("every tile stale %v after the server stopped", d.Round(100*time.Millisecond))
		}
		shot(t, "linepulse-tv-stale.png")
	})
}
