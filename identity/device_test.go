package identity_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/linepulse/linepulse/bus"
	"github.com/linepulse/linepulse/identity"
	"github.com/linepulse/linepulse/ingest"
	"github.com/linepulse/linepulse/internal/testkit"
	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/store/storetest"
)

// edge is a device connected over TCP like a real vision node, collecting the server's
// asynchronous errors (permission violations).
type edge struct {
	nc     *nats.Conn
	js     jetstream.JetStream
	errs   chan error
	closed chan struct{}
}

func dialEdge(t *testing.T, b *bus.Bus, tenant, name, secret string) (*edge, error) {
	t.Helper()
	e := &edge{errs: make(chan error, 64), closed: make(chan struct{})}
	nc, err := nats.Connect(b.ClientURL(),
		nats.UserInfo(bus.DeviceUser(tenant, name), secret),
		nats.CustomInboxPrefix(bus.DeviceInboxPrefix(tenant, name)),
		nats.NoReconnect(),
		nats.Timeout(10*time.Second),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			select {
			case e.errs <- err:
			default:
			}
		}),
		nats.ClosedHandler(func(*nats.Conn) { close(e.closed) }),
	)
	if err != nil {
		return nil, err
	}
	t.Cleanup(nc.Close)
	e.nc = nc
	if e.js, err = jetstream.New(nc); err != nil {
		t.Fatal(err)
	}
	return e, nil
}

// violation waits for the server's "Permissions Violation for <what> to <subject>".
func (e *edge) violation(t *testing.T, what, subject string) {
	t.Helper()
	want := `Permissions Violation for ` + what + ` to "` + subject + `"`
	deadline := time.After(waitLong)
	for {
		select {
		case err := <-e.errs:
			if strings.Contains(err.Error(), want) {
				return
			}
		case <-deadline:
			t.Fatalf("no %q", want)
		}
	}
}

func refused(t *testing.T, b *bus.Bus, tenant, name, secret string) {
	t.Helper()
	if _, err := dialEdge(t, b, tenant, name, secret); err == nil {
		t.Fatalf("%s.%s connected", tenant, name)
	} else if !errors.Is(err, nats.ErrAuthorization) && !strings.Contains(strings.ToLower(err.Error()), "authorization") {
		t.Fatalf("%s.%s: %v, want an authorization violation", tenant, name, err)
	}
}

// TestDevicePermissionsEndToEnd: devices authenticated by the store-backed DeviceAuth,
// over real TCP: tenant A's device cannot publish to tenant B's subjects nor to a line it
// was not given, nor subscribe to anyone else's subjects; what it may publish is stored;
// a revoked device and a device of an inactive tenant are refused.
func TestDevicePermissionsEndToEnd(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		st := e.Open(t)
		acme := newPlant(t, st, "acme", 2)
		globex := newPlant(t, st, "globex", 1)
		l1, l2 := acme.lines[0], acme.lines[1]

		cam1, secret1 := createDevice(t, st, acme.tdb.ID(), "cam1", []int64{l1})
		_, secretAll := createDevice(t, st, acme.tdb.ID(), "cam-all", nil)
		_, secretG := createDevice(t, st, globex.tdb.ID(), "cam1", nil)
		auth := identity.NewDeviceAuth(st, identity.DeviceAuthConfig{Logger: quiet()})
		b := newBus(t, func(c *bus.Config) { c.Devices = auth })
		w := startWriter(t, ingest.WriterConfig{FlushInterval: 10 * time.Millisecond}, connect(t, b, "writer"), st)

		// Credentials: the wrong secret, another tenant's device of the same name, a
		// secret of another device, a malformed user.
		refused(t, b, "acme", "cam1", secretAll)
		refused(t, b, "acme", "cam1", secret1+"x")
		refused(t, b, "globex", "cam1", secret1)
		refused(t, b, "acme", "cam9", secret1)
		refused(t, b, "nobody", "cam1", secret1)

		d, err := dialEdge(t, b, "acme", "cam1", secret1)
		if err != nil {
			t.Fatal(err)
		}
		pubCtx, cancel := context.WithTimeout(ctx, waitLong)
		defer cancel()
		if _, err := d.js.Publish(pubCtx, bus.DetSubject("acme", l1), detections(1, 5), jetstream.WithMsgID("cam1-1")); err != nil {
			t.Fatalf("allowed publish: %v", err)
		}
		// Not its line, not its tenant, not a LinePulse-only subject.
		for _, subj := range []string{bus.DetSubject("acme", l2), bus.DetSubject("globex", globex.lines[0]), bus.KPISubject("acme", l1), bus.DLQSubject("acme"), "$JS.API.STREAM.INFO." + bus.DetStream} {
			if err := d.nc.Publish(subj, detections(100, 1)); err != nil {
				t.Fatal(err)
			}
			d.violation(t, "Publish", subj)
		}
		// Nobody else's subjects, nor another device's replies.
		for _, subj := range []string{"lp.globex.>", bus.KPISubject("acme", l1), bus.DLQSubject("acme"), bus.DeviceInboxPrefix("acme", "cam-all") + ".>", ">"} {
			if _, err := d.nc.SubscribeSync(subj); err != nil {
				t.Fatal(err)
			}
			d.violation(t, "Subscription", subj)
		}
		// Telemetry of its own node is allowed.
		if err := d.nc.Publish(bus.TelemetrySubject("acme", "cam1"), []byte(`{"cpu":0.5}`)); err != nil {
			t.Fatal(err)
		}
		if err := d.nc.Flush(); err != nil {
			t.Fatal(err)
		}

		// A device without a line list publishes to every line of its tenant only.
		all, err := dialEdge(t, b, "acme", "cam-all", secretAll)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := all.js.Publish(pubCtx, bus.DetSubject("acme", l2), detections(1, 3)); err != nil {
			t.Fatalf("cam-all on line 2: %v", err)
		}
		if err := all.nc.Publish(bus.DetSubject("globex", globex.lines[0]), detections(200, 1)); err != nil {
			t.Fatal(err)
		}
		all.violation(t, "Publish", bus.DetSubject("globex", globex.lines[0]))

		// Only what was allowed is stored.
		testkit.CheckFor(t, waitLong, 20*time.Millisecond, func() error {
			r1, r2 := acme.stored(t, l1), acme.stored(t, l2)
			return testkit.Unless(r1 == 5 && r2 == 3, "allowed detections stored: %d and %d, want 5 and 3", r1, r2)
		})
		testkit.CheckFor(t, waitLong, 20*time.Millisecond, func() error {
			return testkit.Unless(consumerIdle(t, b, ingest.DefaultDurable), "consumer not idle")
		})
		if r := globex.storedAll(t); r != 0 {
			t.Fatalf("globex holds %d detections published by acme devices", r)
		}
		if s := w.Stats(); s.Messages != 2 || s.Stored != 8 {
			t.Fatalf("writer saw %+v, want the 2 allowed messages", s)
		}

		// Revocation (the one path: store, forget, bus.Disconnect) closes the connection
		// and refuses the next one at once: nothing is cached.
		if _, n, err := (identity.Devices{Store: st, Bus: b, Auth: auth}).Revoke(ctx, acme.tdb.ID(), cam1.ID); err != nil || n != 1 {
			t.Fatalf("Revoke closed %d connections (%v), want 1", n, err)
		}
		select {
		case <-d.closed:
		case <-time.After(waitLong):
			t.Fatal("revoked device still connected")
		}
		refused(t, b, "acme", "cam1", secret1)

		// A device of a deactivated tenant is refused; the other tenant is untouched.
		g, err := dialEdge(t, b, "globex", "cam1", secretG)
		if err != nil {
			t.Fatal(err)
		}
		g.nc.Close()
		ten := globex.tdb.Tenant()
		ten.Active = false
		if err := st.UpdateTenant(ctx, &ten); err != nil {
			t.Fatal(err)
		}
		refused(t, b, "globex", "cam1", secretG)
		if _, err := dialEdge(t, b, "acme", "cam-all", secretAll); err != nil {
			t.Fatalf("acme device refused after globex was deactivated: %v", err)
		}
	})
}

// TestDeviceAuthDuringOutage: while the database cannot answer, a device that passed a
// check recently is admitted on that check (same secret only); one never seen, or seen
// longer ago than OutageGrace, is refused.
func TestDeviceAuthDuringOutage(t *testing.T) {
	ctx := context.Background()
	e := storetest.Engines(t)[0] // sqlite: closing the store is the outage
	st := e.Open(t)
	p := newPlant(t, st, "acme", 1)
	_, secret := createDevice(t, st, p.tdb.ID(), "cam1", []int64{p.lines[0]})
	_, other := createDevice(t, st, p.tdb.ID(), "cam2", nil)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	auth := identity.NewDeviceAuth(st, identity.DeviceAuthConfig{OutageGrace: time.Minute, Now: func() time.Time { return now }, Logger: quiet()})
	dev, err := auth.AuthenticateDevice(ctx, "acme.cam1", secret)
	if err != nil || dev.Tenant != "acme" || dev.Name != "cam1" || len(dev.Lines) != 1 || dev.Lines[0] != p.lines[0] {
		t.Fatalf("healthy check: %+v %v", dev, err)
	}
	st.Close() // the database is gone

	if dev, err := auth.AuthenticateDevice(ctx, "acme.cam1", secret); err != nil || dev.Name != "cam1" {
		t.Fatalf("outage, recently checked: %+v %v", dev, err)
	}
	if _, err := auth.AuthenticateDevice(ctx, "acme.cam1", secret+"x"); err == nil {
		t.Fatal("outage: wrong secret admitted")
	}
	if _, err := auth.AuthenticateDevice(ctx, "acme.cam2", other); err == nil {
		t.Fatal("outage: device never checked admitted")
	}
	auth.Forget("acme", "cam1")
	if _, err := auth.AuthenticateDevice(ctx, "acme.cam1", secret); err == nil {
		t.Fatal("outage: forgotten device admitted")
	}
}

// TestDeviceAuthGraceExpires: the outage fallback lasts OutageGrace, no longer.
func TestDeviceAuthGraceExpires(t *testing.T) {
	ctx := context.Background()
	st := storetest.Engines(t)[0].Open(t)
	p := newPlant(t, st, "acme", 1)
	_, secret := createDevice(t, st, p.tdb.ID(), "cam1", nil)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	auth := identity.NewDeviceAuth(st, identity.DeviceAuthConfig{OutageGrace: time.Minute, Now: func() time.Time { return now }, Logger: quiet()})
	if _, err := auth.AuthenticateDevice(ctx, "acme.cam1", secret); err != nil {
		t.Fatal(err)
	}
	st.Close()
	now = now.Add(61 * time.Second)
	if _, err := auth.AuthenticateDevice(ctx, "acme.cam1", secret); err == nil {
		t.Fatal("admitted after the grace period")
	}
}

func TestDeviceCredentials(t *testing.T) {
	secret, hash, err := identity.GenerateDeviceSecret()
	if err != nil {
		t.Fatal(err)
	}
	if len(secret) != 43 || identity.HashDeviceSecret(secret) != hash || len(hash) != 64 {
		t.Fatalf("secret %q hash %q", secret, hash)
	}
	if s2, _, _ := identity.GenerateDeviceSecret(); s2 == secret {
		t.Fatal("two equal secrets")
	}
	c := identity.DeviceCredentials("acme", store.Device{Name: "cam-01", Lines: []int64{3, 4}}, secret, "nats://plant:4222")
	if c.User != "acme.cam-01" || c.Password != secret || c.InboxPrefix != "_INBOX.acme.cam-01" {
		t.Fatalf("%+v", c)
	}
	wantPub := []string{"lp.acme.line.3.det", "lp.acme.line.4.det", "lp.acme.node.cam-01.telemetry"}
	if strings.Join(c.Publish, ",") != strings.Join(wantPub, ",") || c.Subscribe[0] != "_INBOX.acme.cam-01.>" {
		t.Fatalf("subjects %v %v", c.Publish, c.Subscribe)
	}
	for _, want := range []string{"--user acme.cam-01", "--password=" + secret, "--inbox-prefix _INBOX.acme.cam-01", "lp.acme.line.3.det", "nats://plant:4222"} {
		if !strings.Contains(c.NatsCLI, want) {
			t.Errorf("nats CLI example lacks %q: %s", want, c.NatsCLI)
		}
	}
	for _, want := range []string{`nats.CustomInboxPrefix("_INBOX.acme.cam-01")`, `nats.UserInfo("acme.cam-01"`, `"lp.acme.line.3.det"`} {
		if !strings.Contains(c.NatsGo, want) {
			t.Errorf("nats.go example lacks %q: %s", want, c.NatsGo)
		}
	}
	if all := identity.DeviceCredentials("acme", store.Device{Name: "cam"}, secret, "nats://x:4222"); all.Publish[0] != "lp.acme.line.*.det" {
		t.Fatalf("all-lines device: %v", all.Publish)
	}
}
