package web

import (
	"context"
	"fmt"
	"net/http"
	"slices"

	"github.com/linepulse/linepulse/identity"
	"github.com/linepulse/linepulse/store"
)

// UserInput is the body of POST and PUT on users. The password is hashed (argon2id) and
// never returned; omit it in a PUT to keep the current one.
type UserInput struct {
	Email       string            `json:"email"`
	Name        string            `json:"name"`
	Role        string            `json:"role"`
	Password    string            `json:"password,omitempty"`
	Permissions store.Permissions `json:"permissions"`
	Active      bool              `json:"active"`
	// Language is the user's interface language ("en", "es"; "" = the tenant's, else the
	// browser's). Optional: a PUT without it clears the choice.
	Language string `json:"language,omitempty"`
}

// minPasswordLen is the shortest password accepted (the CLI's rule too).
const minPasswordLen = 8

// Users: a tenant admin manages the users of its tenant (/users); a platform
// administrator manages platform administrators (/users) and, to bootstrap or rescue a
// tenant, the users of any tenant (/tenants/{tenant}/users). Changing a password or
// deactivating a user ends its sessions; role and permission changes apply to its next
// request.
func (a *API) userRoutes() []*Route {
	own := a.userSpec("/api/v1/users", "users", ScopeAny)
	byTenant := a.userSpec("/api/v1/tenants/{tenant}/users", "tenant-users", ScopePlatform)
	return append(crud(own, a.userOps(callerTenant)), crud(byTenant, a.userOps(a.pathTenant))...)
}

func (a *API) userSpec(path, tag string, scope Scope) spec[store.User] {
	return spec[store.User]{path: path, tag: tag, entity: "user", audit: "user", scope: scope, read: ActUsers, write: ActUsers,
		body: UserInput{}, id: func(v *store.User) *int64 { return &v.ID }, decode: a.decodeUser, prepare: a.checkUser,
		updated: func(c *call, old, v *store.User) {
			if old.PasswordHash != v.PasswordHash || !v.Active {
				a.endUserSessions(c.r.Context(), v.TenantID, v.ID)
			}
		},
		removed: func(c *call, old *store.User) { a.endUserSessions(c.r.Context(), old.TenantID, old.ID) }}
}

func (a *API) userOps(scope func(*call) (int64, error)) ops[store.User] {
	o := scoped[store.User]{list: a.st.ListUsers, get: a.st.GetUser, update: a.st.UpdateUser, del: a.st.DeleteUser,
		create: func(ctx context.Context, tenantID int64, u *store.User) error {
			u.TenantID = tenantID
			return a.st.CreateUser(ctx, u)
		},
	}.ops(scope)
	del := o.del
	o.del = func(c *call, id int64) error {
		if tid, _ := scope(c); tid == c.p.TenantID && id == c.p.UserID {
			return errf(http.StatusConflict, CodeConflict, "you cannot delete your own account")
		}
		return del(c, id)
	}
	return o
}

// pathTenant is the {tenant} of a platform route, which must exist.
func (a *API) pathTenant(c *call) (int64, error) {
	id, err := c.pathID("tenant")
	if err != nil {
		return 0, err
	}
	if _, err := a.st.GetTenant(c.r.Context(), id); err != nil {
		return 0, err
	}
	return id, nil
}

func (a *API) decodeUser(c *call, v *store.User) error {
	var in UserInput
	if err := c.decode(&in); err != nil {
		return err
	}
	v.Email, v.Name, v.Role, v.Permissions, v.Active, v.Language = in.Email, in.Name, in.Role, in.Permissions, in.Active, in.Language
	if in.Password == "" {
		if c.r.Method == http.MethodPost {
			return fieldErr("password", "is required")
		}
		return nil
	}
	if len(in.Password) < minPasswordLen || len(in.Password) > identity.MaxPasswordLen {
		return fieldErr("password", "must have %d to %d characters", minPasswordLen, identity.MaxPasswordLen)
	}
	h, err := a.cfg.Hasher.Hash(in.Password)
	if err != nil {
		return err
	}
	v.PasswordHash = h
	return nil
}

func (a *API) checkUser(c *call, v, old *store.User) error {
	scope := callerTenant
	if c.route.Scope == ScopePlatform {
		scope = a.pathTenant
	}
	tid, err := scope(c)
	if err != nil {
		return err
	}
	v.TenantID = tid
	var fields []store.FieldError
	bad := func(field, msg string) { fields = append(fields, store.FieldError{Field: field, Message: msg}) }
	acts := Actions()
	for _, d := range v.Permissions.Deny {
		if !slices.Contains(acts, d) || d == ActSelf {
			bad("permissions.deny", fmt.Sprintf("unknown or undeniable action %q (known: %v)", truncate(d, 64), acts[1:]))
			break
		}
	}
	if len(v.Permissions.Lines) > maxPermissionsLines {
		bad("permissions.lines", fmt.Sprintf("at most %d lines", maxPermissionsLines))
	} else if len(v.Permissions.Lines) > 0 {
		if tid == 0 {
			bad("permissions.lines", "platform administrators have no lines")
		} else if err := a.linesExist(c, tid, "permissions.lines", v.Permissions.Lines); err != nil {
			return err
		}
	}
	if old != nil && old.ID == c.p.UserID && old.TenantID == c.p.TenantID && (v.Role != old.Role || !v.Active) {
		bad("role", "you cannot change your own role or deactivate yourself")
	}
	if len(fields) > 0 {
		return &store.ValidationError{Entity: "user", Fields: fields}
	}
	return nil
}

// linesExist checks that every id names a line of tenant tid.
func (a *API) linesExist(c *call, tid int64, field string, ids []int64) error {
	t, err := a.st.Tenant(c.r.Context(), tid)
	if err != nil {
		return err
	}
	lines, err := t.AllLines(c.r.Context())
	if err != nil {
		return err
	}
	for _, id := range ids {
		if !slices.ContainsFunc(lines, func(l store.Line) bool { return l.ID == id }) {
			return fieldErr(field, "line %d does not exist in this tenant", id)
		}
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
