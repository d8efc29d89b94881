package identity

import "slices"

// Principal is who makes a request, as established from a verified access token, a
// session cookie or a kiosk token. The tenant always comes from here, never from the
// request itself.
type Principal struct {
	UserID     int64    // 0 for a kiosk token
	TenantID   int64    // 0 = platform scope (platform admins)
	TenantSlug string   // "" for platform scope
	Role       string   // one of store.Roles; kiosks are "viewer"
	Lines      []int64  // lines the principal may see; nil = every line of the tenant
	Deny       []string // actions removed from the role's defaults
	Kiosk      bool     // a read-only, line-bound kiosk token
	KioskID    int64    // the kiosk token's id when Kiosk
	SessionID  string   // refresh-token family / session id, for logout and USER_LOGIN
}

// CanSeeLine reports whether the principal may read data of line id.
func (p Principal) CanSeeLine(id int64) bool {
	return p.Lines == nil || slices.Contains(p.Lines, id)
}
