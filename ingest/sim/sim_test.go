package sim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
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

const (
	devUser = "acme.edge-1"
	devPass = "s3cret-edge-pass"
)

func devices() *bustest.FakeDevices {
	return bustest.Devices(map[string]bustest.Cred{devUser: {Password: devPass}})
}

// connectDevice connects to the bus over TCP as an edge device would.
func connectDevice(t *testing.T, url string) jetstream.JetStream {
	t.Helper()
	opts, err := DeviceOptions(devUser, devPass, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		t.Fatalf("device cannot connect: %v", err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// streamContent reads every message of LP_DET through an internal connection and
// returns, per line, how many times each detection id is stored, plus the number of
// messages.
func streamContent(t *testing.T, b *bus.Bus) (map[int64]map[uint64]int, int) {
	t.Helper()
	out := map[int64]map[uint64]int{}
	var dets []detection.Detection
	far := time.Now().Add(24 * time.Hour) // the timeline may run ahead of the clock
	stored := bustest.StoredMessages(t, b)
	for i, m := range stored {
		tenant, line, _, err := bus.ParseLineSubject(m.Subject)
		if err != nil || tenant != "acme" {
			t.Fatalf("message %d on unexpected subject %q (%v)", i, m.Subject, err)
		}
		var rej []detection.Rejected
		dets, rej = detection.Decode(dets[:0], m.Body, detection.WindowAt(far, 0))
		if len(rej) > 0 {
			t.Fatalf("message %d does not decode: %+v", i, rej)
		}
		// The device's id, scoped by the edge to its tenant and line.
		want := bus.ScopedMsgID("acme", line, fmt.Sprintf("acme-%d-%d-%d", line, dets[0].ID, len(dets)))
		if m.ID != want {
			t.Fatalf("message %d has Nats-Msg-Id %q, want %q", i, m.ID, want)
		}
		if out[line] == nil {
			out[line] = map[uint64]int{}
		}
		for _, d := range dets {
			out[line][d.ID]++
		}
	}
	return out, len(stored)
}

// checkExactlyOnce fails unless every line holds ids first..first+count-1 exactly once.
func checkExactlyOnce(t *testing.T, got map[int64]map[uint64]int, lines []int64, first uint64, count int) {
	t.Helper()
	if len(got) != len(lines) {
		t.Fatalf("stream has lines %v, want %v", keys(got), lines)
	}
	for _, l := range lines {
		ids := got[l]
		for i := range count {
			if n := ids[first+uint64(i)]; n != 1 {
				t.Fatalf("line %d: detection %d stored %d times, want once", l, first+uint64(i), n)
			}
		}
		if len(ids) != count {
			t.Fatalf("line %d: %d distinct ids stored, want %d", l, len(ids), count)
		}
	}
}

func keys[K comparable, V any](m map[K]V) []K {
	var out []K
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestSimulatorPublishesToStream(t *testing.T) {
	for _, batch := range []int{1, 50} {
		t.Run("batch"+strconv.Itoa(batch), func(t *testing.T) {
			b := bustest.Run(t, func(c *bus.Config) { c.Devices = devices() })
			js := connectDevice(t, b.ClientURL())
			const count = 730
			s, err := New(Config{
				Tenant: "acme", Batch: batch, Count: count, FirstID: 1, Seed: 3, Sleep: noSleep, Logger: quietLog(),
				MaxDelay: time.Hour, // only full batches (and the last partial one)
				Lines: []LineSpec{
					{Line: 1, Rate: 50, Jitter: 0.3, Areas: []int64{1, 2}, RejectRatio: 0.1},
					{Line: 2, Rate: 20, Products: []Product{{1, 1}, {2, 2}}, StopEvery: 5 * time.Second, StopFor: 40 * time.Second, Threshold: 30 * time.Second},
				},
			}, js)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			if err := s.Run(ctx); err != nil {
				t.Fatal(err)
			}
			st := s.Stats()
			msgs := 2 * ((count + batch - 1) / batch)
			if st.Published != 2*count || st.Acked != 2*count || st.Messages != int64(msgs) || st.AckedMessages != int64(msgs) || st.Pending != 0 || st.Stops == 0 {
				t.Fatalf("Stats() = %+v, want %d detections in %d messages acknowledged, and stops", st, 2*count, msgs)
			}
			got, n := streamContent(t, b)
			if n != msgs {
				t.Errorf("stream holds %d messages, want %d", n, msgs)
			}
			checkExactlyOnce(t, got, []int64{1, 2}, 1, count)
		})
	}
}

// startBusAt starts a bus on a fixed store directory and listen address (to restart
// "the same server").
func startBusAt(t *testing.T, dir, listen string, devs bus.DeviceAuth) *bus.Bus {
	t.Helper()
	cfg := bus.DefaultConfig()
	cfg.Listen, cfg.StoreDir, cfg.Devices = listen, dir, devs
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	b, err := bus.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// TestSimulatorSurvivesServerRestart stops the server while the simulator publishes
// and starts a new one on the same store and port: the simulator reconnects, re-sends
// what was not acknowledged, and in the end every generated detection is in the stream
// exactly once.
func TestSimulatorSurvivesServerRestart(t *testing.T) {
	for _, batch := range []int{1, 20} {
		t.Run("batch"+strconv.Itoa(batch), func(t *testing.T) {
			dir, devs := t.TempDir(), devices()
			b := startBusAt(t, dir, "127.0.0.1:-1", devs)
			url := b.ClientURL()
			_, port, _ := net.SplitHostPort(url[len("nats://"):])
			js := connectDevice(t, url)

			const count = 3000
			lines := []int64{1, 2, 3}
			var specs []LineSpec
			for _, l := range lines {
				specs = append(specs, LineSpec{Line: l, Rate: 600, Jitter: 0.3, MicroStopEvery: time.Second, MicroStopFor: 100 * time.Millisecond})
			}
			s, err := New(Config{Tenant: "acme", Lines: specs, Batch: batch, Count: count, FirstID: 1,
				Window: 64, AckTimeout: 2 * time.Second, Logger: quietLog()}, js)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- s.Run(ctx) }()

			testkit.CheckFor(t, time.Minute, 5*time.Millisecond, func() error {
				select {
				case err := <-done:
					t.Fatalf("Run returned before the restart: %v", err)
				default:
				}
				n := s.Stats().Acked
				return testkit.Unless(n >= count/3, "%d of %d acknowledged", n, count/3)
			})
			_ = b.Close()
			before := s.Stats()
			time.Sleep(500 * time.Millisecond) // the lines keep generating meanwhile
			b = startBusAt(t, dir, "127.0.0.1:"+port, devs)

			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			case <-ctx.Done():
				t.Fatalf("Run did not finish after the restart: %+v", s.Stats())
			}
			st := s.Stats()
			if st.Published != count*3 || st.Acked != count*3 || st.Pending != 0 {
				t.Fatalf("Stats() = %+v, want all %d detections acknowledged", st, 3*count)
			}
			if before.Acked >= count*3 {
				t.Fatalf("everything was acknowledged before the restart (%+v): the test proves nothing", before)
			}
			got, _ := streamContent(t, b)
			checkExactlyOnce(t, got, lines, 1, count)
			t.Logf("acked before restart %d of %d detections; resent %d messages, %d duplicates", before.Acked, 3*count, st.Resent, st.Duplicates)
		})
	}
}

// TestDeviceOptions: the options refuse a malformed user, and a device connected with
// them can publish only within its permissions (the ack inbox works).
func TestDeviceOptions(t *testing.T) {
	if _, err := DeviceOptions("no-dot", "x", nil); err == nil {
		t.Error("a user without <tenant>.<device> was accepted")
	}
	b := bustest.Run(t, func(c *bus.Config) { c.Devices = devices() })
	js := connectDevice(t, b.ClientURL())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ack, err := js.Publish(ctx, bus.DetSubject("acme", 9), []byte(`{"id":1,"at":"2026-03-02T06:00:00.000Z","area":1,"product":1}`))
	if err != nil || ack.Stream != bus.DetStream {
		t.Fatalf("publish with the device options: %v %+v", err, ack)
	}
	opts, _ := DeviceOptions(devUser, "wrong", nil)
	if nc, err := nats.Connect(b.ClientURL(), opts...); err == nil {
		nc.Close()
		t.Fatal("a wrong password connected")
	} else if !errors.Is(err, nats.ErrAuthorization) {
		t.Logf("wrong password refused with: %v", err)
	}
}

// TestLineNotAllowedIsReported: publishing to a line the device was not given is never
// acknowledged; the simulator keeps re-sending, logs the server's refusal, and Run
// reports the unacknowledged messages when it is stopped.
func TestLineNotAllowedIsReported(t *testing.T) {
	devs := bustest.Devices(map[string]bustest.Cred{devUser: {Password: devPass, Lines: []int64{1}}})
	b := bustest.Run(t, func(c *bus.Config) { c.Devices = devs })
	var logs syncLog
	opts, _ := DeviceOptions(devUser, devPass, slog.New(slog.NewTextHandler(&logs, nil)))
	nc, err := nats.Connect(b.ClientURL(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	s, err := New(Config{Tenant: "acme", Lines: []LineSpec{{Line: 2, Rate: 100}}, Count: 1, FirstID: 1,
		AckTimeout: 100 * time.Millisecond, Drain: 300 * time.Millisecond, Sleep: noSleep, Logger: quietLog()}, js)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	testkit.CheckFor(t, time.Minute, 20*time.Millisecond, func() error {
		return testkit.Unless(s.Stats().Resent >= 2 && strings.Contains(logs.String(), "Permissions Violation"),
			"no re-send or no refusal logged: %+v\n%s", s.Stats(), logs.String())
	})
	cancel()
	if err := <-done; err == nil || s.Stats().Acked != 0 {
		t.Fatalf("Run() = %v, %+v: want the unacknowledged message reported", err, s.Stats())
	}
}

type syncLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
