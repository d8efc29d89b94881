package web_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/linepulse/linepulse/identity"
	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/store/storetest"
	"github.com/linepulse/linepulse/web"
)

// sqliteOnly runs fn on the embedded engine: for logic that does not depend on the engine.
func sqliteOnly(t *testing.T, fn func(t *testing.T, e storetest.Engine)) {
	fn(t, storetest.Engines(t)[0])
}

func TestForgedTokensAreRefused(t *testing.T) {
	sqliteOnly(t, func(t *testing.T, e storetest.Engine) {
		ev := newEnv(t, e)
		tr := ev.login("acme", "viewer@acme.test")
		kid := ev.kr.Active()
		pub, _ := ev.kr.PublicKey(kid)
		claims := func() identity.Claims {
			now := ev.clock.Now()
			return identity.Claims{Tenant: ev.acme.ID, TenantSlug: "acme", Role: store.RoleTenantAdmin, SessionID: tr.SessionID,
				RegisteredClaims: jwt.RegisteredClaims{Subject: strconv.FormatInt(tr.User.UserID, 10), Issuer: "linepulse",
					Audience: jwt.ClaimStrings{"linepulse-api"}, IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))}}
		}
		sign := func(m jwt.SigningMethod, key any) string {
			tok := jwt.NewWithClaims(m, claims())
			tok.Header["kid"] = kid
			s, err := tok.SignedString(key)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
		_, otherKey, _ := ed25519.GenerateKey(nil)
		past := func() time.Time { return ev.clock.Now().Add(-2 * time.Hour) }
		expired, _ := identity.NewIssuer(identity.IssuerConfig{Issuer: "linepulse", Audience: "linepulse-api", Now: past}, ev.kr)
		otherAud, _ := identity.NewIssuer(identity.IssuerConfig{Issuer: "linepulse", Audience: "somebody-else", Now: ev.clock.Now}, ev.kr)
		issue := func(i *identity.Issuer) string {
			s, _, err := i.Issue(claims())
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		parts := strings.Split(tr.AccessToken, ".")
		payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
		forged := strings.Replace(string(payload), `"role":"viewer"`, `"role":"tenant_admin"`, 1)
		tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(forged)) + "." + parts[2]
		if tampered == tr.AccessToken {
			t.Fatal("tampering changed nothing")
		}
		cases := map[string]string{
			"alg none":            sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType),
			"HS256 with pub key":  sign(jwt.SigningMethodHS256, []byte(pub)),
			"RS256":               sign(jwt.SigningMethodRS256, rsaKey),
			"wrong Ed25519 key":   sign(jwt.SigningMethodEdDSA, otherKey),
			"expired":             issue(expired),
			"wrong audience":      issue(otherAud),
			"tampered payload":    tampered,
			"garbage":             "a.b.c",
			"truncated signature": tr.AccessToken[:len(tr.AccessToken)-4],
		}
		for name, tok := range cases {
			for _, path := range []string{"/api/v1/me", "/api/v1/lines", "/api/v1/users"} {
				got := ev.do(req{method: "GET", path: path, token: tok})
				if got.code != http.StatusUnauthorized || got.errCode() != web.CodeUnauthorized {
					t.Errorf("%s on %s: %d %s", name, path, got.code, got.body)
				}
				if got.hdr.Get("WWW-Authenticate") == "" {
					t.Errorf("%s: no WWW-Authenticate", name)
				}
			}
		}
		// The genuine token works, and the same token in a cookie too.
		ev.must(http.StatusOK, req{method: "GET", path: "/api/v1/lines", token: tr.AccessToken}, nil)
		ev.must(http.StatusOK, req{method: "GET", path: "/api/v1/lines", cookies: []*http.Cookie{{Name: web.AccessCookie, Value: tr.AccessToken}}}, nil)
		got := ev.do(req{method: "GET", path: "/api/v1/lines", cookies: []*http.Cookie{{Name: web.AccessCookie, Value: cases["alg none"]}}})
		if got.code != http.StatusUnauthorized {
			t.Errorf("alg none in a cookie: %d", got.code)
		}
	})
}

func TestRefreshRotationAndReuse(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		ev := newEnv(t, e)
		first := ev.login("acme", "operator@acme.test")
		var second web.TokenResponse
		ev.must(http.StatusOK, req{method: "POST", path: "/api/v1/auth/refresh", body: web.RefreshRequest{RefreshToken: first.RefreshToken}}, &second)
		if second.RefreshToken == first.RefreshToken || second.SessionID != first.SessionID {
			t.Fatalf("rotation: %+v", second)
		}
		ev.must(http.StatusOK, req{method: "GET", path: "/api/v1/me", token: second.AccessToken}, nil)
		// The rotated token comes back: refused, and the whole session dies.
		got := ev.do(req{method: "POST", path: "/api/v1/auth/refresh", body: web.RefreshRequest{RefreshToken: first.RefreshToken}})
		if got.code != http.StatusUnauthorized {
			t.Fatalf("reuse: %d %s", got.code, got.body)
		}
		for _, tok := range []string{first.AccessToken, second.AccessToken} {
			if got := ev.do(req{method: "GET", path: "/api/v1/me", token: tok}); got.code != http.StatusUnauthorized {
				t.Errorf("access token of a revoked session: %d", got.code)
			}
		}
		if got := ev.do(req{method: "POST", path: "/api/v1/auth/refresh", body: web.RefreshRequest{RefreshToken: second.RefreshToken}}); got.code != http.StatusUnauthorized {
			t.Errorf("successor of a reused token: %d %s", got.code, got.body)
		}
		if !contains(ev.auditActions(ev.acme.ID), "session.refresh_reuse") {
			t.Errorf("reuse not audited: %v", ev.auditActions(ev.acme.ID))
		}
		logins, _ := ev.st.ListLogins(context.Background(), ev.acme.ID, store.Page{})
		if len(logins) != 1 || logins[0].LogoutAt == nil || logins[0].SessionID != first.SessionID {
			t.Errorf("USER_LOGIN after reuse: %+v", logins)
		}
		if len(ev.ended) != 1 || ev.ended[0] != first.SessionID {
			t.Errorf("OnSessionEnd: %v", ev.ended)
		}
		// Expired refresh tokens are refused.
		third := ev.login("acme", "operator@acme.test")
		ev.clock.Add(8 * 24 * time.Hour)
		if got := ev.do(req{method: "POST", path: "/api/v1/auth/refresh", body: web.RefreshRequest{RefreshToken: third.RefreshToken}}); got.code != http.StatusUnauthorized {
			t.Errorf("expired refresh: %d", got.code)
		}
	})
}

func TestLogoutEndsTheSession(t *testing.T) {
	sqliteOnly(t, func(t *testing.T, e storetest.Engine) {
		ev := newEnv(t, e)
		tr := ev.login("acme", "viewer@acme.test")
		got := ev.must(http.StatusNoContent, req{method: "POST", path: "/api/v1/auth/logout", token: tr.AccessToken}, nil)
		if cs := got.hdr.Values("Set-Cookie"); len(cs) != 2 || !strings.Contains(cs[0], "Max-Age=0") {
			t.Errorf("cookies not cleared: %v", cs)
		}
		if got := ev.do(req{method: "GET", path: "/api/v1/me", token: tr.AccessToken}); got.code != http.StatusUnauthorized {
			t.Errorf("access token after logout: %d", got.code)
		}
		if got := ev.do(req{method: "POST", path: "/api/v1/auth/refresh", body: web.RefreshRequest{RefreshToken: tr.RefreshToken}}); got.code != http.StatusUnauthorized {
			t.Errorf("refresh after logout: %d", got.code)
		}
		logins, _ := ev.st.ListLogins(context.Background(), ev.acme.ID, store.Page{})
		if len(logins) != 1 || logins[0].LogoutAt == nil || logins[0].IP == "" {
			t.Errorf("USER_LOGIN: %+v", logins)
		}
		acts := ev.auditActions(ev.acme.ID)
		if !contains(acts, "login.success") || !contains(acts, "logout") {
			t.Errorf("audit: %v", acts)
		}
	})
}

func TestSixthWrongPasswordLocksWhateverTheIP(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		ev := newEnv(t, e)
		login := func(ip, email, pw string) resp {
			return ev.do(req{method: "POST", path: "/api/v1/auth/login", ip: ip, body: web.LoginRequest{Tenant: "acme", Email: email, Password: pw}})
		}
		for i := 1; i <= 5; i++ {
			got := login("192.0.2."+strconv.Itoa(i), "operator@acme.test", "wrong password")
			if got.code != http.StatusUnauthorized || got.errCode() != web.CodeInvalidLogin {
				t.Fatalf("failure %d: %d %s", i, got.code, got.body)
			}
		}
		// The 6th attempt, from yet another address and with the right password, is refused.
		got := login("198.51.100.7", "operator@acme.test", password)
		if got.code != http.StatusTooManyRequests || got.errCode() != web.CodeAccountLocked || got.hdr.Get("Retry-After") == "" {
			t.Fatalf("6th attempt: %d %s", got.code, got.body)
		}
		if got := login("2001:db8::1", "OPERATOR@acme.test", "wrong"); got.code != http.StatusTooManyRequests {
			t.Fatalf("same account, other spelling, IPv6: %d", got.code)
		}
		acts := ev.auditActions(ev.acme.ID)
		fails, locks := 0, 0
		for _, a := range acts {
			fails += map[bool]int{true: 1}[a == "login.failure"]
			locks += map[bool]int{true: 1}[a == "login.lockout"]
		}
		if fails != 5 || locks != 1 {
			t.Fatalf("audit: %v", acts)
		}
		// Another account is not affected.
		if got := login("198.51.100.7", "viewer@acme.test", password); got.code != http.StatusOK {
			t.Fatalf("other account: %d %s", got.code, got.body)
		}
		// The lock-out ends.
		ev.clock.Add(61 * time.Second)
		if got := login("198.51.100.8", "operator@acme.test", password); got.code != http.StatusOK {
			t.Fatalf("after the lock-out: %d %s", got.code, got.body)
		}
		// Unknown accounts lock the same way (no account enumeration by behaviour).
		for i := 0; i < 5; i++ {
			login("203.0.113."+strconv.Itoa(i+1), "nobody@acme.test", "x")
		}
		if got := login("203.0.113.99", "nobody@acme.test", "x"); got.code != http.StatusTooManyRequests {
			t.Fatalf("unknown account not locked: %d", got.code)
		}
	})
}

func TestPerIPLoginLimit(t *testing.T) {
	sqliteOnly(t, func(t *testing.T, e storetest.Engine) {
		ev := newEnv(t, e, func(c *web.APIConfig) { c.Throttle = identity.ThrottleConfig{PerIPBurst: 3, AccountFailures: 100} })
		codes := []int{}
		for i := 0; i < 5; i++ {
			got := ev.do(req{method: "POST", path: "/api/v1/auth/login", ip: "192.0.2.1", body: web.LoginRequest{Tenant: "acme", Email: "u" + strconv.Itoa(i) + "@x.test", Password: "x"}})
			codes = append(codes, got.code)
		}
		if codes[2] != http.StatusUnauthorized || codes[3] != http.StatusTooManyRequests || codes[4] != http.StatusTooManyRequests {
			t.Fatalf("codes %v", codes)
		}
	})
}

func TestCrossOriginFormPostWithSessionCookieRefused(t *testing.T) {
	sqliteOnly(t, func(t *testing.T, e storetest.Engine) {
		ev := newEnv(t, e, func(c *web.APIConfig) { c.TrustedOrigins = []string{"https://ops.example"} })
		got := ev.must(http.StatusOK, req{method: "POST", path: "/api/v1/auth/login", body: web.LoginRequest{Tenant: "acme", Email: "tenant_admin@acme.test", Password: password}}, nil)
		var cookies []*http.Cookie
		for _, c := range (&http.Response{Header: got.hdr}).Cookies() {
			if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure {
				t.Errorf("cookie %s: HttpOnly %v SameSite %v Secure %v", c.Name, c.HttpOnly, c.SameSite, c.Secure)
			}
			cookies = append(cookies, c)
		}
		if len(cookies) != 2 {
			t.Fatalf("cookies: %v", cookies)
		}
		form := "name=evil"
		cross := map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
		same := map[string]string{"Origin": "http://example.com", "Sec-Fetch-Site": "same-origin"}
		// A cross-site form POST carrying the session cookie.
		got = ev.do(req{method: "POST", path: "/api/v1/products", cookies: cookies, hdr: cross, body: form, ctype: "application/x-www-form-urlencoded"})
		if got.code != http.StatusForbidden || got.errCode() != web.CodeCrossOrigin {
			t.Fatalf("cross-origin form POST: %d %s", got.code, got.body)
		}
		// Cross-origin without Sec-Fetch-Site (older browsers): Origin vs Host decides.
		got = ev.do(req{method: "POST", path: "/api/v1/products", cookies: cookies, hdr: map[string]string{"Origin": "https://evil.example"}, body: `{"name":"x"}`})
		if got.code != http.StatusForbidden {
			t.Fatalf("cross-origin JSON POST: %d %s", got.code, got.body)
		}
		got = ev.do(req{method: "POST", path: "/api/v1/auth/logout", cookies: cookies, hdr: cross})
		if got.code != http.StatusForbidden {
			t.Fatalf("cross-origin logout: %d", got.code)
		}
		var page web.Page[store.Product]
		ev.must(http.StatusOK, req{method: "GET", path: "/api/v1/products", cookies: cookies, hdr: cross}, &page)
		if len(page.Items) != 0 {
			t.Fatal("the refused requests created something")
		}
		// The same requests from the same origin work.
		ev.must(http.StatusCreated, req{method: "POST", path: "/api/v1/products", cookies: cookies, hdr: same, body: `{"name":"ok"}`}, nil)
		ev.must(http.StatusCreated, req{method: "POST", path: "/api/v1/products", cookies: cookies, hdr: map[string]string{"Origin": "https://ops.example", "Sec-Fetch-Site": "cross-site"}, body: `{"name":"trusted"}`}, nil)
		// A form-encoded body is never accepted, even same-origin: the API speaks JSON.
		got = ev.do(req{method: "POST", path: "/api/v1/products", cookies: cookies, hdr: same, body: form, ctype: "application/x-www-form-urlencoded"})
		if got.code != http.StatusUnsupportedMediaType {
			t.Fatalf("same-origin form body: %d", got.code)
		}
		ev.must(http.StatusNoContent, req{method: "POST", path: "/api/v1/auth/logout", cookies: cookies, hdr: same}, nil)
		if got := ev.do(req{method: "GET", path: "/api/v1/products", cookies: cookies}); got.code != http.StatusUnauthorized {
			t.Fatalf("cookie after logout: %d", got.code)
		}
	})
}

func TestBrowserRefreshWithCookie(t *testing.T) {
	sqliteOnly(t, func(t *testing.T, e storetest.Engine) {
		ev := newEnv(t, e, func(c *web.APIConfig) { c.TLS = true })
		got := ev.must(http.StatusOK, req{method: "POST", path: "/api/v1/auth/login", body: web.LoginRequest{Tenant: "acme", Email: "viewer@acme.test", Password: password}}, nil)
		cookies := (&http.Response{Header: got.hdr}).Cookies()
		var refresh *http.Cookie
		for _, c := range cookies {
			if !c.Secure {
				t.Errorf("cookie %s not Secure under TLS", c.Name)
			}
			if c.Name == web.RefreshCookie {
				refresh = c
			}
		}
		if refresh == nil || refresh.Path != "/api/v1/auth" {
			t.Fatalf("refresh cookie: %+v", refresh)
		}
		if got.hdr.Get("Strict-Transport-Security") == "" {
			t.Error("no HSTS under TLS")
		}
		// The UI posts with no body: the cookie is the credential.
		got = ev.must(http.StatusOK, req{method: "POST", path: "/api/v1/auth/refresh", cookies: []*http.Cookie{refresh}}, nil)
		var tr web.TokenResponse
		got.json(t, &tr)
		ev.must(http.StatusOK, req{method: "GET", path: "/api/v1/me", token: tr.AccessToken}, nil)
	})
}

func TestRehashOnLoginWhenParamsRise(t *testing.T) {
	sqliteOnly(t, func(t *testing.T, e storetest.Engine) {
		stronger := fastParams
		stronger.Memory *= 2
		ev := newEnv(t, e, func(c *web.APIConfig) { c.Hasher = identity.Hasher{Params: stronger} })
		before, _ := ev.st.UserByEmail(context.Background(), ev.acme.ID, "viewer@acme.test")
		ev.login("acme", "viewer@acme.test")
		after, _ := ev.st.UserByEmail(context.Background(), ev.acme.ID, "viewer@acme.test")
		if after.PasswordHash == before.PasswordHash || !strings.Contains(after.PasswordHash, "m=128,") {
			t.Fatalf("hash not upgraded: %s -> %s", before.PasswordHash, after.PasswordHash)
		}
		ev.login("acme", "viewer@acme.test") // the new hash verifies
	})
}

func TestDefaultHasherIsOWASP(t *testing.T) {
	sqliteOnly(t, func(t *testing.T, e storetest.Engine) {
		ev := newEnv(t, e, func(c *web.APIConfig) { c.Hasher = identity.Hasher{} })
		admin := ev.token("acme", "tenant_admin")
		ev.must(http.StatusCreated, req{method: "POST", path: "/api/v1/users", token: admin,
			body: map[string]any{"email": "new@acme.test", "role": "viewer", "password": "a long password"}}, nil)
		u, _ := ev.st.UserByEmail(context.Background(), ev.acme.ID, "new@acme.test")
		if !strings.HasPrefix(u.PasswordHash, "$argon2id$v=19$m=19456,t=2,p=1$") {
			t.Fatalf("default hash %s", u.PasswordHash)
		}
	})
}

func TestSecurityHeaders(t *testing.T) {
	sqliteOnly(t, func(t *testing.T, e storetest.Engine) {
		ev := newEnv(t, e)
		for _, got := range []resp{ev.do(req{method: "GET", path: "/api/v1/openapi.json"}), ev.do(req{method: "GET", path: "/api/v1/lines"}), ev.do(req{method: "GET", path: "/api/v1/nope"})} {
			h := got.hdr
			if !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") || h.Get("X-Content-Type-Options") != "nosniff" ||
				h.Get("Referrer-Policy") == "" || h.Get("Strict-Transport-Security") != "" {
				t.Errorf("headers: %v", h)
			}
		}
		site := web.SecurityHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}), true)
		rec := httptest.NewRecorder()
		site.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		if !strings.Contains(rec.Header().Get("Content-Security-Policy"), "script-src 'self'") || rec.Header().Get("Strict-Transport-Security") == "" {
			t.Errorf("site headers: %v", rec.Header())
		}
	})
}

func TestUnknownRoutesAndMethods(t *testing.T) {
	sqliteOnly(t, func(t *testing.T, e storetest.Engine) {
		ev := newEnv(t, e)
		got := ev.do(req{method: "GET", path: "/api/v1/nope"})
		if got.code != http.StatusNotFound || got.errCode() != web.CodeRouteNotFound {
			t.Errorf("unknown route: %d %s", got.code, got.body)
		}
		got = ev.do(req{method: "PATCH", path: "/api/v1/lines/1"})
		if got.code != http.StatusMethodNotAllowed || got.hdr.Get("Allow") != "GET, PUT, DELETE" {
			t.Errorf("wrong method: %d %v %s", got.code, got.hdr, got.body)
		}
	})
}

func TestGeneralRateLimit(t *testing.T) {
	sqliteOnly(t, func(t *testing.T, e storetest.Engine) {
		ev := newEnv(t, e, func(c *web.APIConfig) { c.RequestRate, c.RequestBurst = 1, 5 })
		var last int
		for i := 0; i < 6; i++ {
			last = ev.do(req{method: "GET", path: "/api/v1/openapi.json", ip: "192.0.2.9"}).code
		}
		if last != http.StatusTooManyRequests {
			t.Fatalf("6th request in a burst of 5: %d", last)
		}
		if got := ev.do(req{method: "GET", path: "/api/v1/openapi.json", ip: "192.0.2.10"}); got.code != http.StatusOK {
			t.Fatalf("another client: %d", got.code)
		}
	})
}
