package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// SiteCSP is the Content-Security-Policy for HTML pages: scripts, styles, images, fonts and
// connections from this origin only, no inline code, no plugins, no framing.
const SiteCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; " +
	"form-action 'self'; frame-ancestors 'none'"

// apiCSP is stricter: a JSON response loads nothing.
const apiCSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// hsts asks browsers to use HTTPS only, for a year, subdomains included.
const hsts = "max-age=31536000; includeSubDomains"

func setSecurityHeaders(h http.Header, tls bool) {
	h.Set("Content-Security-Policy", apiCSP)
	baseHeaders(h, tls)
}

func baseHeaders(h http.Header, tls bool) {
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
	if tls {
		h.Set("Strict-Transport-Security", hsts)
	}
}

// SecurityHeaders wraps the whole site (UI, /ws, health) with the security headers the
// API sends: a self-only CSP (unless the handler sets its own), nosniff, no framing, no
// referrer, and HSTS when tls is set.
func SecurityHeaders(next http.Handler, tls bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		if h.Get("Content-Security-Policy") == "" {
			h.Set("Content-Security-Policy", SiteCSP)
		}
		baseHeaders(h, tls)
		next.ServeHTTP(w, r)
	})
}

// apiMetrics are the API's Prometheus series.
type apiMetrics struct {
	requests *prometheus.CounterVec   // by route pattern and status class
	latency  *prometheus.HistogramVec // by route pattern
	refused  *prometheus.CounterVec   // by reason: rate_limited, cross_origin, unauthorized, forbidden, locked
	logins   *prometheus.CounterVec   // by result
	auditErr prometheus.Counter
}

func newAPIMetrics(reg prometheus.Registerer) apiMetrics {
	m := apiMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "linepulse_api_requests_total", Help: "API requests by route and status class."}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "linepulse_api_request_seconds", Help: "API request latency by route.",
			Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}}, []string{"route"}),
		refused:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "linepulse_api_refused_total", Help: "Requests refused by the API's protections, by reason."}, []string{"reason"}),
		logins:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: "linepulse_logins_total", Help: "Login attempts by result."}, []string{"result"}),
		auditErr: prometheus.NewCounter(prometheus.CounterOpts{Name: "linepulse_audit_append_failures_total", Help: "Audit entries that could not be written (see the log)."}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.latency, m.refused, m.logins, m.auditErr)
	}
	return m
}

func (m apiMetrics) observe(r *http.Request, status int, took time.Duration) {
	route := r.Pattern
	if route == "" {
		route = "unmatched"
	}
	if status == 0 {
		status = http.StatusOK
	}
	m.requests.WithLabelValues(route, strconv.Itoa(status/100)+"xx").Inc()
	m.latency.WithLabelValues(route).Observe(took.Seconds())
}
