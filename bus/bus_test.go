package bus_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/linepulse/linepulse/bus"
	"github.com/linepulse/linepulse/bus/bustest"
	"github.com/linepulse/linepulse/internal/testkit"
)

const waitFor = 5 * time.Second

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func internalConn(t *testing.T, b *bus.Bus) *nats.Conn {
	t.Helper()
	nc, err := b.Connect(t.Name())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// streamMsgs is how many device messages LP_DET holds (a pack counts its parts).
func streamMsgs(t *testing.T, b *bus.Bus) uint64 {
	t.Helper()
	return uint64(len(bustest.StoredMessages(t, b)))
}

// device is a real TCP client of the embedded server, collecting async errors.
type device struct {
	nc   *nats.Conn
	errs chan error
}

func connectDevice(t *testing.T, b *bus.Bus, tenant, name, password string, opts ...nats.Option) (*device, error) {
	t.Helper()
	d := &device{errs: make(chan error, 64)}
	all := []nats.Option{
		nats.UserInfo(bus.DeviceUser(tenant, name), password),
		nats.CustomInboxPrefix(bus.DeviceInboxPrefix(tenant, name)),
		nats.Timeout(waitFor),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			select {
			case d.errs <- err:
			default:
			}
		}),
	}
	nc, err := nats.Connect(b.ClientURL(), append(all, opts...)...)
	if err != nil {
		return nil, err
	}
	t.Cleanup(nc.Close)
	d.nc = nc
	return d, nil
}

func mustDevice(t *testing.T, b *bus.Bus, tenant, name, password string, opts ...nats.Option) *device {
	t.Helper()
	d, err := connectDevice(t, b, tenant, name, password, opts...)
	if err != nil {
		t.Fatalf("device %s.%s: %v", tenant, name, err)
	}
	return d
}

// expectViolation waits for the async "Permissions Violation" naming subject.
func (d *device) expectViolation(t *testing.T, what, subject string) {
	t.Helper()
	want := `Permissions Violation for ` + what + ` to "` + subject + `"`
	if strings.HasSuffix(what, " of") { // "Publish with Reply of"
		want = `Permissions Violation for ` + what + ` "` + subject + `"`
	}
	deadline := time.After(waitFor)
	for {
		select {
		case err := <-d.errs:
			if strings.Contains(err.Error(), want) {
				return
			}
			t.Logf("other async error: %v", err)
		case <-deadline:
			t.Fatalf("no %q", want)
		}
	}
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestInternalConnectionAndDedupe(t *testing.T) {
	b := bustest.Run(t)
	nc := internalConn(t, b)
	ctx := testCtx(t)

	// Anything goes for the internal user, including other tenants and the JS API.
	sub, err := nc.SubscribeSync(">")
	if err != nil {
		t.Fatal(err)
	}
	for _, subj := range []string{"lp.acme.line.1.kpi", "lp.globex.dlq", "anything.else"} {
		if err := nc.Publish(subj, []byte("x")); err != nil {
			t.Fatal(err)
		}
		m, err := sub.NextMsg(waitFor)
		// JetStream's advisories of the start-up (stream creation) may still be arriving.
		for err == nil && strings.HasPrefix(m.Subject, "$JS.EVENT.") {
			m, err = sub.NextMsg(waitFor)
		}
		if err != nil || m.Subject != subj {
			t.Fatalf("subject %s: %v %v", subj, m, err)
		}
	}
	_ = sub.Unsubscribe()

	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ack, err := js.Publish(ctx, bus.DetSubject("acme", 1), []byte(`{"id":1}`), jetstream.WithMsgID("1-1"))
	if err != nil {
		t.Fatal(err)
	}
	if ack.Stream != bus.DetStream || ack.Sequence != 1 || ack.Duplicate {
		t.Fatalf("ack = %+v", ack)
	}
	ack, err = js.Publish(ctx, bus.DetSubject("acme", 1), []byte(`{"id":1}`), jetstream.WithMsgID("1-1"))
	if err != nil {
		t.Fatal(err)
	}
	if !ack.Duplicate || ack.Sequence != 1 {
		t.Fatalf("second publish with the same Nats-Msg-Id: ack = %+v, want duplicate of seq 1", ack)
	}
	if _, err := js.Publish(ctx, bus.DetSubject("acme", 1), []byte(`{"id":2}`), jetstream.WithMsgID("1-2")); err != nil {
		t.Fatal(err)
	}
	// Not captured: kpi subjects are not in the stream.
	if err := nc.Publish(bus.KPISubject("acme", 1), []byte("{}")); err != nil {
		t.Fatal(err)
	}
	_ = nc.Flush()
	if n := streamMsgs(t, b); n != 2 {
		t.Fatalf("stream holds %d messages, want 2", n)
	}

	s, err := js.Stream(ctx, bus.DetStream)
	if err != nil {
		t.Fatal(err)
	}
	cfg := s.CachedInfo().Config
	if cfg.MaxAge != bus.DefaultReplayWindow || cfg.Duplicates != bus.DefaultDuplicateWindow ||
		cfg.MaxMsgSize != bus.DefaultMaxPayload || cfg.Storage != jetstream.FileStorage ||
		cfg.Retention != jetstream.LimitsPolicy || cfg.Discard != jetstream.DiscardOld ||
		len(cfg.Subjects) != 1 || cfg.Subjects[0] != bus.DetWildcard {
		t.Fatalf("stream config = %+v", cfg)
	}
	if err := b.Healthy(); err != nil {
		t.Fatal(err)
	}
}

func TestDevicePermissions(t *testing.T) {
	devs := bustest.Devices(map[string]bustest.Cred{
		"acme.cam1":   {Password: "s3cret-1", Lines: []int64{1}},
		"acme.cam2":   {Password: "s3cret-2", Lines: []int64{2}},
		"globex.cam1": {Password: "s3cret-3"},
	})
	b := bustest.Run(t, func(c *bus.Config) { c.Devices = devs })
	ctx := testCtx(t)
	in := internalConn(t, b)
	d := mustDevice(t, b, "acme", "cam1", "s3cret-1")

	// Allowed: a JetStream publish to its own line, acknowledged through its inbox.
	js, err := jetstream.New(d.nc)
	if err != nil {
		t.Fatal(err)
	}
	ack, err := js.Publish(ctx, "lp.acme.line.1.det", []byte(`{"id":1}`), jetstream.WithMsgID("dev-1"))
	if err != nil {
		t.Fatalf("device publish to its line: %v", err)
	}
	if ack.Stream != bus.DetStream {
		t.Fatalf("ack = %+v", ack)
	}
	// PublishAsync uses the same inbox prefix.
	fut, err := js.PublishAsync("lp.acme.line.1.det", []byte(`{"id":2}`))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-fut.Ok():
	case err := <-fut.Err():
		t.Fatalf("async publish: %v", err)
	case <-time.After(waitFor):
		t.Fatal("async publish: no ack")
	}
	if n := streamMsgs(t, b); n != 2 {
		t.Fatalf("stream holds %d, want 2", n)
	}

	// Denied publications: dropped by the server, reported asynchronously.
	for _, subj := range []string{
		"lp.acme.line.2.det", "lp.globex.line.1.det", "lp.acme.line.1.kpi", "lp.acme.line.1.downtime",
		"lp.acme.dlq", "$JS.API.STREAM.LIST", "$JS.API.STREAM.DELETE.LP_DET", "lp.acme.node.cam2.telemetry",
		"_INBOX.acme.cam2.x", "anything", bus.AuthRevokedSubject, bus.DowntimeCodedSubject,
	} {
		if err := d.nc.PublishRequest(subj, d.nc.NewInbox(), []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
		d.expectViolation(t, "Publish", subj)
	}
	if n := streamMsgs(t, b); n != 2 {
		t.Fatalf("denied publications reached the stream: %d messages, want 2", n)
	}
	// A JetStream API request gets no answer at all.
	if _, err := d.nc.Request("$JS.API.STREAM.LIST", nil, 300*time.Millisecond); err == nil {
		t.Fatal("device got an answer from $JS.API.STREAM.LIST")
	}
	d.expectViolation(t, "Publish", "$JS.API.STREAM.LIST")

	// Telemetry: its own node name only.
	tel, err := in.SubscribeSync("lp.*.node.*.telemetry")
	if err != nil {
		t.Fatal(err)
	}
	_ = in.Flush()
	if err := d.nc.Publish(bus.TelemetrySubject("acme", "cam1"), []byte(`{"cpu":1}`)); err != nil {
		t.Fatal(err)
	}
	if m, err := tel.NextMsg(waitFor); err != nil || m.Subject != "lp.acme.node.cam1.telemetry" {
		t.Fatalf("telemetry: %v %v", m, err)
	}

	// Denied subscriptions, and nothing is delivered on them.
	for _, subj := range []string{"lp.>", "lp.globex.>", "lp.acme.line.1.kpi", "_INBOX.>", "_INBOX.acme.cam2.>", ">", "$JS.API.>", bus.AuthRevokedSubject, bus.DowntimeCodedSubject} {
		s, err := d.nc.SubscribeSync(subj)
		if err != nil {
			t.Fatal(err)
		}
		d.expectViolation(t, "Subscription", subj)
		_ = s
	}
	probe, err := d.nc.SubscribeSync("lp.acme.line.1.kpi")
	if err != nil {
		t.Fatal(err)
	}
	_ = d.nc.Flush()
	_ = in.Publish("lp.acme.line.1.kpi", []byte("secret"))
	_ = in.Flush()
	if m, err := probe.NextMsg(300 * time.Millisecond); err == nil {
		t.Fatalf("device received %s", m.Subject)
	}

	// Its inbox lies in its own account: LinePulse's account reaches it only by
	// answering the device's requests (the acknowledgements above).
	inbox := d.nc.NewInbox()
	if !strings.HasPrefix(inbox, "_INBOX.acme.cam1.") {
		t.Fatalf("inbox %q", inbox)
	}
	own, err := d.nc.SubscribeSync(inbox)
	if err != nil {
		t.Fatal(err)
	}
	_ = d.nc.Flush()
	_ = in.Publish(inbox, []byte("hi"))
	_ = in.Flush()
	if m, err := own.NextMsg(300 * time.Millisecond); err == nil {
		t.Fatalf("a publish in LinePulse's account reached the device's inbox: %q", m.Data)
	}
}

func TestDeviceWithoutLinesGetsAllLinesOfItsTenant(t *testing.T) {
	devs := bustest.Devices(map[string]bustest.Cred{"globex.cam1": {Password: "pw"}})
	b := bustest.Run(t, func(c *bus.Config) { c.Devices = devs })
	d := mustDevice(t, b, "globex", "cam1", "pw")
	js, err := jetstream.New(d.nc)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []int64{1, 7, 123456} {
		if _, err := js.Publish(testCtx(t), bus.DetSubject("globex", line), []byte(`{}`)); err != nil {
			t.Fatalf("line %d: %v", line, err)
		}
	}
	if err := d.nc.Publish("lp.acme.line.1.det", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	d.expectViolation(t, "Publish", "lp.acme.line.1.det")
	if n := streamMsgs(t, b); n != 3 {
		t.Fatalf("stream holds %d, want 3", n)
	}
}

func TestAuthenticationRefused(t *testing.T) {
	devs := bustest.Devices(map[string]bustest.Cred{"acme.cam1": {Password: "right", Lines: []int64{1}}})
	b := bustest.Run(t, func(c *bus.Config) { c.Devices = devs })
	cases := []struct {
		name string
		opts []nats.Option
	}{
		{"wrong password", []nats.Option{nats.UserInfo("acme.cam1", "wrong")}},
		{"empty password", []nats.Option{nats.UserInfo("acme.cam1", "")}},
		{"unknown user", []nats.Option{nats.UserInfo("acme.cam9", "right")}},
		{"other tenant same device", []nats.Option{nats.UserInfo("globex.cam1", "right")}},
		{"malformed user", []nats.Option{nats.UserInfo("cam1", "right")}},
		{"internal-looking user", []nats.Option{nats.UserInfo("lp-internal-0000000000000000", "right")}},
		{"token", []nats.Option{nats.Token("right")}},
		{"no credentials", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts := append([]nats.Option{nats.Timeout(waitFor), nats.NoReconnect()}, tc.opts...)
			nc, err := nats.Connect(b.ClientURL(), opts...)
			if err == nil {
				nc.Close()
				t.Fatal("connected")
			}
			if !errors.Is(err, nats.ErrAuthorization) && !strings.Contains(strings.ToLower(err.Error()), "authorization") {
				t.Fatalf("err = %v, want authorization violation", err)
			}
		})
	}
	// The right password still works.
	mustDevice(t, b, "acme", "cam1", "right")
}

func TestNoDeviceAuthRefusesDevices(t *testing.T) {
	b := bustest.Run(t) // Devices nil
	if _, err := connectDevice(t, b, "acme", "cam1", "pw", nats.NoReconnect()); err == nil {
		t.Fatal("device connected without DeviceAuth")
	}
	internalConn(t, b) // the internal user still works
}

func TestDisconnect(t *testing.T) {
	devs := bustest.Devices(map[string]bustest.Cred{
		"acme.cam1": {Password: "pw1", Lines: []int64{1}},
		"acme.cam2": {Password: "pw2", Lines: []int64{2}},
	})
	b := bustest.Run(t, func(c *bus.Config) { c.Devices = devs })

	var mu sync.Mutex
	disconnected := make(chan struct{}, 4)
	closed := make(chan struct{})
	var once sync.Once
	d1 := mustDevice(t, b, "acme", "cam1", "pw1",
		nats.ReconnectWait(50*time.Millisecond), nats.MaxReconnects(5),
		nats.DisconnectErrHandler(func(*nats.Conn, error) {
			mu.Lock()
			defer mu.Unlock()
			disconnected <- struct{}{}
		}),
		nats.ClosedHandler(func(*nats.Conn) { once.Do(func() { close(closed) }) }),
	)
	d1b := mustDevice(t, b, "acme", "cam1", "pw1", nats.NoReconnect()) // a second connection of the same device
	d2 := mustDevice(t, b, "acme", "cam2", "pw2")

	if n := b.Disconnect("acme", "cam9"); n != 0 {
		t.Fatalf("Disconnect(unknown) = %d", n)
	}

	// Revoke, then kick.
	devs.Delete("acme.cam1")
	if n := b.Disconnect("acme", "cam1"); n != 2 {
		t.Fatalf("Disconnect = %d, want 2", n)
	}
	select {
	case <-disconnected:
	case <-time.After(waitFor):
		t.Fatal("device was not disconnected")
	}
	// Its reconnect attempts are refused (revoked), so the client gives up.
	select {
	case <-closed:
	case <-time.After(3 * waitFor):
		t.Fatalf("device connection not closed, status %v", d1.nc.Status())
	}
	testkit.CheckFor(t, waitFor, 10*time.Millisecond, func() error {
		return testkit.Unless(d1b.nc.IsClosed(), "second connection still open")
	})
	// The other device is untouched.
	if !d2.nc.IsConnected() || d2.nc.Flush() != nil {
		t.Fatal("cam2 lost its connection")
	}
}

func TestDisconnectWithoutRevocation(t *testing.T) {
	devs := bustest.Devices(map[string]bustest.Cred{"acme.cam1": {Password: "pw1"}})
	b := bustest.Run(t, func(c *bus.Config) { c.Devices = devs })
	closed := make(chan struct{})
	mustDevice(t, b, "acme", "cam1", "pw1", nats.NoReconnect(),
		nats.ClosedHandler(func(*nats.Conn) { close(closed) }))
	if n := b.Disconnect("acme", "cam1"); n != 1 {
		t.Fatalf("Disconnect = %d, want 1", n)
	}
	select {
	case <-closed:
	case <-time.After(waitFor):
		t.Fatal("not closed")
	}
	// Not revoked in DeviceAuth: it may connect again.
	mustDevice(t, b, "acme", "cam1", "pw1")
}

func TestDefaultsAndRestartKeepsMessages(t *testing.T) {
	if !bus.DefaultConfig().SyncAlways {
		t.Fatal("DefaultConfig().SyncAlways = false, want true")
	}
	dir := t.TempDir()
	start := func(replay time.Duration) *bus.Bus {
		cfg := bus.DefaultConfig()
		cfg.Listen = "-" // in-process only
		cfg.StoreDir = dir
		cfg.ReplayWindow = replay
		cfg.Logger = quietLogger()
		b, err := bus.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Start(testCtx(t)); err != nil {
			t.Fatal(err)
		}
		if b.ClientURL() != "" {
			t.Fatalf("ClientURL = %q with no listener", b.ClientURL())
		}
		return b
	}

	b1 := start(24 * time.Hour)
	nc := internalConn(t, b1)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := js.Publish(testCtx(t), bus.DetSubject("acme", int64(i+1)), []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
	}
	nc.Close()
	if err := b1.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b1.Close(); err != nil { // idempotent
		t.Fatal(err)
	}
	if err := b1.Healthy(); !errors.Is(err, bus.ErrClosed) {
		t.Fatalf("Healthy after Close = %v", err)
	}
	if _, err := b1.Connect("late"); !errors.Is(err, bus.ErrClosed) {
		t.Fatalf("Connect after Close = %v", err)
	}

	b2 := start(48 * time.Hour) // also updates the stream in place
	t.Cleanup(func() { _ = b2.Close() })
	if n := streamMsgs(t, b2); n != 3 {
		t.Fatalf("after restart the stream holds %d, want 3", n)
	}
	js2, err := jetstream.New(internalConn(t, b2))
	if err != nil {
		t.Fatal(err)
	}
	s, err := js2.Stream(testCtx(t), bus.DetStream)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.CachedInfo().Config.MaxAge; got != 48*time.Hour {
		t.Fatalf("MaxAge after update = %s", got)
	}
}

func TestLifecycleErrors(t *testing.T) {
	if _, err := bus.New(bus.Config{}); err == nil {
		t.Fatal("New without StoreDir succeeded")
	}
	if _, err := bus.New(bus.Config{StoreDir: t.TempDir(), ReplayWindow: time.Minute, DuplicateWindow: time.Hour}); err == nil {
		t.Fatal("duplicate window > replay window accepted")
	}
	if _, err := bus.New(bus.Config{StoreDir: t.TempDir(), Listen: "nonsense"}); err == nil {
		t.Fatal("bad listen address accepted")
	}

	cfg := bus.DefaultConfig()
	cfg.StoreDir = t.TempDir()
	cfg.Listen = "-"
	cfg.Logger = quietLogger()
	b, err := bus.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Healthy(); !errors.Is(err, bus.ErrNotStarted) {
		t.Fatalf("Healthy before Start = %v", err)
	}
	if _, err := b.Connect("x"); !errors.Is(err, bus.ErrNotStarted) {
		t.Fatalf("Connect before Start = %v", err)
	}
	if n := b.Disconnect("acme", "cam1"); n != 0 {
		t.Fatalf("Disconnect before Start = %d", n)
	}

	// Run = Start + wait + Close.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	testkit.CheckFor(t, 2*waitFor, 20*time.Millisecond, b.Healthy)
	if err := b.Start(context.Background()); !errors.Is(err, bus.ErrAlreadyStarted) {
		t.Fatalf("second Start = %v", err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(waitFor):
		t.Fatal("Run did not return")
	}
	if err := b.Healthy(); !errors.Is(err, bus.ErrClosed) {
		t.Fatalf("Healthy after Run = %v", err)
	}
}

func TestStartFailsWhenPortIsTaken(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	cfg := bus.DefaultConfig()
	cfg.StoreDir = t.TempDir()
	cfg.Listen = l.Addr().String()
	cfg.Logger = quietLogger()
	b, err := bus.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	start := time.Now()
	if err := b.Start(ctx); err == nil {
		b.Close()
		t.Fatal("Start succeeded on a taken port")
	} else {
		t.Logf("Start: %v (after %s)", err, time.Since(start))
	}
	if time.Since(start) > 10*time.Second {
		t.Fatal("Start took too long to fail")
	}
}

func TestMaxPayload(t *testing.T) {
	b := bustest.Run(t, func(c *bus.Config) { c.MaxPayload = 1024 })
	nc := internalConn(t, b)
	if got := nc.MaxPayload(); got != 1024 {
		t.Fatalf("server max payload = %d", got)
	}
	if err := nc.Publish(bus.DetSubject("acme", 1), make([]byte, 2048)); !errors.Is(err, nats.ErrMaxPayload) {
		t.Fatalf("oversized publish: %v", err)
	}
}

// TestUpgradeKeepsUnwrittenDetections: a data directory of the version before the
// edge (LP_DET without atomic publish, device ids not scoped, detections the writer
// has not stored yet) starts with this version: the stream is updated in place, the
// writer's durable consumer still has every un-written message pending, and devices
// publish through the edge.
func TestUpgradeKeepsUnwrittenDetections(t *testing.T) {
	dir := t.TempDir()
	devs := bustest.Devices(map[string]bustest.Cred{"acme.cam1": {Password: "pw"}})
	start := func() *bus.Bus {
		return bustest.Run(t, func(c *bus.Config) { c.StoreDir = dir; c.Devices = devs })
	}
	b1 := start()
	nc := internalConn(t, b1)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	old := b1.DetStreamConfig()
	old.AllowAtomicPublish = false
	if _, err := js.UpdateStream(ctx, old); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, err := js.Publish(ctx, bus.DetSubject("acme", 1), []byte(`{}`), jetstream.WithMsgID(fmt.Sprint("1-", i))); err != nil {
			t.Fatal(err)
		}
	}
	c, err := js.CreateOrUpdateConsumer(ctx, bus.DetStream, jetstream.ConsumerConfig{Durable: "lp-writer", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := c.FetchNoWait(2) // two written and acknowledged, three not
	if err != nil {
		t.Fatal(err)
	}
	for m := range batch.Messages() {
		if err := m.DoubleAck(ctx); err != nil {
			t.Fatal(err)
		}
	}
	nc.Close()
	if err := b1.Close(); err != nil {
		t.Fatal(err)
	}

	b2 := start()
	js2, err := jetstream.New(internalConn(t, b2))
	if err != nil {
		t.Fatal(err)
	}
	s, err := js2.Stream(ctx, bus.DetStream)
	if err != nil {
		t.Fatal(err)
	}
	if !s.CachedInfo().Config.AllowAtomicPublish || s.CachedInfo().State.Msgs != 5 {
		t.Fatalf("after the upgrade: %+v %+v", s.CachedInfo().Config, s.CachedInfo().State)
	}
	c2, err := js2.Consumer(ctx, bus.DetStream, "lp-writer")
	if err != nil {
		t.Fatal(err)
	}
	if p := c2.CachedInfo().NumPending; p != 3 {
		t.Fatalf("the writer's consumer has %d pending, want the 3 un-written", p)
	}
	d := mustDevice(t, b2, "acme", "cam1", "pw")
	djs, err := jetstream.New(d.nc)
	if err != nil {
		t.Fatal(err)
	}
	ack, err := djs.Publish(ctx, bus.DetSubject("acme", 1), []byte(`{}`), jetstream.WithMsgID("1-0"))
	if err != nil || ack.Duplicate || ack.Sequence != 6 {
		t.Fatalf("a device's id from before the upgrade, in its new scope: %+v %v", ack, err)
	}
}
