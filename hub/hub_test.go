package hub_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/linepulse/linepulse/bus"
	"github.com/linepulse/linepulse/bus/bustest"
	"github.com/linepulse/linepulse/hub"
	"github.com/linepulse/linepulse/identity"
	"github.com/linepulse/linepulse/internal/testkit"
)

// wait bounds every wait for an outcome; generous, never a speed assertion.
const wait = 20 * time.Second

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// jwtAuth is the test's Authenticator: a real EdDSA JWT (Bearer header or lp_session
// cookie) verified by identity, mapped to a principal by user id.
type jwtAuth struct {
	iss   *identity.Issuer
	users map[string]identity.Principal // subject → principal
	// gate, if set, runs after a principal was found (a test holds an upgrade there).
	gate func(subject string)
}

func (a *jwtAuth) AuthenticateWS(r *http.Request) (identity.Principal, error) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		c, err := r.Cookie("lp_session")
		if err != nil {
			return identity.Principal{}, errors.New("no credentials")
		}
		tok = c.Value
	}
	cl, err := a.iss.Verify(tok)
	if err != nil {
		return identity.Principal{}, err
	}
	p, ok := a.users[cl.Subject]
	if !ok {
		return identity.Principal{}, errors.New("unknown user")
	}
	if a.gate != nil {
		a.gate(cl.Subject)
	}
	return p, nil
}

// lineSet is the test's LineChecker: tenant id → its lines.
type lineSet map[int64][]int64

func (l lineSet) LineExists(_ context.Context, tenantID, lineID int64) bool {
	return slices.Contains(l[tenantID], lineID)
}

const (
	acme   = "acme"
	globex = "globex"
)

type env struct {
	t     *testing.T
	bus   *bus.Bus
	pub   *nats.Conn
	kv    jetstream.KeyValue
	kr    *identity.Keyring
	iss   *identity.Issuer
	auth  *jwtAuth
	lines lineSet
}

func newEnv(t *testing.T) *env {
	t.Helper()
	b := bustest.Run(t)
	pub, err := b.Connect("test-publisher")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pub.Close)
	js, err := jetstream.New(pub)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := js.CreateOrUpdateKeyValue(testCtx(t), jetstream.KeyValueConfig{Bucket: hub.KPIBucket, Storage: jetstream.MemoryStorage})
	if err != nil {
		t.Fatal(err)
	}
	kr := identity.NewKeyring()
	kid, priv := identity.GenerateKey()
	if err := kr.Add(kid, priv); err != nil {
		t.Fatal(err)
	}
	iss, err := identity.NewIssuer(identity.IssuerConfig{Issuer: "linepulse", Audience: "linepulse"}, kr)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, bus: b, pub: pub, kv: kv, kr: kr, iss: iss, lines: lineSet{1: {1, 2, 3}, 2: {1, 7}}}
	e.auth = &jwtAuth{iss: iss, users: map[string]identity.Principal{
		"alice": {UserID: 1, TenantID: 1, TenantSlug: acme, Role: "supervisor"},                  // every acme line
		"olga":  {UserID: 2, TenantID: 1, TenantSlug: acme, Role: "operator", Lines: []int64{1}}, // acme line 1 only
		"bob":   {UserID: 3, TenantID: 2, TenantSlug: globex, Role: "viewer"},                    // every globex line
		"root":  {UserID: 4, Role: "platform_admin"},                                             // no tenant
		// sessions and kiosk tokens, for revocation
		"alice-s1": {UserID: 1, TenantID: 1, TenantSlug: acme, Role: "supervisor", SessionID: "sess-1"},
		"alice-s2": {UserID: 1, TenantID: 1, TenantSlug: acme, Role: "supervisor", SessionID: "sess-2"},
		"kiosk-a5": {TenantID: 1, TenantSlug: acme, Role: "viewer", Kiosk: true, KioskID: 5},
		"kiosk-a6": {TenantID: 1, TenantSlug: acme, Role: "viewer", Kiosk: true, KioskID: 6},
		"kiosk-g5": {TenantID: 2, TenantSlug: globex, Role: "viewer", Kiosk: true, KioskID: 5},
	}}
	return e
}

func jwtSubject(user string) jwt.RegisteredClaims { return jwt.RegisteredClaims{Subject: user} }

func (e *env) token(user string) string {
	e.t.Helper()
	tok, _, err := e.iss.Issue(identity.Claims{RegisteredClaims: jwtSubject(user)})
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

type server struct {
	hub *hub.Hub
	srv *httptest.Server
	nc  *nats.Conn
	url string
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// start runs a hub instance on its own NATS connection behind an httptest server.
func (e *env) start(mutate ...func(*hub.Config)) *server {
	e.t.Helper()
	nc, err := e.bus.Connect("hub")
	if err != nil {
		e.t.Fatal(err)
	}
	cfg := hub.Config{Logger: quiet(), TopicLinger: -1}
	for _, m := range mutate {
		m(&cfg)
	}
	h, err := hub.New(cfg, nc, e.auth, e.lines)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	srv := httptest.NewServer(h)
	e.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			e.t.Errorf("hub.Run: %v", err)
		}
		srv.Close()
		nc.Close()
	})
	s := &server{hub: h, srv: srv, nc: nc, url: "ws" + strings.TrimPrefix(srv.URL, "http")}
	// Run starts asynchronously: wait until the hub accepts upgrades.
	e.eventually("hub running", func() bool {
		resp, err := http.Get(srv.URL)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode != http.StatusServiceUnavailable
	})
	return s
}

func (e *env) eventually(what string, cond func() bool) {
	e.t.Helper()
	testkit.CheckFor(e.t, wait, 5*time.Millisecond, func() error { return testkit.Unless(cond(), "%s", what) })
}

// kpi returns a contract-shaped KPI update, padded to about size bytes when size > 0.
func kpi(line int64, seq uint64, size int) []byte {
	p := fmt.Sprintf(`{"type":"kpi","line":%d,"seq":%d,"at":"2025-01-01T00:00:00.000Z","shift":null,"state":"running","counts":{"total":%d,"good":%d,"reject":0},"oee":0.9`, line, seq, seq, seq)
	if pad := size - len(p) - 12; pad > 0 {
		p += `,"pad":"` + strings.Repeat("x", pad) + `"`
	}
	return []byte(p + "}")
}

func downtime(line int64, seq uint64, state string) []byte {
	return fmt.Appendf(nil, `{"type":"downtime","line":%d,"seq":%d,"event":{"id":0,"state":%q,"start":"2025-01-01T00:00:00.000Z","end":null,"duration_ms":0,"reason_code":""}}`, line, seq, state)
}

func (e *env) publish(tenant string, line int64, kind string, payload []byte) {
	e.t.Helper()
	subj := bus.KPISubject(tenant, line)
	if kind == "downtime" {
		subj = bus.DowntimeSubject(tenant, line)
	}
	m := &nats.Msg{Subject: subj, Data: payload, Header: nats.Header{}}
	m.Header.Set(hub.HeaderPublishedAt, strconv.FormatInt(time.Now().UnixNano(), 10))
	if err := e.pub.PublishMsg(m); err != nil {
		e.t.Fatal(err)
	}
	if err := e.pub.Flush(); err != nil {
		e.t.Fatal(err)
	}
}

// putKV stores a KPI update as the line's latest, as the stream engine does.
func (e *env) putKV(tenant string, line int64, payload []byte) {
	e.t.Helper()
	if _, err := e.kv.Put(testCtx(e.t), hub.KPIKey(tenant, line), payload); err != nil {
		e.t.Fatal(err)
	}
}

type client struct {
	t  *testing.T
	ws *websocket.Conn
}

type dialOpt func(*websocket.DialOptions)

func bearer(tok string) dialOpt {
	return func(o *websocket.DialOptions) { o.HTTPHeader.Set("Authorization", "Bearer "+tok) }
}

func (e *env) dial(s *server, opts ...dialOpt) (*websocket.Conn, *http.Response, error) {
	o := &websocket.DialOptions{HTTPHeader: http.Header{}}
	for _, f := range opts {
		f(o)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	return websocket.Dial(ctx, s.url, o)
}

func (e *env) connect(s *server, user string, opts ...dialOpt) *client {
	e.t.Helper()
	ws, _, err := e.dial(s, append([]dialOpt{bearer(e.token(user))}, opts...)...)
	if err != nil {
		e.t.Fatalf("dial as %s: %v", user, err)
	}
	ws.SetReadLimit(1 << 20)
	e.t.Cleanup(func() { ws.CloseNow() })
	return &client{t: e.t, ws: ws}
}

func (c *client) send(v string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageText, []byte(v)); err != nil {
		c.t.Fatalf("send %s: %v", v, err)
	}
}

// msg is what a client receives.
type msg struct {
	Type    string          `json:"type"`
	Line    int64           `json:"line"`
	Seq     uint64          `json:"seq"`
	State   string          `json:"state"`
	Code    string          `json:"code"`
	Op      string          `json:"op"`
	Message string          `json:"message"`
	Event   json.RawMessage `json:"event"`
	raw     []byte
}

func (c *client) read() (msg, error) {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	_, b, err := c.ws.Read(ctx)
	if err != nil {
		return msg{}, err
	}
	var m msg
	if err := json.Unmarshal(b, &m); err != nil {
		return msg{}, fmt.Errorf("bad JSON %q: %w", b, err)
	}
	m.raw = b
	return m, nil
}

func (c *client) next() msg {
	c.t.Helper()
	m, err := c.read()
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return m
}

// expect reads the next message and checks its type, line and seq (seq < 0: any).
func (c *client) expect(typ string, line int64, seq int64) msg {
	c.t.Helper()
	m := c.next()
	if m.Type != typ || m.Line != line || (seq >= 0 && m.Seq != uint64(seq)) {
		c.t.Fatalf("got %s, want type %s line %d seq %d", m.raw, typ, line, seq)
	}
	return m
}

func (c *client) expectError(code string, line int64) msg {
	c.t.Helper()
	m := c.next()
	if m.Type != "error" || m.Code != code || m.Line != line {
		c.t.Fatalf("got %s, want error %s for line %d", m.raw, code, line)
	}
	return m
}

// closeStatus reads until the connection ends and returns the close code.
func (c *client) closeStatus() websocket.StatusCode {
	c.t.Helper()
	for {
		if _, err := c.read(); err != nil {
			return websocket.CloseStatus(err)
		}
	}
}

func TestSnapshotThenUpdatesInOrder(t *testing.T) {
	e := newEnv(t)
	s := e.start()
	e.putKV(acme, 1, kpi(1, 41, 0))
	c := e.connect(s, "alice")
	c.send(`{"op":"subscribe","lines":[1,2]}`)
	snap := c.expect("snapshot", 1, 41)
	if !strings.HasPrefix(string(snap.raw), `{"type":"snapshot","line":1,"seq":41,"at":`) {
		t.Fatalf("snapshot is not the KV bytes with the type replaced: %s", snap.raw)
	}
	if m := c.expect("snapshot", 2, 0); m.State != "unknown" {
		t.Fatalf("line without KPI: got %s", m.raw)
	}
	e.publish(acme, 1, "kpi", kpi(1, 42, 0))
	e.publish(acme, 1, "downtime", downtime(1, 43, "started"))
	e.publish(acme, 2, "kpi", kpi(2, 1, 0))
	e.publish(acme, 1, "kpi", kpi(1, 44, 0))
	// Each line's messages come in seq order; lines are independent of each other.
	perLine := map[int64][]string{}
	for range 4 {
		m := c.next()
		perLine[m.Line] = append(perLine[m.Line], fmt.Sprintf("%s %d", m.Type, m.Seq))
		if m.Seq == 42 && string(m.raw) != string(kpi(1, 42, 0)) {
			t.Fatalf("kpi not forwarded byte for byte: %s", m.raw)
		}
	}
	if got := fmt.Sprint(perLine); got != "map[1:[kpi 42 downtime 43 kpi 44] 2:[kpi 1]]" {
		t.Fatalf("got %s", got)
	}

	c.send(`{"op":"unsubscribe","lines":[1]}`)
	e.eventually("unsubscribed", func() bool { return s.hub.Stats().Subscriptions == 1 })
	e.publish(acme, 1, "kpi", kpi(1, 45, 0))
	e.publish(acme, 2, "kpi", kpi(2, 2, 0))
	c.expect("kpi", 2, 2) // line 1's update, published first, was not delivered

	e.eventually("7 messages counted", func() bool { return s.hub.Stats().MessagesOut == 7 })
}

func TestSubscriptionsAreAuthorized(t *testing.T) {
	e := newEnv(t)
	s := e.start()
	olga := e.connect(s, "olga") // acme, line 1 only
	olga.send(`{"op":"subscribe","lines":[2,1,7,99]}`)
	olga.expectError(hub.CodeForbidden, 2)  // acme line outside her permissions
	olga.expect("snapshot", 1, 0)           // permitted
	olga.expectError(hub.CodeForbidden, 7)  // globex's line, not acme's
	olga.expectError(hub.CodeForbidden, 99) // no such line
	olga.send(`{"op":"resume","line":2,"seq":5}`)
	olga.expectError(hub.CodeForbidden, 2)

	bob := e.connect(s, "bob") // globex: lines 1 and 7
	bob.send(`{"op":"subscribe","lines":[1]}`)
	bob.expect("snapshot", 1, 0)

	// Updates of the same line id in the other tenant, and of lines refused, never arrive.
	e.publish(globex, 1, "kpi", kpi(1, 900, 0))
	e.publish(globex, 7, "kpi", kpi(7, 900, 0))
	e.publish(acme, 2, "kpi", kpi(2, 900, 0))
	e.publish(acme, 1, "kpi", kpi(1, 1, 0))
	olga.expect("kpi", 1, 1)
	bob.expect("kpi", 1, 900)
	e.publish(acme, 1, "kpi", kpi(1, 2, 0))
	e.publish(globex, 1, "kpi", kpi(1, 901, 0))
	olga.expect("kpi", 1, 2)
	bob.expect("kpi", 1, 901)

	if n := s.hub.Stats().Topics; n != 2 {
		t.Fatalf("topics = %d, want 2 (acme/1, globex/1)", n)
	}
}

func TestUpgradeRefusals(t *testing.T) {
	e := newEnv(t)
	s := e.start(func(c *hub.Config) {
		c.AllowedOrigins = []string{"dash.example.com"}
		c.MaxConnsPerUser = 2
	})
	status := func(opts ...dialOpt) int {
		t.Helper()
		ws, resp, err := e.dial(s, opts...)
		if err == nil {
			// The client has its 101 before the hub registers the connection: wait for that
			// first, or "closed" could be seen before it counted (and still held its slot).
			e.eventually("registered", func() bool { return s.hub.Stats().Connections == 1 })
			ws.CloseNow()
			e.eventually("closed", func() bool { return s.hub.Stats().Connections == 0 })
			return http.StatusSwitchingProtocols
		}
		if resp == nil {
			t.Fatalf("dial: %v", err)
		}
		return resp.StatusCode
	}
	// a token signed by another key
	kr := identity.NewKeyring()
	kid, priv := identity.GenerateKey()
	if err := kr.Add(kid, priv); err != nil {
		t.Fatal(err)
	}
	other, _ := identity.NewIssuer(identity.IssuerConfig{Issuer: "linepulse", Audience: "linepulse"}, kr)
	forged, _, _ := other.Issue(identity.Claims{RegisteredClaims: jwtSubject("alice")})
	// a token that expired an hour ago
	old, _ := identity.NewIssuer(identity.IssuerConfig{Issuer: "linepulse", Audience: "linepulse", Now: func() time.Time { return time.Now().Add(-2 * time.Hour) }}, e.kr)
	expired, _, _ := old.Issue(identity.Claims{RegisteredClaims: jwtSubject("alice")})
	cookie := func(tok, origin string) dialOpt {
		return func(o *websocket.DialOptions) {
			o.HTTPHeader.Set("Cookie", "lp_session="+tok)
			if origin != "" {
				o.HTTPHeader.Set("Origin", origin)
			}
		}
	}
	host := strings.TrimPrefix(s.srv.URL, "http://")
	for _, tc := range []struct {
		name string
		opts []dialOpt
		want int
	}{
		{"no credentials", nil, http.StatusUnauthorized},
		{"forged token", []dialOpt{bearer(forged)}, http.StatusUnauthorized},
		{"expired token", []dialOpt{bearer(expired)}, http.StatusUnauthorized},
		{"garbage token", []dialOpt{bearer("not.a.jwt")}, http.StatusUnauthorized},
		{"platform scope", []dialOpt{bearer(e.token("root"))}, http.StatusForbidden},
		{"cross-origin with a valid cookie", []dialOpt{cookie(e.token("alice"), "https://evil.example")}, http.StatusForbidden},
		{"lookalike origin", []dialOpt{cookie(e.token("alice"), "https://dash.example.com.evil.example")}, http.StatusForbidden},
		{"same origin cookie", []dialOpt{cookie(e.token("alice"), "http://"+host)}, http.StatusSwitchingProtocols},
		{"allowed origin cookie", []dialOpt{cookie(e.token("alice"), "https://dash.example.com")}, http.StatusSwitchingProtocols},
		{"bearer without origin", []dialOpt{bearer(e.token("alice"))}, http.StatusSwitchingProtocols},
	} {
		if got := status(tc.opts...); got != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, got, tc.want)
		}
	}
	// per-user limit: two connections held open, the third is refused
	a1 := e.connect(s, "alice")
	a2 := e.connect(s, "alice")
	if got := status(bearer(e.token("alice"))); got != http.StatusTooManyRequests {
		t.Fatalf("third connection of one user: %d, want 429", got)
	}
	e.eventually("both registered", func() bool { return s.hub.Stats().Connections == 2 })
	a1.ws.Close(websocket.StatusNormalClosure, "")
	e.eventually("slot freed", func() bool { return s.hub.Stats().Connections == 1 })
	a3 := e.connect(s, "alice")
	a3.send(`{"op":"subscribe","lines":[1]}`)
	a3.expect("snapshot", 1, 0)
	_ = a2
}

func TestResumeAfterDrop(t *testing.T) {
	e := newEnv(t)
	s := e.start(func(c *hub.Config) {
		c.ResumeBuffer = 8
		c.TopicLinger = time.Hour // keep the line's buffer after the last client leaves
	})
	c := e.connect(s, "alice")
	c.send(`{"op":"subscribe","lines":[1]}`)
	c.expect("snapshot", 1, 0)
	for seq := uint64(1); seq <= 3; seq++ {
		e.publish(acme, 1, "kpi", kpi(1, seq, 0))
		c.expect("kpi", 1, int64(seq))
	}
	c.ws.CloseNow() // dropped
	e.eventually("gone", func() bool { return s.hub.Stats().Connections == 0 })

	e.publish(acme, 1, "kpi", kpi(1, 4, 0))
	e.publish(acme, 1, "downtime", downtime(1, 5, "started"))
	e.publish(acme, 1, "kpi", kpi(1, 6, 0))
	e.putKV(acme, 1, kpi(1, 6, 0))

	// resume from the last seq seen: exactly the missed messages, in order
	c = e.connect(s, "alice")
	c.send(`{"op":"resume","line":1,"seq":3}`)
	c.expect("kpi", 1, 4)
	c.expect("downtime", 1, 5)
	c.expect("kpi", 1, 6)
	e.publish(acme, 1, "kpi", kpi(1, 7, 0))
	c.expect("kpi", 1, 7)

	// up to date: nothing to replay, the next live update follows
	c2 := e.connect(s, "alice")
	c2.send(`{"op":"resume","line":1,"seq":7}`)
	e.publish(acme, 1, "kpi", kpi(1, 8, 0))
	c2.expect("kpi", 1, 8)
	c.expect("kpi", 1, 8)

	// too far behind for the 8-message buffer: a snapshot, then live updates
	for seq := uint64(9); seq <= 20; seq++ {
		e.publish(acme, 1, "kpi", kpi(1, seq, 0))
	}
	for m := c.next(); m.Seq != 20; m = c.next() { // the hub has dispatched them all
	}
	c3 := e.connect(s, "alice")
	c3.send(`{"op":"resume","line":1,"seq":2}`)
	m := c3.expect("snapshot", 1, 20)
	if !strings.Contains(string(m.raw), `"counts":{"total":20`) {
		t.Fatalf("snapshot does not carry the latest state: %s", m.raw)
	}
	e.publish(acme, 1, "kpi", kpi(1, 21, 0))
	c3.expect("kpi", 1, 21)

	// a resume on an instance that never saw the line: a snapshot from the KV
	s2 := e.start()
	e.putKV(acme, 1, kpi(1, 21, 0))
	c4 := e.connect(s2, "alice")
	c4.send(`{"op":"resume","line":1,"seq":15}`)
	c4.expect("snapshot", 1, 21)
}

func TestSlowClientIsClosedOthersUnaffected(t *testing.T) {
	e := newEnv(t)
	s := e.start(func(c *hub.Config) {
		// generous for the reading client (even under -race on a machine loaded to 10×
		// its cores, where 2 s was seen to be too short), short for the test
		c.DowntimeDeadline = 5 * time.Second
		c.WriteTimeout = 5 * time.Second
		c.QueueSize = 1024 // more than the 400 frames the burst below can queue
	})
	// The slow client has a tiny receive buffer and never reads.
	slow := e.connect(s, "alice", func(o *websocket.DialOptions) {
		o.HTTPClient = &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
			return errors.Join(err, serr)
		}}).DialContext}}
	})
	fast := e.connect(s, "alice")
	for _, c := range []*client{slow, fast} {
		c.send(`{"op":"subscribe","lines":[1]}`)
	}
	fast.expect("snapshot", 1, 0)

	// The fast client reads everything; record what it sees.
	type seen struct {
		kpis, downs []uint64
		err         error
	}
	got := make(chan seen, 1)
	const n = 600
	go func() {
		var r seen
		for {
			m, err := fast.read()
			if err != nil {
				r.err = err
				got <- r
				return
			}
			switch m.Type {
			case "kpi":
				r.kpis = append(r.kpis, m.Seq)
			case "downtime":
				r.downs = append(r.downs, m.Seq)
			}
			if m.Seq == n {
				got <- r
				return
			}
		}
	}()
	// 600 messages of 16 KiB, every third a downtime event: far more than the slow
	// client's socket buffers hold.
	var wantDowns []uint64
	for seq := uint64(1); seq <= n; seq++ {
		if seq%3 == 0 {
			p := downtime(1, seq, "started")
			p = append(p[:len(p)-1], `,"pad":"`+strings.Repeat("y", 16<<10)+`"}`...)
			e.publish(acme, 1, "downtime", p)
			wantDowns = append(wantDowns, seq)
		} else {
			e.publish(acme, 1, "kpi", kpi(1, seq, 16<<10))
		}
	}
	r := <-got
	if r.err != nil {
		t.Fatalf("fast client: %v", r.err)
	}
	if !slices.Equal(r.downs, wantDowns) {
		t.Fatalf("fast client got downtime events %v…, want all %d of them in order", r.downs[:min(len(r.downs), 10)], len(wantDowns))
	}
	if !slices.IsSorted(r.kpis) || r.kpis[len(r.kpis)-1] != n-1 {
		t.Fatalf("fast client kpis out of order or missing the latest: last %v", r.kpis[len(r.kpis)-3:])
	}
	e.eventually("slow client disconnected", func() bool { return s.hub.Stats().SlowDisconnects >= 1 })
	// It reads again: its backlog is intact (well-formed, in order) and ends with the
	// close code, unless the hub had to drop the socket before the close frame got through.
	var last uint64
	for {
		_, b, err := slow.ws.Read(testCtx(t))
		if err != nil {
			st := websocket.CloseStatus(err)
			t.Logf("slow client: close status %d after seq %d (%v)", st, last, err)
			if st != hub.CloseTooSlow && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !strings.Contains(err.Error(), "connection reset") {
				t.Fatalf("slow client: %v", err)
			}
			break
		}
		var m msg
		if err := json.Unmarshal(b, &m); err != nil || m.Seq <= last && m.Type != "snapshot" {
			t.Fatalf("slow client: frame %.80s after seq %d: %v", b, last, err)
		}
		last = m.Seq
	}
	e.eventually("slow connection released", func() bool { return s.hub.Stats().Connections == 1 })
	// and the hub still serves the fast client
	e.publish(acme, 1, "kpi", kpi(1, n+1, 0))
	fast.expect("kpi", 1, n+1)
}

func TestBadInputNeverCrashes(t *testing.T) {
	e := newEnv(t)
	s := e.start(func(c *hub.Config) {
		c.MaxSubscriptions = 2
		c.ReadLimit = 1024
		c.MessageRate = 5
		c.MessageBurst = 30
	})
	c := e.connect(s, "alice")
	for _, tc := range []struct{ in, code string }{
		{`{"op":"subscribe","lines":[1]`, hub.CodeBadRequest},
		{`not json`, hub.CodeBadRequest},
		{`[]`, hub.CodeBadRequest},
		{`{"op":"dance"}`, hub.CodeUnknownOp},
		{`{"op":"subscribe","lines":[-1]}`, hub.CodeBadRequest},
		{`{"op":"subscribe","lines":"1"}`, hub.CodeBadRequest},
		{`{"op":"subscribe","lines":[1],"x":1}`, hub.CodeBadRequest},
		{`{"op":"resume","line":1}`, hub.CodeBadRequest},
	} {
		c.send(tc.in)
		if m := c.next(); m.Type != "error" || m.Code != tc.code {
			t.Fatalf("%s: got %s, want error %s", tc.in, m.raw, tc.code)
		}
	}
	// subscription flood: the limit is 2 lines per connection
	c.send(`{"op":"subscribe","lines":[1,2,3]}`)
	c.expect("snapshot", 1, 0)
	c.expect("snapshot", 2, 0)
	c.expectError(hub.CodeTooManySubscriptions, 3)

	// an oversized frame closes with 1009
	big := e.connect(s, "alice")
	big.send(`{"op":"subscribe","lines":[` + strings.Repeat("1,", 1000) + `1]}`)
	if st := big.closeStatus(); st != websocket.StatusMessageTooBig {
		t.Fatalf("oversized frame: close %d, want 1009", st)
	}
	// a binary frame closes with 1003
	bin := e.connect(s, "alice")
	if err := bin.ws.Write(testCtx(t), websocket.MessageBinary, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if st := bin.closeStatus(); st != websocket.StatusUnsupportedData {
		t.Fatalf("binary frame: close %d, want 1003", st)
	}
	// a message flood closes with 1008
	flood := e.connect(s, "alice")
	go func() {
		for range 500 {
			if flood.ws.Write(testCtx(t), websocket.MessageText, []byte(`{"op":"unsubscribe","lines":[9]}`)) != nil {
				return
			}
		}
	}()
	if st := flood.closeStatus(); st != hub.ClosePolicy {
		t.Fatalf("flood: close %d, want 1008", st)
	}
	// the first client is still served
	e.publish(acme, 2, "kpi", kpi(2, 1, 0))
	c.expect("kpi", 2, 1)
}

func TestTwoInstancesShareNATS(t *testing.T) {
	e := newEnv(t)
	s1 := e.start()
	s2 := e.start()
	var cs []*client
	base := -1
	for range 3 {
		c := e.connect(s2, "alice")
		c.send(`{"op":"subscribe","lines":[3]}`)
		c.expect("snapshot", 3, 0)
		cs = append(cs, c)
		// One NATS subscription pair (kpi + downtime) for the line, whatever the clients.
		if n := s2.nc.NumSubscriptions(); base < 0 {
			base = n
		} else if n != base {
			t.Fatalf("instance 2 holds %d NATS subscriptions with %d clients, %d with one", n, len(cs), base)
		}
	}
	// "produced on instance 1": published on instance 1's own NATS connection
	m := &nats.Msg{Subject: bus.KPISubject(acme, 3), Data: kpi(3, 1, 0), Header: nats.Header{}}
	if err := s1.nc.PublishMsg(m); err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		c.expect("kpi", 3, 1)
	}
	for _, c := range cs {
		c.ws.Close(websocket.StatusNormalClosure, "")
	}
	e.eventually("subscriptions released with the last client", func() bool { return s2.nc.NumSubscriptions() == base-2 })
	// A connection is counted until its handler returns, which may be just after the
	// topics are released.
	e.eventually("no connection, subscription or topic left", func() bool {
		st := s2.hub.Stats()
		return st.Topics == 0 && st.Subscriptions == 0 && st.Connections == 0
	})
}

func TestIdleClientClosedAndShutdownGoesAway(t *testing.T) {
	e := newEnv(t)
	nc, err := e.bus.Connect("hub")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	h, err := hub.New(hub.Config{Logger: quiet(), PingInterval: 50 * time.Millisecond, IdleTimeout: 2 * time.Second}, nc, e.auth, e.lines)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	srv := httptest.NewServer(h)
	defer srv.Close()
	s := &server{hub: h, srv: srv, nc: nc, url: "ws" + strings.TrimPrefix(srv.URL, "http")}
	e.eventually("running", func() bool {
		resp, err := http.Get(srv.URL)
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode != http.StatusServiceUnavailable
	})
	// A client that reads answers the pings; one that never reads cannot.
	live := e.connect(s, "alice")
	mute := e.connect(s, "alice")
	var wg sync.WaitGroup
	var liveStatus websocket.StatusCode
	wg.Go(func() { liveStatus = live.closeStatus() })
	e.eventually("both connected", func() bool { return h.Stats().Connections == 2 })
	e.eventually("idle client closed", func() bool { return h.Stats().Connections == 1 })
	if st := mute.closeStatus(); st != hub.CloseIdle && st != -1 {
		t.Fatalf("idle client: close %d", st)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if liveStatus != hub.CloseGoingAway {
		t.Fatalf("at shutdown the live client got close %d, want 1001", liveStatus)
	}
}
