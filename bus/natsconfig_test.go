package bus_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/linepulse/linepulse/bus"
)

// TestAccountsConfigOnAStandaloneServer: the printed configuration, loaded by a plain
// nats-server, routes a device's request to LinePulse's edge subject and its answer
// back, and keeps the device away from LinePulse's subjects.
func TestAccountsConfigOnAStandaloneServer(t *testing.T) {
	var cfg strings.Builder
	if err := bus.WriteAccountsConfig(&cfg, []bus.ConfigDevice{
		{Device: bus.Device{Tenant: "acme", Name: "cam-1", Lines: []int64{3}}, PasswordVar: bus.DevicePasswordVar(1, 7)},
	}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("LINEPULSE_NATS_PASSWORD", "lp-secret")
	t.Setenv("LP_DEVICE_1_7", "dev-secret")
	dir := t.TempDir()
	file := filepath.Join(dir, "nats.conf")
	conf := "listen: 127.0.0.1:-1\njetstream { store_dir: " + strconvQuote(dir) + " }\n" + cfg.String()
	if err := os.WriteFile(file, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	opts, err := server.ProcessConfigFile(file)
	if err != nil {
		t.Fatalf("%v\n%s", err, conf)
	}
	opts.NoSigs, opts.NoLog = true, true
	srv, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	t.Cleanup(srv.Shutdown)
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("not ready")
	}
	lp, err := nats.Connect(srv.ClientURL(), nats.UserInfo("linepulse", "lp-secret"))
	if err != nil {
		t.Fatal(err)
	}
	defer lp.Close()
	if _, err := lp.Subscribe("lp._edge.*.*.*", func(m *nats.Msg) { _ = m.Respond([]byte(m.Subject)) }); err != nil {
		t.Fatal(err)
	}
	spy, _ := lp.SubscribeSync("$KV.>")
	_ = lp.Flush()
	dev, err := nats.Connect(srv.ClientURL(), nats.UserInfo("acme.cam-1", "dev-secret"), nats.CustomInboxPrefix("_INBOX.acme.cam-1"))
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	m, err := dev.Request("lp.acme.line.3.det", []byte(`{}`), 5*time.Second)
	if err != nil || string(m.Data) != "lp._edge.acme.cam-1.3" {
		t.Fatalf("request through the edge import: %v %v", m, err)
	}
	_ = dev.PublishRequest("lp.acme.line.3.det", "$KV.LP_LEASE.kpi-engine", []byte(`{}`))
	_ = dev.Flush()
	if m, err := spy.NextMsg(300 * time.Millisecond); err == nil {
		t.Fatalf("a device's reply reached LinePulse's account: %s", m.Subject)
	}
	if _, err := dev.Request("lp.acme.line.4.det", []byte(`{}`), 300*time.Millisecond); err == nil {
		t.Fatal("a line outside the device's permissions answered")
	}
}

func strconvQuote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }
