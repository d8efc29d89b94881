package web

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/linepulse/linepulse/identity"
	"github.com/linepulse/linepulse/store"
)

// Route is one endpoint of the route table. The mux, the authorization checks and the
// OpenAPI document are all built from the same table, so they cannot drift apart.
type Route struct {
	Method  string  // GET, POST, PUT or DELETE
	Path    string  // ServeMux path pattern under /api/v1, e.g. /api/v1/lines/{id}
	Summary string  // one line for the OpenAPI document
	Tag     string  // OpenAPI tag (the resource)
	Action  string  // required action (see Can); "" = public
	Scope   Scope   // whose objects the route reaches
	Query   []Param // accepted query parameters; anything else is a 400
	// Resource names the objects {id} refers to (e.g. "areas"); tests use it to aim at
	// another tenant's objects.
	Resource string
	Body     any // sample of the request body type; nil = no body
	Resp     any // sample of the response type; nil = 204 No Content
	List     bool
	Status   int // success status; default 200, or 204 when Resp is nil
	// MaxBody bounds this route's request body instead of APIConfig.MaxBodyBytes (uploads).
	MaxBody int64
	// ReadOnly marks a POST that changes nothing (it runs a saved query): no audit entry.
	ReadOnly bool

	handle func(c *call) error
}

// Scope says which principals a route serves.
type Scope int

const (
	// ScopeTenant: users and kiosks of a tenant; the tenant comes from the credentials.
	ScopeTenant Scope = iota
	// ScopePlatform: platform administrators only.
	ScopePlatform
	// ScopeAny: platform administrators (platform scope) and tenant users alike.
	ScopeAny
	// ScopePublic: no credentials needed.
	ScopePublic
)

// Param is a query parameter of a route.
type Param struct {
	Name     string
	Type     string // OpenAPI type: integer, string
	Format   string // OpenAPI format: int64, date-time
	Enum     []string
	Required bool
	Desc     string
}

// pageParams are accepted by every list.
var pageParams = []Param{
	{Name: "limit", Type: "integer", Desc: fmt.Sprintf("page size, 1..%d (default %d)", store.MaxPageSize, store.DefaultPageSize)},
	{Name: "after", Type: "integer", Format: "int64", Desc: "return objects with an id greater than this (the next_after of the previous page)"},
}

// listParams adds line filtering to pageParams.
var lineParams = append(slices.Clone(pageParams), Param{Name: "line_id", Type: "integer", Format: "int64", Desc: "only objects of this line"})

// Page is the envelope of every list response.
type Page[T any] struct {
	Items []T `json:"items"`
	// NextAfter is the cursor of the next page (pass it as ?after=); absent on the last page.
	NextAfter *int64 `json:"next_after,omitempty"`
}

// Routes returns the route table (without handlers), in registration order.
func (a *API) Routes() []Route {
	out := make([]Route, len(a.routes))
	for i, r := range a.routes {
		out[i] = *r
		out[i].handle = nil
	}
	return out
}

// buildRoutes assembles the table from the resource files and registers it.
func (a *API) buildRoutes() error {
	groups := [][]*Route{
		a.authRoutes(), a.meRoutes(), a.tenantRoutes(), a.tenantSettingsRoutes(), a.userRoutes(), a.targetRoutes(), a.lineRoutes(), a.areaRoutes(),
		a.productRoutes(), a.shiftRoutes(), a.filterRoutes(), a.failureRoutes(), a.incidentRoutes(),
		a.cameraRoutes(), a.cameraAreaRoutes(), a.cameraEventRoutes(), a.deviceRoutes(), a.kioskRoutes(),
		a.widgetRoutes(), a.dashboardRoutes(), a.floorPlanRoutes(), a.configRoutes(), a.auditRoutes(), a.dataRoutes(), a.deadLetterRoutes(), a.alertRoutes(),
		a.lossRoutes(), a.runRoutes(), a.exportRoutes(), a.reportRoutes(), a.plantRoutes(), a.reportScheduleRoutes(), a.queryRoutes(), a.nodeRoutes(),
		a.openAPIRoutes(),
	}
	seen := map[string]bool{}
	for _, g := range groups {
		for _, r := range g {
			key := r.Method + " " + r.Path
			if seen[key] {
				return fmt.Errorf("web: route %s registered twice", key)
			}
			seen[key] = true
			if r.Status == 0 {
				r.Status = http.StatusOK
				if r.Resp == nil {
					r.Status = http.StatusNoContent
				}
			}
			if r.Scope != ScopePublic && r.Action == "" {
				return fmt.Errorf("web: route %s needs an action", key)
			}
			a.routes = append(a.routes, r)
			a.mux.Handle(key, a.wrap(r))
		}
	}
	a.mux.HandleFunc(APIPrefix, a.notFound)
	doc, err := a.buildOpenAPI()
	if err != nil {
		return err
	}
	a.openapi = doc
	return nil
}

// call is one request on its way through a route.
type call struct {
	a     *API
	w     http.ResponseWriter
	r     *http.Request
	route *Route
	q     query
	p     identity.Principal
	ip    string
	// kioskDashboard is the dashboard a kiosk token is bound to (0 = none).
	kioskDashboard int64
	tdb            *store.TenantDB
	// secret is a credential generated for the response of this call (shown once).
	secret string
	// device holds the credentials of a device this call created (shown once).
	device identity.Credentials
}

// wrap turns a route into a handler: query check, authentication, scope and action
// checks, then the handler; any error becomes the one error shape.
func (a *API) wrap(rt *Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := &call{a: a, w: w, r: r, route: rt, ip: a.clientIP(r)}
		if err := c.serve(); err != nil {
			e := errorOf(err)
			if e.status >= 500 {
				a.log.Error("api: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
			}
			writeError(w, e)
		}
	})
}

func (c *call) serve() error {
	rt := c.route
	q, err := parseQuery(c.r, rt.Query)
	if err != nil {
		return err
	}
	c.q = q
	if rt.Body == nil && c.r.ContentLength > 0 {
		return errf(http.StatusBadRequest, CodeBadRequest, "this endpoint takes no request body")
	}
	if rt.Scope != ScopePublic {
		if err := c.authenticate(); err != nil {
			return err
		}
		if err := c.authorize(); err != nil {
			c.a.metrics.refused.WithLabelValues("forbidden").Inc()
			return err
		}
	}
	return rt.handle(c)
}

// authorize checks scope and action; the kiosk is read-only whatever its action set.
func (c *call) authorize() error {
	rt, p := c.route, c.p
	switch rt.Scope {
	case ScopeTenant:
		if p.TenantID == 0 {
			return errf(http.StatusForbidden, CodeForbidden, "platform administrators manage tenants through %stenants; this endpoint belongs to a tenant", APIPrefix)
		}
	case ScopePlatform:
		if p.TenantID != 0 || p.Role != store.RolePlatformAdmin {
			return errf(http.StatusForbidden, CodeForbidden, "platform administrators only")
		}
	}
	if p.Kiosk && rt.Method != http.MethodGet {
		return errf(http.StatusForbidden, CodeForbidden, "kiosk tokens are read-only")
	}
	if !Can(p, rt.Action) {
		return errf(http.StatusForbidden, CodeForbidden, "your role does not allow %s", rt.Action)
	}
	return nil
}

// tenant returns the database of the caller's tenant (from the credentials, never the
// request).
func (c *call) tenant() (*store.TenantDB, error) {
	if c.tdb != nil {
		return c.tdb, nil
	}
	if c.p.TenantID == 0 {
		return nil, errf(http.StatusForbidden, CodeForbidden, "no tenant in these credentials")
	}
	t, err := c.a.st.Tenant(c.r.Context(), c.p.TenantID)
	if err != nil {
		return nil, err
	}
	c.tdb = t
	return t, nil
}

// pathID reads a positive integer path parameter.
func (c *call) pathID(name string) (int64, error) {
	v, ok := parseID(c.r.PathValue(name))
	if !ok {
		return 0, fieldErr(name, "must be a positive integer id in the path")
	}
	return v, nil
}

// decode reads the JSON body into dst.
func (c *call) decode(dst any) error {
	limit := c.a.cfg.MaxBodyBytes
	if c.route.MaxBody > 0 {
		limit = c.route.MaxBody
	}
	return decodeJSON(c.w, c.r, limit, dst)
}

// reply writes v with the route's success status.
func (c *call) reply(v any) error {
	if v == nil || c.route.Resp == nil {
		c.w.WriteHeader(http.StatusNoContent)
		return nil
	}
	writeJSON(c.w, c.route.Status, v)
	return nil
}

// seeLine refuses (as not found: the object is outside the caller's view) a line the
// caller's permissions exclude.
func (c *call) seeLine(id int64) error {
	if id != 0 && !c.p.CanSeeLine(id) {
		return notFound(fmt.Sprintf("line %d", id))
	}
	return nil
}

// lineExists checks that a line exists in the caller's tenant and is visible to it.
func (c *call) lineExists(field string, id int64) error {
	if id == 0 {
		return nil // "required" is the store's message; 0 also means "every line" for shifts
	}
	if err := c.seeLine(id); err != nil {
		return fieldErr(field, "no such line")
	}
	t, err := c.tenant()
	if err != nil {
		return err
	}
	_, err = t.GetLine(c.r.Context(), id)
	return refErr(err, field, "no such line")
}

// pageOf builds the list envelope; the cursor is the id of the last row scanned (rows the
// caller may not see are skipped but still advance the cursor).
func pageOf[T any](items []T, scanned int, lastID int64, p store.Page) Page[T] {
	limit := p.Limit
	if limit == 0 {
		limit = store.DefaultPageSize
	}
	out := Page[T]{Items: items}
	if out.Items == nil {
		out.Items = []T{}
	}
	if scanned >= limit && lastID > 0 {
		out.NextAfter = &lastID
	}
	return out
}

// replyList answers a page read straight from the store (every row visible); key is the
// cursor of a row.
func replyList[T any](c *call, p store.Page, list []T, err error, key func(*T) int64) error {
	if err != nil {
		return err
	}
	var last int64
	if len(list) > 0 {
		last = key(&list[len(list)-1])
	}
	return c.reply(pageOf(list, len(list), last, p))
}

// pathParams lists the {names} of a path pattern.
func pathParams(path string) []string {
	var out []string
	for _, seg := range strings.Split(path, "/") {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			out = append(out, strings.TrimSuffix(strings.TrimPrefix(seg, "{"), "}"))
		}
	}
	return out
}

// refErr turns "not found" of a referenced object into a field error of the body.
func refErr(err error, field, msg string) error {
	if errors.Is(err, store.ErrNotFound) {
		return fieldErr(field, "%s", msg)
	}
	return err
}

// checks merges the field errors of several reference checks into one answer; any other
// error wins.
func checks(errs ...error) error {
	var fields []store.FieldError
	for _, err := range errs {
		if err == nil {
			continue
		}
		var ae *apiError
		var ve *store.ValidationError
		switch {
		case errors.As(err, &ae) && ae.code == CodeValidation && len(ae.fields) > 0:
			fields = append(fields, ae.fields...)
		case errors.As(err, &ve):
			fields = append(fields, ve.Fields...)
		default:
			return err
		}
	}
	if len(fields) > 0 {
		return &store.ValidationError{Entity: "request", Fields: fields}
	}
	return nil
}
