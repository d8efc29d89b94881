// Package archtest checks that the imports between LinePulse's packages follow the
// dependency rule of docs/ARCHITECTURE.md: every package sits on a layer and imports only
// packages on lower layers, so the dependency picture stays the flat one the docs draw.
package archtest

import (
	"bufio"
	"bytes"
	"os/exec"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/linepulse/linepulse/"

// layers is the dependency rule. A package may import only packages on a lower layer.
// Keep it in step with docs/ARCHITECTURE.md; a new package must be added here.
var layers = map[string]int{
	// 0: leaves: the wire formats, schemas and tools that know nothing of LinePulse.
	"detection":             0,
	"telemetry":             0,
	"migrations":            0,
	"internal/clock":        0,
	"internal/testkit":      0,
	"internal/archtest":     0,
	"internal/bench/wsload": 0,
	"stream/shiftcal":       0,
	"web/ui/i18n":           0,
	"notify/email":          0,
	// 1: the database and the message bus, and the pure OEE and loss arithmetic.
	"store":      1,
	"bus":        1,
	"stream/oee": 1,
	"loss":       1,
	// the in-process SMTP server of the tests, over notify/email.
	"notify/email/emailtest": 1,
	// 2: the domains built on them; siblings do not import each other.
	"store/storetest": 2,
	"bus/bustest":     2,
	"audit":           2,
	"identity":        2,
	"ingest":          2,
	"ingest/sim":      2,
	"stream":          2,
	"alert":           2,
	"report":          2,
	// 3: the two doors people use: HTTP and the WebSocket hub.
	"web": 3,
	"hub": 3,
	// 4: the pages people see, served over the API's viewer and actions.
	"web/ui": 4,
	// 5: the system benchmarks, which drive everything below them.
	"internal/bench/ingest": 5,
	"internal/bench/fanout": 5,
	"internal/bench/query":  5,
	"internal/bench/alerts": 5,
	// 6: wiring; nothing imports it.
	"cmd/linepulse": 6,
}

func TestImportsFollowTheLayers(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, module+"...").Output()
	if err != nil {
		t.Fatalf("cannot list packages: %v", err)
	}
	var problems []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		pkg := strings.TrimPrefix(fields[0], module)
		from, ok := layers[pkg]
		if !ok {
			problems = append(problems, pkg+": not on any layer (add it to layers in this file and to docs/ARCHITECTURE.md)")
			continue
		}
		for _, imp := range fields[1:] {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			dep := strings.TrimPrefix(imp, module)
			to, ok := layers[dep]
			if ok && to >= from {
				problems = append(problems, pkg+" imports "+dep+": same or higher layer")
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	sort.Strings(problems)
	for _, p := range problems {
		t.Error(p)
	}
}

// The rules the refactor issue names, checked by name so that a change of the layer
// table cannot quietly allow them.
func TestNamedRules(t *testing.T) {
	forbidden := [][2]string{
		{"hub", "web"}, {"web", "hub"}, {"stream", "ingest"},
		{"identity", "web"}, {"identity", "hub"},
	}
	for _, f := range forbidden {
		if layers[f[0]] > layers[f[1]] {
			t.Errorf("the layer table lets %s import %s", f[0], f[1])
		}
	}
	for pkg, l := range layers {
		if pkg != "cmd/linepulse" && l >= layers["cmd/linepulse"] {
			t.Errorf("%s is on cmd's layer", pkg)
		}
	}
}
