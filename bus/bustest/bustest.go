// Package bustest runs a real embedded LinePulse bus for tests of other packages,
// the way nats-server's RunBasicJetStreamServer does: a random loopback port, a
// JetStream store in t.TempDir(), shut down by t.Cleanup.
package bustest

import (
	"context"
	"crypto/subtle"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/linepulse/linepulse/bus"
)

// Run starts a bus with bus.DefaultConfig(), Listen "127.0.0.1:-1" (a random free
// loopback port, see Bus.ClientURL), StoreDir t.TempDir() and a discarding logger,
// after applying mutate in order. It fails the test if the bus does not start within
// 30 s and closes it in t.Cleanup.
func Run(t testing.TB, mutate ...func(*bus.Config)) *bus.Bus {
	t.Helper()
	cfg := bus.DefaultConfig()
	cfg.Listen = "127.0.0.1:-1"
	cfg.StoreDir = t.TempDir()
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, m := range mutate {
		m(&cfg)
	}
	b, err := bus.New(cfg)
	if err != nil {
		t.Fatalf("bustest: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.Start(ctx); err != nil {
		t.Fatalf("bustest: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// Connect opens an in-process, fully privileged connection named name, closed in t.Cleanup.
func Connect(t testing.TB, b *bus.Bus, name string) *nats.Conn {
	t.Helper()
	nc, err := b.Connect(name)
	if err != nil {
		t.Fatalf("bustest: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// ConsumerIdle reports whether the durable consumer of the detection stream has nothing
// pending or unacknowledged (false while it does not exist yet).
func ConsumerIdle(t testing.TB, b *bus.Bus, durable string) bool {
	t.Helper()
	js, err := jetstream.New(Connect(t, b, "bustest-info"))
	if err != nil {
		t.Fatalf("bustest: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := js.Consumer(ctx, bus.DetStream, durable)
	if err != nil {
		return false
	}
	info := c.CachedInfo()
	return info.NumPending == 0 && info.NumAckPending == 0
}

// Cred is a fake device credential: the password and the lines (empty = all).
type Cred struct {
	Password string
	Lines    []int64
}

// ErrBadCredentials is what the fake DeviceAuth returns for an unknown user or a wrong password.
var ErrBadCredentials = errors.New("bustest: bad device credentials")

// FakeDevices is an in-memory bus.DeviceAuth keyed by NATS user "<tenant>.<device>".
// It is safe for concurrent use; Set and Delete change it while the bus runs.
type FakeDevices struct {
	mu    sync.Mutex
	creds map[string]Cred
	calls int
}

// Devices returns a FakeDevices holding creds (user "<tenant>.<device>" -> Cred).
func Devices(creds map[string]Cred) *FakeDevices {
	f := &FakeDevices{creds: make(map[string]Cred, len(creds))}
	for u, c := range creds {
		f.creds[u] = c
	}
	return f
}

// Set adds or replaces a device.
func (f *FakeDevices) Set(user string, c Cred) {
	f.mu.Lock()
	f.creds[user] = c
	f.mu.Unlock()
}

// Delete revokes a device.
func (f *FakeDevices) Delete(user string) {
	f.mu.Lock()
	delete(f.creds, user)
	f.mu.Unlock()
}

// Calls returns how many times AuthenticateDevice ran.
func (f *FakeDevices) Calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// AuthenticateDevice implements bus.DeviceAuth.
func (f *FakeDevices) AuthenticateDevice(_ context.Context, user, password string) (bus.Device, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	c, ok := f.creds[user]
	if !ok || subtle.ConstantTimeCompare([]byte(c.Password), []byte(password)) != 1 {
		return bus.Device{}, ErrBadCredentials
	}
	tenant, device, ok := bus.ParseDeviceUser(user)
	if !ok {
		return bus.Device{}, ErrBadCredentials
	}
	return bus.Device{Tenant: tenant, Name: device, Lines: append([]int64(nil), c.Lines...)}, nil
}

// Stored is one device message as LP_DET holds it: alone, or one part of a pack
// (bus.PartsHeader).
type Stored struct {
	Seq     uint64 // the stream message's sequence (shared by a pack's parts)
	Subject string
	Body    []byte
	ID      string // scoped Nats-Msg-Id, "" when it had none
}

// StoredMessages reads every device message in LP_DET, in order, packs expanded.
func StoredMessages(t testing.TB, b *bus.Bus) []Stored {
	t.Helper()
	nc := Connect(t, b, "bustest-reader")
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("bustest: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := js.Stream(ctx, bus.DetStream)
	if err != nil {
		t.Fatalf("bustest: %v", err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatalf("bustest: %v", err)
	}
	var out []Stored
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			t.Fatalf("bustest: get message %d: %v", seq, err)
		}
		first := len(out)
		bus.Parts(m.Header, m.Data, func(part []byte) {
			out = append(out, Stored{Seq: seq, Subject: m.Subject, Body: part})
		})
		ids := m.Header.Values(bus.IDHeader)
		if id := m.Header.Get(jetstream.MsgIDHeader); id != "" {
			ids = []string{id}
		}
		if len(ids) == len(out)-first { // every part had an id: they are in order
			for i, id := range ids {
				out[first+i].ID = id
			}
		}
	}
	return out
}
