package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/store/storetest"
)

// examplePlant is the documented example plant file.
var examplePlant = filepath.Join("..", "..", "docs", "plant.example.json")

// cliDB returns the database flags of an engine's fresh configuration.
func cliDB(t *testing.T, e storetest.Engine) (store.Config, []string) {
	cfg := e.Config(t)
	if cfg.MySQLDSN != "" {
		return cfg, []string{"--log-level", "error", "--mysql", cfg.MySQLDSN}
	}
	return cfg, []string{"--log-level", "error", "--data-dir", cfg.DataDir}
}

// plantCounts runs plant apply with JSON output.
func plantCounts(t *testing.T, db []string, file string) map[string]applyCount {
	t.Helper()
	code, out, stderr := runCLI(t, "", append([]string{"plant", "apply", "-f", file, "--format", "json"}, db...)...)
	if code != 0 {
		t.Fatalf("plant apply %s: %d %s", file, code, stderr)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatalf("not JSON: %s", out)
	}
	counts := map[string]applyCount{}
	for k, v := range raw {
		var c applyCount
		if json.Unmarshal(v, &c) == nil {
			counts[k] = c
		}
	}
	return counts
}

// TestPlantApplyIsIdempotent: the example file creates a whole plant; applied again it
// changes nothing; an edited file updates only what changed; an invalid calendar writes
// nothing.
func TestPlantApplyIsIdempotent(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		cfg, db := cliDB(t, e)
		got := plantCounts(t, db, examplePlant)
		want := map[string]applyCount{"tenant": {Created: 1}, "line": {Created: 2}, "area": {Created: 5}, "product": {Created: 2},
			"shift": {Created: 3}, "failure": {Created: 3}, "target": {Created: 2}}
		for k, w := range want {
			if got[k] != w {
				t.Errorf("first apply: %s %+v, want %+v", k, got[k], w)
			}
		}
		got = plantCounts(t, db, examplePlant)
		for k, w := range want {
			if got[k] != (applyCount{Unchanged: w.Created}) {
				t.Errorf("second apply: %s %+v, want all unchanged", k, got[k])
			}
		}

		var p map[string]any
		b, _ := os.ReadFile(examplePlant)
		json.Unmarshal(b, &p)
		lines := p["lines"].([]any)
		lines[0].(map[string]any)["downtime_threshold"] = "45s"
		p["products"] = append(p["products"].([]any), map[string]any{"name": "Cola 0.33 L", "color": "#dc2626"})
		edited := filepath.Join(t.TempDir(), "plant.json")
		b, _ = json.Marshal(p)
		os.WriteFile(edited, b, 0o644)
		got = plantCounts(t, db, edited)
		if got["line"] != (applyCount{Updated: 1, Unchanged: 1}) || got["product"] != (applyCount{Created: 1, Unchanged: 2}) || got["shift"] != (applyCount{Unchanged: 3}) {
			t.Errorf("edited apply: %+v", got)
		}

		// An overlapping shift: refused, and no shift is written.
		p["shifts"] = append(p["shifts"].([]any), map[string]any{"name": "Overtime", "start": "12:00", "end": "16:00"})
		b, _ = json.Marshal(p)
		os.WriteFile(edited, b, 0o644)
		code, _, stderr := runCLI(t, "", append([]string{"plant", "apply", "-f", edited}, db...)...)
		oneClearLine(t, code, stderr, "overlaps")

		s, err := store.Open(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		ten, err := s.TenantBySlug(context.Background(), "acme")
		if err != nil || ten.Config.Language != "es" || ten.Config.Timezone != "Europe/Madrid" {
			t.Fatalf("tenant %+v %v", ten, err)
		}
		tdb, _ := s.Tenant(context.Background(), ten.ID)
		shifts, _ := tdb.Shifts.All(context.Background())
		if len(shifts) != 3 || !slices.ContainsFunc(shifts, func(s store.Shift) bool { return s.Name == "Night" && s.IsOvernight }) {
			t.Errorf("shifts %+v", shifts)
		}
		l, _ := tdb.AllLines(context.Background())
		if len(l) != 2 || l[0].DowntimeThresholdMS != 45000 || l[0].MicroStopMinMS != 5000 || l[1].MicroStopMinMS != 10000 {
			t.Errorf("lines %+v", l)
		}
		products, _ := tdb.Products.All(context.Background())
		if !slices.ContainsFunc(products, func(p store.Product) bool { return p.Name == "Orange juice 1 L" && p.IdealCycleMS == 1500 }) {
			t.Errorf("products %+v: the juice's ideal cycle time is not 1500 ms", products)
		}
	})
}

func TestPlantApplyRefusesBadFiles(t *testing.T) {
	_, db := cliDB(t, storetest.Engines(t)[0])
	dir := t.TempDir()
	for name, c := range map[string]struct{ body, want string }{
		"typo":       {`{"tenant":{"slug":"acme"},"linez":[]}`, `unknown field "linez"`},
		"no slug":    {`{"tenant":{}}`, "tenant.slug is required"},
		"duration":   {`{"tenant":{"slug":"acme"},"lines":[{"name":"L","downtime_threshold":30}]}`, "a duration is a string"},
		"two values": {`{"tenant":{"slug":"acme"}} {}`, "more than one JSON value"},
		"shift line": {`{"tenant":{"slug":"acme"},"shifts":[{"name":"S","line":"X","start":"06:00","end":"14:00"}]}`, `line "X" is not in the plant file`},
		"category":   {`{"tenant":{"slug":"acme"},"failures":[{"code":"F","name":"F","category":"sometimes"}]}`, "category must be"},
	} {
		t.Run(name, func(t *testing.T) {
			f := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".json")
			os.WriteFile(f, []byte(c.body), 0o644)
			code, _, stderr := runCLI(t, "", append([]string{"plant", "apply", "-f", f}, db...)...)
			oneClearLine(t, code, stderr, c.want)
		})
	}
}

// TestEveryCLIChangeIsAudited walks the commands that change something and checks that
// each left an entry in the right audit chain (the platform's for tenants, the tenant's
// for the rest).
func TestEveryCLIChangeIsAudited(t *testing.T) {
	e := storetest.Engines(t)[0]
	cfg, db := cliDB(t, e)
	chainLen := func(tenantID int64) int {
		s, err := store.Open(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		es, err := s.AuditEntries(context.Background(), tenantID, 0, 100000)
		if err != nil {
			t.Fatal(err)
		}
		return len(es)
	}
	steps := []struct {
		chain int64
		stdin string
		args  []string
	}{
		{0, "", []string{"tenant", "create", "--slug", "acme", "--name", "Acme"}},
		{1, "", []string{"line", "create", "--tenant", "acme", "--name", "L1"}},
		{1, "a-long-password\n", []string{"user", "create", "--tenant", "acme", "--email", "op@acme.test", "--role", "operator", "--password-stdin"}},
		{0, "a-long-password\n", []string{"user", "create", "--email", "root@platform.test", "--role", "platform_admin", "--password-stdin"}},
		{1, "", []string{"device", "create", "--tenant", "acme", "--name", "cam-1", "--lines", "1"}},
		{1, "", []string{"device", "revoke", "--tenant", "acme", "--name", "cam-1"}},
		{1, "", []string{"notification-channel", "create", "--tenant", "acme", "--name", "bell", "--kind", "browser"}},
		{1, "", []string{"alert-rule", "create", "--tenant", "acme", "--name", "down", "--kind", "line_down", "--channels", "1"}},
		{1, "", []string{"alert-rule", "delete", "--tenant", "acme", "--id", "1"}},
		{1, "", []string{"notification-channel", "delete", "--tenant", "acme", "--id", "1"}},
		{1, "", []string{"plant", "apply", "-f", examplePlant}},
		{0, "", []string{"plant", "apply", "-f", "-"}}, // a new tenant: tenant.create on the platform chain
	}
	for _, s := range steps {
		stdin := s.stdin
		if s.args[len(s.args)-1] == "-" {
			stdin = `{"tenant":{"slug":"beta","name":"Beta","timezone":"UTC"}}`
		}
		before := chainLen(s.chain)
		if code, _, stderr := runCLI(t, stdin, append(slices.Clone(s.args), db...)...); code != 0 {
			t.Fatalf("%v: %s", s.args, stderr)
		}
		if after := chainLen(s.chain); after <= before {
			t.Errorf("%v changed something but left no AUDIT_LOG entry in chain %d", s.args, s.chain)
		}
	}
	if code, out, stderr := runCLI(t, "", append([]string{"audit", "verify", "--all"}, db...)...); code != 0 {
		t.Errorf("audit verify --all: %s %s", out, stderr)
	}
}

// FuzzParsePlant: any input is either a plant file with a tenant slug or a one-line error,
// never a panic.
func FuzzParsePlant(f *testing.F) {
	b, err := os.ReadFile(examplePlant)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(b))
	f.Add(`{"tenant":{"slug":"a"},"lines":[{"name":"L","downtime_threshold":"-1s"}]}`)
	f.Add(`{"tenant":{"slug":"a"},"shifts":[{"name":"S","days":[8],"breaks":[{"start":"x"}]}]}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, in string) {
		p, err := parsePlant(strings.NewReader(in))
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		if p.Tenant.Slug == "" {
			t.Fatal("accepted without a tenant slug")
		}
	})
}
