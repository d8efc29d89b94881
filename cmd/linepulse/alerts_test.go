package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/store/storetest"
)

// TestAlertAndChannelCommands drives alert-rule and notification-channel on both engines:
// the API's checks apply, every change leaves a CLI audit entry, no secret is ever printed
// or audited, and one tenant cannot reach another's channels or rules.
func TestAlertAndChannelCommands(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		cfg, db := cliDB(t, e)
		cli := func(args ...string) (int, string, string) {
			t.Helper()
			return runCLI(t, "", append(args, db...)...)
		}
		must := func(args ...string) string {
			t.Helper()
			code, out, stderr := cli(args...)
			if code != 0 {
				t.Fatalf("%v: %s", args, stderr)
			}
			return out
		}
		idOf := func(out string) string {
			t.Helper()
			var v struct {
				ID int64 `json:"id"`
			}
			if err := json.Unmarshal([]byte(out), &v); err != nil || v.ID <= 0 {
				t.Fatalf("no id in %q: %v", out, err)
			}
			return strconv.FormatInt(v.ID, 10)
		}
		const hookSecret, smtpPassword = "hook-secret-Zq81", "smtp-password-Kx27"
		for _, slug := range []string{"acme", "beta"} {
			must("tenant", "create", "--slug", slug, "--name", slug)
		}
		for range 2 {
			must("line", "create", "--tenant", "acme", "--name", "L")
		}

		hook := idOf(must("notification-channel", "create", "--tenant", "acme", "--name", "ops hook", "--kind", "webhook", "--format", "json",
			"--config-json", `{"url":"https://hooks.example/x","secret":"`+hookSecret+`","format":"slack"}`))
		cfgFile := filepath.Join(t.TempDir(), "smtp.json")
		if err := os.WriteFile(cfgFile, []byte(`{"host":"smtp.example","port":587,"username":"u","password":"`+smtpPassword+`","from":"lp@acme.test","to":["boss@acme.test"]}`), 0o600); err != nil {
			t.Fatal(err)
		}
		mail := idOf(must("notification-channel", "create", "--tenant", "acme", "--name", "boss", "--kind", "email", "--config-file", cfgFile, "--format", "json"))
		if out := must("notification-channel", "create", "--tenant", "acme", "--name", "bell", "--kind", "browser"); !strings.Contains(out, "browser") {
			t.Fatalf("text create: %s", out)
		}

		if code, out, stderr := runCLI(t, `{"url":"https://hooks.example/teams","format":"teams"}`, append([]string{"notification-channel", "create", "--tenant", "acme",
			"--name", "teams", "--kind", "webhook", "--config-file", "-"}, db...)...); code != 0 || !strings.Contains(out, "teams") {
			t.Fatalf("config on stdin: %s %s", out, stderr)
		}
		if code, _, stderr := cli("notification-channel", "create", "--tenant", "acme", "--name", "x", "--kind", "browser", "--config-file", cfgFile, "--config-json", "{}"); code == 0 || !strings.Contains(stderr, "not both") {
			t.Errorf("two configs: %s", stderr)
		}

		// The store's checks, as in the API.
		for _, bad := range [][]string{
			{"--kind", "sms"},
			{"--kind", "webhook", "--config-json", `{"url":"ftp://x"}`},
			{"--kind", "webhook", "--config-json", `{"url":"https://x","sekret":"typo"}`},
			{"--kind", "email", "--config-json", `{"host":"h"}`},
		} {
			if code, _, stderr := cli(append([]string{"notification-channel", "create", "--tenant", "acme", "--name", "x"}, bad...)...); code == 0 || stderr == "" {
				t.Errorf("%v accepted", bad)
			}
		}

		rule := idOf(must("alert-rule", "create", "--tenant", "acme", "--name", "line down", "--kind", "line_down", "--lines", "1,2", "--after", "30s",
			"--severity", "critical", "--channels", hook+","+mail, "--escalate-after", "10m", "--escalate-channels", mail, "--format", "json"))
		must("alert-rule", "create", "--tenant", "acme", "--name", "low oee", "--kind", "oee_below", "--threshold", "0.6", "--metric", "availability", "--channels", hook)
		for _, bad := range []struct {
			args []string
			want string
		}{
			{[]string{"--kind", "line_down", "--channels", "99"}, "no such notification channel"},
			{[]string{"--kind", "line_down", "--channels", hook, "--lines", "99"}, "no such line"},
			{[]string{"--kind", "oee_below", "--channels", hook, "--threshold", "2"}, "threshold"},
			{[]string{"--kind", "line_down", "--channels", hook, "--escalate-after", "5m"}, "escalate_channels"},
			{[]string{"--kind", "nope", "--channels", hook}, "kind"},
		} {
			code, _, stderr := cli(append([]string{"alert-rule", "create", "--tenant", "acme", "--name", "x"}, bad.args...)...)
			if code == 0 || !strings.Contains(stderr, bad.want) {
				t.Errorf("%v: %d %q, want %q", bad.args, code, stderr, bad.want)
			}
		}

		// Tenant isolation: beta sees none of acme's and cannot use or delete them.
		if code, _, stderr := cli("alert-rule", "create", "--tenant", "beta", "--name", "x", "--kind", "node_offline", "--channels", hook); code == 0 || !strings.Contains(stderr, "no such notification channel") {
			t.Errorf("beta used acme's channel: %s", stderr)
		}
		for _, kind := range []string{"alert-rule", "notification-channel"} {
			if out := must(kind, "list", "--tenant", "beta", "--format", "json"); strings.TrimSpace(out) != "[]" {
				t.Errorf("beta's %s list: %s", kind, out)
			}
		}
		if code, _, stderr := cli("alert-rule", "delete", "--tenant", "beta", "--id", rule); code == 0 || !strings.Contains(stderr, "has no alert rule") {
			t.Errorf("beta deleted acme's rule: %s", stderr)
		}
		if code, _, _ := cli("notification-channel", "delete", "--tenant", "beta", "--id", hook); code == 0 {
			t.Error("beta deleted acme's channel")
		}

		// Lists: every field but the secrets.
		chText, chJSON := must("notification-channel", "list", "--tenant", "acme"), must("notification-channel", "list", "--tenant", "acme", "--format", "json")
		for _, out := range []string{chText, chJSON} {
			if !strings.Contains(out, "ops hook") || !strings.Contains(out, "boss") || !strings.Contains(out, "bell") || !strings.Contains(out, "teams") {
				t.Errorf("channel list: %s", out)
			}
		}
		if !strings.Contains(chJSON, "hooks.example") || !strings.Contains(chJSON, "boss@acme.test") {
			t.Errorf("channel list JSON lacks the config: %s", chJSON)
		}
		ruleText := must("alert-rule", "list", "--tenant", "acme")
		if !strings.Contains(ruleText, "line down") || !strings.Contains(ruleText, "1,2") || !strings.Contains(ruleText, "10m0s") || !strings.Contains(ruleText, "low oee") {
			t.Errorf("rule list: %s", ruleText)
		}
		var rules []store.AlertRule
		if err := json.Unmarshal([]byte(must("alert-rule", "list", "--tenant", "acme", "--format", "json")), &rules); err != nil || len(rules) != 2 ||
			rules[0].Severity != "critical" || rules[0].After.D().String() != "30s" || len(rules[0].EscalateChannels) != 1 || !rules[0].Active ||
			rules[1].Metric != "availability" || rules[1].Threshold != 0.6 || len(rules[1].Lines) != 0 {
			t.Fatalf("rules %+v, %v", rules, err)
		}

		must("alert-rule", "delete", "--tenant", "acme", "--id", rule)
		must("notification-channel", "delete", "--tenant", "acme", "--id", hook, "--format", "json")
		if out := must("alert-rule", "list", "--tenant", "acme"); strings.Contains(out, "line down") {
			t.Errorf("deleted rule listed: %s", out)
		}

		// One AUDIT_LOG entry per change, by the CLI (user 0), with no secret in it.
		s, err := store.Open(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		ten, _ := s.TenantBySlug(context.Background(), "acme")
		es, err := s.AuditEntries(context.Background(), ten.ID, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		count := map[string]int{}
		for _, en := range es {
			d := string(en.Details)
			if strings.Contains(d, hookSecret) || strings.Contains(d, smtpPassword) {
				t.Errorf("audit entry %s carries a secret: %s", en.Action, d)
			}
			if strings.HasPrefix(en.Action, "config.alert_rule.") || strings.HasPrefix(en.Action, "config.notification_channel.") {
				var det struct {
					Via string `json:"via"`
				}
				if err := json.Unmarshal(en.Details, &det); err != nil || det.Via != "cli" || en.UserID != 0 {
					t.Errorf("%s: user %d details %s", en.Action, en.UserID, d)
				}
				count[en.Action]++
			}
		}
		want := map[string]int{"config.notification_channel.create": 4, "config.alert_rule.create": 2, "config.alert_rule.delete": 1, "config.notification_channel.delete": 1}
		for a, n := range want {
			if count[a] != n {
				t.Errorf("%s: %d audit entries, want %d (all: %v)", a, count[a], n, count)
			}
		}

		// The secrets are stored (the sender needs them) and were never printed.
		tdb, err := s.Tenant(context.Background(), ten.ID)
		if err != nil {
			t.Fatal(err)
		}
		mailID, _ := strconv.ParseInt(mail, 10, 64)
		if ch, err := tdb.AlertChannels.Get(context.Background(), mailID); err != nil || ch.Config.Password != smtpPassword {
			t.Fatalf("stored channel %+v, %v", ch.Redacted(), err)
		}
		for _, out := range []string{chText, chJSON} {
			if strings.Contains(out, hookSecret) || strings.Contains(out, smtpPassword) {
				t.Errorf("list printed a secret: %s", out)
			}
		}
	})
}
