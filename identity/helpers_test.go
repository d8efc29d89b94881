package identity_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/linepulse/linepulse/bus"
	"github.com/linepulse/linepulse/bus/bustest"
	"github.com/linepulse/linepulse/identity"
	"github.com/linepulse/linepulse/ingest"
	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/store/storetest"
)

// waitLong bounds every wait for an outcome: generous, because machines are noisy.
const waitLong = 3 * time.Minute

func quiet() *slog.Logger {
	if os.Getenv("LINEPULSE_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// plant is one tenant with lines on a real store.
type plant struct {
	tdb   *store.TenantDB
	lines []int64
}

func newPlant(t testing.TB, st *store.Store, slug string, nLines int) plant {
	t.Helper()
	p := plant{tdb: storetest.Tenant(t, st, slug)}
	for i := range nLines {
		l := store.Line{Name: "Line " + strconv.Itoa(i+1), DowntimeThresholdMS: 30000, IdealCycleTimeMS: 1000}
		if err := p.tdb.CreateLine(context.Background(), &l); err != nil {
			t.Fatal(err)
		}
		p.lines = append(p.lines, l.ID)
	}
	return p
}

// stored returns the detections stored for a line over the last two days (tests
// publish recent detections).
func (p plant) stored(t testing.TB, line int64) int64 {
	t.Helper()
	n, err := p.tdb.CountDetections(context.Background(), line, time.Now().Add(-48*time.Hour), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (p plant) storedAll(t testing.TB) (n int64) {
	for _, l := range p.lines {
		n += p.stored(t, l)
	}
	return n
}

// createDevice issues a device through the one create path, without a bus.
func createDevice(t testing.TB, st *store.Store, tenantID int64, name string, lines []int64) (store.Device, string) {
	t.Helper()
	d, cred, err := identity.Devices{Store: st}.Create(context.Background(), tenantID, identity.NewDevice{Name: name, Lines: lines, NATSURL: "nats://test:4222"})
	if err != nil {
		t.Fatal(err)
	}
	return d, cred.Password
}

// startWriter runs the batch writer until the test ends.
func startWriter(t testing.TB, cfg ingest.WriterConfig, nc *nats.Conn, st *store.Store) *ingest.Writer {
	t.Helper()
	cfg.Logger = quiet()
	w, err := ingest.NewWriter(cfg, nc, st)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("writer: %v", err)
		}
	})
	return w
}

// detBase is fixed for the test binary, so a detection id always has the same time.
var detBase = time.Now().Add(-time.Hour).UTC().Truncate(time.Millisecond)

// detections is a message of n detections of ids first..first+n-1 seen in the last hour
// or so, in the wire format of docs/CONTRACT.md; every tenth is a reject.
func detections(first uint64, n int) []byte {
	parts := make([]string, n)
	for i := range parts {
		id := first + uint64(i)
		at := detBase.Add(time.Duration(id%3_000_000) * time.Millisecond).Format("2006-01-02T15:04:05.000Z07:00")
		parts[i] = fmt.Sprintf(`{"id":%d,"at":%q,"area":%d,"product":%d,"ok":%t}`, id, at, 1+id%3, 1+id%4, id%10 != 0)
	}
	return []byte("[" + strings.Join(parts, ",") + "]")
}

func newBus(t testing.TB, mutate ...func(*bus.Config)) *bus.Bus {
	t.Helper()
	return bustest.Run(t, mutate...)
}

// Shared with the other packages' tests.
var (
	connect      = bustest.Connect
	consumerIdle = bustest.ConsumerIdle
)
