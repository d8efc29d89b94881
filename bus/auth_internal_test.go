package bus

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"log/slog"

	"github.com/nats-io/nats.go"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type fakeAuth func(ctx context.Context, user, password string) (Device, error)

func (f fakeAuth) AuthenticateDevice(ctx context.Context, user, password string) (Device, error) {
	return f(ctx, user, password)
}

func TestInternalUserRefusedOverTCPAndFailuresLogged(t *testing.T) {
	var logs syncBuffer
	cfg := DefaultConfig()
	cfg.Listen = "127.0.0.1:-1"
	cfg.StoreDir = t.TempDir()
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	cfg.Devices = fakeAuth(func(_ context.Context, user, _ string) (Device, error) {
		if user == "acme.liar" {
			return Device{Tenant: "globex", Name: "liar"}, nil // identity mismatch
		}
		return Device{}, context.DeadlineExceeded
	})
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	// The real internal credentials are useless over TCP.
	nc, err := nats.Connect(b.ClientURL(), nats.UserInfo(b.auth.internalUser, b.auth.internalPass),
		nats.NoReconnect(), nats.Timeout(5*time.Second))
	if err == nil {
		nc.Close()
		t.Fatal("internal user connected over TCP")
	}
	// A device whose DeviceAuth answer names another tenant is refused.
	nc, err = nats.Connect(b.ClientURL(), nats.UserInfo("acme.liar", "pw-never-logged"),
		nats.NoReconnect(), nats.Timeout(5*time.Second))
	if err == nil {
		nc.Close()
		t.Fatal("mismatched device connected")
	}
	// In-process it works.
	nc, err = b.Connect("internal")
	if err != nil {
		t.Fatal(err)
	}
	nc.Close()

	out := logs.String()
	if strings.Contains(out, b.auth.internalPass) || strings.Contains(out, "pw-never-logged") {
		t.Fatalf("a password was logged:\n%s", out)
	}
	found := false
	for line := range strings.Lines(out) {
		if strings.Contains(line, "level=INFO") && strings.Contains(line, `msg="bus: NATS authentication failed"`) &&
			strings.Contains(line, "user=acme.liar") {
			found = true
		}
	}
	if !found {
		t.Fatalf("auth failure not logged at Info:\n%s", out)
	}
	if !strings.Contains(out, "user="+b.auth.internalUser) {
		t.Fatalf("internal user refusal not logged:\n%s", out)
	}
}

func TestDevicePermissionSet(t *testing.T) {
	p := devicePermissions(Device{Tenant: "acme", Name: "cam1", Lines: []int64{3, 1, 3}})
	wantPub := []string{"lp.acme.line.3.det", "lp.acme.line.1.det", "lp.acme.node.cam1.telemetry"}
	if !slices.Equal(p.Publish.Allow, wantPub) || len(p.Publish.Deny) != 0 {
		t.Fatalf("publish = %+v", p.Publish)
	}
	if !slices.Equal(p.Subscribe.Allow, []string{"_INBOX.acme.cam1.>"}) || len(p.Subscribe.Deny) != 0 {
		t.Fatalf("subscribe = %+v", p.Subscribe)
	}
	if p.Response != nil {
		t.Fatalf("response = %+v", p.Response)
	}
	p = devicePermissions(Device{Tenant: "acme", Name: "cam1"})
	if !slices.Equal(p.Publish.Allow, []string{"lp.acme.line.*.det", "lp.acme.node.cam1.telemetry"}) {
		t.Fatalf("publish (all lines) = %+v", p.Publish)
	}
}
