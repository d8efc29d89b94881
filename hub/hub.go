package hub

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/linepulse/linepulse/bus"
	"github.com/linepulse/linepulse/identity"
	"github.com/linepulse/linepulse/internal/clock"
)

// Authenticator establishes who opens a WebSocket: session cookie, Bearer JWT or kiosk
// token. An error means 401 before the upgrade. Implemented by package web.
type Authenticator interface {
	AuthenticateWS(r *http.Request) (identity.Principal, error)
}

// LineChecker reports whether a line exists (and is active) in a tenant. cmd adapts
// store.MetaCache to it.
type LineChecker interface {
	LineExists(ctx context.Context, tenantID, lineID int64) bool
}

// Config configures the hub. Zero values take the documented defaults.
type Config struct {
	// AllowedOrigins are extra Origin host patterns (path.Match, case-insensitive;
	// with "://" matched against scheme://host) allowed to open a WebSocket, e.g.
	// "dashboards.example.com" or "https://*.example.com". The request's own host is
	// always allowed and so is a request without an Origin header (not a browser).
	AllowedOrigins []string
	// ReadLimit is the largest client message in bytes; larger ones close the
	// connection with 1009. Default MaxClientMessageBytes (4096).
	ReadLimit int64
	// PingInterval: a connection that sent nothing for this long gets a ping. Default 25s.
	PingInterval time.Duration
	// IdleTimeout: a connection from which nothing (message or pong) arrived for this
	// long is closed with CloseIdle. Default 60s; at least 2 × PingInterval.
	IdleTimeout time.Duration
	// WriteTimeout bounds a blocked write to a slow client; past it the client is closed
	// with CloseTooSlow. Default 10s.
	WriteTimeout time.Duration
	// QueueSize bounds the frames a connection may have queued that cannot be coalesced
	// (downtime events, and the KPI updates they displace); beyond it the client is
	// closed with CloseTooSlow. KPI updates alone never overflow: they coalesce to the
	// latest per line. Default 256.
	QueueSize int
	// DowntimeDeadline: a client that cannot take a downtime event within this time
	// (its socket stays full) is closed with CloseTooSlow (4008). Default 5s.
	DowntimeDeadline time.Duration
	// MaxConnsPerIP limits connections per client IP (ClientIP). Default 500; < 0 = no limit.
	MaxConnsPerIP int
	// MaxConnsPerUser limits connections per user or kiosk token. Default 50; < 0 = no limit.
	MaxConnsPerUser int
	// MaxSubscriptions limits the lines one connection may subscribe to. Default 64.
	MaxSubscriptions int
	// ResumeBuffer is how many recent messages per line are kept for resume. Default 128
	// (32 s at 4 updates/s).
	ResumeBuffer int
	// TopicLinger keeps a line's NATS subscription (and resume buffer) this long after its
	// last subscriber left, so that a reconnecting client can resume. Default 30s;
	// < 0 = unsubscribe as soon as the last subscriber leaves.
	TopicLinger time.Duration
	// MessageRate and MessageBurst limit client messages per connection (token bucket);
	// a client above it is closed with 1008. Defaults 20/s and 40.
	MessageRate  float64
	MessageBurst int
	// SendBuffer is the kernel send buffer of each client socket in bytes (SO_SNDBUF).
	// Bounded so that a client that stops reading cannot park megabytes in the
	// kernel before the hub notices (its socket reports full, KPI updates coalesce,
	// downtime events start their deadline). Default 64 KiB; < 0 = the OS default
	// (autotuned, up to net.ipv4.tcp_wmem's maximum).
	SendBuffer int
	// Workers is the number of writer goroutines. Default GOMAXPROCS.
	Workers int
	// ClientIP returns the client address used by MaxConnsPerIP. Default: the host of
	// r.RemoteAddr (set it when behind a trusted reverse proxy).
	ClientIP func(r *http.Request) string
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Registerer receives the linepulse_hub_* metrics; nil = not registered.
	Registerer prometheus.Registerer
	// Now is the clock (tests). Default time.Now.
	Now func() time.Time
}

func (cfg *Config) setDefaults() error {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&cfg.PingInterval, 25*time.Second)
	def(&cfg.IdleTimeout, 60*time.Second)
	def(&cfg.WriteTimeout, 10*time.Second)
	def(&cfg.DowntimeDeadline, 5*time.Second)
	if cfg.TopicLinger == 0 {
		cfg.TopicLinger = 30 * time.Second
	}
	defInt := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	defInt(&cfg.QueueSize, 256)
	defInt(&cfg.MaxConnsPerIP, 500)
	defInt(&cfg.MaxConnsPerUser, 50)
	defInt(&cfg.MaxSubscriptions, 64)
	defInt(&cfg.ResumeBuffer, 128)
	defInt(&cfg.MessageBurst, 40)
	defInt(&cfg.SendBuffer, 64<<10)
	defInt(&cfg.Workers, runtime.GOMAXPROCS(0))
	if cfg.ReadLimit <= 0 {
		cfg.ReadLimit = MaxClientMessageBytes
	}
	if cfg.MessageRate <= 0 {
		cfg.MessageRate = 20
	}
	if cfg.ClientIP == nil {
		cfg.ClientIP = remoteHost
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	switch {
	case cfg.IdleTimeout < 2*cfg.PingInterval:
		return fmt.Errorf("hub: IdleTimeout %v must be at least twice PingInterval %v", cfg.IdleTimeout, cfg.PingInterval)
	case cfg.QueueSize < 0 || cfg.MaxSubscriptions < 0 || cfg.ResumeBuffer < 0 || cfg.Workers < 0:
		return errors.New("hub: QueueSize, MaxSubscriptions, ResumeBuffer and Workers must not be negative")
	}
	for _, p := range cfg.AllowedOrigins {
		if _, err := path.Match(p, ""); err != nil {
			return fmt.Errorf("hub: bad AllowedOrigins pattern %q: %w", p, err)
		}
	}
	return nil
}

func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Hub serves GET /ws: WebSocket clients subscribe to lines and receive snapshots, KPI
// updates and downtime events fanned out from NATS. Its locks, what they guard and the
// order in which they may be held: LOCKS.md.
type Hub struct {
	// set by New, read-only afterwards
	cfg   Config
	log   *slog.Logger
	id    string // random per instance: tells its own revocations from others'
	nc    *nats.Conn
	js    jetstream.JetStream
	authn Authenticator
	lines LineChecker
	msgs  chan *nats.Msg
	pool  *pool

	mu      sync.Mutex
	topics  map[topicKey]*topic // guarded by mu
	conns   map[*conn]struct{}  // guarded by mu
	perIP   map[string]int      // guarded by mu
	perUser map[string]int      // guarded by mu
	// guarded by mu: the latest revocations (revocations[revGen%len] is the newest); an
	// upgrade whose credentials were checked before a revocation is refused when it
	// registers after it.
	revocations [recentRevocations]revocation
	revGen      atomic.Uint64 // revocations so far; written under mu, read without it

	subMu sync.RWMutex
	bySub map[*nats.Subscription]*topic // guarded by subMu

	kvMu sync.Mutex
	kv   jetstream.KeyValue // guarded by kvMu

	stats    stats // atomics
	latency  prometheus.Histogram
	rejected *prometheus.CounterVec

	started atomic.Bool
	running atomic.Bool     // stored under mu (no readers.Add after it turns false)
	runCtx  context.Context // written by Run before running turns true
	readers sync.WaitGroup
}

type stats struct {
	connections, subscriptions      atomic.Int64
	out, coalesced, slowDisconnects atomic.Int64
	dropped, closedIdle, writes     atomic.Int64
	revoked                         atomic.Int64
}

// Stats is a point-in-time copy of the hub's counters (the same numbers as its metrics).
type Stats struct {
	Connections     int64 // open WebSocket connections
	Subscriptions   int64 // (connection, line) subscriptions
	Topics          int64 // (tenant, line) pairs with NATS subscriptions on this instance
	MessagesOut     int64 // data frames written (snapshot, kpi, downtime, error)
	Writes          int64 // socket writes: MessagesOut / Writes is the batching factor
	Coalesced       int64 // KPI updates replaced by a newer one before a slow client took them
	SlowDisconnects int64 // clients closed with CloseTooSlow
	Dropped         int64 // bus messages dropped: malformed or duplicate
	Revoked         int64 // clients closed with CloseRevoked
}

// New builds a hub on an internal NATS connection. Call Run to start it.
func New(cfg Config, nc *nats.Conn, authn Authenticator, lines LineChecker) (*Hub, error) {
	if nc == nil || authn == nil || lines == nil {
		return nil, errors.New("hub: a NATS connection, an Authenticator and a LineChecker are required")
	}
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("hub: cannot open JetStream: %w", err)
	}
	h := &Hub{
		cfg: cfg, log: cfg.Logger, id: rand.Text(), nc: nc, js: js, authn: authn, lines: lines,
		msgs:    make(chan *nats.Msg, 1<<16),
		pool:    newPool(cfg.Workers),
		topics:  map[topicKey]*topic{},
		conns:   map[*conn]struct{}{},
		perIP:   map[string]int{},
		perUser: map[string]int{},
		bySub:   map[*nats.Subscription]*topic{},
	}
	h.latency = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "linepulse_hub_send_latency_seconds",
		Help:    "Time from a kpi/downtime message's Lp-Published-At to its write to a client socket.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	})
	h.rejected = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "linepulse_hub_rejected_total",
		Help: "WebSocket upgrades refused, by reason (origin, unauthorized, tenant, limit, unavailable).",
	}, []string{"reason"})
	if cfg.Registerer != nil {
		if err := h.register(cfg.Registerer); err != nil {
			return nil, err
		}
	}
	return h, nil
}

func (h *Hub) register(r prometheus.Registerer) error {
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "linepulse_hub_" + name, Help: help}, f)
	}
	counter := func(name, help string, v *atomic.Int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "linepulse_hub_" + name, Help: help}, func() float64 { return float64(v.Load()) })
	}
	cs := []prometheus.Collector{
		gauge("connections", "Open WebSocket connections.", func() float64 { return float64(h.stats.connections.Load()) }),
		gauge("subscriptions", "Line subscriptions of open connections.", func() float64 { return float64(h.stats.subscriptions.Load()) }),
		gauge("topics", "Lines this instance holds NATS subscriptions for.", func() float64 { return float64(h.Stats().Topics) }),
		counter("messages_out_total", "Data frames written to clients.", &h.stats.out),
		counter("coalesced_total", "KPI updates replaced by a newer one before a slow client took them.", &h.stats.coalesced),
		counter("slow_disconnects_total", "Clients closed with 4008 (too slow).", &h.stats.slowDisconnects),
		counter("dropped_total", "Bus messages dropped as malformed or duplicate.", &h.stats.dropped),
		counter("idle_disconnects_total", "Clients closed after IdleTimeout without a pong.", &h.stats.closedIdle),
		counter("revoked_disconnects_total", "Clients closed with 4001 (session ended or kiosk token revoked).", &h.stats.revoked),
		h.latency, h.rejected,
	}
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			return fmt.Errorf("hub: cannot register metrics: %w", err)
		}
	}
	return nil
}

// Stats returns the current counters.
func (h *Hub) Stats() Stats {
	h.mu.Lock()
	topics := int64(len(h.topics))
	h.mu.Unlock()
	return Stats{
		Connections:     h.stats.connections.Load(),
		Subscriptions:   h.stats.subscriptions.Load(),
		Topics:          topics,
		MessagesOut:     h.stats.out.Load(),
		Writes:          h.stats.writes.Load(),
		Coalesced:       h.stats.coalesced.Load(),
		SlowDisconnects: h.stats.slowDisconnects.Load(),
		Dropped:         h.stats.dropped.Load(),
		Revoked:         h.stats.revoked.Load(),
	}
}

// Run subscribes to revocations (bus.AuthRevokedSubject), starts the dispatcher, the
// writer pool and the janitor, serves until ctx ends, then closes every connection
// with 1001 (going away) and unsubscribes.
func (h *Hub) Run(ctx context.Context) error {
	if !h.started.CompareAndSwap(false, true) {
		return errors.New("hub: Run called twice")
	}
	h.runCtx = ctx
	revoked, err := h.nc.Subscribe(bus.AuthRevokedSubject, h.onRevoked)
	if err != nil {
		return fmt.Errorf("hub: cannot subscribe to %s: %w", bus.AuthRevokedSubject, err)
	}
	defer func() { _ = revoked.Unsubscribe() }()
	// The server has the subscription before the first client is admitted.
	if err := h.nc.FlushTimeout(5 * time.Second); err != nil {
		h.log.Warn("hub: NATS flush failed; revocations from other instances may arrive late", "err", err)
	}
	var wg sync.WaitGroup
	for range h.cfg.Workers {
		wg.Go(h.pool.run)
	}
	stop := make(chan struct{})
	var bg sync.WaitGroup
	bg.Go(func() { h.dispatchLoop(stop) })
	bg.Go(func() { h.janitor(stop) })
	h.running.Store(true)
	h.log.Info("hub: running", "workers", h.cfg.Workers)

	<-ctx.Done()
	h.mu.Lock()
	h.running.Store(false) // under mu: no readers.Add after this
	conns := make([]*conn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	for _, c := range conns {
		go c.closeWith(CloseGoingAway, "server shutting down")
	}
	done := make(chan struct{})
	go func() { h.readers.Wait(); close(done) }()
	if _, ok := clock.RecvWithin(clock.Real, closeGrace+time.Second, done); !ok {
		h.log.Warn("hub: connections still open at shutdown; closing them", "count", h.Stats().Connections)
		for _, c := range conns {
			_ = c.rc.Conn.Close()
		}
		<-done
	}
	close(stop)
	bg.Wait()
	h.pool.stop()
	wg.Wait()
	h.mu.Lock()
	topics := h.topics
	h.topics = map[topicKey]*topic{}
	h.mu.Unlock()
	for _, t := range topics {
		h.dropTopic(t)
	}
	return nil
}

func (h *Hub) dispatchLoop(stop <-chan struct{}) {
	var batch, urgent []*conn
	for {
		select {
		case m := <-h.msgs:
			batch, urgent = h.dispatch(m, batch[:0], urgent[:0])
			h.pool.pushUrgent(urgent)
			h.pool.push(batch)
			clear(batch)
			clear(urgent)
		case <-stop:
			return
		}
	}
}

// janitor pings quiet connections, closes idle ones and expires lingering topics.
func (h *Hub) janitor(stop <-chan struct{}) {
	tick := min(h.cfg.PingInterval/4, time.Second)
	t := time.NewTicker(tick)
	defer t.Stop()
	var conns []*conn
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		now := h.cfg.Now()
		nowNs := now.UnixNano()
		conns = conns[:0]
		h.mu.Lock()
		for c := range h.conns {
			conns = append(conns, c)
		}
		h.mu.Unlock()
		for _, c := range conns {
			quiet := time.Duration(nowNs - c.rc.lastRead.Load())
			switch {
			case quiet >= h.cfg.IdleTimeout:
				if !c.isClosing() {
					h.stats.closedIdle.Add(1)
					go c.closeWith(CloseIdle, "idle timeout")
				}
			case quiet >= h.cfg.PingInterval && time.Duration(nowNs-c.lastPing) >= h.cfg.PingInterval:
				c.lastPing = nowNs
				c.enqueueCtrl(pingFrame)
			}
		}
		clear(conns)
		h.expireTopics(now)
		if n := len(h.msgs); n > cap(h.msgs)/2 {
			h.log.Warn("hub: dispatcher falling behind", "queued", n)
		}
	}
}

// account counts one socket write of frames and observes their publish-to-write latency.
func (h *Hub) account(frames []*frame, now time.Time) {
	n := 0
	ns := now.UnixNano()
	for _, f := range frames {
		if f.kind == kindPing {
			continue
		}
		n++
		if f.pubAt > 0 {
			h.latency.Observe(float64(ns-f.pubAt) / 1e9)
		}
	}
	h.stats.out.Add(int64(n))
	h.stats.writes.Add(1)
}

// httpError writes the REST error shape {"error":{"code","message"}}.
func httpError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

// ServeHTTP upgrades GET /ws: Origin check, authentication, connection limits, then
// the WebSocket handshake. Every refusal happens before the upgrade, as an HTTP error.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.running.Load() {
		h.rejected.WithLabelValues("unavailable").Inc()
		httpError(w, http.StatusServiceUnavailable, "unavailable", "the live hub is not running")
		return
	}
	if !h.originAllowed(r) {
		h.rejected.WithLabelValues("origin").Inc()
		httpError(w, http.StatusForbidden, "forbidden_origin", "cross-origin WebSocket refused")
		return
	}
	revGen := h.revGen.Load() // before the credentials are looked at
	p, err := h.authn.AuthenticateWS(r)
	if err != nil {
		h.rejected.WithLabelValues("unauthorized").Inc()
		httpError(w, http.StatusUnauthorized, "unauthorized", "authentication required")
		return
	}
	if p.TenantID == 0 || !bus.ValidTenant(p.TenantSlug) {
		h.rejected.WithLabelValues("tenant").Inc()
		httpError(w, http.StatusForbidden, "forbidden", "live updates need a tenant session")
		return
	}
	ipKey := h.cfg.ClientIP(r)
	userKey := "u:" + strconv.FormatInt(p.TenantID, 10) + ":" + strconv.FormatInt(p.UserID, 10)
	if p.Kiosk {
		userKey = "k:" + strconv.FormatInt(p.TenantID, 10) + ":" + strconv.FormatInt(p.KioskID, 10)
	}
	if !h.admit(ipKey, userKey) {
		h.rejected.WithLabelValues("limit").Inc()
		w.Header().Set("Retry-After", "10")
		httpError(w, http.StatusTooManyRequests, "too_many_connections", "too many connections for this client")
		return
	}
	c, err := h.upgrade(w, r)
	if err != nil {
		h.leave(ipKey, userKey)
		h.log.Debug("hub: handshake failed", "remote", ipKey, "err", err)
		return
	}
	c.p, c.ipKey, c.userKey = p, ipKey, userKey
	h.mu.Lock()
	if !h.running.Load() {
		h.mu.Unlock()
		h.leave(ipKey, userKey)
		_ = c.ws.Close(CloseGoingAway, "server shutting down")
		return
	}
	if revoked, unsure := h.revokedSinceLocked(revGen, p); revoked || unsure {
		h.mu.Unlock()
		h.leave(ipKey, userKey)
		if unsure { // too many revocations meanwhile to tell: let the client authenticate again
			_ = c.ws.Close(CloseGoingAway, "please reconnect")
			return
		}
		h.stats.revoked.Add(1)
		_ = c.ws.Close(CloseRevoked, "credentials revoked")
		return
	}
	h.startLocked(c)
	h.mu.Unlock()
}

// upgrade does the WebSocket handshake on a hijacked rawConn and builds the connection;
// the caller fills in who it is.
func (h *Hub) upgrade(w http.ResponseWriter, r *http.Request) (*conn, error) {
	hw := &hijackWriter{ResponseWriter: w, h: h}
	ws, err := websocket.Accept(hw, r, &websocket.AcceptOptions{OriginPatterns: h.cfg.AllowedOrigins})
	if err != nil {
		return nil, err
	}
	ws.SetReadLimit(h.cfg.ReadLimit)
	c := &conn{h: h, ws: ws, rc: hw.rc, lim: rate.NewLimiter(rate.Limit(h.cfg.MessageRate), h.cfg.MessageBurst)}
	c.rc.c = c
	c.lastPing = h.cfg.Now().UnixNano()
	return c, nil
}

// startLocked registers c and starts its reader (h.mu held).
func (h *Hub) startLocked(c *conn) {
	h.conns[c] = struct{}{}
	h.readers.Add(1)
	h.stats.connections.Add(1)
	go c.readLoop(h.runCtx)
}

// admit counts a new connection against the per-IP and per-user limits.
func (h *Hub) admit(ipKey, userKey string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if (h.cfg.MaxConnsPerIP > 0 && h.perIP[ipKey] >= h.cfg.MaxConnsPerIP) ||
		(h.cfg.MaxConnsPerUser > 0 && h.perUser[userKey] >= h.cfg.MaxConnsPerUser) {
		return false
	}
	h.perIP[ipKey]++
	h.perUser[userKey]++
	return true
}

func (h *Hub) leave(ipKey, userKey string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.perIP[ipKey]--; h.perIP[ipKey] <= 0 {
		delete(h.perIP, ipKey)
	}
	if h.perUser[userKey]--; h.perUser[userKey] <= 0 {
		delete(h.perUser, userKey)
	}
}

// removeConn runs when a connection's reader ends: subscriptions, limits and the
// socket are released.
func (h *Hub) removeConn(c *conn) {
	c.mu.Lock()
	c.beginCloseLocked()
	subs := append([]*sub(nil), c.subs...)
	c.mu.Unlock()
	for _, s := range subs {
		c.detach(s)
	}
	_ = c.ws.CloseNow()
	c.mu.Lock()
	c.markDeadLocked()
	c.mu.Unlock()
	h.mu.Lock()
	delete(h.conns, c)
	h.mu.Unlock()
	h.leave(c.ipKey, c.userKey)
	h.stats.connections.Add(-1)
	h.readers.Done()
}

// originAllowed implements the cross-site WebSocket hijacking defence: a browser's
// Origin must be the request's host or match AllowedOrigins. (websocket.Accept checks
// again; this runs first so that no credential is looked at for a foreign origin.)
func (h *Hub) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	for _, p := range h.cfg.AllowedOrigins {
		target := u.Host
		if strings.Contains(p, "://") {
			target = u.Scheme + "://" + u.Host
		}
		if ok, _ := path.Match(strings.ToLower(p), strings.ToLower(target)); ok {
			return true
		}
	}
	return false
}
