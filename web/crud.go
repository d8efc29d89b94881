package web

import (
	"context"
	"net/http"
	"strings"

	"github.com/linepulse/linepulse/store"
)

// ops are the five operations of one resource, bound to the caller's scope (its tenant
// database or its tenant id). A nil operation has no route.
type ops[T any] struct {
	list   func(c *call, o store.ListOptions) ([]T, error)
	get    func(c *call, id int64) (T, error)
	create func(c *call, v *T) error
	update func(c *call, v *T) error
	del    func(c *call, id int64) error
}

// spec describes a REST resource for crud: its path, actions and hooks.
type spec[T any] struct {
	path   string // collection path, e.g. /api/v1/areas
	tag    string // OpenAPI tag and resource name (e.g. "areas")
	entity string // singular, for summaries and audit actions (e.g. "area")
	scope  Scope
	read   string // action for GET
	write  string // action for PUT and DELETE (and POST unless create is set)
	create string // action for POST; default write
	byLine bool   // the list accepts ?line_id
	audit  string // audit action prefix; default "config.<entity>"
	body   any    // request body sample when it differs from T (OpenAPI)
	id     func(*T) *int64
	// line returns the line an object belongs to (0 = not bound to one line); nil when the
	// resource is not line-bound. Objects of lines outside the caller's permissions are
	// invisible (404).
	line func(c *call, v *T) (int64, error)
	// init sets the defaults of a new object before the body is decoded over it.
	init func(v *T)
	// see hides objects beyond line permissions (e.g. by role); nil = all visible.
	see func(c *call, v *T) bool
	// decode reads the request body into v; default: strict JSON into T.
	decode func(c *call, v *T) error
	// prepare sets server-side fields and checks references before a write; old is nil
	// when creating.
	prepare func(c *call, v, old *T) error
	// created shapes the create response (e.g. to show a secret once); default v.
	created func(c *call, v *T) any
	// updated runs after an update.
	updated func(c *call, old, v *T)
	// removed runs after a delete (e.g. to disconnect a revoked device).
	removed func(c *call, old *T)
	// createdResp is the OpenAPI sample of the create response when created is set.
	createdResp any
}

// crud builds the routes of a resource: list, create, read, update, delete.
func crud[T any](s spec[T], o ops[T]) []*Route {
	if s.create == "" {
		s.create = s.write
	}
	if s.audit == "" {
		s.audit = "config." + s.entity
	}
	var zero T
	body := s.body
	if body == nil {
		body = zero
	}
	item := s.path + "/{id}"
	q := pageParams
	if s.byLine {
		q = lineParams
	}
	art := article(s.entity)
	var rs []*Route
	add := func(r *Route, ok bool) {
		if ok {
			r.Tag, r.Scope, r.Resource = s.tag, s.scope, s.tag
			rs = append(rs, r)
		}
	}
	add(&Route{Method: "GET", Path: s.path, Summary: "List " + s.tag, Action: s.read, Query: q, Resp: Page[T]{}, List: true,
		handle: func(c *call) error { return s.handleList(c, o) }}, o.list != nil)
	createdResp := s.createdResp
	if createdResp == nil {
		createdResp = zero
	}
	add(&Route{Method: "POST", Path: s.path, Summary: "Create " + art, Action: s.create, Body: body, Resp: createdResp, Status: http.StatusCreated,
		handle: func(c *call) error { return s.handleCreate(c, o) }}, o.create != nil)
	add(&Route{Method: "GET", Path: item, Summary: "Read " + art, Action: s.read, Resp: zero,
		handle: func(c *call) error { return s.handleGet(c, o) }}, o.get != nil)
	add(&Route{Method: "PUT", Path: item, Summary: "Replace " + art, Action: s.write, Body: body, Resp: zero,
		handle: func(c *call) error { return s.handleUpdate(c, o) }}, o.update != nil)
	add(&Route{Method: "DELETE", Path: item, Summary: "Delete " + art, Action: s.write,
		handle: func(c *call) error { return s.handleDelete(c, o) }}, o.del != nil)
	return rs
}

func article(noun string) string {
	if strings.ContainsRune("aeiou", rune(noun[0])) {
		return "an " + noun
	}
	return "a " + noun
}

// visible reports whether the caller may see v (line permissions).
func (s spec[T]) visible(c *call, v *T) (bool, error) {
	if s.see != nil && !s.see(c, v) {
		return false, nil
	}
	if s.line == nil || c.p.Lines == nil {
		return true, nil
	}
	line, err := s.line(c, v)
	if err != nil {
		return false, err
	}
	return line == 0 || c.p.CanSeeLine(line), nil
}

// listQuery reads a list's page and its optional line_id, which the caller must see.
func (c *call) listQuery() (store.Page, int64, error) {
	p, err := c.q.page()
	if err != nil {
		return p, 0, err
	}
	lineID, err := c.q.id("line_id")
	if err != nil {
		return p, 0, err
	}
	return p, lineID, c.seeLine(lineID)
}

func (s spec[T]) handleList(c *call, o ops[T]) error {
	p, lineID, err := c.listQuery()
	if err != nil {
		return err
	}
	rows, err := o.list(c, store.ListOptions{LineID: lineID, Page: p})
	if err != nil {
		return err
	}
	out := make([]T, 0, len(rows))
	var last int64
	for i := range rows {
		last = *s.id(&rows[i])
		ok, err := s.visible(c, &rows[i])
		if err != nil {
			return err
		}
		if ok {
			out = append(out, rows[i])
		}
	}
	return c.reply(pageOf(out, len(rows), last, p))
}

// load reads the object of the {id} path parameter, as not found when invisible.
func (s spec[T]) load(c *call, o ops[T]) (int64, T, error) {
	var zero T
	id, err := c.pathID("id")
	if err != nil {
		return 0, zero, err
	}
	v, err := o.get(c, id)
	if err != nil {
		return 0, zero, err
	}
	ok, err := s.visible(c, &v)
	if err != nil {
		return 0, zero, err
	}
	if !ok {
		return 0, zero, notFound(s.entity)
	}
	return id, v, nil
}

func (s spec[T]) handleGet(c *call, o ops[T]) error {
	_, v, err := s.load(c, o)
	if err != nil {
		return err
	}
	return c.reply(v)
}

// input decodes and prepares a body for a write.
func (s spec[T]) input(c *call, v, old *T) error {
	dec := s.decode
	if dec == nil {
		dec = func(c *call, v *T) error { return c.decode(v) }
	}
	if old == nil && s.init != nil {
		s.init(v)
	}
	if err := dec(c, v); err != nil {
		return err
	}
	if old != nil {
		*s.id(v) = *s.id(old)
	} else {
		*s.id(v) = 0
	}
	if s.line != nil {
		line, err := s.line(c, v)
		if err != nil {
			return err
		}
		if line != 0 && !c.p.CanSeeLine(line) {
			return errf(http.StatusForbidden, CodeForbidden, "your permissions do not include line %d", line)
		}
	}
	if s.prepare != nil {
		return s.prepare(c, v, old)
	}
	return nil
}

func (s spec[T]) handleCreate(c *call, o ops[T]) error {
	var v T
	if err := s.input(c, &v, nil); err != nil {
		return err
	}
	if err := o.create(c, &v); err != nil {
		return err
	}
	c.auditChange(s.audit+".create", *s.id(&v), nil, v)
	if s.created != nil {
		return c.reply(s.created(c, &v))
	}
	return c.reply(v)
}

func (s spec[T]) handleUpdate(c *call, o ops[T]) error {
	id, old, err := s.load(c, o)
	if err != nil {
		return err
	}
	var v T
	if err := s.input(c, &v, &old); err != nil {
		return err
	}
	if err := o.update(c, &v); err != nil {
		return err
	}
	c.auditChange(s.audit+".update", id, old, v)
	if s.updated != nil {
		s.updated(c, &old, &v)
	}
	return c.reply(v)
}

func (s spec[T]) handleDelete(c *call, o ops[T]) error {
	id, old, err := s.load(c, o)
	if err != nil {
		return err
	}
	if err := o.del(c, id); err != nil {
		return err
	}
	c.auditChange(s.audit+".delete", id, old, nil)
	if s.removed != nil {
		s.removed(c, &old)
	}
	return c.reply(nil)
}

// collectionOps binds a tenant collection (store.Collection) to the caller's tenant.
func collectionOps[T any, P interface {
	*T
	store.Entity
}](pick func(*store.TenantDB) store.Collection[T, P]) ops[T] {
	return ops[T]{
		list: func(c *call, o store.ListOptions) ([]T, error) {
			return inTenant(c, func(ctx context.Context, t *store.TenantDB) ([]T, error) { return pick(t).List(ctx, o) })
		},
		get: func(c *call, id int64) (T, error) {
			return inTenant(c, func(ctx context.Context, t *store.TenantDB) (T, error) { return pick(t).Get(ctx, id) })
		},
		create: func(c *call, v *T) error {
			return inTenantErr(c, func(ctx context.Context, t *store.TenantDB) error { return pick(t).Create(ctx, v) })
		},
		update: func(c *call, v *T) error {
			return inTenantErr(c, func(ctx context.Context, t *store.TenantDB) error { return pick(t).Update(ctx, v) })
		},
		del: func(c *call, id int64) error {
			return inTenantErr(c, func(ctx context.Context, t *store.TenantDB) error { return pick(t).Delete(ctx, id) })
		},
	}
}

// scoped are functions of the global store that take a tenant id; bind them with ops.
type scoped[T any] struct {
	list   func(ctx context.Context, tenantID int64, p store.Page) ([]T, error)
	get    func(ctx context.Context, tenantID, id int64) (T, error)
	create func(ctx context.Context, tenantID int64, v *T) error
	update func(ctx context.Context, tenantID int64, v *T) error
	del    func(ctx context.Context, tenantID, id int64) error
}

// callerTenant is the tenant of the credentials (0 for platform administrators).
func callerTenant(c *call) (int64, error) { return c.p.TenantID, nil }

// ops binds f to the tenant that scope picks for a call. Nil functions stay nil.
func (f scoped[T]) ops(scope func(c *call) (int64, error)) ops[T] {
	var o ops[T]
	if f.list != nil {
		o.list = func(c *call, lo store.ListOptions) ([]T, error) {
			tid, err := scope(c)
			if err != nil {
				return nil, err
			}
			return f.list(c.r.Context(), tid, lo.Page)
		}
	}
	if f.get != nil {
		o.get = func(c *call, id int64) (T, error) {
			tid, err := scope(c)
			if err != nil {
				var zero T
				return zero, err
			}
			return f.get(c.r.Context(), tid, id)
		}
	}
	o.create = bindWrite(scope, f.create)
	o.update = bindWrite(scope, f.update)
	if f.del != nil {
		o.del = func(c *call, id int64) error {
			tid, err := scope(c)
			if err != nil {
				return err
			}
			return f.del(c.r.Context(), tid, id)
		}
	}
	return o
}

func bindWrite[T any](scope func(c *call) (int64, error), fn func(ctx context.Context, tenantID int64, v *T) error) func(c *call, v *T) error {
	if fn == nil {
		return nil
	}
	return func(c *call, v *T) error {
		tid, err := scope(c)
		if err != nil {
			return err
		}
		return fn(c.r.Context(), tid, v)
	}
}

// pageSlice pages a list that the store returns whole (small catalogues).
func pageSlice[T any](all []T, id func(*T) int64, p store.Page) []T {
	limit := p.Limit
	if limit == 0 {
		limit = store.DefaultPageSize
	}
	out := make([]T, 0, min(limit, len(all)))
	for i := range all {
		if id(&all[i]) > p.AfterID && len(out) < limit {
			out = append(out, all[i])
		}
	}
	return out
}
