// Package web serves LinePulse over HTTP: health and readiness, Prometheus metrics, the
// REST API under /api/v1 and the server-rendered UI. Authentication primitives live in
// web/auth; every SQL statement lives in store.
package web
