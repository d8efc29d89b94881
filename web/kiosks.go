package web

import (
	"context"
	"net/url"

	"github.com/linepulse/linepulse/identity"
	"github.com/linepulse/linepulse/store"
)

// KioskInput is the body of POST and PUT on kiosk tokens.
type KioskInput struct {
	Name        string  `json:"name"`
	Lines       []int64 `json:"lines"`        // lines the screen may show; [] = every line
	DashboardID int64   `json:"dashboard_id"` // 0 = none
}

// KioskCreated answers POST /api/v1/kiosks: token is shown this once (only its hash is
// stored); tv_url opens the shop-floor view with it.
type KioskCreated struct {
	store.KioskToken
	Token string `json:"token"`
	TVURL string `json:"tv_url"`
}

// Kiosk tokens: long-lived, read-only credentials for shop-floor screens, bound to lines
// (and optionally a dashboard), managed by tenant admins. DELETE revokes; the row stays.
// Screens send Authorization: Kiosk <token> (REST, WebSocket) or ?kiosk=<token> (WebSocket).
func (a *API) kioskRoutes() []*Route {
	o := scoped[store.KioskToken]{list: a.st.ListKioskTokens, get: a.st.GetKioskToken, update: a.st.UpdateKioskToken, del: a.st.RevokeKioskToken,
		create: func(ctx context.Context, tid int64, k *store.KioskToken) error {
			k.TenantID = tid
			return a.st.CreateKioskToken(ctx, k)
		},
	}.ops(callerTenant)
	return crud(spec[store.KioskToken]{path: "/api/v1/kiosks", tag: "kiosks", entity: "kiosk token", audit: "kiosk",
		read: ActKiosks, write: ActKiosks, body: KioskInput{}, createdResp: KioskCreated{},
		id: func(v *store.KioskToken) *int64 { return &v.ID }, decode: a.decodeKiosk, prepare: a.checkKiosk,
		created: func(c *call, v *store.KioskToken) any {
			q := url.Values{"kiosk": {c.secret}}
			return KioskCreated{KioskToken: *v, Token: c.secret, TVURL: "/tv?" + q.Encode()}
		},
		removed: func(c *call, old *store.KioskToken) {
			if a.deps.OnKioskRevoked != nil {
				a.deps.OnKioskRevoked(old.TenantID, old.ID)
			}
		}}, o)
}

func (a *API) decodeKiosk(c *call, v *store.KioskToken) error {
	var in KioskInput
	if err := c.decode(&in); err != nil {
		return err
	}
	v.Name, v.Lines, v.DashboardID = in.Name, in.Lines, in.DashboardID
	if c.route.Method == "POST" {
		tok, hash := identity.NewRefreshToken()
		v.TokenHash = hash
		c.secret = tok
	}
	return nil
}

func (a *API) checkKiosk(c *call, v, _ *store.KioskToken) error {
	for _, l := range v.Lines {
		if l <= 0 {
			return fieldErr("lines", "line ids must be positive")
		}
		if !c.p.CanSeeLine(l) {
			return fieldErr("lines", "line %d is outside your permissions", l)
		}
	}
	if len(v.Lines) > 0 {
		if err := a.linesExist(c, c.p.TenantID, "lines", v.Lines); err != nil {
			return err
		}
	}
	if v.DashboardID > 0 {
		_, err := a.st.GetDashboard(c.r.Context(), c.p.TenantID, v.DashboardID)
		return refErr(err, "dashboard_id", "no such dashboard")
	}
	return nil
}
