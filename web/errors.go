package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/linepulse/linepulse/store"
)

// Error codes of the REST API. Clients branch on code; message is for people.
const (
	CodeBadRequest       = "bad_request"            // malformed query, path parameter or body
	CodeInvalidJSON      = "invalid_json"           // the body is not one well-formed JSON value
	CodeValidation       = "validation_failed"      // fields lists what is wrong
	CodeUnauthorized     = "unauthorized"           // no or invalid credentials
	CodeInvalidLogin     = "invalid_credentials"    // wrong tenant, e-mail or password
	CodeForbidden        = "forbidden"              // authenticated but not allowed
	CodeCrossOrigin      = "cross_origin"           // state-changing cross-origin browser request
	CodeNotFound         = "not_found"              // no such object (in your tenant)
	CodeRouteNotFound    = "route_not_found"        // no such endpoint
	CodeMethodNotAllowed = "method_not_allowed"     // endpoint exists, method does not
	CodeConflict         = "conflict"               // unique key taken
	CodeTooLarge         = "payload_too_large"      // body over the limit
	CodeMediaType        = "unsupported_media_type" // body is not application/json
	CodeRateLimited      = "rate_limited"           // too many requests from this client
	CodeAccountLocked    = "account_locked"         // too many failed logins for this account
	CodeUnavailable      = "unavailable"            // a dependency is not configured or not ready
	CodeInternal         = "internal"               // a bug or an outage; details are in the log
)

// apiError is an error with its HTTP answer. Handlers return it (or any error, which
// errorOf maps) and the route wrapper writes it.
type apiError struct {
	status     int
	code       string
	msg        string
	fields     []store.FieldError
	retryAfter time.Duration
	cause      error // logged for 5xx, never sent
}

func (e *apiError) Error() string { return e.code + ": " + e.msg }
func (e *apiError) Unwrap() error { return e.cause }

// withField moves every field error of e onto one field of the request body (when the
// check that failed is reported on another name than the one the client sent).
func (e *apiError) withField(name string) *apiError {
	if e.code != CodeValidation {
		return e
	}
	if len(e.fields) == 0 {
		e.fields = []store.FieldError{{Field: name, Message: e.msg}}
	}
	for i := range e.fields {
		e.fields[i].Field = name
	}
	return e
}

func errf(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, msg: fmt.Sprintf(format, args...)}
}

// fieldErr is a 400 naming one field.
func fieldErr(field, format string, args ...any) *apiError {
	msg := fmt.Sprintf(format, args...)
	return &apiError{status: http.StatusBadRequest, code: CodeValidation, msg: field + ": " + msg,
		fields: []store.FieldError{{Field: field, Message: msg}}}
}

func notFound(what string) *apiError {
	return errf(http.StatusNotFound, CodeNotFound, "%s not found", what)
}

// errorOf maps any error to its HTTP answer.
func errorOf(err error) *apiError {
	var ae *apiError
	var ve *store.ValidationError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &ve):
		return &apiError{status: http.StatusBadRequest, code: CodeValidation, msg: ve.Error(), fields: ve.Fields}
	case errors.As(err, &mbe):
		return errf(http.StatusRequestEntityTooLarge, CodeTooLarge, "request body exceeds %d bytes", mbe.Limit)
	case errors.Is(err, store.ErrNotFound):
		return &apiError{status: http.StatusNotFound, code: CodeNotFound, msg: "not found"}
	case errors.Is(err, store.ErrConflict):
		return &apiError{status: http.StatusConflict, code: CodeConflict, msg: conflictMessage(err)}
	case errors.Is(err, context.Canceled):
		return &apiError{status: 499, code: "canceled", msg: "request canceled", cause: err}
	case errors.Is(err, context.DeadlineExceeded):
		return &apiError{status: http.StatusServiceUnavailable, code: CodeUnavailable, msg: "the request took too long", cause: err}
	}
	return &apiError{status: http.StatusInternalServerError, code: CodeInternal, msg: "internal error", cause: err}
}

// conflictMessage keeps the store's explanation ("a user with e-mail ... exists") but not
// the "store:" prefix.
func conflictMessage(err error) string {
	msg := err.Error()
	const p = "store: "
	if len(msg) > len(p) && msg[:len(p)] == p {
		msg = msg[len(p):]
	}
	return msg
}

// errorBody is the one error shape of the API.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string             `json:"code"`
	Message string             `json:"message"`
	Fields  []store.FieldError `json:"fields,omitempty"`
}

func writeError(w http.ResponseWriter, e *apiError) {
	h := w.Header()
	if e.retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int((e.retryAfter+time.Second-1)/time.Second)))
	}
	if e.status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Bearer realm="linepulse"`)
	}
	writeJSON(w, e.status, errorBody{Error: errorDetail{Code: e.code, Message: e.msg, Fields: e.fields}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"code":"internal","message":"cannot encode response"}}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
