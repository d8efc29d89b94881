package ingest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/linepulse/linepulse/bus"
	"github.com/linepulse/linepulse/bus/bustest"
	"github.com/linepulse/linepulse/detection"
	"github.com/linepulse/linepulse/ingest"
	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/store/storetest"
)

// waitLong bounds every wait for an outcome: generous, because machines are noisy; poll
// is how often a wait looks.
const (
	waitLong = 3 * time.Minute
	poll     = 20 * time.Millisecond
)

func quiet() *slog.Logger {
	if os.Getenv("LINEPULSE_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// plant is one tenant with lines on a real store.
type plant struct {
	st    *store.Store
	tdb   *store.TenantDB
	slug  string
	lines []int64
}

func newPlant(t testing.TB, st *store.Store, slug string, nLines int) plant {
	t.Helper()
	tdb := storetest.Tenant(t, st, slug)
	p := plant{st: st, tdb: tdb, slug: slug}
	for i := range nLines {
		l := store.Line{Name: "Line " + strconv.Itoa(i+1), DowntimeThresholdMS: 30000, IdealCycleTimeMS: 1000}
		if err := tdb.CreateLine(context.Background(), &l); err != nil {
			t.Fatal(err)
		}
		p.lines = append(p.lines, l.ID)
	}
	return p
}

// counts returns the stored detections and the rollup total of a line over the last
// two days (tests publish recent detections).
func (p plant) counts(t testing.TB, line int64) (rows, rollup int64) {
	t.Helper()
	ctx := context.Background()
	from, to := time.Now().Add(-48*time.Hour), time.Now().Add(time.Hour)
	n, err := p.tdb.CountDetections(ctx, line, from, to)
	if err != nil {
		t.Fatal(err)
	}
	total, good, reject, err := p.tdb.RollupTotals(ctx, line, from, to)
	if err != nil {
		t.Fatal(err)
	}
	if good+reject != total {
		t.Fatalf("line %d rollups: good %d + reject %d != total %d", line, good, reject, total)
	}
	return n, total
}

func (p plant) totals(t testing.TB) (rows, rollup int64) {
	for _, l := range p.lines {
		r, u := p.counts(t, l)
		rows += r
		rollup += u
	}
	return rows, rollup
}

// running is a writer running in the background.
type running struct {
	w      *ingest.Writer
	cancel context.CancelFunc
	done   chan struct{} // closed when Run returned
	err    error         // Run's result, once done is closed
}

func startWriter(t testing.TB, cfg ingest.WriterConfig, nc *nats.Conn, st *store.Store) *running {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quiet()
	}
	w, err := ingest.NewWriter(cfg, nc, st)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{w: w, cancel: cancel, done: make(chan struct{})}
	go func() {
		r.err = w.Run(ctx)
		close(r.done)
	}()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// wait waits for Run to return by itself and returns its result.
func (r *running) wait(t testing.TB) error {
	t.Helper()
	select {
	case <-r.done:
		return r.err
	case <-time.After(waitLong):
		t.Fatal("Writer.Run did not return")
		return nil
	}
}

// stop cancels the writer and returns Run's result.
func (r *running) stop(t testing.TB) error {
	t.Helper()
	r.cancel()
	return r.wait(t)
}

// returned reports whether Run returned.
func (r *running) returned() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// publisher publishes detection messages through JetStream with Nats-Msg-Id.
type publisher struct {
	js jetstream.JetStream
}

func newPublisher(t testing.TB, b *bus.Bus) publisher {
	t.Helper()
	js, err := jetstream.New(connect(t, b, "test-publisher"))
	if err != nil {
		t.Fatal(err)
	}
	return publisher{js: js}
}

// detBase is fixed for the test binary, so a detection id always has the same time: a
// re-published detection is the same (id, at) row.
var detBase = time.Now().Add(-time.Hour).UTC().Truncate(time.Millisecond)

// dets builds n detections of ids first..first+n-1 seen in the last hour or so (id
// milliseconds after detBase); every tenth is a reject.
func dets(first uint64, n int) []detection.Detection {
	base := detBase
	out := make([]detection.Detection, n)
	for i := range out {
		id := first + uint64(i)
		out[i] = detection.Detection{ID: id, At: base.Add(time.Duration(id%3_000_000) * time.Millisecond), Area: 1 + int64(id%3), Product: 1 + int64(id%4), OK: id%10 != 0}
	}
	return out
}

func encode(ds []detection.Detection) []byte {
	b := []byte{'['}
	for i, d := range ds {
		if i > 0 {
			b = append(b, ',')
		}
		b = detection.AppendJSON(b, d)
	}
	return append(b, ']')
}

// publishAll publishes ds to a line in messages of per detections, asynchronously, and
// waits for every PubAck. msgIDPrefix makes the Nats-Msg-Id values.
func (p publisher) publishAll(t testing.TB, tenant string, line int64, ds []detection.Detection, per int, msgIDPrefix string) {
	t.Helper()
	if err := p.publish(tenant, line, ds, per, msgIDPrefix); err != nil {
		t.Fatal(err)
	}
}

// publish is publishAll for goroutines other than the test's.
func (p publisher) publish(tenant string, line int64, ds []detection.Detection, per int, msgIDPrefix string) error {
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	var futures []jetstream.PubAckFuture
	for i := 0; i < len(ds); i += per {
		chunk := ds[i:min(i+per, len(ds))]
		m := nats.NewMsg(bus.DetSubject(tenant, line))
		m.Data = encode(chunk)
		m.Header.Set(jetstream.MsgIDHeader, fmt.Sprintf("%s-%d-%d", msgIDPrefix, line, chunk[0].ID))
		f, err := p.js.PublishMsgAsync(m)
		if err != nil {
			return err
		}
		futures = append(futures, f)
		if len(futures)%1000 == 0 { // stay below the client's limit of outstanding publishes
			select {
			case <-p.js.PublishAsyncComplete():
			case <-ctx.Done():
				return fmt.Errorf("publish did not complete")
			}
		}
	}
	select {
	case <-p.js.PublishAsyncComplete():
	case <-ctx.Done():
		return fmt.Errorf("publish did not complete")
	}
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return fmt.Errorf("publish: %w", err)
		}
	}
	return nil
}

// publishRaw publishes one message body as is and waits for its PubAck.
func (p publisher) publishRaw(t testing.TB, subject string, body []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	if _, err := p.js.Publish(ctx, subject, body); err != nil {
		t.Fatalf("publish %d bytes to %s: %v", len(body), subject, err)
	}
}

// publishPack stores parts as one pack, the way the ingest edge stores several device
// messages of a line, and waits for its PubAck.
func (p publisher) publishPack(t testing.TB, subject string, parts []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	bodies := make([][]byte, len(parts))
	for i, part := range parts {
		bodies[i] = []byte(part)
	}
	m := bus.Pack(subject, bodies, nil)
	if _, err := p.js.PublishMsg(ctx, m); err != nil {
		t.Fatalf("publish a pack of %d parts to %s: %v", len(parts), subject, err)
	}
}

// dlq collects dead letters of a tenant.
type dlq struct {
	mu  sync.Mutex
	got []detection.DeadLetter
}

func subscribeDLQ(t testing.TB, b *bus.Bus, tenant string) *dlq {
	t.Helper()
	nc := connect(t, b, "test-dlq-"+tenant)
	d := &dlq{}
	_, err := nc.Subscribe(bus.DLQSubject(tenant), func(m *nats.Msg) {
		var dl detection.DeadLetter
		if err := json.Unmarshal(m.Data, &dl); err != nil {
			t.Errorf("dead letter is not JSON: %v: %q", err, m.Data)
			return
		}
		d.mu.Lock()
		d.got = append(d.got, dl)
		d.mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return d
}

func (d *dlq) all() []detection.DeadLetter {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]detection.DeadLetter(nil), d.got...)
}

// newBus starts a bus for the writer tests.
func newBus(t testing.TB, mutate ...func(*bus.Config)) *bus.Bus {
	t.Helper()
	return bustest.Run(t, mutate...)
}

// Shared with the other packages' tests.
var (
	connect      = bustest.Connect
	consumerIdle = bustest.ConsumerIdle
)
