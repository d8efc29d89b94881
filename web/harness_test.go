package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/linepulse/linepulse/alert"
	"github.com/linepulse/linepulse/identity"
	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/store/storetest"
	"github.com/linepulse/linepulse/stream"
	"github.com/linepulse/linepulse/web"
)

// fastParams keeps argon2id cheap under -race; production uses identity.DefaultParams().
var fastParams = identity.Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}

const password = "correct horse battery"

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is an API over a real store with two tenants and their users.
type env struct {
	t     *testing.T
	st    *store.Store
	api   *web.API
	clock *clock
	kr    *identity.Keyring
	cfg   web.APIConfig
	links *alert.Links // signs the acknowledge links of alert e-mails

	acme, beta store.Tenant
	// disconnected records Disconnect calls (tenant.device).
	mu           sync.Mutex
	disconnected []string
	ended        []string
}

type envOpt func(*web.APIConfig)

func newEnv(t *testing.T, e storetest.Engine, opts ...envOpt) *env {
	t.Helper()
	ck := &clock{t: time.Now().UTC().Truncate(time.Millisecond)}
	st := e.Open(t, func(c *store.Config) { c.Now = ck.Now })
	kr := identity.NewKeyring()
	kid, priv := identity.GenerateKey()
	if err := kr.Add(kid, priv); err != nil {
		t.Fatal(err)
	}
	cfg := web.APIConfig{Keyring: kr, Hasher: identity.Hasher{Params: fastParams}, Now: ck.Now,
		Logger: quietLogger(), RequestRate: 1e6, RequestBurst: 1e6}
	for _, o := range opts {
		o(&cfg)
	}
	links, err := alert.NewLinks([]byte("a test key of at least thirty-two bytes"))
	if err != nil {
		t.Fatal(err)
	}
	ev := &env{t: t, st: st, clock: ck, kr: kr, cfg: cfg, links: links}
	hist := stream.NewHistory(st, store.NewMetaCache(st)).WithClock(ck.Now)
	api, err := web.NewAPI(cfg, web.Deps{Store: st, Devices: &identity.Devices{Store: st, Bus: disconnectRecorder{ev}}, Analytics: hist, ValidateShifts: stream.ValidateShifts, DeadLetters: fakeDeadLetters{}, AckLinks: links, Nodes: fakeNodes{},
		OnSessionEnd: func(sid string) {
			ev.mu.Lock()
			ev.ended = append(ev.ended, sid)
			ev.mu.Unlock()
		}})
	if err != nil {
		t.Fatal(err)
	}
	if err := api.SeedWidgets(context.Background()); err != nil {
		t.Fatal(err)
	}
	ev.api = api
	ev.acme = storetest.Tenant(t, st, "acme").Tenant()
	ev.beta = storetest.Tenant(t, st, "beta").Tenant()
	ev.user(0, "root@platform.test", store.RolePlatformAdmin, store.Permissions{})
	for _, ten := range []store.Tenant{ev.acme, ev.beta} {
		for _, role := range []string{store.RoleTenantAdmin, store.RoleSupervisor, store.RoleOperator, store.RoleViewer} {
			ev.user(ten.ID, role+"@"+ten.Slug+".test", role, store.Permissions{})
		}
	}
	return ev
}

// disconnectRecorder is the bus of the env's devices: it records Disconnect calls.
type disconnectRecorder struct{ ev *env }

func (r disconnectRecorder) Disconnect(tenant, device string) int {
	r.ev.mu.Lock()
	defer r.ev.mu.Unlock()
	r.ev.disconnected = append(r.ev.disconnected, tenant+"."+device)
	return 1
}

// user creates a user with the test password.
func (ev *env) user(tenantID int64, email, role string, perms store.Permissions) store.User {
	ev.t.Helper()
	h, err := identity.Hasher{Params: fastParams}.Hash(password)
	if err != nil {
		ev.t.Fatal(err)
	}
	u := store.User{TenantID: tenantID, Email: email, Role: role, PasswordHash: h, Permissions: perms}
	if err := ev.st.CreateUser(context.Background(), &u); err != nil {
		ev.t.Fatal(err)
	}
	return u
}

// resp is a recorded response.
type resp struct {
	code int
	body []byte
	hdr  http.Header
}

func (r resp) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("response %d is not JSON: %v: %s", r.code, err, r.body)
	}
}

func (r resp) String() string { return fmt.Sprintf("%d %s", r.code, r.body) }

var jsonUnmarshal = json.Unmarshal

func (r resp) errCode() string {
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	json.Unmarshal(r.body, &e)
	return e.Error.Code
}

// req is a request to send to the API.
type req struct {
	method, path string
	token        string // Bearer token; "" = none
	kiosk        string // Kiosk token
	body         any    // marshalled as JSON unless []byte or string
	ctype        string // default application/json when there is a body
	ip           string
	hdr          map[string]string
	cookies      []*http.Cookie
}

func (ev *env) do(r req) resp {
	ev.t.Helper()
	var body io.Reader
	switch b := r.body.(type) {
	case nil:
	case []byte:
		body = bytes.NewReader(b)
	case string:
		body = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			ev.t.Fatal(err)
		}
		body = bytes.NewReader(data)
	}
	hr := httptest.NewRequest(r.method, r.path, body)
	if r.body != nil {
		ct := r.ctype
		if ct == "" {
			ct = "application/json"
		}
		hr.Header.Set("Content-Type", ct)
	}
	if r.token != "" {
		hr.Header.Set("Authorization", "Bearer "+r.token)
	}
	if r.kiosk != "" {
		hr.Header.Set("Authorization", "Kiosk "+r.kiosk)
	}
	if r.ip != "" {
		hr.RemoteAddr = r.ip + ":40000"
	}
	for k, v := range r.hdr {
		hr.Header.Set(k, v)
	}
	for _, c := range r.cookies {
		hr.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	ev.api.ServeHTTP(rec, hr)
	return resp{code: rec.Code, body: rec.Body.Bytes(), hdr: rec.Header()}
}

// login signs in and returns the token response.
func (ev *env) login(tenant, email string) web.TokenResponse {
	ev.t.Helper()
	r := ev.do(req{method: "POST", path: "/api/v1/auth/login", body: web.LoginRequest{Tenant: tenant, Email: email, Password: password}})
	if r.code != http.StatusOK {
		ev.t.Fatalf("login %s/%s: %d %s", tenant, email, r.code, r.body)
	}
	var tr web.TokenResponse
	r.json(ev.t, &tr)
	return tr
}

// token signs in a role of a tenant ("" tenant: the platform admin).
func (ev *env) token(tenant, role string) string {
	ev.t.Helper()
	if tenant == "" {
		return ev.login("", "root@platform.test").AccessToken
	}
	return ev.login(tenant, role+"@"+tenant+".test").AccessToken
}

// must sends r and fails unless the status is want; it decodes the body into out.
func (ev *env) must(want int, r req, out any) resp {
	ev.t.Helper()
	got := ev.do(r)
	if got.code != want {
		ev.t.Fatalf("%s %s: got %d, want %d: %s", r.method, r.path, got.code, want, got.body)
	}
	if out != nil {
		got.json(ev.t, out)
	}
	return got
}

// auditActions lists the actions of a tenant's audit chain.
func (ev *env) auditActions(tenantID int64) []string {
	ev.t.Helper()
	es, err := ev.st.AuditEntries(context.Background(), tenantID, 0, 10000)
	if err != nil {
		ev.t.Fatal(err)
	}
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Action
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func idOf(t *testing.T, r resp) int64 {
	t.Helper()
	var v struct {
		ID     int64 `json:"id"`
		Device struct {
			ID int64 `json:"id"`
		} `json:"device"`
	}
	r.json(t, &v)
	if v.ID == 0 {
		v.ID = v.Device.ID
	}
	if v.ID == 0 {
		t.Fatalf("no id in %s", r.body)
	}
	return v.ID
}

func itoa(v int64) string { return fmt.Sprint(v) }
