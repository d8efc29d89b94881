package telemetry

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

const good = `{"node":"edge-01","at":"2026-11-28T11:00:00.250+01:00","cpu_pct":41.5,"ram_pct":63.2,"gpu_temp_c":67,"gpu_mem_used_bytes":2147483648,"cameras":[{"id":"cam-01","fps":29.8,"status":"ok"},{"id":"cam-02","fps":0,"status":"offline"}]}`

func TestDecode(t *testing.T) {
	m, err := Decode([]byte(good), "edge-01")
	if err != nil {
		t.Fatal(err)
	}
	if m.Node != "edge-01" || m.At.Format("15:04:05.000Z07:00") != "10:00:00.250Z" || m.CPUPct != 41.5 || m.GPUMemUsedBytes != 2147483648 || len(m.Cameras) != 2 || m.Cameras[1].Status != "offline" {
		t.Errorf("decoded %+v", m)
	}
	if _, err := Decode([]byte(`{"node":"n","at":"2026-11-28T10:00:00Z"}`), "n"); err != nil {
		t.Errorf("minimal message: %v", err)
	}
	for _, c := range []struct{ name, msg, want string }{
		{"wrong node", good, `does not match the subject's "edge-02"`},
		{"unknown field", strings.Replace(good, `"cpu_pct"`, `"cpu"`, 1), "unknown field"},
		{"repeated field", strings.Replace(good, `"ram_pct":63.2`, `"ram_pct":63.2,"ram_pct":1`, 1), `field "ram_pct" repeated`},
		{"cpu over 100", strings.Replace(good, `41.5`, `100.5`, 1), "cpu_pct"},
		{"negative memory", strings.Replace(good, `2147483648`, `-1`, 1), "gpu_mem_used_bytes"},
		{"bad status", strings.Replace(good, `"ok"`, `"fine"`, 1), "cameras[0].status"},
		{"repeated camera", strings.Replace(good, `cam-02`, `cam-01`, 1), "repeated"},
		{"no time", `{"node":"edge-02"}`, "at: required"},
		{"trailing data", good + " {}", "after the object"},
		{"not an object", `[1]`, "cannot unmarshal"},
		{"too large", `{"node":"edge-02","x":"` + strings.Repeat("a", MaxBytes) + `"}`, "limit is 8192"},
		{"bad node name", strings.ReplaceAll(good, "edge-01", "edge.01"), "node: required"},
	} {
		node := "edge-01"
		switch c.name {
		case "wrong node", "no time", "too large":
			node = "edge-02"
		case "bad node name":
			node = "edge.01"
		}
		_, err := Decode([]byte(c.msg), node)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want ErrInvalid saying %q", c.name, err, c.want)
		}
	}
}

// FuzzDecode: Decode never panics, and what it accepts is within the limits and survives
// a round trip unchanged.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{good, `{"node":"n","at":"2026-11-28T10:00:00Z"}`, `{}`, `[]`, `{"node":"n","node":"n"}`, `{"cameras":[{"id":"a","id":"b"}]}`, `{"a":{"b":[{"c":1,"c":2}]}}`, "", "nul"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		m, err := Decode(msg, "n")
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if len(msg) > MaxBytes || m.Node != "n" || len(m.Cameras) > MaxCameras || m.CPUPct < 0 || m.CPUPct > 100 {
			t.Fatalf("accepted out of the contract: %+v", m)
		}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		again, err := Decode(b, "n")
		if err != nil || !reflect.DeepEqual(again, m) {
			t.Fatalf("round trip: %+v (%v), want %+v", again, err, m)
		}
	})
}

func TestParseSubject(t *testing.T) {
	for subj, want := range map[string][2]string{
		"lp.acme.node.edge-01.telemetry": {"acme", "edge-01"},
		"lp.acme.node.edge 01.telemetry": {},
		"lp.acme.node.edge-01.kpi":       {},
		"lp.acme.line.1.telemetry":       {},
		"lp.acme.node.telemetry":         {},
		"lp.acme.node.a.b.telemetry":     {},
		"xx.acme.node.edge-01.telemetry": {},
	} {
		tenant, node, ok := ParseSubject(subj)
		if ok != (want[0] != "") || tenant != want[0] || node != want[1] {
			t.Errorf("%s: %q %q %v", subj, tenant, node, ok)
		}
	}
}

// FuzzParseSubject: whatever the subject, a node it yields is a valid name and the
// subject is rebuilt from the parts.
func FuzzParseSubject(f *testing.F) {
	f.Add("lp.acme.node.edge-01.telemetry")
	f.Add("lp..node..telemetry")
	f.Fuzz(func(t *testing.T, subj string) {
		tenant, node, ok := ParseSubject(subj)
		if ok && (!ValidName(node) || "lp."+tenant+".node."+node+".telemetry" != subj) {
			t.Fatalf("%q: %q %q", subj, tenant, node)
		}
	})
}
