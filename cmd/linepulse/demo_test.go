package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/linepulse/linepulse/bus"
	"github.com/linepulse/linepulse/bus/bustest"
	"github.com/linepulse/linepulse/identity"
	"github.com/linepulse/linepulse/internal/testkit"
	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/store/storetest"
	"github.com/linepulse/linepulse/stream/shiftcal"
)

func plantIDs(p demoPlant) string {
	var b strings.Builder
	fmt.Fprint(&b, p.Tenant.ID)
	for _, l := range p.Lines {
		fmt.Fprint(&b, " line", l.ID, p.Areas[l.ID])
	}
	for _, pr := range p.Products {
		fmt.Fprint(&b, " product", pr.ID)
	}
	return b.String()
}

var passwordRe = regexp.MustCompile(`password=(\S+)`)

func TestSeedDemoIsIdempotent(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		s := e.Open(t)
		var logs bytes.Buffer
		log := slog.New(slog.NewTextHandler(&logs, nil))

		p1, err := seedDemo(ctx, s, log)
		if err != nil {
			t.Fatal(err)
		}
		m := passwordRe.FindStringSubmatch(logs.String())
		if m == nil {
			t.Fatalf("the first seeding did not log the password:\n%s", logs.String())
		}
		u, err := s.UserByEmail(ctx, p1.Tenant.ID, demoEmail)
		if err != nil {
			t.Fatal(err)
		}
		if ok, _, err := (identity.Hasher{Params: identity.DefaultParams()}).Verify(u.PasswordHash, m[1]); !ok || err != nil || u.Role != store.RoleTenantAdmin {
			t.Fatalf("logged password does not verify for %s (%v, role %s)", demoEmail, err, u.Role)
		}

		// Everything the demo created is in its audit log (3 lines, 8 areas, 3 cameras
		// watching the 8 areas, 4 products, 3 shifts, 9 targets (line × shift), 5 failures,
		// the user), and re-seeding adds nothing.
		chain := func() int {
			es, err := s.AuditEntries(ctx, p1.Tenant.ID, 0, 1000)
			if err != nil {
				t.Fatal(err)
			}
			return len(es)
		}
		audited := chain()
		if audited != 44 {
			t.Errorf("the demo's audit log has %d entries, want 44", audited)
		}
		var logs2 bytes.Buffer
		p2, err := seedDemo(ctx, s, slog.New(slog.NewTextHandler(&logs2, nil)))
		if err != nil {
			t.Fatal(err)
		}
		if n := chain(); n != audited {
			t.Errorf("re-seeding added %d audit entries", n-audited)
		}
		if plantIDs(p1) != plantIDs(p2) {
			t.Fatalf("re-seeding changed the plant: %s vs %s", plantIDs(p1), plantIDs(p2))
		}
		if strings.Contains(logs2.String(), "password=") {
			t.Fatal("re-seeding logged a password again")
		}

		if p1.Tenant.Slug != "demo" || p1.Tenant.Config.Timezone != "Europe/Madrid" || len(p1.Lines) != 3 || len(p1.Products) != 4 {
			t.Fatalf("plant %+v", p1)
		}
		tdb, err := s.Tenant(ctx, p1.Tenant.ID)
		if err != nil {
			t.Fatal(err)
		}
		lines, _ := tdb.AllLines(ctx)
		areas, _ := tdb.Areas.All(ctx)
		products, _ := tdb.Products.All(ctx)
		shifts, _ := tdb.Shifts.All(ctx)
		failures, _ := tdb.Failures.All(ctx)
		users, _ := s.ListUsers(ctx, p1.Tenant.ID, store.Page{Limit: 10})
		if len(lines) != 3 || len(areas) != 8 || len(products) != 4 || len(shifts) != 3 || len(failures) != 5 || len(users) != 1 {
			t.Fatalf("after two seedings: %d lines, %d areas, %d products, %d shifts, %d failures, %d users",
				len(lines), len(areas), len(products), len(shifts), len(failures), len(users))
		}
		for _, p := range products {
			if p.Color == "" || p.Weight <= 0 {
				t.Errorf("product %s without colour or weight", p.Name)
			}
		}
		for _, a := range areas {
			if a.X2 <= a.X1 || a.Y2 <= a.Y1 {
				t.Errorf("area %s has no map rectangle", a.Name)
			}
		}

		// The shifts form a valid calendar: three 8 h shifts with a 30 min break each.
		var cal []shiftcal.Shift
		for _, sh := range shifts {
			days, err := shiftcal.ParseDays(sh.DaysImplemented)
			if err != nil {
				t.Fatal(err)
			}
			breaks, err := shiftcal.ParseBreaks(sh.Breaks)
			if err != nil {
				t.Fatal(err)
			}
			cal = append(cal, shiftcal.Shift{ID: sh.ID, Name: sh.Name, Start: sh.StartTime, End: sh.EndTime, Overnight: sh.IsOvernight, Days: days, Breaks: breaks})
		}
		loc, _ := time.LoadLocation(demoTimezone)
		c, err := shiftcal.New(loc, cal)
		if err != nil {
			t.Fatalf("demo shifts are not a valid calendar: %v", err)
		}
		day := time.Date(2026, 5, 6, 0, 0, 0, 0, loc)
		if got := c.PlannedTime(p1.Lines[0].ID, day, day.AddDate(0, 0, 1)); got != 22*time.Hour+30*time.Minute {
			t.Errorf("planned time on a day = %s, want 24 h minus the breaks (22h30m)", got)
		}

		// The simulator configuration is valid and its stops exceed each line's threshold.
		cfg := p1.simConfig(log)
		if len(cfg.Lines) != 3 || cfg.Tenant != "demo" {
			t.Fatalf("sim config %+v", cfg)
		}
		for i, spec := range cfg.Lines {
			if err := spec.Validate(); err != nil {
				t.Error(err)
			}
			if spec.Line != p1.Lines[i].ID || spec.Threshold != p1.Lines[i].DowntimeThreshold() || spec.StopFor <= spec.Threshold || len(spec.Areas) == 0 {
				t.Errorf("line %d spec %+v", i, spec)
			}
			if ideal := p1.Lines[i].IdealCycleTime(); spec.Rate*ideal.Seconds() >= 1 {
				t.Errorf("line %s: rate %v/s exceeds the ideal rate (cycle %s): performance over 100 %%", p1.Lines[i].Name, spec.Rate, ideal)
			}
		}
	})
}

// TestDemoSimulatorPublishes runs the in-process demo simulator against a real bus
// until every demo line has detections in the stream.
func TestDemoSimulatorPublishes(t *testing.T) {
	ctx := context.Background()
	s := storetest.Engines(t)[0].Open(t)
	quiet := slog.New(slog.DiscardHandler)
	p, err := seedDemo(ctx, s, quiet)
	if err != nil {
		t.Fatal(err)
	}
	b := bustest.Run(t)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- runDemoSim(runCtx, b.Connect, p, quiet) }()

	nc, err := b.Connect("test")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	testkit.CheckFor(t, time.Minute, 50*time.Millisecond, func() error {
		st, err := js.Stream(ctx, bus.DetStream)
		if err != nil {
			t.Fatal(err)
		}
		info, err := st.Info(ctx, jetstream.WithSubjectFilter("lp.demo.>"))
		if err != nil {
			t.Fatal(err)
		}
		missing := 0
		for _, l := range p.Lines {
			if info.State.Subjects[bus.DetSubject("demo", l.ID)] == 0 {
				missing++
			}
		}
		return testkit.Unless(missing == 0, "%d demo lines still have no detections: %v", missing, info.State.Subjects)
	})
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("demo simulator stopped with %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("demo simulator did not stop")
	}
}
