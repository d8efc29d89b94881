package bus_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/linepulse/linepulse/bus"
	"github.com/linepulse/linepulse/bus/bustest"
	"github.com/linepulse/linepulse/internal/testkit"
)

// isolationRig: two tenants with a device each (acme has two), LinePulse's KV buckets
// with one key per bucket, and a handful of detections already in the stream.
type isolationRig struct {
	b    *bus.Bus
	in   *nats.Conn
	js   jetstream.JetStream
	kvs  map[string]jetstream.KeyValue
	keys map[string]string // bucket -> key
}

func newIsolationRig(t *testing.T) *isolationRig {
	t.Helper()
	devs := bustest.Devices(map[string]bustest.Cred{
		"acme.cam1":   {Password: "pw-a1"},
		"acme.cam2":   {Password: "pw-a2"},
		"globex.cam1": {Password: "pw-g1", Lines: []int64{1}},
	})
	b := bustest.Run(t, func(c *bus.Config) { c.Devices = devs })
	in := internalConn(t, b)
	js, err := jetstream.New(in)
	if err != nil {
		t.Fatal(err)
	}
	r := &isolationRig{b: b, in: in, js: js, kvs: map[string]jetstream.KeyValue{}, keys: map[string]string{
		bus.LeaseBucket: "kpi-engine", "LP_KPI": "globex.1", "LP_ENGINE": "globex.1",
	}}
	ctx := testCtx(t)
	for bucket, key := range r.keys {
		kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: bucket})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := kv.Put(ctx, key, []byte(`{"holder":"lp-1","counts":{"total":42}}`)); err != nil {
			t.Fatal(err)
		}
		r.kvs[bucket] = kv
	}
	return r
}

// unchanged fails unless every KV key still has its first revision and value, and the
// stream holds want messages.
func (r *isolationRig) unchanged(t *testing.T, want uint64) {
	t.Helper()
	ctx := testCtx(t)
	for bucket, key := range r.keys {
		e, err := r.kvs[bucket].Get(ctx, key)
		if err != nil {
			t.Fatalf("%s %s: %v", bucket, key, err)
		}
		if e.Revision() != 1 || !bytes.Contains(e.Value(), []byte(`"total":42`)) {
			t.Fatalf("%s %s changed: revision %d, value %q", bucket, key, e.Revision(), e.Value())
		}
		st, err := r.kvs[bucket].Status(ctx)
		if err != nil || st.Values() != 1 {
			t.Fatalf("%s holds %d values (%v), want 1", bucket, st.Values(), err)
		}
	}
	if n := streamMsgs(t, r.b); n != want {
		t.Fatalf("stream %s holds %d messages, want %d", bus.DetStream, n, want)
	}
}

// TestSameMsgIDFromTwoTenantsAndTwoLines: the first finding. Each tenant, and
// each line, has its own de-duplication scope; a re-send within one scope is a
// duplicate of the first, and its acknowledgement says so.
func TestSameMsgIDFromTwoTenantsAndTwoLines(t *testing.T) {
	r := newIsolationRig(t)
	ctx := testCtx(t)
	publish := func(tenant, dev, pw string, line int64, n int) (stored, dups int) {
		d := mustDevice(t, r.b, tenant, dev, pw)
		js, err := jetstream.New(d.nc)
		if err != nil {
			t.Fatal(err)
		}
		var futs []jetstream.PubAckFuture
		for i := range n {
			f, err := js.PublishAsync(bus.DetSubject(tenant, line), []byte(fmt.Sprintf(`{"id":%d}`, i+1)),
				jetstream.WithMsgID(fmt.Sprintf("1-5001-%d", i)))
			if err != nil {
				t.Fatal(err)
			}
			futs = append(futs, f)
		}
		for _, f := range futs {
			select {
			case ack := <-f.Ok():
				if ack.Stream != bus.DetStream || ack.Sequence == 0 {
					t.Fatalf("ack %+v", ack)
				}
				if ack.Duplicate {
					dups++
				} else {
					stored++
				}
			case err := <-f.Err():
				t.Fatalf("%s.%s line %d: %v", tenant, dev, line, err)
			case <-ctx.Done():
				t.Fatal("no acknowledgement")
			}
		}
		return stored, dups
	}
	if s, d := publish("acme", "cam1", "pw-a1", 1, 50); s != 50 || d != 0 {
		t.Fatalf("acme line 1: stored %d, duplicates %d", s, d)
	}
	if s, d := publish("globex", "cam1", "pw-g1", 1, 50); s != 50 || d != 0 {
		t.Fatalf("globex line 1, same ids: stored %d, duplicates %d; want all 50 stored", s, d)
	}
	if s, d := publish("acme", "cam2", "pw-a2", 2, 50); s != 50 || d != 0 {
		t.Fatalf("acme line 2, same ids: stored %d, duplicates %d; want all 50 stored", s, d)
	}
	// A re-send on the same tenant and line, from another device: duplicates.
	if s, d := publish("acme", "cam2", "pw-a2", 1, 50); s != 0 || d != 50 {
		t.Fatalf("acme line 1 re-sent: stored %d, duplicates %d; want 50 duplicates", s, d)
	}
	r.unchanged(t, 150)
}

// TestHostileReplySubjects: the second finding. A device publishes valid
// detections with reply subjects aimed at LinePulse's internals, other tenants and
// other devices; nothing there changes or receives anything, and the detections are
// stored as usual (the answer goes nowhere).
func TestHostileReplySubjects(t *testing.T) {
	r := newIsolationRig(t)
	attacker := mustDevice(t, r.b, "acme", "cam1", "pw-a1")
	victim := mustDevice(t, r.b, "acme", "cam2", "pw-a2")
	other := mustDevice(t, r.b, "globex", "cam1", "pw-g1")

	// Everything LinePulse's account or the other devices could receive.
	var spies []*nats.Subscription
	spy := func(nc *nats.Conn, subj string) {
		s, err := nc.SubscribeSync(subj)
		if err != nil {
			t.Fatal(err)
		}
		spies = append(spies, s)
	}
	for _, subj := range []string{"lp.globex.>", "lp._sys.>", "_INBOX.acme.>", "_INBOX.globex.>", "$KV.>", "lp.acme.line.*.kpi"} {
		spy(r.in, subj)
	}
	spy(victim.nc, "_INBOX.acme.cam2.>")
	spy(other.nc, "_INBOX.globex.cam1.>")
	for _, nc := range []*nats.Conn{r.in, victim.nc, other.nc} {
		if err := nc.Flush(); err != nil {
			t.Fatal(err)
		}
	}

	hostile := []string{
		"$KV.LP_LEASE.kpi-engine", "$KV.LP_ENGINE.globex.1", "$KV.LP_KPI.globex.1", "$KV.LP_KPI.>",
		"$JS.API.STREAM.PURGE.LP_DET", "$JS.API.STREAM.MSG.DELETE.LP_DET", "$JS.API.STREAM.DELETE.LP_DET",
		"$JS.API.STREAM.UPDATE.LP_DET", "$JS.API.KV.LP_LEASE", "$JS.API.CONSUMER.DELETE.LP_DET.lp-writer",
		"lp.globex.line.1.det", "lp.globex.line.1.kpi", "lp.globex.dlq", "lp._sys.auth.revoked",
		"lp._edge.globex.cam1.1", "_INBOX.acme.cam2.x.y", "_INBOX.globex.cam1.x.y", "$SYS.REQ.SERVER.PING",
	}
	for i, reply := range hostile {
		// A JSON body the KV and JS API would accept as a value or a request.
		body := []byte(fmt.Sprintf(`{"id":%d,"at":"2026-12-01T10:00:00.000Z","area":1,"product":1}`, i+1))
		if err := attacker.nc.PublishRequest(bus.DetSubject("acme", 1), reply, body); err != nil {
			t.Fatal(err)
		}
	}
	if err := attacker.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	// Replies the server reserves for its own routing (JetStream acknowledgements,
	// service import responses) are refused outright.
	for _, reply := range []string{"$JS.ACK.LP_DET.lp-writer.1.1.1.1.0", "_R_.abcdef.ghijkl"} {
		if err := attacker.nc.PublishRequest(bus.DetSubject("acme", 1), reply, []byte(`{"id":99}`)); err != nil {
			t.Fatal(err)
		}
		attacker.expectViolation(t, "Publish with Reply of", reply)
	}
	// The messages are stored (the edge answered each, into the attacker's account).
	want := uint64(len(hostile))
	testkit.CheckFor(t, waitFor, 20*time.Millisecond, func() error {
		n := streamMsgs(t, r.b)

		return testkit.Unless(n >= want, "stream holds %d of %d", n, want)
	})
	for _, s := range spies {
		if m, err := s.NextMsg(200 * time.Millisecond); err == nil {
			t.Fatalf("%s received %s %q", s.Subject, m.Subject, m.Data)
		}
	}
	r.unchanged(t, want)
	select {
	case err := <-attacker.errs:
		t.Fatalf("the attacker's publishes were refused: %v", err)
	default:
	}
	// The devices still work, and their own acknowledgements still reach them.
	for _, d := range []*device{attacker, victim} {
		js, _ := jetstream.New(d.nc)
		if _, err := js.Publish(testCtx(t), bus.DetSubject("acme", 3), []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCredentialSweep: tenant A's device, user and kiosk credentials against every
// subject pattern of tenant B and of the system. A user's password or a kiosk token
// is not a NATS credential at all; the device reaches none of B's or the system's
// subjects, either way.
func TestCredentialSweep(t *testing.T) {
	r := newIsolationRig(t)
	// A's user and kiosk credentials (what the web login and the TV use) are refused.
	for name, opts := range map[string][]nats.Option{
		"user":            {nats.UserInfo("admin@acme.test", "pw-a1")},
		"user in tenant":  {nats.UserInfo("acme.admin@acme.test", "pw-a1")},
		"kiosk token":     {nats.Token("lpk_acme_0123456789abcdef")},
		"device as token": {nats.Token("pw-a1")},
		"no credentials":  nil,
	} {
		if nc, err := nats.Connect(r.b.ClientURL(), append(opts, nats.Timeout(waitFor))...); err == nil {
			nc.Close()
			t.Fatalf("%s: connected", name)
		}
	}

	d := mustDevice(t, r.b, "acme", "cam1", "pw-a1")
	targets := []string{
		"lp.globex.line.1.det", "lp.globex.line.1.kpi", "lp.globex.line.1.downtime", "lp.globex.line.*.det",
		"lp.globex.node.cam1.telemetry", "lp.globex.dlq", "lp.globex.>", "lp.*.line.1.kpi", "lp._sys.auth.revoked",
		"lp._sys.>", "lp._edge.globex.cam1.1", "lp._edge.acme.cam1.1", "lp._edge.>", "lp.acme.line.1.kpi",
		"$JS.API.INFO", "$JS.API.STREAM.LIST", "$JS.API.STREAM.PURGE.LP_DET", "$JS.API.>", "$KV.LP_LEASE.kpi-engine",
		"$KV.LP_KPI.globex.1", "$KV.>", "$SYS.REQ.SERVER.PING", "$SYS.>", "_INBOX.globex.cam1.>",
		"_INBOX.acme.cam2.>", "_INBOX.>", ">",
	}
	// Publish: refused by the server, and nothing arrives in LinePulse's account.
	spy, err := r.in.SubscribeSync(">")
	if err != nil {
		t.Fatal(err)
	}
	_ = r.in.Flush()
	for _, subj := range targets {
		if strings.ContainsAny(subj, "*>") {
			continue // not a publish subject
		}
		if err := d.nc.PublishRequest(subj, d.nc.NewInbox(), []byte(`{"id":1}`)); err != nil {
			t.Fatal(err)
		}
		d.expectViolation(t, "Publish", subj)
	}
	for {
		m, err := spy.NextMsg(200 * time.Millisecond)
		if err != nil {
			break
		}
		if !strings.HasPrefix(m.Subject, "$JS.EVENT.") && !strings.HasPrefix(m.Subject, "$KV.") &&
			!strings.HasPrefix(m.Subject, "$JS.API.") && !strings.HasPrefix(m.Subject, "_INBOX.") {
			t.Fatalf("a refused publish arrived: %s %q", m.Subject, m.Data)
		}
	}
	// Subscribe: refused, and nothing published there reaches the device.
	for _, subj := range targets {
		s, err := d.nc.SubscribeSync(subj)
		if err != nil {
			t.Fatal(err)
		}
		d.expectViolation(t, "Subscription", subj)
		// (LinePulse's own publishes to stored subjects would be stored: skip those.)
		if !strings.ContainsAny(subj, "*>") && !strings.HasPrefix(subj, "$") && !strings.HasSuffix(subj, ".det") &&
			!strings.HasPrefix(subj, "lp._edge.") {
			_ = r.in.Publish(subj, []byte("secret"))
		}
		_ = r.in.Flush()
		if m, err := s.NextMsg(50 * time.Millisecond); err == nil {
			t.Fatalf("device received %s", m.Subject)
		}
	}
	// JetStream from the device's side: no answer at all.
	if _, err := d.nc.Request("$JS.API.INFO", nil, 300*time.Millisecond); err == nil {
		t.Fatal("the device reached a JetStream API")
	}
	r.unchanged(t, 0)
}
