package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/linepulse/linepulse/audit"
	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/store/storetest"
)

// auditFixture makes a database whose tenant "acme" has five chained audit entries (and
// the platform chain one), and returns the CLI's store flags and a raw connection for
// tampering.
func auditFixture(t *testing.T, e storetest.Engine) ([]string, *sql.DB) {
	t.Helper()
	ctx := context.Background()
	cfg := e.Config(t)
	s, err := store.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ten := storetest.Tenant(t, s, "acme")
	for i, a := range []string{"login.success", "config.line.create", "user.update", "downtime.reason", "logout"} {
		en := store.AuditEntry{TenantID: ten.ID(), UserID: int64(i + 1), Action: a, IP: "192.0.2.1", Details: store.JSON(`{"n":` + strconv.Itoa(i) + `,"who":"x"}`)}
		if err := s.AppendAuditAnchored(ctx, &en, audit.Hash); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AppendAuditAnchored(ctx, &store.AuditEntry{Action: "tenant.create"}, audit.Hash); err != nil {
		t.Fatal(err)
	}
	s.Close()
	var db *sql.DB
	var flags []string
	if e.Name == "sqlite" {
		db, err = sql.Open("sqlite", filepath.Join(cfg.DataDir, "global.db"))
		flags = []string{"--data-dir", cfg.DataDir}
	} else {
		db, err = sql.Open("mysql", cfg.MySQLDSN)
		flags = []string{"--mysql", cfg.MySQLDSN}
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return flags, db
}

func TestAuditVerifyDetectsEveryEditAndDeletion(t *testing.T) {
	cases := []struct {
		name   string
		tamper []string // SQL run against the global database
		want   string   // in the error line: the first broken entry
	}{
		{"intact", nil, ""},
		{"details edited", []string{"UPDATE `audit_log` SET `details` = '{\"n\":2,\"who\":\"y\"}' WHERE `seq` = 3 AND `tenant_id` <> 0"}, "seq 3"},
		{"action edited", []string{"UPDATE `audit_log` SET `action` = 'login.failure' WHERE `seq` = 1 AND `tenant_id` <> 0"}, "seq 1"},
		{"time edited", []string{"UPDATE `audit_log` SET `at` = '2001-01-01 00:00:00' WHERE `seq` = 2 AND `tenant_id` <> 0"}, "seq 2"},
		{"user edited", []string{"UPDATE `audit_log` SET `user_id` = 99 WHERE `seq` = 4 AND `tenant_id` <> 0"}, "seq 4"},
		{"ip edited", []string{"UPDATE `audit_log` SET `ip_address` = '10.0.0.1' WHERE `seq` = 5 AND `tenant_id` <> 0"}, "seq 5"},
		{"middle deleted", []string{"DELETE FROM `audit_log` WHERE `seq` = 3 AND `tenant_id` <> 0"}, "seq 4"},
		{"first deleted", []string{"DELETE FROM `audit_log` WHERE `seq` = 1 AND `tenant_id` <> 0"}, "seq 2"},
		{"last deleted", []string{"DELETE FROM `audit_log` WHERE `seq` = 5 AND `tenant_id` <> 0"}, "seq 5"},
		{"all deleted", []string{"DELETE FROM `audit_log` WHERE `tenant_id` <> 0"}, "seq 1"},
		{"moved to another tenant", []string{"UPDATE `audit_log` SET `tenant_id` = 0, `seq` = 2 WHERE `seq` = 5 AND `tenant_id` <> 0"}, "seq 5"},
		{"hash rewritten", []string{"UPDATE `audit_log` SET `hash` = `prev_hash` WHERE `seq` = 2 AND `tenant_id` <> 0"}, "seq 2"},
	}
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				flags, db := auditFixture(t, e)
				for _, q := range c.tamper {
					if _, err := db.Exec(q); err != nil {
						t.Fatalf("tamper: %v", err)
					}
				}
				code, out, errOut := runCLI(t, "", append([]string{"audit", "verify", "--tenant", "acme"}, flags...)...)
				if c.want == "" {
					if code != 0 || !strings.Contains(out, "intact") || !strings.Contains(out, "5") {
						t.Fatalf("intact chain: exit %d\n%s\n%s", code, out, errOut)
					}
					return
				}
				if code != 1 || !strings.Contains(errOut, c.want) || !strings.Contains(out, "BROKEN") {
					t.Fatalf("exit %d, want 1 naming %q\nstdout: %s\nstderr: %s", code, c.want, out, errOut)
				}
			})
		}
	})
}

// An attacker who rewrites the newest entry and recomputes its hash (the chain itself is
// consistent again) is caught by the anchor kept apart from the chain.
func TestAuditVerifyCatchesARecomputedTail(t *testing.T) {
	e := storetest.Engines(t)[0]
	flags, db := auditFixture(t, e)
	ctx := context.Background()
	s, err := store.Open(ctx, store.Config{DataDir: flags[1]})
	if err != nil {
		t.Fatal(err)
	}
	tail, err := s.AuditEntries(ctx, 1, 4, 1)
	s.Close()
	if err != nil || len(tail) != 1 {
		t.Fatal(err)
	}
	en := tail[0]
	en.Details = store.JSON(`{"n":4,"who":"nobody"}`)
	h := audit.Hash(en.PrevHash, &en)
	if _, err := db.Exec("UPDATE `audit_log` SET `details` = ?, `hash` = ? WHERE `id` = ?", string(en.Details), h, en.ID); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "", append([]string{"audit", "verify", "--tenant", "acme", "--format", "json"}, flags...)...)
	if code != 1 || !strings.Contains(errOut, "seq 5") || !strings.Contains(out, `"ok": false`) {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
}

func TestAuditVerifyAllChainsAndErrors(t *testing.T) {
	e := storetest.Engines(t)[0]
	flags, _ := auditFixture(t, e)
	code, out, errOut := runCLI(t, "", append([]string{"audit", "verify", "--all"}, flags...)...)
	if code != 0 || !strings.Contains(out, "platform") || !strings.Contains(out, "tenant acme") {
		t.Fatalf("--all: exit %d\n%s\n%s", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, "", append([]string{"audit", "verify", "--tenant", "nope"}, flags...)...); code != 1 || !strings.Contains(errOut, "unknown tenant") {
		t.Fatalf("unknown tenant: %d %s", code, errOut)
	}
	if code, _, _ := runCLI(t, "", append([]string{"audit", "verify", "--page-size", "0"}, flags...)...); code != 1 {
		t.Fatalf("bad page size: %d", code)
	}
}

// TestCLIChangesAreAudited: what the CLI changes lands in the tenant's (or the
// platform's) audit chain like the API's changes, as user 0 via the CLI, without
// passwords or secrets, and the chains still verify.
func TestCLIChangesAreAudited(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		cfg := e.Config(t)
		db := []string{"--log-level", "error", "--data-dir", cfg.DataDir}
		if cfg.MySQLDSN != "" {
			db = []string{"--log-level", "error", "--mysql", cfg.MySQLDSN}
		}
		cli := func(stdin string, args ...string) string {
			t.Helper()
			code, out, stderr := runCLI(t, stdin, append(args, db...)...)
			if code != 0 {
				t.Fatalf("%v: %s", args, stderr)
			}
			return out
		}
		cli("", "tenant", "create", "--slug", "acme", "--name", "Acme")
		cli("acme-password-1\n", "user", "create", "--tenant", "acme", "--email", "admin@acme.test", "--role", "tenant_admin", "--password-stdin")
		cli("root-password-1\n", "user", "create", "--email", "root@platform.test", "--role", "platform_admin", "--password-stdin")
		created := cli("", "device", "create", "--tenant", "acme", "--name", "cam-1", "--format", "json")
		cli("", "device", "revoke", "--tenant", "acme", "--name", "cam-1")

		s, err := store.Open(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		ten, err := s.TenantBySlug(context.Background(), "acme")
		if err != nil {
			t.Fatal(err)
		}
		type detail struct {
			ID     int64          `json:"id"`
			Via    string         `json:"via"`
			Before map[string]any `json:"before"`
			After  map[string]any `json:"after"`
		}
		var cred struct {
			Credentials struct {
				Password string `json:"password"`
			} `json:"credentials"`
		}
		if err := json.Unmarshal([]byte(created), &cred); err != nil || cred.Credentials.Password == "" {
			t.Fatalf("device create output: %v %s", err, created)
		}
		chain := func(tenantID int64) (actions []string, details []detail) {
			entries, err := s.AuditEntries(context.Background(), tenantID, 0, 100)
			if err != nil {
				t.Fatal(err)
			}
			for _, en := range entries {
				for _, secret := range []string{"acme-password-1", "root-password-1", "argon2id", "secret_hash", cred.Credentials.Password} {
					if strings.Contains(string(en.Details), secret) {
						t.Errorf("%s entry holds %q: %s", en.Action, secret, en.Details)
					}
				}
				var d detail
				if err := json.Unmarshal(en.Details, &d); err != nil || en.UserID != 0 || d.Via != "cli" || d.ID == 0 {
					t.Errorf("entry %+v: details %s (%v)", en, en.Details, err)
				}
				actions = append(actions, en.Action)
				details = append(details, d)
			}
			return actions, details
		}
		acts, details := chain(ten.ID)
		if strings.Join(acts, " ") != "user.create device.create device.delete" {
			t.Fatalf("acme's chain: %v", acts)
		}
		if details[0].After["email"] != "admin@acme.test" || details[1].After["name"] != "cam-1" || details[2].Before["name"] != "cam-1" {
			t.Errorf("details %+v", details)
		}
		if acts, details := chain(0); strings.Join(acts, " ") != "tenant.create user.create" || details[0].After["slug"] != "acme" ||
			details[1].After["role"] != "platform_admin" {
			t.Fatalf("platform chain: %v %+v", acts, details)
		}
		cli("", "audit", "verify", "--all")
	})
}
