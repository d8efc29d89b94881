package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/linepulse/linepulse/internal/testkit"
	"github.com/linepulse/linepulse/store"
)

// driver drives one browser tab against a real serve, the way a person uses the UI.
type driver struct {
	t    *testing.T
	ctx  context.Context
	base string
	// shots is where screenshots go (not committed); see screenshotDir.
	shots string

	mu      sync.Mutex
	console []string // errors and warnings of the browser's console
}

// listen collects the console's errors, warnings and uncaught exceptions.
func (d *driver) listen() {
	console := chromedp.Console(d.ctx)
	go func() {
		for m, err := range console {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleWarning || m.IsException() {
				// A plant without a floor plan answers its GET with 404 (docs/CONTRACT.md);
				// the map asks once per page and draws the areas alone.
				if strings.HasSuffix(m.URL, "/api/v1/floorplan") && strings.Contains(m.Text, "404") {
					continue
				}
				d.mu.Lock()
				d.console = append(d.console, m.String()+" "+m.URL)
				d.mu.Unlock()
			}
		}
	}()
}

func (d *driver) consoleLines() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.console)
}

func (d *driver) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(d.ctx, 90*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		d.fail(what, err)
	}
}

// eval runs an (async) expression in the page and decodes its JSON-able result into out.
func (d *driver) eval(what, js string, out any) {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(d.ctx, 90*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[json.RawMessage](js, chromedp.EvalAwaitPromise))
	if err != nil {
		d.fail(what, err)
	}
	if out != nil {
		if err := json.Unmarshal(v, out); err != nil {
			d.t.Fatalf("%s: %v (%s)", what, err, v)
		}
	}
}

// fail ends the test with what the page showed: its address, text and a screenshot.
func (d *driver) fail(what string, err error) {
	d.t.Helper()
	loc, _ := chromedp.Run(d.ctx, chromedp.Location())
	text, _ := chromedp.Run(d.ctx, chromedp.Evaluate[string](`document.body.innerText`))
	if b, err := chromedp.Run(d.ctx, chromedp.FullScreenshot(100)); err == nil {
		os.WriteFile(filepath.Join(d.shots, "failure.png"), b, 0o644)
	}
	d.t.Fatalf("%s: %v\nat %s, showing:\n%.3000s\nconsole: %q", what, err, loc, text, d.consoleLines())
}

func (d *driver) open(path string) {
	d.t.Helper()
	d.do("open "+path, chromedp.Navigate(d.base+path), chromedp.WaitReady(chromedp.CSS(`body`)))
}

// until polls a boolean page expression.
func (d *driver) until(what, js string) {
	d.t.Helper()
	testkit.CheckFor(pageTB{d.t, d}, time.Minute, 100*time.Millisecond, func() error {
		v, err := chromedp.Run(d.ctx, chromedp.Evaluate[bool](js))
		return testkit.Unless(err == nil && v, "%s (%v)", what, err)
	})
}

// pageTB reports a failure with what the page showed.
type pageTB struct {
	testing.TB
	d *driver
}

func (p pageTB) Fatalf(format string, args ...any) {
	p.TB.Helper()
	p.d.fail(fmt.Sprintf(format, args...), errors.New("gave up"))
}

func (d *driver) signOut() {
	d.t.Helper()
	d.do("sign out", chromedp.Action[chromedp.Void](func(c context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(c, tg, network.ClearBrowserCookies, cdp.Empty{})
		return chromedp.Void{}, err
	}))
}

func (d *driver) signIn(tenant, email, password string) {
	d.t.Helper()
	d.signOut()
	d.open("/login")
	d.do("the sign-in form", chromedp.WaitVisible(chromedp.CSS(`input[name=tenant]`)))
	// The form may remember the last plant: clear each field before typing.
	for name, v := range map[string]string{"tenant": tenant, "email": email, "password": password} {
		sel := chromedp.CSS(`input[name=` + name + `]`)
		d.eval("clear "+name, `(() => { const e = document.querySelector('input[name=`+name+`]'); e.value = ''; e.dispatchEvent(new Event('input')); return true; })()`, nil)
		d.do("type "+name, chromedp.SendKeys(sel, v))
	}
	d.do("sign in as "+email, chromedp.Click(chromedp.CSS(`#login button[type=submit]`)))
	d.until("signed in as "+email, `location.pathname !== '/login' && document.readyState === 'complete' && !!document.querySelector('nav')`)
}

// fillAndSave is the person at a setup screen's form: it opens the create form (or the
// screen's single form), fills each field as a user would (typing, choosing options by
// their label, ticking boxes), saves, and reports the field errors shown next to fields
// and the values shown once (credentials).
const fillAndSave = `(async (create, fields) => {
  const tick = () => new Promise((r) => setTimeout(r, 50));
  const visible = (el) => !!el && el.offsetParent !== null;
  const waitFor = async (fn, what) => { for (let i = 0; i < 600; i++) { const v = fn(); if (v) return v; await tick(); } throw new Error('timeout: ' + what); };
  const fire = (el) => { el.dispatchEvent(new Event('input', { bubbles: true })); el.dispatchEvent(new Event('change', { bubbles: true })); };
  const screen = await waitFor(() => document.querySelector('#screen'), 'the screen');
  await waitFor(() => window.Alpine && Alpine.$data(screen).loading === false, 'the screen loaded');
  if (create) (await waitFor(() => document.querySelector('#setup-new'), 'new button')).click();
  await waitFor(() => visible(document.querySelector('#setup-save')), 'form');
  for (const [name, v] of Object.entries(fields)) {
    const box = await waitFor(() => document.querySelector('[data-field="' + name + '"]'), 'field ' + name);
    if (name === 'breaks') {
      for (const [i, [s, e]] of v.entries()) {
        box.querySelector('.lp-add-break').click();
        const row = await waitFor(() => box.querySelectorAll('.lp-break')[i], 'break row');
        const [a, b] = row.querySelectorAll('input');
        a.value = s; fire(a); b.value = e; fire(b);
      }
    } else if (v === '*days') {
      for (const cb of box.querySelectorAll('input[type=checkbox][value]')) if (!cb.checked) cb.click();
    } else if (Array.isArray(v)) {
      for (const label of v) {
        const l = await waitFor(() => [...box.querySelectorAll('label')].find((l) => l.textContent.trim() === label), 'choice ' + label);
        const cb = l.querySelector('input'); if (!cb.checked) cb.click();
      }
    } else if (typeof v === 'boolean') {
      const cb = box.querySelector('input[type=checkbox]'); if (cb.checked !== v) cb.click();
    } else if (box.querySelector('select')) {
      const sel = box.querySelector('select');
      const o = await waitFor(() => [...sel.options].find((o) => o.textContent.trim() === v || o.value === v), 'option ' + v + ' of ' + name);
      sel.value = o.value; fire(sel);
    } else {
      const el = box.querySelector('input, textarea'); el.value = v; fire(el);
    }
  }
  await tick();
  document.querySelector('#setup-save').click();
  await waitFor(() => !document.querySelector('#setup-save').disabled, 'saved');
  const done = () => [...document.querySelectorAll('.lp-field-error, .lp-form-error, .lp-notice')].some(visible) ||
    visible(document.querySelector('.lp-secret')) || !visible(document.querySelector('#setup-save'));
  await waitFor(done, 'an outcome');
  const errors = {};
  for (const e of document.querySelectorAll('.lp-field-error')) if (visible(e)) errors[e.closest('[data-field]').dataset.field] = e.textContent;
  for (const e of document.querySelectorAll('.lp-form-error')) if (visible(e)) errors._form = e.textContent;
  const secret = {};
  for (const e of document.querySelectorAll('.lp-secret-value')) if (visible(e)) secret[e.dataset.path] = e.getAttribute('href') || e.textContent;
  return { errors, secret };
})`

type saved struct {
	Errors map[string]string `json:"errors"`
	Secret map[string]string `json:"secret"`
}

// create adds one object on a setup screen through its form; it fails on any error shown.
func (d *driver) create(slug string, fields map[string]any) saved {
	d.t.Helper()
	s := d.submit(slug, true, fields)
	if len(s.Errors) > 0 {
		d.t.Fatalf("create on /setup/%s %v: errors shown %v", slug, fields, s.Errors)
	}
	return s
}

func (d *driver) submit(slug string, create bool, fields map[string]any) saved {
	d.t.Helper()
	d.open("/setup/" + slug)
	b, _ := json.Marshal(fields)
	var s saved
	d.eval("fill /setup/"+slug, fmt.Sprintf("%s(%v, %s)", fillAndSave, create, b), &s)
	return s
}

// choose picks a value of a select in the open form, as a person would.
func (d *driver) choose(field, value string) {
	d.t.Helper()
	d.eval("choose "+value+" for "+field, fmt.Sprintf(`(() => { const e = document.querySelector('#screen [data-field=%s] select'); e.value = %s;
	  e.dispatchEvent(new Event('change', { bubbles: true })); return true; })()`, jsString(field), jsString(value)), nil)
}

// fetchJSON reads an API path with the browser's session.
func (d *driver) fetchJSON(path string, out any) {
	d.t.Helper()
	d.eval("GET "+path, `fetch(`+jsString(path)+`).then((r) => r.json())`, out)
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// idsByName lists an API collection as name -> id.
func (d *driver) idsByName(path string) map[string]int64 {
	var page struct {
		Items []struct {
			ID   int64  `json:"id"`
			Name string `json:"name"`
		} `json:"items"`
	}
	d.fetchJSON(path, &page)
	out := map[string]int64{}
	for _, it := range page.Items {
		out[it.Name] = it.ID
	}
	return out
}

// screenshotDir is where the run's screenshots go: $LINEPULSE_SCREENSHOTS, else a
// directory under the system's temporary directory (never the repository).
func screenshotDir(t *testing.T) string {
	dir := os.Getenv("LINEPULSE_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "linepulse-screens")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

var viewports = []struct {
	name          string
	width, height int64
}{{"desktop", 1600, 1000}, {"phone", 390, 844}}

// shoot screenshots the open page at both sizes and fails if it scrolls sideways on a
// phone. ready is a page expression true once the page shows its data.
func (d *driver) shoot(name, ready string) {
	d.t.Helper()
	for _, vp := range viewports {
		d.do("viewport", chromedp.EmulateViewport(vp.width, vp.height))
		if ready != "" {
			d.until(name+" ready", ready)
		}
		var over struct {
			Width  int      `json:"width"`
			Inner  int      `json:"inner"`
			Widest []string `json:"widest"`
		}
		d.eval("overflow of "+name, `(async () => { await new Promise((r) => setTimeout(r, 80));
		  const inner = window.innerWidth, width = document.documentElement.scrollWidth;
		  const widest = [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > inner + 1 && e.offsetParent !== null)
		    .slice(0, 5).map((e) => e.tagName.toLowerCase() + '.' + [...e.classList].slice(0, 4).join('.'));
		  return { width, inner, widest }; })()`, &over)
		if vp.name == "phone" && over.Width > over.Inner+1 {
			d.t.Errorf("%s overflows sideways at %d px: %d px wide (%v)", name, over.Inner, over.Width, over.Widest)
		}
		b, err := chromedp.Run(d.ctx, chromedp.FullScreenshot(100))
		if err != nil {
			d.t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(d.shots, fmt.Sprintf("%s-%s.png", name, vp.name)), b, 0o644); err != nil {
			d.t.Fatal(err)
		}
	}
	d.do("viewport", chromedp.EmulateViewport(1600, 1000))
}

// englishLeftovers returns the English catalogue texts (those the Spanish catalogue says
// differently, of two words or more) found in the page's visible text.
func (d *driver) englishLeftovers(english []string) []string {
	var text string
	d.eval("page text", `document.body.innerText`, &text)
	var out []string
	for _, e := range english {
		if strings.Contains(text, e) {
			out = append(out, e)
		}
	}
	return out
}

// englishOnly reads the UI catalogues and returns the English texts whose Spanish text
// differs, of at least two words, without placeholders: if one shows on a Spanish page, a
// string escaped translation.
func englishOnly(t *testing.T) []string {
	dir := filepath.Join("..", "..", "web", "ui", "i18n")
	read := func(lang string) map[string]string {
		out := map[string]string{}
		files, _ := filepath.Glob(filepath.Join(dir, lang, "*.json"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]string
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			for k, v := range m {
				out[k] = v
			}
		}
		return out
	}
	en, es := read("en"), read("es")
	if len(en) == 0 {
		t.Fatal("no English catalogue")
	}
	var out []string
	for k, v := range en {
		if v != es[k] && !strings.Contains(v, "{") && len(strings.Fields(v)) >= 2 {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return out
}

// publish sends detections of a line as its device would: NATS with the credentials the
// device screen showed once, JetStream acknowledgements on the device's inbox prefix.
func publish(t *testing.T, url, user, password, inbox, subject string, from int, n int, area, product int64) {
	t.Helper()
	nc, err := nats.Connect(url, nats.UserInfo(user, password), nats.CustomInboxPrefix(inbox))
	if err != nil {
		t.Fatalf("device connect: %v", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	now := time.Now().UTC()
	for i := range n {
		at := now.Add(time.Duration(i-n) * 500 * time.Millisecond).Format("2006-01-02T15:04:05.000Z")
		body := fmt.Sprintf(`{"id":%d,"at":%q,"area":%d,"product":%d,"ok":%v}`, from+i, at, area, product, i%10 != 9)
		if _, err := js.Publish(ctx, subject, []byte(body), jetstream.WithMsgID(fmt.Sprintf("%s-%d", subject, from+i))); err != nil {
			t.Fatalf("publish %s: %v", subject, err)
		}
	}
}

// sumOf is a page expression adding up the numbers shown by the elements of sel.
func sumOf(sel string) string {
	return `Array.from(document.querySelectorAll('` + sel + `')).reduce((s, e) => s + (parseInt(e.textContent.replace(/[^0-9]/g, '')) || 0), 0)`
}

// mapShows is a page expression true once the plant map draws every area of areas
// (name -> id), none covering another, coloured by a live state of its line (running or
// down), and the areas of counts show that many detections in their label.
func mapShows(areas map[string]int64, counts map[string]int) string {
	a, _ := json.Marshal(areas)
	c, _ := json.Marshal(counts)
	return `((areas, counts) => {
	  const boxes = [...document.querySelectorAll('[data-widget=plant_map] .lp-area')].map((e) => e.getBoundingClientRect());
	  const overlap = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
	  if (boxes.some((a, i) => boxes.some((b, j) => i < j && overlap(a, b)))) return false;
	  return Object.entries(areas).every(([name, id]) => {
	  const e = document.querySelector('[data-widget=plant_map] .lp-area[data-area="' + id + '"]');
	  if (!e || e.offsetParent === null || e.textContent.trim() !== name) return false;
	  const bg = e.style.backgroundColor;
	  if (!bg.includes('5, 150, 105') && !bg.includes('220, 38, 38')) return false;
	  return !counts || !(name in counts) || e.title.split(' · ').includes(String(counts[name]));
	}); })(` + string(a) + `, ` + string(c) + `)`
}

var slugRe = regexp.MustCompile(`data-screen="([a-z-]+)"`)

// TestAcceptancePlantThroughTheUI is the acceptance script against a real serve: a
// tenant admin sets up a whole plant through the setup screens only, a device publishes
// with the credentials the UI showed once, and the numbers arrive live on the dashboard,
// the plant map (its areas coloured by their line's state, an area opening its line) and
// the TV; the report schedules entered in the forms are what the API holds. Then the roles (an operator sees only the screens it may use, a viewer
// changes nothing), Spanish throughout, and screenshots of every page at desktop and
// phone sizes, none scrolling sideways on the phone.
func TestAcceptancePlantThroughTheUI(t *testing.T) {
	chromium := needBrowser(t)
	natsAddr := freeAddr(t)
	dir, base := startServe(t, "--nats-listen", natsAddr, "--nats-public-url", "nats://"+natsAddr)
	db := []string{"--data-dir", dir, "--log-level", "error"}
	cli := func(stdin string, args ...string) string {
		t.Helper()
		code, out, stderr := runCLI(t, stdin, append(args, db...)...)
		if code != 0 {
			t.Fatalf("%v: %s", args, stderr)
		}
		return out
	}
	// Bootstrapping only: the tenant and its first admin (and a platform admin).
	cli("", "tenant", "create", "--slug", "acme", "--name", "Acme", "--timezone", "Europe/Madrid")
	cli("admin-password-1\n", "user", "create", "--tenant", "acme", "--email", "admin@acme.test", "--role", "tenant_admin", "--password-stdin")
	cli("root-password-1\n", "user", "create", "--email", "root@platform.test", "--role", "platform_admin", "--password-stdin")

	d := &driver{t: t, ctx: browser(t, chromium), base: base, shots: screenshotDir(t)}
	d.listen()
	t.Logf("screenshots in %s", d.shots)
	d.signOut()
	d.open("/login")
	d.shoot("login", `!!document.querySelector('#login')`)
	d.signIn("acme", "admin@acme.test", "admin-password-1")

	// A validation error is shown next to its field.
	if s := d.submit("lines", true, map[string]any{"name": "", "availability": "150"}); s.Errors["name"] == "" && s.Errors["availability"] == "" {
		t.Fatalf("an invalid line shows no field error: %+v", s)
	}

	// So does each of a report schedule's (the API's messages through the catalogue).
	bad := d.submit("report-schedules", true, map[string]any{"name": "Mal", "kind": "daily", "hour": "25", "recipients": "jefe@"})
	if bad.Errors["hour"] != "must be between 0 and 23" || bad.Errors["recipients"] != "must be e-mail addresses" {
		t.Fatalf("an invalid report schedule shows %+v", bad.Errors)
	}

	// The reason tree, built in the failures form: a category, a reason under it, a third
	// level under that; a fourth is refused with the API's message next to the parent field,
	// on the same page (the parent choices include what was just saved).
	d.create("failures", map[string]any{"code": "MECH", "name": "Mecánico", "kind": "unplanned"})
	d.create("failures", map[string]any{"code": "MEC", "name": "Atasco", "kind": "unplanned", "parent_id": "Mecánico"})
	d.create("failures", map[string]any{"code": "MEC-TAP", "name": "Atasco de tapones", "parent_id": "Atasco"})
	var deep saved
	d.eval("a fourth level", fillAndSave+`(true, {"code": "MEC-TAP-1", "name": "Tapón torcido", "parent_id": "Atasco de tapones"})`, &deep)
	if deep.Errors["parent_id"] != "the reason tree is at most 3 levels deep" {
		t.Errorf("a fourth level of reasons shows %+v, want the depth error at the parent", deep.Errors)
	}
	var failures struct {
		Items []store.Failure `json:"items"`
	}
	d.fetchJSON("/api/v1/failures", &failures)
	parents := map[string]string{}
	codes := map[int64]string{}
	for _, f := range failures.Items {
		codes[f.ID] = f.Code
	}
	for _, f := range failures.Items {
		parents[f.Code] = codes[f.ParentID]
	}
	if want := map[string]string{"MECH": "", "MEC": "MECH", "MEC-TAP": "MEC"}; !reflect.DeepEqual(parents, want) {
		t.Errorf("the failures' parents as the API sees them: %v, want %v", parents, want)
	}
	d.open("/setup/failures")
	d.until("the failures list shows each parent", `(() => { const rows = [...document.querySelectorAll('#screen tr.lp-row')].map((r) => [...r.querySelectorAll('td')].slice(0, 3).map((c) => c.innerText.trim()).join('/'));
	  return ['MECH/Mecánico/—', 'MEC/Atasco/Mecánico', 'MEC-TAP/Atasco de tapones/Atasco'].every((s) => rows.includes(s)); })()`)

	quiet := len(d.consoleLines()) // the refused line, schedule and reason above logged their 400

	// The plant, screen by screen.
	for _, l := range []string{"Llenado 1", "Envasado 2"} {
		d.create("lines", map[string]any{"name": l, "downtime_threshold_ms": "30", "ideal_cycle_time_ms": "0.2"})
	}
	for _, a := range []struct {
		line, name, x1, y1, x2, y2 string
	}{{"Llenado 1", "Entrada", "5", "10", "30", "40"}, {"Llenado 1", "Llenadora", "40", "10", "70", "40"}, {"Envasado 2", "Encajadora", "5", "50", "30", "80"}} {
		d.create("areas", map[string]any{"line_id": a.line, "name": a.name, "coord_x1": a.x1, "coord_y1": a.y1, "coord_x2": a.x2, "coord_y2": a.y2})
	}
	// A camera of the vision node, the area it watches, and the line pages' default range.
	d.create("cameras", map[string]any{"name": "cam-llenadora", "node": "nodo-1", "model": "IMX-500"})
	d.create("camera-areas", map[string]any{"camera_id": "cam-llenadora", "area_id": "Llenadora", "status": "Active"})
	d.create("filters", map[string]any{"name": "Semana", "filter_type": "Time range", "field": "at", "position": "1", "default_value": `"7d"`})
	d.create("products", map[string]any{"name": "Agua 0,5 L", "sku": "AGU-050", "product_weight": "0.52", "product_color": "#2563eb"})
	// Its own ideal cycle time, in seconds on the form (the line's, so the figures below hold).
	d.create("products", map[string]any{"name": "Zumo 1 L", "sku": "ZUM-100", "product_weight": "1.06", "product_color": "#f59e0b", "ideal_cycle_ms": "0.2"})
	loc, _ := time.LoadLocation("Europe/Madrid")
	start := time.Now().In(loc).Add(-time.Hour).Truncate(time.Hour)
	hhmm := func(t time.Time) string { return t.Format("15:04") }
	d.create("shifts", map[string]any{"name": "Turno A", "start_time": hhmm(start), "end_time": hhmm(start.Add(8 * time.Hour)),
		"days_implemented": "*days", "breaks": [][2]string{{hhmm(start.Add(4 * time.Hour)), hhmm(start.Add(4*time.Hour + 15*time.Minute))}}})
	d.until("the calendar shows the shift", `document.querySelectorAll('#shift-calendar .lp-calshift').length >= 14 && document.querySelectorAll('#shift-calendar .lp-calbreak').length >= 14`)
	// The calendar from another date, in a DST zone: the day the clocks go back is 25 hours long.
	d.eval("calendar from 2026-10-20", `(() => { const e = document.querySelector('#shiftcal-from'); e.value = '2026-10-20';
	  e.dispatchEvent(new Event('input')); e.dispatchEvent(new Event('change')); return true; })()`, nil)
	d.until("the day the clocks go back is 25 hours long", `(() => { const r = document.querySelector('#shift-calendar .lp-calday[data-date="2026-10-25"]');
	  return !!r && r.dataset.minutes === '1500' && r.querySelector('.lp-dst').offsetParent !== null && r.querySelectorAll('.lp-calshift').length > 0; })()`)
	d.shoot("shifts-dst", "")
	// The first row shows the tail of the previous evening's shift when it runs past midnight.
	onFirstRow := 1
	if start.Hour()+8 > 24 {
		onFirstRow = 2
	}
	d.until(fmt.Sprintf("the first row shows %d shift segment(s)", onFirstRow),
		fmt.Sprintf(`document.querySelectorAll('#shift-calendar .lp-calday[data-date="2026-10-20"] .lp-calshift').length === %d`, onFirstRow))
	// A production target for Turno A on Llenado 1: the tile shows good units against it.
	d.create("targets", map[string]any{"line_id": "Llenado 1", "shift_id": "Turno A", "quantity": "4000"})
	// Scheduled report mail: the e-mail channel it is sent through, a shift report of one
	// line to two people and the plant's daily report at 7 in Spanish.
	// The channel's form asks for what its kind uses: a URL for a webhook, a server for e-mail.
	const shownField = `((n) => document.querySelector('#screen [data-field="' + n + '"]').offsetParent !== null)`
	d.open("/setup/notification-channels")
	d.do("new channel", chromedp.WaitVisible(chromedp.ID("setup-new")), chromedp.Click(chromedp.ID("setup-new")))
	d.until("a new webhook asks for a URL, not a server", shownField+`('config.url') && !`+shownField+`('config.host')`)
	d.choose("kind", "email")
	d.until("an e-mail channel asks for a server, not a URL", shownField+`('config.host') && `+shownField+`('config.to') && !`+shownField+`('config.url')`)
	d.create("notification-channels", map[string]any{"name": "Correo planta", "kind": "E-mail", "config.host": "smtp.acme.test",
		"config.port": "2525", "config.tls": "none", "config.from": "linepulse@acme.test", "config.to": "jefe@acme.test"})
	// A webhook channel too: a report is mailed, so the schedule's form does not offer it.
	d.create("notification-channels", map[string]any{"name": "Gancho MES", "kind": "webhook", "config.url": "https://mes.acme.test/hook"})
	d.create("report-schedules", map[string]any{"name": "Fin de turno llenado", "kind": "Shift report at each shift end", "lines": []string{"Llenado 1"},
		"recipients": "jefe@acme.test,\n calidad@acme.test ", "channel_id": "Correo planta"}) // typed as a list
	d.create("report-schedules", map[string]any{"name": "Diario planta", "kind": "Plant daily report", "hour": "7", "language": "Español",
		"recipients": "direccion@acme.test", "channel_id": "Correo planta"})
	d.open("/setup/report-schedules")
	d.shoot("report-schedules", `document.querySelectorAll('#screen tr.lp-row').length === 2`)
	// Each kind shows what applies to it: a shift report its lines, a daily report its hour.
	var cells [][]string
	d.eval("the schedules list", `[...document.querySelectorAll('#screen tr.lp-row')].map((r) => [...r.querySelectorAll('td')].slice(0, 5).map((c) => c.innerText.trim()))`, &cells)
	if want := [][]string{{"Fin de turno llenado", "Shift report at each shift end", "jefe@acme.test, calidad@acme.test", "Llenado 1", "—"},
		{"Diario planta", "Plant daily report", "direccion@acme.test", "—", "7"}}; !reflect.DeepEqual(cells, want) {
		t.Errorf("the schedules list shows %q, want %q", cells, want)
	}
	d.do("new schedule", chromedp.Click(chromedp.ID("setup-new")))
	d.until("a new shift report asks for lines, not an hour", shownField+`('lines') && !`+shownField+`('hour')`)
	d.choose("kind", "daily")
	d.until("a daily report asks for an hour, not lines", shownField+`('hour') && !`+shownField+`('lines')`)
	d.choose("kind", "weekly")
	d.until("a weekly report asks for an hour, not lines", shownField+`('hour') && !`+shownField+`('lines')`)
	var channels []string
	d.eval("the schedule's channel choices", `[...document.querySelectorAll('#screen [data-field="channel_id"] option')].map((o) => o.textContent.trim()).filter((s) => s)`, &channels)
	if !reflect.DeepEqual(channels, []string{"Correo planta"}) {
		t.Errorf("a schedule's channel choices are %q, want only the e-mail channel", channels)
	}
	d.create("users", map[string]any{"email": "op@acme.test", "name": "Olga", "role": "operator", "password": "operator-password-1"})
	d.create("users", map[string]any{"email": "viewer@acme.test", "name": "Victor", "role": "viewer", "password": "viewer-password-1"})
	const secretShown = `[...document.querySelectorAll('.lp-secret')].some((e) => e.offsetParent !== null)`
	dev := d.create("devices", map[string]any{"name": "cam-1", "lines": []string{"Llenado 1", "Envasado 2"}})
	d.shoot("devices-credentials", secretShown)
	kiosk := d.create("kiosks", map[string]any{"name": "Pantalla nave", "lines": []string{"Llenado 1", "Envasado 2"}})
	d.shoot("kiosks-tv-url", secretShown)
	for _, slug := range []string{"shifts", "users", "lines"} {
		d.open("/setup/" + slug)
		d.do("new "+slug, chromedp.WaitVisible(chromedp.ID("setup-new")), chromedp.Click(chromedp.ID("setup-new")))
		d.shoot("form-"+slug, `document.querySelector('#setup-save').offsetParent !== null`)
	}
	for _, k := range []string{"credentials.user", "credentials.password", "credentials.url", "credentials.inbox_prefix"} {
		if dev.Secret[k] == "" {
			t.Fatalf("the device screen did not show %s once: %+v", k, dev.Secret)
		}
	}
	tvURL := kiosk.Secret["tv_url"]
	if !strings.Contains(tvURL, "/tv?kiosk=") {
		t.Fatalf("the kiosk screen shows no TV URL: %+v", kiosk.Secret)
	}

	// Detections from the device, seen live.
	lines, areas, products := d.idsByName("/api/v1/lines"), d.idsByName("/api/v1/areas"), d.idsByName("/api/v1/products")
	if len(lines) != 2 || len(areas) != 3 || len(products) != 2 {
		t.Fatalf("plant as the API sees it: %v %v %v", lines, areas, products)
	}
	var zumo struct {
		IdealCycleMS int64 `json:"ideal_cycle_ms"`
	}
	d.fetchJSON(fmt.Sprintf("/api/v1/products/%d", products["Zumo 1 L"]), &zumo)
	if zumo.IdealCycleMS != 200 {
		t.Fatalf("the product's ideal cycle time as the API sees it: %d ms, want 200", zumo.IdealCycleMS)
	}
	var mapped struct {
		Items []struct {
			CameraID int64  `json:"camera_id"`
			AreaID   int64  `json:"area_id"`
			Status   string `json:"status"`
		} `json:"items"`
	}
	d.fetchJSON("/api/v1/camera-areas", &mapped)
	cameras, filters := d.idsByName("/api/v1/cameras"), d.idsByName("/api/v1/filters")
	if len(mapped.Items) != 1 || mapped.Items[0].CameraID != cameras["cam-llenadora"] || mapped.Items[0].AreaID != areas["Llenadora"] ||
		mapped.Items[0].Status != "active" || filters["Semana"] == 0 {
		t.Fatalf("camera, mapping and filter as the API sees them: %v %+v %v", cameras, mapped, filters)
	}
	checkSchedules(t, d, lines)
	// Opened for editing and saved as they are, they stay as they were.
	for name, id := range d.idsByName("/api/v1/report-schedules") {
		d.open("/setup/report-schedules")
		d.do("edit "+name, chromedp.Click(chromedp.CSS(fmt.Sprintf(`#screen tr.lp-row[data-id="%d"] .lp-edit`, id))))
		var s saved
		d.eval("save "+name, fillAndSave+"(false, {})", &s)
		if len(s.Errors) > 0 {
			t.Fatalf("saving %s unchanged shows %v", name, s.Errors)
		}
	}
	checkSchedules(t, d, lines)
	d.open("/")
	d.until("two tiles", `document.querySelectorAll('.lp-tile').length === 2`)
	c := dev.Secret
	publish(t, c["credentials.url"], c["credentials.user"], c["credentials.password"], c["credentials.inbox_prefix"],
		fmt.Sprintf("lp.acme.line.%d.det", lines["Llenado 1"]), 1, 40, areas["Llenadora"], products["Agua 0,5 L"])
	publish(t, c["credentials.url"], c["credentials.user"], c["credentials.password"], c["credentials.inbox_prefix"],
		fmt.Sprintf("lp.acme.line.%d.det", lines["Envasado 2"]), 1, 20, areas["Encajadora"], products["Zumo 1 L"])
	d.until("the dashboard counts 60 products live", sumOf(".lp-total")+` === 60`)
	d.until("the tile shows good units against the target", fmt.Sprintf(`(document.querySelector('a.lp-tile[data-line="%d"] .lp-plan-value') || {}).textContent?.endsWith('/ 4,000')`, lines["Llenado 1"]))
	// The plant map: the three areas drawn from their coordinates, each coloured by its
	// line's live state, with the detections of its area; an area opens its line.
	d.open("/map")
	mapReady := mapShows(areas, map[string]int{"Llenadora": 40, "Encajadora": 20})
	d.until("the map shows the areas live", mapReady)
	d.shoot("map", mapReady)
	d.do("click an area", chromedp.Click(chromedp.CSS(fmt.Sprintf(`[data-widget=plant_map] .lp-area[data-area="%d"]`, areas["Encajadora"]))))
	d.until("the area opened its line", fmt.Sprintf(`location.pathname === '/lines/%d' && document.body.innerText.includes('Envasado 2')`, lines["Envasado 2"]))
	d.until("the line page opens on the filter row's default range", `(document.querySelector('#filters select[name=range]') || {}).value === '7d'`)
	// A choice in the filter panel survives a reload (it lives in the URL).
	d.until("the area filter offers Encajadora", fmt.Sprintf(`!!document.querySelector('#filters select[name=area] option[value="%d"]')`, areas["Encajadora"]))
	d.eval("choose an area", fmt.Sprintf(`(() => { const e = document.querySelector('#filters select[name=area]'); e.value = '%d';
	  e.dispatchEvent(new Event('change', { bubbles: true })); return true; })()`, areas["Encajadora"]), nil)
	d.do("reload", chromedp.Reload(), chromedp.WaitReady(chromedp.CSS(`body`)))
	d.until("the area choice survived the reload", fmt.Sprintf(`location.search.includes('area=%d') && (document.querySelector('#filters select[name=area]') || {}).value === '%d'`,
		areas["Encajadora"], areas["Encajadora"]))
	d.open(strings.TrimPrefix(tvURL, base))
	d.until("the TV counts 54 good products", `document.querySelectorAll('.lp-tile').length === 2 && `+sumOf(".lp-good")+` === 54`)
	d.open("/setup/audit")
	// The verify button sits below the log, which fills in after the page loads; a click
	// aimed before the rows arrive lands where the button was.
	d.until("the audit log listed", `!Alpine.$data(document.querySelector('#screen')).loading && document.querySelectorAll('#screen tr.lp-row').length > 0`)
	d.do("verify the audit log", chromedp.Click(chromedp.ID("audit-verify-run")))
	d.until("the audit log verifies", `(document.querySelector('.lp-verify') || {}).textContent?.length > 0`)

	// Spanish: the tenant's language, set on its settings screen.
	if s := d.submit("settings", false, map[string]any{"language": "es"}); len(s.Errors) > 0 {
		t.Fatalf("settings: %+v", s)
	}
	d.open("/")
	d.until("the dashboard reads Spanish", `document.documentElement.lang === 'es' && ['Disponibilidad', 'Rendimiento', 'Calidad'].every((w) => document.body.innerText.includes(w))`)
	english := englishOnly(t)
	tilesReady := `document.querySelectorAll('.lp-tile').length === 2 && ` + sumOf(".lp-total") + ` > 0`
	pages := []struct{ name, path, ready string }{
		{"dashboard", "/", tilesReady},
		{"line", fmt.Sprintf("/lines/%d", lines["Llenado 1"]), `document.body.innerText.includes('Llenado 1')`},
		{"setup", "/setup", ""},
		{"map", "/map", mapShows(areas, nil)},
		{"plant-report", "/reports/plant", `!!document.querySelector('#plant-total')`},
	}
	d.open("/setup")
	var html string
	d.eval("setup index", `document.body.innerHTML`, &html)
	var adminScreens []string
	for _, m := range slugRe.FindAllStringSubmatch(html, -1) {
		if !slices.Contains(adminScreens, m[1]) {
			adminScreens = append(adminScreens, m[1])
			pages = append(pages, struct{ name, path, ready string }{"setup-" + m[1], "/setup/" + m[1],
				`!document.querySelector('#screen') || !Alpine.$data(document.querySelector('#screen')).loading`})
		}
	}
	if len(adminScreens) < 12 {
		t.Errorf("the tenant admin sees only screens %v", adminScreens)
	}
	for _, p := range pages {
		d.open(p.path)
		d.shoot("es-"+p.name, p.ready)
		if left := d.englishLeftovers(english); len(left) > 0 {
			t.Errorf("%s in Spanish shows English: %q", p.path, left)
		}
	}
	d.signOut()
	d.open(strings.TrimPrefix(tvURL, base))
	d.shoot("es-tv", `document.querySelectorAll('.lp-tile').length === 2`)
	if left := d.englishLeftovers(english); len(left) > 0 {
		t.Errorf("the TV in Spanish shows English: %q", left)
	}

	if c := d.consoleLines()[quiet:]; len(c) > 0 {
		t.Errorf("the browser console reported problems: %q", c)
	}

	// Roles. An operator sees only the screens it may use; a viewer changes nothing.
	for _, who := range []struct{ email, password string }{{"op@acme.test", "operator-password-1"}, {"viewer@acme.test", "viewer-password-1"}} {
		d.signIn("acme", who.email, who.password)
		d.open("/setup")
		d.eval("setup index", `document.body.innerHTML`, &html)
		var seen []string
		for _, m := range slugRe.FindAllStringSubmatch(html, -1) {
			if !slices.Contains(seen, m[1]) {
				seen = append(seen, m[1])
			}
		}
		if !slices.Contains(seen, "lines") || !slices.Contains(seen, "shifts") {
			t.Errorf("%s may read the plant but is offered only %v", who.email, seen)
		}
		for _, never := range []string{"users", "devices", "kiosks", "settings", "audit", "tenants", "system"} {
			if slices.Contains(seen, never) {
				t.Errorf("%s is offered the %s screen (%v)", who.email, never, seen)
			}
		}
		for _, slug := range seen {
			d.open("/setup/" + slug)
			var buttons int
			d.eval("buttons", `document.querySelectorAll('#setup-new, .lp-edit, .lp-delete, #setup-save').length`, &buttons)
			if buttons != 0 {
				t.Errorf("%s sees %d change buttons on /setup/%s", who.email, buttons, slug)
			}
			d.until(who.email+" is told /setup/"+slug+" is read-only", `!!document.querySelector('.lp-readonly')`)
		}
		var refused struct {
			Status int    `json:"status"`
			Body   string `json:"body"`
		}
		d.eval("API write", `fetch('/api/v1/lines', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'X' }) })
		  .then(async (r) => ({ status: r.status, body: await r.text() }))`, &refused)
		if refused.Status != 403 || !strings.Contains(refused.Body, "plant.write") {
			t.Errorf("%s creating a line through the API: %+v, want 403 for lack of plant.write", who.email, refused)
		}
		d.open("/setup/users")
		var users int
		d.eval("users screen", `document.querySelectorAll('#screen[data-screen="users"]').length`, &users)
		if users != 0 {
			t.Errorf("%s opened the users screen", who.email)
		}
	}

	// A schedule's errors read Spanish too.
	d.signIn("acme", "admin@acme.test", "admin-password-1")
	bad = d.submit("report-schedules", true, map[string]any{"name": "Mal", "kind": "daily", "hour": "25", "recipients": "", "channel_id": "Correo planta"})
	if bad.Errors["hour"] != "debe estar entre 0 y 23" || bad.Errors["recipients"] != "de 1 a 50 direcciones" {
		t.Errorf("an invalid report schedule in Spanish shows %+v", bad.Errors)
	}
	// And the reason tree's.
	bad = d.submit("failures", true, map[string]any{"code": "MEC-TAP-2", "name": "Tapón roto", "parent_id": "Atasco de tapones"})
	if bad.Errors["parent_id"] != "el árbol de motivos tiene como mucho 3 niveles" {
		t.Errorf("a fourth level of reasons in Spanish shows %+v", bad.Errors)
	}
	// And those of the alerting screens around it.
	bad = d.submit("notification-channels", true, map[string]any{"name": "Gancho", "kind": "webhook", "config.url": "ftp://acme.test"})
	if bad.Errors["config.url"] != "debe ser una URL http o https" {
		t.Errorf("an invalid webhook in Spanish shows %+v", bad.Errors)
	}
	bad = d.submit("alert-rules", true, map[string]any{"name": "OEE bajo", "kind": "oee_below", "threshold": "150", "escalate_after": "5m"})
	if bad.Errors["threshold"] != "debe ser mayor que 0 % y como mucho 100 %" || bad.Errors["channels"] != "de 1 a 50 canales" ||
		bad.Errors["escalate_channels"] != "indica a la vez un retraso de escalado y canales de escalado, o ninguno" {
		t.Errorf("an invalid alert rule in Spanish shows %+v", bad.Errors)
	}

	// The platform admin's own screens.
	d.signIn("", "root@platform.test", "root-password-1")
	for _, slug := range []string{"tenants", "platform-users", "system", "platform-audit"} {
		d.open("/setup/" + slug)
		d.shoot("platform-"+slug, `!!document.querySelector('#screen') && !Alpine.$data(document.querySelector('#screen')).loading`)
	}
	d.open("/setup/tenants")
	d.until("the tenants list shows acme", `document.body.innerText.includes('acme')`)
}

// checkSchedules compares the report schedules the API holds with what the form was given.
func checkSchedules(t *testing.T, d *driver, lines map[string]int64) {
	t.Helper()
	channel := d.idsByName("/api/v1/notification-channels")["Correo planta"]
	var page struct {
		Items []store.ReportSchedule `json:"items"`
	}
	d.fetchJSON("/api/v1/report-schedules", &page)
	for i := range page.Items {
		page.Items[i].ID, page.Items[i].CreatedAt, page.Items[i].UpdatedAt = 0, time.Time{}, time.Time{}
	}
	want := []store.ReportSchedule{
		// The hour of a shift report is the form's default: only the daily report uses it.
		{Name: "Fin de turno llenado", Kind: store.ReportShiftEnd, ChannelID: channel, Recipients: []string{"jefe@acme.test", "calidad@acme.test"},
			Lines: []int64{lines["Llenado 1"]}, Hour: 6, Language: "en", Active: true},
		{Name: "Diario planta", Kind: store.ReportDaily, ChannelID: channel, Recipients: []string{"direccion@acme.test"}, Lines: []int64{}, Hour: 7, Language: "es", Active: true},
	}
	if channel == 0 || !reflect.DeepEqual(page.Items, want) {
		t.Fatalf("report schedules as the API sees them:\n%+v\nwant (channel %d):\n%+v", page.Items, channel, want)
	}
}
