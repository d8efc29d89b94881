package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/linepulse/linepulse/identity"
	"github.com/linepulse/linepulse/store"
)

// Cookie names. The access cookie carries the same JWT as the Authorization header; the
// refresh cookie is only sent to the auth endpoints.
const (
	AccessCookie  = "lp_access"
	RefreshCookie = "lp_refresh"
	authPath      = "/api/v1/auth"
)

// ErrUnauthenticated is returned by AuthenticateWS when the request carries no valid
// credentials.
var ErrUnauthenticated = errors.New("web: unauthenticated")

var errNoCredentials = errf(http.StatusUnauthorized, CodeUnauthorized, "authentication required: send Authorization: Bearer <access token> or sign in")

func badCredentials() *apiError {
	return errf(http.StatusUnauthorized, CodeUnauthorized, "invalid or expired credentials")
}

// authenticate establishes c.p from, in order: the Authorization header (Bearer JWT,
// Bearer or Kiosk kiosk token), the access cookie. A present but invalid credential is
// refused even if another one would be valid.
func (c *call) authenticate() error {
	p, dash, err := c.a.principal(c.r, false)
	if err != nil {
		c.a.metrics.refused.WithLabelValues("unauthorized").Inc()
		return err
	}
	c.p, c.kioskDashboard = p, dash
	return nil
}

// AuthenticateWS establishes who opens a WebSocket: the session cookie, an
// Authorization: Bearer access token, or a kiosk token (Authorization: Kiosk <token> or
// the ?kiosk=<token> query parameter, for browsers that cannot set headers on WebSocket
// requests). The hub then checks Can(p, ActLive) and p.CanSeeLine for each subscription.
func (a *API) AuthenticateWS(r *http.Request) (identity.Principal, error) {
	p, _, err := a.principal(r, true)
	if err != nil {
		return identity.Principal{}, fmt.Errorf("%w: %s", ErrUnauthenticated, errorOf(err).msg)
	}
	if !Can(p, ActLive) {
		return identity.Principal{}, fmt.Errorf("%w: role may not watch live data", ErrUnauthenticated)
	}
	return p, nil
}

func (a *API) principal(r *http.Request, allowQueryKiosk bool) (identity.Principal, int64, error) {
	ctx := r.Context()
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, cred, ok := strings.Cut(h, " ")
		cred = strings.TrimSpace(cred)
		if !ok || cred == "" {
			return identity.Principal{}, 0, badCredentials()
		}
		switch {
		case strings.EqualFold(scheme, "Bearer") && strings.Count(cred, ".") == 2:
			p, err := a.userPrincipal(ctx, cred)
			return p, 0, err
		case strings.EqualFold(scheme, "Bearer"), strings.EqualFold(scheme, "Kiosk"):
			return a.kioskPrincipal(ctx, cred)
		}
		return identity.Principal{}, 0, badCredentials()
	}
	if allowQueryKiosk {
		if k := r.URL.Query().Get("kiosk"); k != "" {
			return a.kioskPrincipal(ctx, k)
		}
	}
	if ck, err := r.Cookie(AccessCookie); err == nil && ck.Value != "" {
		p, err := a.userPrincipal(ctx, ck.Value)
		return p, 0, err
	}
	return identity.Principal{}, 0, errNoCredentials
}

// userPrincipal verifies an access token and re-reads the user, so deactivation, role
// and permission changes and logout take effect at once, not at token expiry.
func (a *API) userPrincipal(ctx context.Context, token string) (identity.Principal, error) {
	cl, err := a.issuer.Verify(token)
	if err != nil {
		return identity.Principal{}, badCredentials()
	}
	uid, ok := parseID(cl.Subject)
	if !ok || cl.Tenant < 0 || cl.SessionID == "" {
		return identity.Principal{}, badCredentials()
	}
	active, err := a.st.SessionActive(ctx, cl.SessionID)
	if err != nil {
		return identity.Principal{}, err
	}
	if !active {
		return identity.Principal{}, errf(http.StatusUnauthorized, CodeUnauthorized, "the session has ended; sign in again")
	}
	u, err := a.st.GetUser(ctx, cl.Tenant, uid)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !u.Active) {
		return identity.Principal{}, badCredentials()
	}
	if err != nil {
		return identity.Principal{}, err
	}
	slug, err := a.activeTenant(ctx, u.TenantID)
	if err != nil {
		return identity.Principal{}, err
	}
	p := identity.Principal{UserID: u.ID, TenantID: u.TenantID, TenantSlug: slug, Role: u.Role,
		Deny: u.Permissions.Deny, SessionID: cl.SessionID}
	if len(u.Permissions.Lines) > 0 {
		p.Lines = u.Permissions.Lines
	}
	return p, nil
}

// activeTenant returns the slug of an active tenant ("" for the platform scope).
func (a *API) activeTenant(ctx context.Context, tenantID int64) (string, error) {
	if tenantID == 0 {
		return "", nil
	}
	t, err := a.st.Tenant(ctx, tenantID)
	if errors.Is(err, store.ErrNotFound) {
		return "", badCredentials()
	}
	if err != nil {
		return "", err
	}
	ten := t.Tenant()
	if !ten.Active {
		return "", errf(http.StatusForbidden, CodeForbidden, "this tenant is deactivated")
	}
	return ten.Slug, nil
}

// kioskPrincipal checks a kiosk token: a read-only viewer of its lines.
func (a *API) kioskPrincipal(ctx context.Context, token string) (identity.Principal, int64, error) {
	if !identity.WellFormedRefreshToken(token) {
		return identity.Principal{}, 0, badCredentials()
	}
	k, err := a.st.KioskTokenByHash(ctx, identity.HashToken(token))
	if errors.Is(err, store.ErrNotFound) || (err == nil && k.RevokedAt != nil) {
		return identity.Principal{}, 0, badCredentials()
	}
	if err != nil {
		return identity.Principal{}, 0, err
	}
	slug, err := a.activeTenant(ctx, k.TenantID)
	if err != nil {
		return identity.Principal{}, 0, err
	}
	a.touchKiosk(ctx, k.ID)
	p := identity.Principal{TenantID: k.TenantID, TenantSlug: slug, Role: store.RoleViewer, Kiosk: true, KioskID: k.ID}
	if len(k.Lines) > 0 {
		p.Lines = k.Lines
	}
	return p, k.DashboardID, nil
}

// touchKiosk writes last_used_at at most once a minute per token.
func (a *API) touchKiosk(ctx context.Context, id int64) {
	now := a.now()
	a.kioskMu.Lock()
	last, ok := a.kioskSeen[id]
	fresh := ok && now.Sub(last) < time.Minute
	if !fresh {
		if len(a.kioskSeen) > 10000 {
			clear(a.kioskSeen)
		}
		a.kioskSeen[id] = now
	}
	a.kioskMu.Unlock()
	if !fresh {
		if err := a.st.TouchKioskToken(ctx, id, now); err != nil {
			a.log.Warn("api: cannot stamp kiosk token use", "kiosk", id, "err", err)
		}
	}
}

// ---- login, refresh, logout ----

// LoginRequest is the body of POST /api/v1/auth/login. Platform administrators sign in
// with tenant "".
type LoginRequest struct {
	Tenant   string `json:"tenant"`
	Email    string `json:"email"`
	Password string `json:"password"`
}

// RefreshRequest is the optional body of POST /api/v1/auth/refresh; browsers send the
// refresh cookie instead.
type RefreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}

// TokenResponse answers login and refresh.
type TokenResponse struct {
	AccessToken      string `json:"access_token"`
	RefreshToken     string `json:"refresh_token"`
	TokenType        string `json:"token_type"`
	ExpiresIn        int64  `json:"expires_in"`         // seconds until the access token expires
	RefreshExpiresIn int64  `json:"refresh_expires_in"` // seconds until the refresh token expires
	SessionID        string `json:"session_id"`
	User             Me     `json:"user"`
}

// Me describes the caller.
type Me struct {
	UserID      int64    `json:"user_id"`
	Email       string   `json:"email,omitempty"`
	Name        string   `json:"name,omitempty"`
	TenantID    int64    `json:"tenant_id"`
	Tenant      string   `json:"tenant"`
	Role        string   `json:"role"`
	Lines       []int64  `json:"lines"` // null = every line
	Actions     []string `json:"actions"`
	Kiosk       bool     `json:"kiosk"`
	KioskID     int64    `json:"kiosk_id,omitempty"`
	DashboardID int64    `json:"dashboard_id,omitempty"`
	Language    string   `json:"language"` // the user's own interface language; "" = none
}

// loginLimit bounds login bodies: three short strings.
const loginLimit = 4 << 10

func (a *API) authRoutes() []*Route {
	return []*Route{
		{Method: "POST", Path: "/api/v1/auth/login", Summary: "Sign in with tenant, e-mail and password; sets the session cookies too",
			Tag: "auth", Scope: ScopePublic, Body: LoginRequest{}, Resp: TokenResponse{}, handle: a.handleLogin},
		{Method: "POST", Path: "/api/v1/auth/refresh", Summary: "Exchange a refresh token (body or cookie) for new tokens; a reused token ends its session",
			Tag: "auth", Scope: ScopePublic, Body: RefreshRequest{}, Resp: TokenResponse{}, handle: a.handleRefresh},
		{Method: "POST", Path: "/api/v1/auth/logout", Summary: "End the current session and clear the cookies",
			Tag: "auth", Scope: ScopeAny, Action: ActSelf, handle: a.handleLogout},
	}
}

func (a *API) handleLogin(c *call) error {
	var in LoginRequest
	if err := decodeJSON(c.w, c.r, min(loginLimit, a.cfg.MaxBodyBytes), &in); err != nil {
		return err
	}
	in.Tenant = strings.TrimSpace(in.Tenant)
	in.Email = strings.ToLower(strings.TrimSpace(in.Email))
	var fields []store.FieldError
	if in.Tenant != "" && !store.SlugPattern.MatchString(in.Tenant) {
		fields = append(fields, store.FieldError{Field: "tenant", Message: "must be a tenant slug [a-z0-9-]{1,32} or \"\" for platform administrators"})
	}
	if in.Email == "" || len(in.Email) > 254 {
		fields = append(fields, store.FieldError{Field: "email", Message: "is required (at most 254 characters)"})
	}
	if in.Password == "" || len(in.Password) > identity.MaxPasswordLen {
		fields = append(fields, store.FieldError{Field: "password", Message: fmt.Sprintf("is required (at most %d bytes)", identity.MaxPasswordLen)})
	}
	if len(fields) > 0 {
		return &store.ValidationError{Entity: "login", Fields: fields}
	}
	if !a.login.AllowIP(c.ip) {
		a.metrics.logins.WithLabelValues("rate_limited").Inc()
		e := errf(http.StatusTooManyRequests, CodeRateLimited, "too many sign-in attempts from this address; wait a moment")
		e.retryAfter = time.Second
		return e
	}
	account := in.Tenant + ":" + in.Email
	ctx := c.r.Context()
	// The audit chain of the account's tenant; unknown tenants go to the platform chain.
	var tenantID int64
	var ten store.Tenant
	if in.Tenant != "" {
		t, err := a.st.TenantBySlug(ctx, in.Tenant)
		switch {
		case err == nil:
			ten, tenantID = t, t.ID
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
	}
	if until, locked := a.login.AccountLocked(account); locked {
		a.metrics.logins.WithLabelValues("locked").Inc()
		a.log.Info("api: sign-in refused: account locked", "tenant", in.Tenant, "ip", c.ip, "until", until)
		e := errf(http.StatusTooManyRequests, CodeAccountLocked, "too many failed sign-ins for this account; try again after %s", until.UTC().Format(time.RFC3339))
		e.retryAfter = until.Sub(a.cfg.Now())
		return e
	}
	fail := func(userID int64, reason string) error {
		a.metrics.logins.WithLabelValues("failure").Inc()
		lockedNow, until := a.login.Fail(account)
		details := map[string]any{"email": in.Email, "tenant": in.Tenant, "reason": reason, "user_agent": userAgent(c.r)}
		a.audit(ctx, tenantID, userID, "login.failure", c.ip, details)
		if lockedNow {
			a.audit(ctx, tenantID, userID, "login.lockout", c.ip, map[string]any{"email": in.Email, "tenant": in.Tenant, "until": until.UTC().Format(time.RFC3339)})
		}
		return errf(http.StatusUnauthorized, CodeInvalidLogin, "wrong tenant, e-mail or password")
	}
	if in.Tenant != "" && (tenantID == 0 || !ten.Active) {
		a.cfg.Hasher.DummyVerify(in.Password)
		return fail(0, "unknown_or_inactive_tenant")
	}
	u, err := a.st.UserByEmail(ctx, tenantID, in.Email)
	if errors.Is(err, store.ErrNotFound) {
		a.cfg.Hasher.DummyVerify(in.Password)
		return fail(0, "unknown_user")
	}
	if err != nil {
		return err
	}
	ok, rehash, err := a.cfg.Hasher.Verify(u.PasswordHash, in.Password)
	if err != nil && !errors.Is(err, identity.ErrMalformedHash) {
		return err
	}
	if errors.Is(err, identity.ErrMalformedHash) {
		a.log.Error("api: stored password hash is malformed; the user cannot sign in until it is reset", "user", u.ID)
	}
	if !ok {
		return fail(u.ID, "bad_password")
	}
	if !u.Active {
		return fail(u.ID, "inactive_user")
	}
	a.login.Succeed(account)
	if rehash {
		if h, err := a.cfg.Hasher.Hash(in.Password); err == nil {
			u.PasswordHash = h
			if err := a.st.UpdateUser(ctx, u.TenantID, &u); err != nil {
				a.log.Warn("api: cannot upgrade password hash", "user", u.ID, "err", err)
			}
		}
	}
	sid := newSessionID()
	refresh, hash := identity.NewRefreshToken()
	rt := store.RefreshToken{FamilyID: sid, UserID: u.ID, TenantID: u.TenantID, TokenHash: hash, ExpiresAt: a.now().Add(a.cfg.RefreshTTL)}
	if err := a.st.CreateRefreshToken(ctx, &rt); err != nil {
		return err
	}
	if err := a.st.RecordLogin(ctx, &store.UserLogin{UserID: u.ID, TenantID: u.TenantID, SessionID: sid, IP: c.ip, UserAgent: userAgent(c.r)}); err != nil {
		return err
	}
	a.metrics.logins.WithLabelValues("success").Inc()
	a.audit(ctx, u.TenantID, u.ID, "login.success", c.ip, map[string]any{"session": sid, "user_agent": userAgent(c.r), "rehashed": rehash})
	return a.issueTokens(c, u, ten.Slug, sid, refresh, rt.ExpiresAt)
}

// issueTokens signs an access token for u's session, sets the cookies and answers.
func (a *API) issueTokens(c *call, u store.User, slug, sid, refresh string, refreshExp time.Time) error {
	access, exp, err := a.issuer.Issue(identity.Claims{TenantSlug: slug, Tenant: u.TenantID, Role: u.Role, SessionID: sid,
		RegisteredClaims: jwt.RegisteredClaims{Subject: strconv.FormatInt(u.ID, 10)}})
	if err != nil {
		return err
	}
	now := a.cfg.Now()
	a.setCookie(c.w, AccessCookie, access, "/", exp.Sub(now))
	a.setCookie(c.w, RefreshCookie, refresh, authPath, refreshExp.Sub(now))
	p := identity.Principal{UserID: u.ID, TenantID: u.TenantID, TenantSlug: slug, Role: u.Role, Deny: u.Permissions.Deny}
	if len(u.Permissions.Lines) > 0 {
		p.Lines = u.Permissions.Lines
	}
	return c.reply(TokenResponse{AccessToken: access, RefreshToken: refresh, TokenType: "Bearer",
		ExpiresIn: int64(exp.Sub(now) / time.Second), RefreshExpiresIn: int64(refreshExp.Sub(now) / time.Second),
		SessionID: sid, User: meOf(p, &u, 0)})
}

func (a *API) setCookie(w http.ResponseWriter, name, value, path string, maxAge time.Duration) {
	ck := &http.Cookie{Name: name, Value: value, Path: path, HttpOnly: true, Secure: a.cfg.TLS,
		SameSite: http.SameSiteLaxMode, MaxAge: int(maxAge / time.Second)}
	if value == "" || maxAge <= 0 {
		ck.MaxAge = -1
	}
	http.SetCookie(w, ck)
}

func (a *API) handleRefresh(c *call) error {
	ctx := c.r.Context()
	var in RefreshRequest
	if c.r.ContentLength != 0 && c.r.Header.Get("Content-Type") != "" {
		if err := decodeJSON(c.w, c.r, min(loginLimit, a.cfg.MaxBodyBytes), &in); err != nil {
			return err
		}
	}
	fromCookie := false
	if in.RefreshToken == "" {
		if ck, err := c.r.Cookie(RefreshCookie); err == nil {
			in.RefreshToken, fromCookie = ck.Value, true
		}
	}
	if in.RefreshToken == "" {
		return fieldErr("refresh_token", "is required (in the body or the %s cookie)", RefreshCookie)
	}
	if !a.login.AllowIP(c.ip) {
		e := errf(http.StatusTooManyRequests, CodeRateLimited, "too many refresh attempts from this address; wait a moment")
		e.retryAfter = time.Second
		return e
	}
	refused := func(msg string) error {
		if fromCookie {
			a.clearCookies(c.w)
		}
		return errf(http.StatusUnauthorized, CodeUnauthorized, "%s", msg)
	}
	if !identity.WellFormedRefreshToken(in.RefreshToken) {
		return refused("invalid refresh token")
	}
	old, err := a.st.RefreshTokenByHash(ctx, identity.HashToken(in.RefreshToken))
	if errors.Is(err, store.ErrNotFound) {
		return refused("invalid refresh token")
	}
	if err != nil {
		return err
	}
	state := identity.RefreshState{ExpiresAt: old.ExpiresAt, Rotated: old.RotatedAt != nil, Revoked: old.RevokedAt != nil}
	switch identity.DecideRotation(state, a.cfg.Now()) {
	case identity.RotateRevoked:
		return refused("this session has ended; sign in again")
	case identity.RotateExpired:
		return refused("the refresh token has expired; sign in again")
	case identity.RotateReuse:
		a.reuse(ctx, c, old)
		return refused("this refresh token was already used; the session has been ended for safety")
	}
	u, err := a.st.GetUser(ctx, old.TenantID, old.UserID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !u.Active) {
		a.endSession(ctx, old.FamilyID)
		return refused("the account is no longer active")
	}
	if err != nil {
		return err
	}
	slug, err := a.activeTenant(ctx, u.TenantID)
	if err != nil {
		return err
	}
	refresh, hash := identity.NewRefreshToken()
	next := store.RefreshToken{FamilyID: old.FamilyID, UserID: u.ID, TenantID: u.TenantID, TokenHash: hash, ExpiresAt: a.now().Add(a.cfg.RefreshTTL)}
	if err := a.st.RotateRefreshToken(ctx, old.ID, &next); err != nil {
		if errors.Is(err, store.ErrConflict) {
			// Two uses of the same token raced: one of them is a replay.
			a.reuse(ctx, c, old)
			return refused("this refresh token was already used; the session has been ended for safety")
		}
		return err
	}
	return a.issueTokens(c, u, slug, old.FamilyID, refresh, next.ExpiresAt)
}

// reuse handles a rotated refresh token presented again: it was copied, so the whole
// session is revoked and the event audited.
func (a *API) reuse(ctx context.Context, c *call, old store.RefreshToken) {
	a.endSession(ctx, old.FamilyID)
	a.log.Warn("api: refresh token reused; session revoked", "user", old.UserID, "tenant", old.TenantID, "ip", c.ip)
	a.audit(ctx, old.TenantID, old.UserID, "session.refresh_reuse", c.ip, map[string]any{"session": old.FamilyID, "user_agent": userAgent(c.r)})
}

// endSession revokes a session, stamps its logout and tells the hub.
func (a *API) endSession(ctx context.Context, sid string) {
	if _, err := a.st.RevokeRefreshFamily(ctx, sid); err != nil {
		a.log.Error("api: cannot revoke session", "err", err)
	}
	if err := a.st.RecordLogout(ctx, sid); err != nil {
		a.log.Warn("api: cannot record logout", "err", err)
	}
	if a.deps.OnSessionEnd != nil {
		a.deps.OnSessionEnd(sid)
	}
}

// endUserSessions ends every session of a user (after a password, role or status change).
func (a *API) endUserSessions(ctx context.Context, tenantID, userID int64) {
	sids, err := a.st.RevokeUserSessions(ctx, tenantID, userID)
	if err != nil {
		a.log.Error("api: cannot revoke sessions of user", "user", userID, "err", err)
		return
	}
	for _, sid := range sids {
		if err := a.st.RecordLogout(ctx, sid); err != nil {
			a.log.Warn("api: cannot record logout", "err", err)
		}
		if a.deps.OnSessionEnd != nil {
			a.deps.OnSessionEnd(sid)
		}
	}
}

func (a *API) handleLogout(c *call) error {
	a.clearCookies(c.w)
	if c.p.Kiosk || c.p.SessionID == "" {
		return c.reply(nil)
	}
	ctx := c.r.Context()
	a.endSession(ctx, c.p.SessionID)
	a.audit(ctx, c.p.TenantID, c.p.UserID, "logout", c.ip, map[string]any{"session": c.p.SessionID})
	return c.reply(nil)
}

func (a *API) clearCookies(w http.ResponseWriter) {
	a.setCookie(w, AccessCookie, "", "/", 0)
	a.setCookie(w, RefreshCookie, "", authPath, 0)
}

// ---- me ----

func (a *API) meRoutes() []*Route {
	return []*Route{{Method: "GET", Path: "/api/v1/me", Summary: "Who am I: identity, role, lines and allowed actions",
		Tag: "auth", Scope: ScopeAny, Action: ActSelf, Resp: Me{}, handle: a.handleMe}, a.meLanguageRoute()}
}

func (a *API) handleMe(c *call) error {
	if c.p.Kiosk {
		return c.reply(meOf(c.p, nil, c.kioskDashboard))
	}
	u, err := a.st.GetUser(c.r.Context(), c.p.TenantID, c.p.UserID)
	if err != nil {
		return err
	}
	return c.reply(meOf(c.p, &u, 0))
}

func meOf(p identity.Principal, u *store.User, dashboard int64) Me {
	m := Me{UserID: p.UserID, TenantID: p.TenantID, Tenant: p.TenantSlug, Role: p.Role, Lines: p.Lines,
		Kiosk: p.Kiosk, KioskID: p.KioskID, DashboardID: dashboard}
	if u != nil {
		m.Email, m.Name, m.Language = u.Email, u.Name, u.Language
	}
	for _, act := range Actions() {
		if Can(p, act) {
			m.Actions = append(m.Actions, act)
		}
	}
	return m
}

func userAgent(r *http.Request) string {
	ua := r.UserAgent()
	if len(ua) > 512 {
		ua = ua[:512]
	}
	return strings.ToValidUTF8(ua, "?")
}

func newSessionID() string {
	_, h := identity.NewRefreshToken() // 256 random bits; only the hash form is used here
	const hexdigits = "0123456789abcdef"
	out := make([]byte, 0, 32)
	for _, b := range h[:16] {
		out = append(out, hexdigits[b>>4], hexdigits[b&15])
	}
	return string(out)
}

// ---- keyring persistence ----

// LoadOrCreateKeyring reads the JWT signing keyring from path, creating it (one new
// Ed25519 key, file mode 0600, directory 0700) when the file does not exist. Every node
// of a cluster must use the same file: copy it, do not let each node create its own.
func LoadOrCreateKeyring(path string) (*identity.Keyring, error) {
	data, err := os.ReadFile(path)
	if err == nil {
		if st, serr := os.Stat(path); serr == nil && st.Mode().Perm()&0o077 != 0 {
			return nil, fmt.Errorf("web: keyring %s is readable by others (mode %o): chmod 600 it", path, st.Mode().Perm())
		}
		kr, err := identity.ParseKeyring(data)
		if err != nil {
			return nil, fmt.Errorf("web: keyring %s: %w", path, err)
		}
		return kr, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("web: cannot read keyring: %w", err)
	}
	kr := identity.NewKeyring()
	kid, priv := identity.GenerateKey()
	if err := kr.Add(kid, priv); err != nil {
		return nil, err
	}
	out, err := identity.MarshalKeyring(kr)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("web: cannot create keyring directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) { // another process won the race: use its file
			return LoadOrCreateKeyring(path)
		}
		return nil, fmt.Errorf("web: cannot create keyring: %w", err)
	}
	if _, err := f.Write(out); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("web: cannot write keyring: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("web: cannot write keyring: %w", err)
	}
	return kr, nil
}
