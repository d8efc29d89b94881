package bus_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/linepulse/linepulse/bus"
	"github.com/linepulse/linepulse/bus/bustest"
	"github.com/linepulse/linepulse/detection"
	"github.com/linepulse/linepulse/internal/testkit"
)

// TestEdgeGroupCommit: many messages in flight are stored with few writes; every
// message gets one acknowledgement; a re-send (in the same group, or of a message the
// edge never stored because another process did: the edge reads it from the stream) is
// acknowledged as a duplicate of the stored sequence and stored once.
func TestEdgeGroupCommit(t *testing.T) {
	devs := bustest.Devices(map[string]bustest.Cred{"acme.cam1": {Password: "pw"}})
	b := bustest.Run(t, func(c *bus.Config) { c.Devices = devs; c.EdgeMaxBatch = 100 })
	ctx := testCtx(t)
	in, err := jetstream.New(internalConn(t, b))
	if err != nil {
		t.Fatal(err)
	}
	// Stored by "another instance": the edge has no memory of it.
	pre := nats.NewMsg(bus.DetSubject("acme", 1))
	pre.Data = []byte(`{"id":1000}`)
	pre.Header.Set(jetstream.MsgIDHeader, bus.ScopedMsgID("acme", 1, "pre"))
	preAck, err := in.PublishMsg(ctx, pre)
	if err != nil {
		t.Fatal(err)
	}

	d := mustDevice(t, b, "acme", "cam1", "pw")
	js, err := jetstream.New(d.nc, jetstream.WithPublishAsyncMaxPending(2000))
	if err != nil {
		t.Fatal(err)
	}
	type sent struct {
		id  string
		fut jetstream.PubAckFuture
	}
	var all []sent
	send := func(id string) {
		var opts []jetstream.PublishOpt
		if id != "" {
			opts = append(opts, jetstream.WithMsgID(id))
		}
		f, err := js.PublishAsync(bus.DetSubject("acme", 1), []byte(`{"id":1}`), opts...)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, sent{id, f})
	}
	const unique = 600
	for i := range unique {
		send(fmt.Sprint("m-", i))
		if i%10 == 0 {
			send(fmt.Sprint("m-", i/2)) // a re-send, soon after the first
		}
		if i == unique/2 {
			send("pre")
			send("") // no id: stored, never a duplicate
		}
	}
	seqs := map[string]uint64{}
	firsts := map[string]int{}
	for _, s := range all {
		select {
		case ack := <-s.fut.Ok():
			if s.id == "" {
				if ack.Duplicate {
					t.Fatalf("message without id acknowledged as duplicate: %+v", ack)
				}
				continue
			}
			if prev, ok := seqs[s.id]; ok && prev != ack.Sequence {
				t.Fatalf("%s acknowledged with seq %d and %d", s.id, prev, ack.Sequence)
			}
			seqs[s.id] = ack.Sequence
			if !ack.Duplicate {
				firsts[s.id]++
			}
		case err := <-s.fut.Err():
			t.Fatalf("%s: %v", s.id, err)
		case <-ctx.Done():
			t.Fatal("not acknowledged")
		}
	}
	if seqs["pre"] != preAck.Sequence || firsts["pre"] != 0 {
		t.Fatalf("re-send of a stored id: seq %d (stored as %d), %d first acks", seqs["pre"], preAck.Sequence, firsts["pre"])
	}
	for i := range unique {
		if id := fmt.Sprint("m-", i); firsts[id] != 1 {
			t.Fatalf("%s acknowledged as new %d times", id, firsts[id])
		}
	}
	if n := streamMsgs(t, b); n != unique+2 {
		t.Fatalf("stream holds %d messages, want %d", n, unique+2)
	}
	st := b.EdgeStats()
	t.Logf("edge: %+v", st)
	if st.Messages != unique+1 || st.Writes >= st.Messages/2 {
		t.Fatalf("edge stored %d messages in %d writes: want %d in far fewer writes", st.Messages, st.Writes, unique+1)
	}
}

// TestEdgeAdmitRefuses: a message Admit refuses is answered with an error and not stored.
func TestEdgeAdmitRefuses(t *testing.T) {
	devs := bustest.Devices(map[string]bustest.Cred{"acme.cam1": {Password: "pw"}})
	var (
		mu  sync.Mutex
		got []string
	)
	b := bustest.Run(t, func(c *bus.Config) {
		c.Devices = devs
		c.Admit = func(tenant, device string, line int64, body []byte, _ time.Time) *detection.Rejected {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, fmt.Sprintf("%s %s %d %s", tenant, device, line, body))
			if string(body) == "old" {
				r := detection.RejectMessage(detection.ReasonTooOld, "every detection is older than the retention", body)
				return &r
			}
			return nil
		}
	})
	d := mustDevice(t, b, "acme", "cam1", "pw")
	js, err := jetstream.New(d.nc)
	if err != nil {
		t.Fatal(err)
	}
	_, err = js.Publish(testCtx(t), bus.DetSubject("acme", 7), []byte("old"))
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) || apiErr.Code != 400 || apiErr.Description != "too_old: every detection is older than the retention" {
		t.Fatalf("refused message: err %v", err)
	}
	if _, err := js.Publish(testCtx(t), bus.DetSubject("acme", 7), []byte("new")); err != nil {
		t.Fatal(err)
	}
	if n := streamMsgs(t, b); n != 1 {
		t.Fatalf("stream holds %d, want 1", n)
	}
	if st := b.EdgeStats(); st.Refused != 1 || st.Messages != 1 {
		t.Fatalf("edge stats %+v", st)
	}
	// The refusal is a dead letter of the tenant, and of no other.
	var dls []detection.DeadLetter
	testkit.CheckFor(t, waitFor, 20*time.Millisecond, func() error {
		dls, err = b.DeadLetters(testCtx(t), "acme", 10)
		return testkit.Unless(err == nil && len(dls) > 0, "no dead letter yet (%v)", err)
	})
	if len(dls) != 1 || dls[0].Reason != detection.ReasonTooOld || dls[0].Index != -1 ||
		dls[0].Subject != "lp.acme.line.7.det" || dls[0].Raw != "old" {
		t.Fatalf("dead letters: %+v %v", dls, err)
	}
	if dls, err := b.DeadLetters(testCtx(t), "globex", 10); err != nil || len(dls) != 0 {
		t.Fatalf("another tenant's dead letters: %+v %v", dls, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 || got[0] != "acme cam1 7 old" {
		t.Fatalf("Admit saw %q", got)
	}
}

// TestEdgeRemembersAcrossRestart: a pack carries no Nats-Msg-Id, so the stream cannot
// de-duplicate its parts; a new process reads the ids of the duplicate window from the
// stream before it takes requests, and answers a re-send of every message the first
// process stored as a duplicate of its sequence, storing nothing.
func TestEdgeRemembersAcrossRestart(t *testing.T) {
	devs := bustest.Devices(map[string]bustest.Cred{"acme.cam1": {Password: "pw"}})
	dir := t.TempDir()
	config := func(c *bus.Config) { c.Devices = devs; c.StoreDir = dir }
	const n = 300
	publishAll := func(b *bus.Bus) []*jetstream.PubAck {
		t.Helper()
		d := mustDevice(t, b, "acme", "cam1", "pw")
		defer d.nc.Close()
		js, err := jetstream.New(d.nc)
		if err != nil {
			t.Fatal(err)
		}
		var futs []jetstream.PubAckFuture
		for i := range n {
			f, err := js.PublishAsync(bus.DetSubject("acme", 1+int64(i%3)), []byte(fmt.Sprintf(`{"id":%d}`, i+1)), jetstream.WithMsgID(fmt.Sprint("r-", i)))
			if err != nil {
				t.Fatal(err)
			}
			futs = append(futs, f)
		}
		acks := make([]*jetstream.PubAck, n)
		for i, f := range futs {
			select {
			case acks[i] = <-f.Ok():
			case err := <-f.Err():
				t.Fatalf("message %d: %v", i, err)
			case <-time.After(waitFor):
				t.Fatalf("message %d not acknowledged", i)
			}
		}
		return acks
	}

	first := bustest.Run(t, config)
	acks := publishAll(first)
	stored := bustest.StoredMessages(t, first)
	packs := map[uint64]bool{}
	for _, s := range stored {
		packs[s.Seq] = true
	}
	if len(stored) != n || len(packs) >= n {
		t.Fatalf("stored %d device messages in %d stream messages: want %d in packs", len(stored), len(packs), n)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}

	second := bustest.Run(t, config)
	again := publishAll(second)
	for i := range n {
		if !again[i].Duplicate || again[i].Sequence != acks[i].Sequence {
			t.Fatalf("re-send %d after the restart: %+v, first stored as seq %d", i, again[i], acks[i].Sequence)
		}
	}
	if got := len(bustest.StoredMessages(t, second)); got != n {
		t.Fatalf("stream holds %d device messages after the re-sends, want %d", got, n)
	}
}
