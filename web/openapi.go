package web

import (
	"encoding/json"
	"net/http"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/linepulse/linepulse/identity"
	"github.com/linepulse/linepulse/store"
)

// The OpenAPI 3.1 document is generated from the route table at start-up: the same table
// the mux serves, so the document cannot describe a route that does not exist or miss one
// that does.

func (a *API) openAPIRoutes() []*Route {
	return []*Route{{Method: "GET", Path: "/api/v1/openapi.json", Summary: "This document: the OpenAPI 3.1 description of the API",
		Tag: "meta", Scope: ScopePublic, Resp: map[string]any{}, handle: func(c *call) error {
			c.w.Header().Set("Content-Type", "application/json; charset=utf-8")
			c.w.Header().Set("Cache-Control", "public, max-age=300")
			c.w.WriteHeader(http.StatusOK)
			_, err := c.w.Write(a.openapi)
			return err
		}}}
}

// OpenAPI returns the OpenAPI 3.1 document served at /api/v1/openapi.json.
func (a *API) OpenAPI() []byte { return append([]byte(nil), a.openapi...) }

type schemaGen struct {
	defs  map[string]any
	names map[reflect.Type]string
}

var (
	timeType = reflect.TypeOf(time.Time{})
	jsonType = reflect.TypeOf(store.JSON(nil))
	rawType  = reflect.TypeOf(json.RawMessage(nil))
	durType  = reflect.TypeOf(store.Duration(0))
)

// schema returns the JSON Schema of t, registering named structs as components.
func (g *schemaGen) schema(t reflect.Type) map[string]any {
	switch t {
	case timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case jsonType, rawType:
		return map[string]any{"description": "any JSON value"}
	case durType:
		return map[string]any{"type": "string", "description": `a duration such as "30s", "5m" or "1h30m"`}
	}
	switch t.Kind() {
	case reflect.Pointer:
		inner := g.schema(t.Elem())
		if typ, ok := inner["type"].(string); ok {
			out := map[string]any{}
			for k, v := range inner {
				out[k] = v
			}
			out["type"] = []string{typ, "null"}
			return out
		}
		return map[string]any{"anyOf": []any{inner, map[string]any{"type": "null"}}}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Uint8, reflect.Uint16, reflect.Uint32:
		return map[string]any{"type": "integer"}
	case reflect.Int64, reflect.Uint64, reflect.Uint:
		return map[string]any{"type": "integer", "format": "int64"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": "string", "format": "byte"}
		}
		return map[string]any{"type": "array", "items": g.schema(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.schema(t.Elem())}
	case reflect.Interface:
		return map[string]any{}
	case reflect.Struct:
		return map[string]any{"$ref": "#/components/schemas/" + g.component(t)}
	}
	return map[string]any{}
}

func (g *schemaGen) component(t reflect.Type) string {
	if n, ok := g.names[t]; ok {
		return n
	}
	name := typeName(t)
	for i := 2; g.defs[name] != nil; i++ {
		name = typeName(t) + strconv.Itoa(i)
	}
	g.names[t] = name
	g.defs[name] = map[string]any{} // placeholder for recursion
	props := map[string]any{}
	var required []string
	for _, f := range jsonFields(t) {
		s := g.schema(f.typ)
		if readOnly[f.name] {
			s = map[string]any{"allOf": []any{s}, "readOnly": true}
		}
		props[f.name] = s
		if !f.omitempty && !readOnly[f.name] {
			required = append(required, f.name)
		}
	}
	def := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		def["required"] = required
	}
	g.defs[name] = def
	return name
}

// typeName turns Page[github.com/x/store.Area] into PageArea.
func typeName(t reflect.Type) string {
	n := t.Name()
	if n == "" {
		return "Object"
	}
	base, args, ok := strings.Cut(n, "[")
	if !ok {
		return n
	}
	args = strings.TrimSuffix(args, "]")
	if i := strings.LastIndex(args, "."); i >= 0 {
		args = args[i+1:]
	}
	return base + args
}

// buildOpenAPI renders the document from a.routes.
func (a *API) buildOpenAPI() ([]byte, error) {
	g := &schemaGen{defs: map[string]any{}, names: map[reflect.Type]string{}}
	errRef := map[string]any{"$ref": "#/components/schemas/" + g.component(reflect.TypeOf(errorBody{}))}
	errResp := func(desc string) map[string]any {
		return map[string]any{"description": desc, "content": map[string]any{"application/json": map[string]any{"schema": errRef}}}
	}
	paths := map[string]map[string]any{}
	for _, r := range a.routes {
		op := map[string]any{
			"operationId": operationID(r),
			"summary":     r.Summary,
			"tags":        []string{r.Tag},
		}
		var params []any
		for _, p := range pathParams(r.Path) {
			s := map[string]any{"type": "integer", "format": "int64", "minimum": 1}
			if p == "key" {
				s = map[string]any{"type": "string", "pattern": configKeyRe.String()}
			}
			params = append(params, map[string]any{"name": p, "in": "path", "required": true, "schema": s})
		}
		for _, p := range r.Query {
			s := map[string]any{"type": p.Type}
			if p.Format != "" {
				s["format"] = p.Format
			}
			if len(p.Enum) > 0 {
				s["enum"] = p.Enum
			}
			if p.Name == "limit" {
				s["minimum"], s["maximum"] = 1, store.MaxPageSize
			}
			params = append(params, map[string]any{"name": p.Name, "in": "query", "required": p.Required, "schema": s, "description": p.Desc})
		}
		if len(params) > 0 {
			op["parameters"] = params
		}
		if r.Body != nil {
			op["requestBody"] = map[string]any{"required": r.Path != authPath+"/refresh",
				"content": map[string]any{"application/json": map[string]any{"schema": g.schema(reflect.TypeOf(r.Body))}}}
		}
		responses := map[string]any{}
		ok := map[string]any{"description": http.StatusText(r.Status)}
		if r.Resp != nil {
			ok["content"] = map[string]any{"application/json": map[string]any{"schema": g.schema(reflect.TypeOf(r.Resp))}}
		}
		responses[strconv.Itoa(r.Status)] = ok
		responses["400"] = errResp("invalid request: see error.fields")
		responses["429"] = errResp("rate limited")
		if r.Body != nil {
			responses["413"] = errResp("body too large")
			responses["415"] = errResp("body is not application/json")
		}
		if r.Scope == ScopePublic {
			op["security"] = []any{}
		} else {
			sec := []any{map[string]any{"bearer": []any{}}, map[string]any{"cookie": []any{}}}
			if r.Method == http.MethodGet && Can(identity.Principal{Kiosk: true}, r.Action) && r.Scope != ScopePlatform {
				sec = append(sec, map[string]any{"kiosk": []any{}})
			}
			op["security"] = sec
			op["x-linepulse-action"] = r.Action
			responses["401"] = errResp("not authenticated")
			responses["403"] = errResp("not allowed (role, permissions, scope or cross-origin)")
			if len(pathParams(r.Path)) > 0 {
				responses["404"] = errResp("no such object in your tenant")
			}
			if r.Method != http.MethodGet {
				responses["409"] = errResp("conflict with an existing object")
			}
		}
		op["responses"] = responses
		if paths[r.Path] == nil {
			paths[r.Path] = map[string]any{}
		}
		paths[r.Path][strings.ToLower(r.Method)] = op
	}
	var tags []any
	seen := map[string]bool{}
	for _, r := range a.routes {
		if !seen[r.Tag] {
			seen[r.Tag] = true
			tags = append(tags, map[string]any{"name": r.Tag})
		}
	}
	sort.Slice(tags, func(i, j int) bool {
		return tags[i].(map[string]any)["name"].(string) < tags[j].(map[string]any)["name"].(string)
	})
	doc := map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "LinePulse API", "version": "1",
			"description": "REST API of LinePulse. Errors: {\"error\":{\"code\",\"message\",\"fields\":[{\"field\",\"message\"}]}}. " +
				"Lists: ?limit=1..500&after=<next_after>. PUT replaces the whole object: every field not marked optional is required."},
		"tags":  tags,
		"paths": paths,
		"components": map[string]any{
			"schemas": g.defs,
			"securitySchemes": map[string]any{
				"bearer": map[string]any{"type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": "access token from /api/v1/auth/login"},
				"cookie": map[string]any{"type": "apiKey", "in": "cookie", "name": AccessCookie, "description": "browser session (set by login)"},
				"kiosk":  map[string]any{"type": "apiKey", "in": "header", "name": "Authorization", "description": "Kiosk <token>: read-only kiosk token"},
			},
		},
	}
	return json.MarshalIndent(doc, "", "  ")
}

func operationID(r *Route) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(r.Method))
	for _, seg := range strings.Split(strings.TrimPrefix(r.Path, "/api/v1/"), "/") {
		seg = strings.Trim(seg, "{}")
		for _, part := range strings.FieldsFunc(seg, func(c rune) bool { return c == '-' || c == '_' || c == '.' }) {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}
