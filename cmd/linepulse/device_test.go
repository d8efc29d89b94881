package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/linepulse/linepulse/ingest"
	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/store/storetest"
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
			ID          int64              `json:"id"`
			Lines       []int64            `json:"lines"`
			Credentials ingest.Credentials `json:"credentials"`
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
		auth := ingest.NewDeviceAuth(s, ingest.DeviceAuthConfig{})
		if _, err := auth.AuthenticateDevice(context.Background(), c.User, c.Password); err != nil {
			t.Fatalf("printed credentials refused: %v", err)
		}
		ten, _ := s.TenantBySlug(context.Background(), "acme")
		d, err := s.DeviceByName(context.Background(), ten.ID, "cam-01")
		if err != nil || d.SecretHash == c.Password || d.SecretHash != ingest.HashDeviceSecret(c.Password) {
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
