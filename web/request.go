package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/linepulse/linepulse/store"
)

// Parsing of untrusted request parts: every parser here bounds its input and answers with
// a 4xx naming what is wrong.

// maxIDDigits bounds numeric path and query parameters (int64 has 19 digits; ids never
// get near that, and the JavaScript-safe range has 16).
const maxIDDigits = 16

// parseID parses a positive decimal id without sign, leading zeros or anything else.
func parseID(s string) (int64, bool) {
	if s == "" || len(s) > maxIDDigits || s[0] == '0' {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	return v, err == nil && v > 0
}

// parseCount parses a non-negative decimal (0 allowed) the same strict way.
func parseCount(s string) (int64, bool) {
	if s == "0" {
		return 0, true
	}
	return parseID(s)
}

// decodeJSON reads exactly one JSON value from body into dst: application/json only, at
// most limit bytes, no unknown fields, nothing after the value. Errors name the field.
func decodeJSON(w http.ResponseWriter, r *http.Request, limit int64, dst any) error {
	ct := r.Header.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil || mt != "application/json" {
		return errf(http.StatusUnsupportedMediaType, CodeMediaType, "the body must be application/json")
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return errf(http.StatusUnsupportedMediaType, CodeMediaType, "the body must be UTF-8 JSON")
	}
	if r.ContentLength > limit {
		return errf(http.StatusRequestEntityTooLarge, CodeTooLarge, "request body exceeds %d bytes", limit)
	}
	body := http.MaxBytesReader(w, r.Body, limit)
	data, err := io.ReadAll(body)
	if err != nil {
		return err // MaxBytesError maps to 413
	}
	if err := unmarshalStrict(data, dst); err != nil {
		return err
	}
	if r.Method == http.MethodPut {
		return requireFields(data, dst)
	}
	return nil
}

// readOnly are fields the server sets: accepted in bodies (a client may send back what it
// read) but ignored, and never required.
var readOnly = map[string]bool{"id": true, "tenant_id": true, "created_at": true, "updated_at": true,
	"revoked_at": true, "last_used_at": true, "reported_by": true, "user_id": true, "failing": true, "last_error": true}

// requireFields makes PUT a full replacement: every writable field of dst's type that is
// not marked omitempty must be present, so a forgotten field is an error rather than a
// silent reset to zero.
func requireFields(data []byte, dst any) error {
	var present map[string]json.RawMessage
	if err := json.Unmarshal(data, &present); err != nil {
		return errf(http.StatusBadRequest, CodeInvalidJSON, "the body must be a JSON object")
	}
	var missing []store.FieldError
	for _, f := range jsonFields(reflect.TypeOf(dst)) {
		if _, ok := present[f.name]; !ok && !f.omitempty && !readOnly[f.name] {
			missing = append(missing, store.FieldError{Field: f.name, Message: "is required (PUT replaces the whole object)"})
		}
	}
	if len(missing) > 0 {
		return &store.ValidationError{Entity: "request", Fields: missing}
	}
	return nil
}

// jsonField is one JSON property of a struct type.
type jsonField struct {
	name      string
	omitempty bool
	typ       reflect.Type
}

// jsonFields lists the JSON properties of a struct type (embedded structs flattened, as
// encoding/json does), in declaration order.
func jsonFields(t reflect.Type) []jsonField {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	var out []jsonField
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			out = append(out, jsonFields(f.Type)...)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, jsonField{name: name, omitempty: strings.Contains(","+opts+",", ",omitempty,") || strings.Contains(","+opts+",", ",omitzero,"), typ: f.Type})
	}
	return out
}

// unmarshalStrict decodes one JSON value with unknown fields refused.
func unmarshalStrict(data []byte, dst any) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return errf(http.StatusBadRequest, CodeInvalidJSON, "a JSON request body is required")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		e := jsonError(err)
		if ae, ok := e.(*apiError); ok && len(ae.fields) == 0 && ae.code == CodeInvalidJSON {
			if f := badField(data, dst); f != nil {
				return f
			}
		}
		return e
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errf(http.StatusBadRequest, CodeInvalidJSON, "unexpected data after the JSON value")
	}
	return nil
}

// badField finds the top-level field whose value does not decode into its Go type (for
// errors, like a malformed timestamp, that encoding/json reports without a field name).
func badField(data []byte, dst any) error {
	var obj map[string]json.RawMessage
	if json.Unmarshal(data, &obj) != nil {
		return nil
	}
	for _, f := range jsonFields(reflect.TypeOf(dst)) {
		raw, ok := obj[f.name]
		if !ok {
			continue
		}
		if err := json.Unmarshal(raw, reflect.New(f.typ).Interface()); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) && te.Field != "" {
				return fieldErr(f.name+"."+te.Field, "must be %s", jsonKind(te.Type.String()))
			}
			return fieldErr(f.name, "must be %s", jsonKind(f.typ.String()))
		}
	}
	return nil
}

// jsonError turns encoding/json errors into field-level answers without echoing input.
func jsonError(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return errf(http.StatusBadRequest, CodeInvalidJSON, "malformed JSON at byte %d", se.Offset)
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			return errf(http.StatusBadRequest, CodeInvalidJSON, "the body must be a JSON %s", jsonKind(te.Type.Kind().String()))
		}
		return fieldErr(field, "must be %s", jsonKind(te.Type.String()))
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return errf(http.StatusBadRequest, CodeInvalidJSON, "truncated JSON")
	}
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		name, _ := strconv.Unquote(f)
		if len(name) > 64 {
			name = name[:64]
		}
		return fieldErr(name, "unknown field")
	}
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	var ve *store.ValidationError
	if errors.As(err, &ve) {
		return ve
	}
	return errf(http.StatusBadRequest, CodeInvalidJSON, "invalid JSON body")
}

// jsonKind names a Go type the way a JSON client thinks of it.
func jsonKind(goType string) string {
	switch {
	case strings.HasPrefix(goType, "[]"), goType == "slice", goType == "array":
		return "an array"
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"):
		return "an integer"
	case strings.HasPrefix(goType, "float"):
		return "a number"
	case goType == "string":
		return "a string"
	case goType == "bool":
		return "a boolean"
	case goType == "time.Time":
		return "an RFC 3339 timestamp string"
	case strings.HasPrefix(goType, "map"), goType == "struct", strings.Contains(goType, "."):
		return "an object"
	}
	return "a " + goType
}

// query reads the declared query parameters of a request: an undeclared or repeated
// parameter is refused, so typos do not silently widen a query.
type query struct {
	vals map[string]string
}

const maxQueryLen = 2048

func parseQuery(r *http.Request, allowed []Param) (query, error) {
	if len(r.URL.RawQuery) > maxQueryLen {
		return query{}, errf(http.StatusBadRequest, CodeBadRequest, "query string longer than %d bytes", maxQueryLen)
	}
	raw, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return query{}, errf(http.StatusBadRequest, CodeBadRequest, "malformed query string")
	}
	q := query{vals: map[string]string{}}
	for k, vs := range raw {
		known := false
		for _, p := range allowed {
			known = known || p.Name == k
		}
		if !known {
			if len(k) > 64 {
				k = k[:64]
			}
			return query{}, fieldErr(k, "unknown query parameter")
		}
		if len(vs) != 1 {
			return query{}, fieldErr(k, "given more than once")
		}
		q.vals[k] = vs[0]
	}
	for _, p := range allowed {
		if _, ok := q.vals[p.Name]; p.Required && !ok {
			return query{}, fieldErr(p.Name, "is required")
		}
	}
	return q, nil
}

func (q query) has(name string) bool   { _, ok := q.vals[name]; return ok }
func (q query) str(name string) string { return q.vals[name] }

// id reads an optional positive id parameter (0 when absent).
func (q query) id(name string) (int64, error) {
	s, ok := q.vals[name]
	if !ok {
		return 0, nil
	}
	v, good := parseID(s)
	if !good {
		return 0, fieldErr(name, "must be a positive integer id")
	}
	return v, nil
}

// page reads ?limit (1..store.MaxPageSize, default store.DefaultPageSize) and ?after
// (an id cursor, default 0).
func (q query) page() (store.Page, error) {
	var p store.Page
	if s, ok := q.vals["limit"]; ok {
		v, good := parseID(s)
		if !good || v > store.MaxPageSize {
			return p, fieldErr("limit", "must be an integer between 1 and %d", store.MaxPageSize)
		}
		p.Limit = int(v)
	}
	if s, ok := q.vals["after"]; ok {
		v, good := parseCount(s)
		if !good {
			return p, fieldErr("after", "must be a non-negative integer id")
		}
		p.AfterID = v
	}
	return p, nil
}

// time reads an optional RFC 3339 timestamp parameter.
func (q query) time(name string) (time.Time, bool, error) {
	s, ok := q.vals[name]
	if !ok {
		return time.Time{}, false, nil
	}
	if len(s) > 40 {
		return time.Time{}, false, fieldErr(name, "must be an RFC 3339 timestamp")
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() < 2000 || t.Year() > 2200 {
		return time.Time{}, false, fieldErr(name, "must be an RFC 3339 timestamp between years 2000 and 2200, e.g. 2025-03-01T06:00:00Z")
	}
	return t.UTC(), true, nil
}

// oneOf reads an optional enumerated parameter.
func (q query) oneOf(name, def string, allowed ...string) (string, error) {
	s, ok := q.vals[name]
	if !ok {
		return def, nil
	}
	for _, a := range allowed {
		if s == a {
			return s, nil
		}
	}
	return "", fieldErr(name, "must be one of %s", strings.Join(allowed, ", "))
}
