// Package web serves LinePulse over HTTP: health and readiness, Prometheus metrics, the
// REST API under /api/v1 and the server-rendered UI. Authentication primitives live in
// identity, the audit chain in audit; every SQL statement lives in store.
//
// The REST API (NewAPI) is one route table (route.go) from which the ServeMux patterns,
// the authorization checks and the OpenAPI document (/api/v1/openapi.json) are all built.
// Every request passes, in order: security headers, a per-IP request limit, cross-origin
// protection for state-changing methods, strict query parsing, authentication (Bearer
// JWT, session cookie or kiosk token; the tenant always comes from the credentials),
// scope and action checks (rbac.go: roles plus USER.permissions), then the handler,
// which decodes bodies strictly (application/json, size-limited, no unknown fields, PUT
// needs every field) and answers errors in one shape:
//
//	{"error":{"code":"validation_failed","message":"...","fields":[{"field":"name","message":"is required"}]}}
//
// Resources are one file each; most are a spec handed to the generic crud helper
// (crud.go). Security-relevant events go to the tamper-evident audit chain (package
// audit, through audit.go).
package web
