package bus

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Stream and subject constants of the binding contract (design.md, "NATS subjects").
const (
	// DetStream is the JetStream stream that captures every detection subject.
	DetStream = "LP_DET"
	// DetWildcard is the subject filter of DetStream: detections of every tenant and line.
	DetWildcard = "lp.*.line.*.det"

	// Kinds of per-line subjects, the last token of lp.<tenant>.line.<line>.<kind>.
	KindDet      = "det"
	KindKPI      = "kpi"
	KindDowntime = "downtime"

	subjectRoot = "lp"

	// AuthRevokedSubject carries revocations (ended sessions, revoked kiosk tokens)
	// between LinePulse instances, so that each closes its live connections of them.
	// "_sys" is never a tenant slug (ValidTenant), so the subject lies outside every
	// tenant's subjects; devices may neither publish nor subscribe to it
	// (devicePermissions). Internal: published and consumed by package hub only.
	AuthRevokedSubject = subjectRoot + "._sys.auth.revoked"

	// DowntimeCodedSubject carries a line's {"tenant","line"} ids when the API coded one of
	// its downtime events, so that the KPI engine, wherever it runs, reads the line's coded
	// events again. In "_sys" like AuthRevokedSubject, out of every tenant's and device's
	// reach. Internal: published and consumed by package stream only (stream.NotifyCoded).
	DowntimeCodedSubject = subjectRoot + "._sys.downtime.coded"
)

// ErrBadSubject is wrapped by ParseLineSubject for every subject it refuses.
var ErrBadSubject = errors.New("bus: bad subject")

// DetSubject returns lp.<tenant>.line.<line>.det, where edge devices publish detections.
func DetSubject(tenant string, line int64) string { return lineSubject(tenant, line, KindDet) }

// KPISubject returns lp.<tenant>.line.<line>.kpi, where LinePulse publishes live KPI updates.
func KPISubject(tenant string, line int64) string { return lineSubject(tenant, line, KindKPI) }

// DowntimeSubject returns lp.<tenant>.line.<line>.downtime, where LinePulse publishes downtime events.
func DowntimeSubject(tenant string, line int64) string {
	return lineSubject(tenant, line, KindDowntime)
}

// TelemetrySubject returns lp.<tenant>.node.<node>.telemetry, where a vision node publishes its health.
func TelemetrySubject(tenant, node string) string {
	return subjectRoot + "." + tenant + ".node." + node + ".telemetry"
}

// DLQSubject returns lp.<tenant>.dlq, where rejected device messages are published with the reason.
func DLQSubject(tenant string) string { return subjectRoot + "." + tenant + ".dlq" }

func lineSubject(tenant string, line int64, kind string) string {
	return subjectRoot + "." + tenant + ".line." + strconv.FormatInt(line, 10) + "." + kind
}

// ParseLineSubject splits lp.<tenant>.line.<line>.<kind> into its parts. It is strict:
// the tenant must be a valid slug (ValidTenant), the line a positive decimal integer
// without sign or leading zeros that fits in an int64, and the kind one of det, kpi,
// downtime. Anything else returns an error wrapping ErrBadSubject.
func ParseLineSubject(subj string) (tenant string, line int64, kind string, err error) {
	parts := strings.Split(subj, ".")
	if len(parts) != 5 || parts[0] != subjectRoot || parts[2] != "line" {
		return "", 0, "", fmt.Errorf("%w: %q is not lp.<tenant>.line.<line>.<kind>", ErrBadSubject, subj)
	}
	if !ValidTenant(parts[1]) {
		return "", 0, "", fmt.Errorf("%w: %q: invalid tenant slug", ErrBadSubject, subj)
	}
	line, ok := parseLineID(parts[3])
	if !ok {
		return "", 0, "", fmt.Errorf("%w: %q: invalid line id", ErrBadSubject, subj)
	}
	switch parts[4] {
	case KindDet, KindKPI, KindDowntime:
	default:
		return "", 0, "", fmt.Errorf("%w: %q: unknown kind", ErrBadSubject, subj)
	}
	return parts[1], line, parts[4], nil
}

// parseLineID accepts only canonical positive decimal integers: [1-9][0-9]* within int64.
func parseLineID(s string) (int64, bool) {
	if s == "" || len(s) > 19 || s[0] < '1' || s[0] > '9' {
		return 0, false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, false
	}
	return n, true
}

// ValidTenant reports whether s is a tenant slug: [a-z0-9-]{1,32}.
func ValidTenant(s string) bool {
	if len(s) < 1 || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// ValidDeviceName reports whether s can name a device (vision node): [A-Za-z0-9_-]{1,64}.
// The name is one NATS subject token (lp.<tenant>.node.<name>.telemetry,
// _INBOX.<tenant>.<name>) and the part after the dot of the NATS user name, so it
// never contains '.', '*', '>' or white space.
func ValidDeviceName(s string) bool {
	if len(s) < 1 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

// DeviceUser returns the NATS user name of a device: "<tenant>.<device>".
func DeviceUser(tenant, device string) string { return tenant + "." + device }

// ParseDeviceUser splits a NATS user name "<tenant>.<device>"; ok is false unless both
// parts are valid (ValidTenant, ValidDeviceName).
func ParseDeviceUser(user string) (tenant, device string, ok bool) {
	tenant, device, found := strings.Cut(user, ".")
	if !found || !ValidTenant(tenant) || !ValidDeviceName(device) {
		return "", "", false
	}
	return tenant, device, true
}

// DeviceInboxPrefix returns the inbox prefix a device must use ("_INBOX.<tenant>.<device>"):
// nats.go nats.CustomInboxPrefix, nats CLI --inbox-prefix. A device may subscribe only below it.
func DeviceInboxPrefix(tenant, device string) string { return "_INBOX." + tenant + "." + device }
