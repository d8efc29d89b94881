package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/linepulse/linepulse/identity"
	"github.com/linepulse/linepulse/internal/testkit"
	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/store/storetest"
	"github.com/linepulse/linepulse/web"
)

func TestDeviceCommands(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		cfg := e.Config(t)
		db := []string{"--log-level", "error", "--data-dir", cfg.DataDir}
		if cfg.MySQLDSN != "" {
			db = []string{"--log-level", "error", "--mysql", cfg.MySQLDSN}
		}
		cli := func(args ...string) (int, string, string) {
			t.Helper()
			return runCLI(t, "", append(args, db...)...)
		}
		if code, _, stderr := cli("tenant", "create", "--slug", "acme", "--name", "Acme"); code != 0 {
			t.Fatal(stderr)
		}
		for range 2 {
			if code, _, stderr := cli("line", "create", "--tenant", "acme", "--name", "L"); code != 0 {
				t.Fatal(stderr)
			}
		}

		code, out, stderr := cli("device", "create", "--tenant", "acme", "--name", "cam-01", "--lines", "2, 1", "--format", "json", "--nats-url-hint", "nats://plant.example:4222")
		if code != 0 {
			t.Fatalf("device create: %s", stderr)
		}
		var created struct {
			ID          int64                `json:"id"`
			Lines       []int64              `json:"lines"`
			Credentials identity.Credentials `json:"credentials"`
		}
		if err := json.Unmarshal([]byte(out), &created); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, out)
		}
		c := created.Credentials
		if c.User != "acme.cam-01" || len(c.Password) != 43 || c.InboxPrefix != "_INBOX.acme.cam-01" || c.URL != "nats://plant.example:4222" ||
			strings.Join(c.Publish, " ") != "lp.acme.line.1.det lp.acme.line.2.det lp.acme.node.cam-01.telemetry" || len(created.Lines) != 2 {
			t.Fatalf("credentials %+v", created)
		}

		// The printed secret authenticates; the store holds only its hash.
		s, err := store.Open(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		auth := identity.NewDeviceAuth(s, identity.DeviceAuthConfig{})
		if _, err := auth.AuthenticateDevice(context.Background(), c.User, c.Password); err != nil {
			t.Fatalf("printed credentials refused: %v", err)
		}
		ten, _ := s.TenantBySlug(context.Background(), "acme")
		d, err := s.DeviceByName(context.Background(), ten.ID, "cam-01")
		if err != nil || d.SecretHash == c.Password || d.SecretHash != identity.HashDeviceSecret(c.Password) {
			t.Fatalf("stored %+v, %v", d, err)
		}

		code, out, stderr = cli("device", "create", "--tenant", "acme", "--name", "cam-02")
		if code != 0 || !strings.Contains(out, "lp.acme.line.*.det") || !strings.Contains(out, "nats req") || !strings.Contains(out, "shown only now") {
			t.Fatalf("text create: %d %s %s", code, out, stderr)
		}
		code, out, _ = cli("device", "list", "--tenant", "acme")
		if code != 0 || !strings.Contains(out, "cam-01") || !strings.Contains(out, "1,2") || !strings.Contains(out, "cam-02") || !strings.Contains(out, "all") {
			t.Fatalf("list: %s", out)
		}

		code, out, stderr = cli("device", "revoke", "--tenant", "acme", "--name", "cam-01", "--format", "json")
		if code != 0 || !strings.Contains(out, `"revoked_at"`) {
			t.Fatalf("revoke: %d %s %s", code, out, stderr)
		}
		if _, err := auth.AuthenticateDevice(context.Background(), c.User, c.Password); err == nil {
			t.Fatal("revoked device still authenticates")
		}
		// The external cluster's accounts: the revoked device is gone from them.
		code, out, stderr = cli("nats", "config")
		if code != 0 || strings.Contains(out, `"device:acme.cam-01"`) || !strings.Contains(out, `"device:acme.cam-02"`) ||
			!strings.Contains(out, `to: "lp.acme.line.*.det"`) || !strings.Contains(out, "$LP_DEVICE_") {
			t.Fatalf("nats config: %d %s %s", code, out, stderr)
		}
		code, out, _ = cli("device", "list", "--tenant", "acme", "--format", "json")
		var listed []store.Device
		if code != 0 || json.Unmarshal([]byte(out), &listed) != nil || len(listed) != 2 || listed[0].RevokedAt == nil || listed[1].RevokedAt != nil {
			t.Fatalf("list json: %s", out)
		}

		for _, bad := range []struct {
			args []string
			want string
		}{
			{[]string{"device", "create", "--tenant", "acme", "--name", "cam-01"}, "taken"},
			{[]string{"device", "create", "--tenant", "acme", "--name", "bad.name"}, "name"},
			{[]string{"device", "create", "--tenant", "acme", "--name", "x", "--lines", "1,zwei"}, "invalid --lines"},
			{[]string{"device", "create", "--tenant", "acme", "--name", "x", "--lines", "99"}, "line 99 does not exist"},
			{[]string{"device", "create", "--tenant", "nope", "--name", "x"}, `unknown tenant "nope"`},
			{[]string{"device", "revoke", "--tenant", "acme", "--name", "ghost"}, `no device "ghost"`},
		} {
			code, _, stderr := cli(bad.args...)
			oneClearLine(t, code, stderr, bad.want)
		}
	})
}

// TestDeviceDoorsShareOnePath: a running server and the CLI issue and revoke devices
// through the same path (identity.Devices): credentials of the same shape from both
// doors, both accepted by the server's NATS; the API's revoke closes a live connection
// of a device the CLI created, the CLI's revoke refuses a device the API created.
func TestDeviceDoorsShareOnePath(t *testing.T) {
	dir := t.TempDir()
	db := []string{"--data-dir", dir, "--log-level", "error"}
	cli := func(stdin string, args ...string) string {
		t.Helper()
		code, out, stderr := runCLI(t, stdin, append(args, db...)...)
		if code != 0 {
			t.Fatalf("%v: %s", args, stderr)
		}
		return out
	}
	cli("", "tenant", "create", "--slug", "acme", "--name", "Acme")
	cli("admin-password-1\n", "user", "create", "--tenant", "acme", "--email", "admin@acme.test", "--role", "tenant_admin", "--password-stdin")
	cli("", "line", "create", "--tenant", "acme", "--name", "L")

	addr, natsAddr := freeAddr(t), freeAddr(t)
	base := "http://" + addr
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var serveErr bytes.Buffer
	go func() {
		done <- run(ctx, append([]string{"serve", "--http", addr, "--nats-listen", natsAddr, "--nats-public-url", "nats://plant.example:4222"}, db...),
			strings.NewReader(""), io.Discard, &serveErr, func(string) string { return "" })
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve exited %d: %s", code, serveErr.String())
		}
	})
	testkit.CheckFor(t, time.Minute, 50*time.Millisecond, func() error {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		return testkit.Unless(resp.StatusCode == http.StatusOK, "serve not ready: %s", resp.Status)
	})
	token := login(t, base, "acme", "admin@acme.test", "admin-password-1")

	var byCLI struct {
		ID          int64                `json:"id"`
		Credentials identity.Credentials `json:"credentials"`
	}
	if err := json.Unmarshal([]byte(cli("", "device", "create", "--tenant", "acme", "--name", "cli-cam", "--format", "json", "--nats-url-hint", "nats://plant.example:4222")), &byCLI); err != nil {
		t.Fatal(err)
	}
	var byAPI web.DeviceCreated
	if code := apiCall(t, "POST", base+"/api/v1/devices", token, map[string]any{"name": "api-cam"}, &byAPI); code != http.StatusCreated {
		t.Fatalf("POST /api/v1/devices: %d", code)
	}
	for name, c := range map[string]identity.Credentials{"cli-cam": byCLI.Credentials, "api-cam": byAPI.Credentials} {
		inbox := "_INBOX.acme." + name
		if c.User != "acme."+name || len(c.Password) != 43 || c.InboxPrefix != inbox || c.URL != "nats://plant.example:4222" ||
			strings.Join(c.Publish, " ") != "lp.acme.line.*.det lp.acme.node."+name+".telemetry" || strings.Join(c.Subscribe, " ") != inbox+".>" {
			t.Errorf("%s: credentials %+v", name, c)
		}
	}

	dial := func(c identity.Credentials) (*nats.Conn, chan struct{}, error) {
		closed := make(chan struct{})
		nc, err := nats.Connect("nats://"+natsAddr, nats.UserInfo(c.User, c.Password), nats.CustomInboxPrefix(c.InboxPrefix),
			nats.NoReconnect(), nats.ClosedHandler(func(*nats.Conn) { close(closed) }))
		if err == nil {
			t.Cleanup(nc.Close)
		}
		return nc, closed, err
	}
	_, cliClosed, err := dial(byCLI.Credentials)
	if err != nil {
		t.Fatalf("CLI-issued credentials refused: %v", err)
	}
	if _, _, err := dial(byAPI.Credentials); err != nil {
		t.Fatalf("API-issued credentials refused: %v", err)
	}

	// The API revokes the CLI's device: its live connection is closed at once.
	if code := apiCall(t, "DELETE", base+"/api/v1/devices/"+strconv.FormatInt(byCLI.ID, 10), token, nil, nil); code != http.StatusNoContent {
		t.Fatalf("DELETE: %d", code)
	}
	select {
	case <-cliClosed:
	case <-time.After(time.Minute):
		t.Fatal("device revoked through the API still connected")
	}
	if _, _, err := dial(byCLI.Credentials); err == nil {
		t.Fatal("device revoked through the API reconnected")
	}
	// The CLI revokes the API's device: refused from its next connection attempt.
	cli("", "device", "revoke", "--tenant", "acme", "--name", "api-cam")
	if _, _, err := dial(byAPI.Credentials); err == nil {
		t.Fatal("device revoked through the CLI reconnected")
	}
}

// apiCall sends a JSON request with a bearer token, decodes a JSON answer into out and
// returns the status.
func apiCall(t *testing.T, method, url, token string, body, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil && resp.StatusCode < 300 {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode
}
