package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/linepulse/linepulse/alert"
	"github.com/linepulse/linepulse/detection"
	"github.com/linepulse/linepulse/identity"
	"github.com/linepulse/linepulse/store"
)

// APIPrefix is where the REST API lives.
const APIPrefix = "/api/v1/"

// APIConfig configures the REST API. Zero fields take the documented defaults, except
// Keyring, which is required.
type APIConfig struct {
	// Issuer and Audience are the iss and aud of access tokens. Default "linepulse" and
	// "linepulse-api".
	Issuer, Audience string
	// AccessTTL is the lifetime of an access token (and of the access cookie). Default 15m.
	AccessTTL time.Duration
	// RefreshTTL is the lifetime of a refresh token; each refresh issues a new one, so a
	// session lives while it is used at least once per RefreshTTL. Default 7 days (168h).
	RefreshTTL time.Duration
	// Keyring signs and verifies access tokens (see LoadOrCreateKeyring). Required.
	Keyring *identity.Keyring
	// Hasher hashes passwords. A zero Params means identity.DefaultParams() (OWASP argon2id);
	// stored hashes weaker than Params are upgraded at the next successful login.
	Hasher identity.Hasher
	// Throttle limits login and refresh attempts per IP and locks accounts after repeated
	// failures (defaults: 1/s per IP with a burst of 10; 5 failures within 1m lock for 1m,
	// doubling up to 1h).
	Throttle identity.ThrottleConfig
	// RequestRate and RequestBurst limit all API requests per client IP (token bucket).
	// Default 50 requests/s with a burst of 200.
	RequestRate  float64
	RequestBurst int
	// TLS marks cookies Secure and sends HSTS. Set it when serving HTTPS (directly or behind
	// a TLS-terminating proxy). Default false.
	TLS bool
	// TrustedOrigins may make state-changing cross-origin browser requests (scheme://host[:port]).
	// Same-origin requests and non-browser clients never need to be listed. Default none.
	TrustedOrigins []string
	// TrustedProxies are the networks whose X-Forwarded-For is believed for the client IP
	// (rate limits, USER_LOGIN, audit). Default none: the TCP peer is the client.
	TrustedProxies []netip.Prefix
	// MaxBodyBytes bounds every request body. Default 1 MiB.
	MaxBodyBytes int64
	// DataQueryMaxSpan bounds from..to of data queries. Default 400 days (minute interval:
	// 31 days).
	DataQueryMaxSpan time.Duration
	// NATSURL is shown to tenant admins with new device credentials (where edges connect),
	// e.g. nats://plant-server:4222. Default "nats://<host of the API request>:4222".
	NATSURL string
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger receives security events and failures. Default slog.Default().
	Logger *slog.Logger
	// Registry, when set, gets the API's metrics.
	Registry prometheus.Registerer
}

// ShiftValidator checks a tenant's complete set of shifts in its time zone (overlaps,
// breaks, days); stream.ValidateShifts implements it. A *store.ValidationError result is
// answered field by field.
type ShiftValidator func(tz string, shifts []store.Shift) error

// Deps are the API's collaborators. Store is required; a missing optional collaborator
// makes its endpoints answer 503 unavailable.
type Deps struct {
	Store *store.Store
	// Devices issues and revokes device credentials (the CLI's path too); its Bus closes
	// the live NATS connections of a revoked device.
	Devices *identity.Devices
	// Analytics answers the data endpoints (stream.History).
	Analytics Analytics
	// ValidateShifts checks shift calendars (stream.ValidateShifts).
	ValidateShifts ShiftValidator
	// Nodes lists vision nodes (stream.NodeDirectory); nil: GET /api/v1/nodes answers 503.
	Nodes NodeLister
	// OnSessionEnd is called after a session is revoked (logout, refresh-token reuse,
	// user change), so live WebSocket connections of it can be closed.
	OnSessionEnd func(sessionID string)
	// OnKioskRevoked is called after a kiosk token is revoked.
	OnKioskRevoked func(tenantID, kioskID int64)
	// OnDowntimeCoded is called after a downtime event's reason changed (the KPI engine
	// re-reads the line's coded events: stream.NotifyCoded); optional.
	OnDowntimeCoded func(tenantID, lineID int64)
	// DeadLetters lists a tenant's recent refused device messages (bus.Bus).
	DeadLetters DeadLetterReader
	// Alerts is told of changes that alerting reacts to at once (alert.Engine); optional.
	Alerts AlertHooks
	// AckLinks checks the signed acknowledge links of alert e-mails; nil: such links are
	// refused.
	AckLinks *alert.Links
}

// DeadLetterReader returns a tenant's most recent dead letters, newest first.
type DeadLetterReader interface {
	DeadLetters(ctx context.Context, tenantSlug string, limit int) ([]detection.DeadLetter, error)
}

// AlertHooks are the alert engine's reactions to API changes.
type AlertHooks interface {
	// DowntimeCoded: a downtime event got a reason (its uncoded-downtime alerts resolve).
	DowntimeCoded(ctx context.Context, tenantID, lineID, eventID int64)
	// Invalidate: the tenant's alert rules changed.
	Invalidate(tenantID int64)
}

// API is the REST API v1: authentication, RBAC, audit and every plant entity. It is an
// http.Handler for APIPrefix; Mount registers it on a Server.
type API struct {
	cfg      APIConfig
	deps     Deps
	st       *store.Store
	issuer   *identity.Issuer
	login    *identity.Throttle
	requests *identity.Throttle
	cop      *http.CrossOriginProtection
	mux      *http.ServeMux
	routes   []*Route
	handler  http.Handler
	log      *slog.Logger
	metrics  apiMetrics
	widgets  *widgetSchemas
	openapi  []byte

	kioskMu   sync.Mutex
	kioskSeen map[int64]time.Time // last last_used_at write per kiosk token
}

// NewAPI validates cfg, applies defaults and builds the route table and handler.
func NewAPI(cfg APIConfig, deps Deps) (*API, error) {
	if deps.Store == nil {
		return nil, errors.New("web: NewAPI needs a store")
	}
	if cfg.Keyring == nil {
		return nil, errors.New("web: NewAPI needs a keyring (see LoadOrCreateKeyring)")
	}
	if cfg.Issuer == "" {
		cfg.Issuer = "linepulse"
	}
	if cfg.Audience == "" {
		cfg.Audience = "linepulse-api"
	}
	if cfg.AccessTTL <= 0 {
		cfg.AccessTTL = identity.DefaultAccessTTL
	}
	if cfg.RefreshTTL <= 0 {
		cfg.RefreshTTL = identity.DefaultRefreshTTL
	}
	if cfg.Hasher.Params == (identity.Params{}) {
		cfg.Hasher.Params = identity.DefaultParams()
	}
	if cfg.RequestRate <= 0 {
		cfg.RequestRate = 50
	}
	if cfg.RequestBurst <= 0 {
		cfg.RequestBurst = 200
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.DataQueryMaxSpan <= 0 {
		cfg.DataQueryMaxSpan = 400 * 24 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if _, err := identity.HashPassword("probe", cfg.Hasher.Params); err != nil {
		return nil, fmt.Errorf("web: password hasher: %w", err)
	}
	issuer, err := identity.NewIssuer(identity.IssuerConfig{Issuer: cfg.Issuer, Audience: cfg.Audience, TTL: cfg.AccessTTL, Now: cfg.Now}, cfg.Keyring)
	if err != nil {
		return nil, fmt.Errorf("web: token issuer: %w", err)
	}
	tc := cfg.Throttle
	if tc.Now == nil {
		tc.Now = cfg.Now
	}
	login, err := identity.NewThrottle(tc)
	if err != nil {
		return nil, fmt.Errorf("web: login throttle: %w", err)
	}
	requests, err := identity.NewThrottle(identity.ThrottleConfig{PerIPRate: rate.Limit(cfg.RequestRate), PerIPBurst: cfg.RequestBurst, MaxEntries: tc.MaxEntries, Now: cfg.Now})
	if err != nil {
		return nil, fmt.Errorf("web: request limiter: %w", err)
	}
	a := &API{
		cfg: cfg, deps: deps, st: deps.Store, issuer: issuer, login: login, requests: requests,
		cop: http.NewCrossOriginProtection(), mux: http.NewServeMux(), log: cfg.Logger,
		metrics: newAPIMetrics(cfg.Registry), widgets: newWidgetSchemas(), kioskSeen: map[int64]time.Time{},
	}
	for _, o := range cfg.TrustedOrigins {
		if err := a.cop.AddTrustedOrigin(o); err != nil {
			return nil, fmt.Errorf("web: trusted origin %q: %w", o, err)
		}
	}
	a.cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.metrics.refused.WithLabelValues("cross_origin").Inc()
		writeError(w, errf(http.StatusForbidden, CodeCrossOrigin, "cross-origin request refused: state-changing requests must come from this site"))
	}))
	if err := a.buildRoutes(); err != nil {
		return nil, err
	}
	a.handler = a.cop.Handler(http.HandlerFunc(a.dispatch))
	return a, nil
}

// Mount registers the API (and its OpenAPI document) on s.
func (a *API) Mount(s *Server) { s.Handle(APIPrefix, a) }

// ServeHTTP serves every request under APIPrefix: security headers, panic recovery and
// the per-IP request limit first, then cross-origin protection, then the route.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w.Header(), a.cfg.TLS)
	start := a.cfg.Now()
	sw := &statusWriter{ResponseWriter: w}
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			a.log.Error("api: panic", "method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
			if !sw.wrote {
				writeError(sw, errf(http.StatusInternalServerError, CodeInternal, "internal error"))
			}
		}
		a.metrics.observe(r, sw.status, a.cfg.Now().Sub(start))
	}()
	if !a.requests.AllowIP(a.clientIP(r)) {
		a.metrics.refused.WithLabelValues("rate_limited").Inc()
		e := errf(http.StatusTooManyRequests, CodeRateLimited, "too many requests from this address; slow down")
		e.retryAfter = time.Second
		writeError(sw, e)
		return
	}
	a.handler.ServeHTTP(sw, r)
}

// dispatch routes through the mux; what no route matches gets the JSON 404/405.
func (a *API) dispatch(w http.ResponseWriter, r *http.Request) {
	a.mux.ServeHTTP(w, r)
}

// notFound answers requests under APIPrefix that no route matches: 405 with Allow when
// the path exists for other methods, else 404.
func (a *API) notFound(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pat := a.mux.Handler(probe); pat != "" && pat != APIPrefix {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeError(w, errf(http.StatusMethodNotAllowed, CodeMethodNotAllowed, "%s is not allowed here; use %s", r.Method, strings.Join(allow, ", ")))
		return
	}
	writeError(w, errf(http.StatusNotFound, CodeRouteNotFound, "no such endpoint (see %sopenapi.json)", APIPrefix))
}

// statusWriter remembers the status for metrics and panic handling.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.status, w.wrote = http.StatusOK, true
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// clientIP is the TCP peer, or the nearest untrusted address of X-Forwarded-For when the
// peer is a trusted proxy.
func (a *API) clientIP(r *http.Request) string {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	var addr netip.Addr
	if err == nil {
		addr = peer.Addr().Unmap()
	} else if a2, err2 := netip.ParseAddr(r.RemoteAddr); err2 == nil {
		addr = a2.Unmap()
	} else {
		return r.RemoteAddr
	}
	if !a.trusted(addr) {
		return addr.String()
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		h, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		h = h.Unmap()
		if !a.trusted(h) {
			return h.String()
		}
		addr = h
	}
	return addr.String()
}

func (a *API) trusted(ip netip.Addr) bool {
	for _, p := range a.cfg.TrustedProxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// Run does the API's housekeeping until ctx ends: expired refresh tokens are purged
// hourly (a day after expiry, so a late replay is still recognised).
func (a *API) Run(ctx context.Context) error {
	tick := time.NewTicker(time.Hour)
	defer tick.Stop()
	for {
		if n, err := a.st.PurgeRefreshTokens(ctx, a.cfg.Now().Add(-24*time.Hour)); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			a.log.Warn("api: cannot purge expired refresh tokens; will retry", "err", err)
		} else if n > 0 {
			a.log.Info("api: purged expired refresh tokens", "count", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// now is the API clock in UTC at the store's millisecond precision.
func (a *API) now() time.Time { return a.cfg.Now().UTC().Truncate(time.Millisecond) }
