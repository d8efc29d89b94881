package web

import (
	"context"
	"net/http"
	"slices"

	"github.com/linepulse/linepulse/identity"
)

// Viewer is who looks at a page of the UI, as web/ui needs it to render the page: in the
// viewer's language and the tenant's time zone, with the navigation its role allows. The
// UI holds no credentials of its own: it asks the API with the request's cookie (or, on
// the TV view, the kiosk token of its URL).
type Viewer struct {
	UserID int64
	Name   string
	Email  string
	Role   string
	Kiosk  bool
	// TenantID is 0 for platform administrators (no tenant, no time zone).
	TenantID   int64
	TenantSlug string
	TenantName string
	Timezone   string
	// Language is the viewer's own choice: the user's language, else the tenant's; "" when
	// neither is set (the UI then follows the browser's Accept-Language).
	Language string
	// UserLanguage is the user's own setting alone ("" = none), for the language switch.
	UserLanguage string
	// Actions are the actions the viewer may perform (Can), in the order of Actions().
	Actions []string
	// Lines limits the lines the viewer sees; nil = every line.
	Lines []int64
	// DashboardID is the dashboard a kiosk token is bound to (0 = none; always 0 for users).
	DashboardID int64
}

// Can reports whether the viewer may perform action.
func (v Viewer) Can(action string) bool { return slices.Contains(v.Actions, action) }

// Viewer authenticates a page request as the API would (session cookie or Authorization
// header). False when it carries no valid credentials: the page then renders signed out
// and its script refreshes the session or goes to the login page.
func (a *API) Viewer(r *http.Request) (Viewer, bool) {
	p, _, err := a.principal(r, false)
	if err != nil {
		return Viewer{}, false
	}
	return a.viewerOf(r.Context(), p)
}

// KioskViewer is the Viewer of a kiosk token (the TV view's ?kiosk=); false when the
// token is unknown or revoked.
func (a *API) KioskViewer(ctx context.Context, token string) (Viewer, bool) {
	p, dash, err := a.kioskPrincipal(ctx, token)
	if err != nil {
		return Viewer{}, false
	}
	v, ok := a.viewerOf(ctx, p)
	v.DashboardID = dash
	return v, ok
}

func (a *API) viewerOf(ctx context.Context, p identity.Principal) (Viewer, bool) {
	v := Viewer{UserID: p.UserID, Role: p.Role, Kiosk: p.Kiosk, TenantID: p.TenantID, TenantSlug: p.TenantSlug, Lines: p.Lines}
	for _, act := range Actions() {
		if Can(p, act) {
			v.Actions = append(v.Actions, act)
		}
	}
	if p.TenantID != 0 {
		t, err := a.st.GetTenant(ctx, p.TenantID)
		if err != nil {
			return Viewer{}, false
		}
		v.TenantName, v.Timezone, v.Language = t.Name, t.Config.Timezone, t.Config.Language
	}
	if !p.Kiosk {
		u, err := a.st.GetUser(ctx, p.TenantID, p.UserID)
		if err != nil {
			return Viewer{}, false
		}
		v.Name, v.Email, v.UserLanguage = u.Name, u.Email, u.Language
		if u.Language != "" {
			v.Language = u.Language
		}
	}
	return v, true
}

// LanguageInput is the body of PUT /api/v1/me/language.
type LanguageInput struct {
	// Language is one of the interface languages ("en", "es"), or "" to follow the
	// tenant's setting (else the browser).
	Language string `json:"language"`
}

func (a *API) meLanguageRoute() *Route {
	return &Route{Method: "PUT", Path: "/api/v1/me/language", Summary: "Choose your own interface language (\"\" = the tenant's, else the browser's)",
		Tag: "me", Resource: "me-language", Scope: ScopeAny, Action: ActSelf, Body: LanguageInput{}, handle: a.handleMeLanguage}
}

func (a *API) handleMeLanguage(c *call) error {
	var in LanguageInput
	if err := c.decode(&in); err != nil {
		return err
	}
	ctx := c.r.Context()
	u, err := a.st.GetUser(ctx, c.p.TenantID, c.p.UserID)
	if err != nil {
		return err
	}
	before := u.Language
	u.Language = in.Language
	if err := a.st.UpdateUser(ctx, u.TenantID, &u); err != nil {
		return err
	}
	a.audit(ctx, c.p.TenantID, c.p.UserID, "user.language", c.ip, map[string]any{"id": u.ID, "before": before, "after": u.Language})
	return c.reply(nil)
}
