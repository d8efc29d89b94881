package bus_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/linepulse/linepulse/bus"
)

func TestSubjectBuilders(t *testing.T) {
	tests := []struct{ got, want string }{
		{bus.DetSubject("acme", 1), "lp.acme.line.1.det"},
		{bus.KPISubject("acme", 42), "lp.acme.line.42.kpi"},
		{bus.DowntimeSubject("globex-2", 9000000000), "lp.globex-2.line.9000000000.downtime"},
		{bus.TelemetrySubject("acme", "cam-01"), "lp.acme.node.cam-01.telemetry"},
		{bus.DLQSubject("acme"), "lp.acme.dlq"},
		{bus.DeviceUser("acme", "cam-01"), "acme.cam-01"},
		{bus.DeviceInboxPrefix("acme", "cam-01"), "_INBOX.acme.cam-01"},
		{bus.AuthRevokedSubject, "lp._sys.auth.revoked"},
		{bus.DowntimeCodedSubject, "lp._sys.downtime.coded"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
	// The internal subjects must not be any tenant's.
	for _, subj := range []string{bus.AuthRevokedSubject, bus.DowntimeCodedSubject} {
		if tenant := strings.Split(subj, ".")[1]; bus.ValidTenant(tenant) {
			t.Errorf("%s lies in tenant %q's subjects", subj, tenant)
		}
	}
}

func TestParseLineSubject(t *testing.T) {
	good := []struct {
		subj, tenant string
		line         int64
		kind         string
	}{
		{"lp.acme.line.1.det", "acme", 1, "det"},
		{"lp.a.line.10.kpi", "a", 10, "kpi"},
		{"lp.acme-2.line.9223372036854775807.downtime", "acme-2", 9223372036854775807, "downtime"},
		{"lp." + strings.Repeat("x", 32) + ".line.7.det", strings.Repeat("x", 32), 7, "det"},
		{"lp.0-0.line.3.det", "0-0", 3, "det"},
	}
	for _, g := range good {
		tenant, line, kind, err := bus.ParseLineSubject(g.subj)
		if err != nil || tenant != g.tenant || line != g.line || kind != g.kind {
			t.Errorf("ParseLineSubject(%q) = %q, %d, %q, %v; want %q, %d, %q", g.subj, tenant, line, kind, err, g.tenant, g.line, g.kind)
		}
	}
	bad := []string{
		"", "lp", "lp.acme.line.1", "lp.acme.line.1.det.x", "xp.acme.line.1.det", "lp.acme.lines.1.det",
		"lp.ACME.line.1.det", "lp.ac_me.line.1.det", "lp..line.1.det", "lp." + strings.Repeat("x", 33) + ".line.1.det",
		"lp.acme.line.0.det", "lp.acme.line.01.det", "lp.acme.line.+1.det", "lp.acme.line.-1.det",
		"lp.acme.line.1e3.det", "lp.acme.line.9223372036854775808.det", "lp.acme.line.99999999999999999999.det",
		"lp.acme.line. 1.det", "lp.acme.line.*.det", "lp.*.line.1.det", "lp.acme.line.1.>", "lp.acme.line.1.telemetry",
		"lp.acme.line.1.dlq", "lp.acme.line.1.DET", "lp.acme.node.1.det", "lp.acme.line.1.det ",
	}
	for _, s := range bad {
		if tenant, line, kind, err := bus.ParseLineSubject(s); err == nil || !errors.Is(err, bus.ErrBadSubject) {
			t.Errorf("ParseLineSubject(%q) = %q, %d, %q, %v; want ErrBadSubject", s, tenant, line, kind, err)
		}
	}
}

func TestValidNames(t *testing.T) {
	for _, s := range []string{"a", "acme", "acme-2", "0", strings.Repeat("z", 32)} {
		if !bus.ValidTenant(s) {
			t.Errorf("ValidTenant(%q) = false", s)
		}
	}
	for _, s := range []string{"", "Acme", "ac.me", "ac_me", "ac me", "*", ">", strings.Repeat("z", 33), "é"} {
		if bus.ValidTenant(s) {
			t.Errorf("ValidTenant(%q) = true", s)
		}
	}
	for _, s := range []string{"cam1", "Cam_01", "node-a", strings.Repeat("n", 64)} {
		if !bus.ValidDeviceName(s) {
			t.Errorf("ValidDeviceName(%q) = false", s)
		}
	}
	for _, s := range []string{"", "cam.1", "cam*", "cam>", "cam 1", strings.Repeat("n", 65)} {
		if bus.ValidDeviceName(s) {
			t.Errorf("ValidDeviceName(%q) = true", s)
		}
	}
	if tn, dv, ok := bus.ParseDeviceUser("acme.cam-01"); !ok || tn != "acme" || dv != "cam-01" {
		t.Errorf("ParseDeviceUser(acme.cam-01) = %q, %q, %v", tn, dv, ok)
	}
	for _, u := range []string{"", "acme", "acme.", ".cam", "acme.cam.x", "ACME.cam", "acme.cam*"} {
		if _, _, ok := bus.ParseDeviceUser(u); ok {
			t.Errorf("ParseDeviceUser(%q) ok", u)
		}
	}
}

func FuzzParseLineSubject(f *testing.F) {
	for _, s := range []string{
		"lp.acme.line.1.det", "lp.acme.line.01.det", "lp.a.line.9223372036854775807.kpi",
		"lp.acme.line.1.downtime", "lp.acme.node.cam.telemetry", "lp.acme.dlq", "lp..line..", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, subj string) {
		tenant, line, kind, err := bus.ParseLineSubject(subj)
		if err != nil {
			if !errors.Is(err, bus.ErrBadSubject) {
				t.Fatalf("error %v does not wrap ErrBadSubject", err)
			}
			if tenant != "" || line != 0 || kind != "" {
				t.Fatalf("non-zero results with error: %q %d %q", tenant, line, kind)
			}
			return
		}
		if !bus.ValidTenant(tenant) || line <= 0 {
			t.Fatalf("accepted invalid parts %q %d", tenant, line)
		}
		var rebuilt string
		switch kind {
		case bus.KindDet:
			rebuilt = bus.DetSubject(tenant, line)
		case bus.KindKPI:
			rebuilt = bus.KPISubject(tenant, line)
		case bus.KindDowntime:
			rebuilt = bus.DowntimeSubject(tenant, line)
		default:
			t.Fatalf("accepted kind %q", kind)
		}
		// Strict: only the canonical spelling is accepted, so it round-trips exactly.
		if rebuilt != subj {
			t.Fatalf("round trip: %q -> %q", subj, rebuilt)
		}
	})
}
