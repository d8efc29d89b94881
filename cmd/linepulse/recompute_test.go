package main

import (
	"strings"
	"testing"

	"github.com/linepulse/linepulse/store/storetest"
)

// TestRecomputeCommand: the command runs on a line (the re-computation itself is tested in
// package stream) and refuses bad input with one clear line.
func TestRecomputeCommand(t *testing.T) {
	cfg := storetest.Engines(t)[0].Config(t)
	db := []string{"--log-level", "error", "--data-dir", cfg.DataDir}
	cli := func(args ...string) (int, string, string) {
		t.Helper()
		return runCLI(t, "", append(args, db...)...)
	}
	if code, _, stderr := cli("tenant", "create", "--slug", "acme", "--name", "Acme"); code != 0 {
		t.Fatal(stderr)
	}
	if code, _, stderr := cli("line", "create", "--tenant", "acme", "--name", "L1"); code != 0 {
		t.Fatal(stderr)
	}
	code, out, stderr := cli("recompute", "--tenant", "acme", "--line", "1", "--from", "2026-01-07T00:00:00Z", "--to", "2026-01-08T00:00:00Z", "--format", "json")
	if code != 0 || !strings.Contains(out, `"events": 0`) && !strings.Contains(out, `"events":0`) {
		t.Fatalf("recompute: %d %s %s", code, out, stderr)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--tenant", "acme", "--line", "1", "--from", "yesterday", "--to", "2026-01-08T00:00:00Z"}, "--from: want an RFC 3339 time"},
		{[]string{"--tenant", "acme", "--from", "2026-01-07T00:00:00Z", "--to", "2026-01-08T00:00:00Z"}, "--line is required"},
		{[]string{"--tenant", "acme", "--line", "9", "--from", "2026-01-07T00:00:00Z", "--to", "2026-01-08T00:00:00Z"}, "not found"},
	} {
		code, _, stderr := cli(append([]string{"recompute"}, c.args...)...)
		if code == 0 || !strings.Contains(stderr, c.want) {
			t.Errorf("recompute %v: %d %q, want %q", c.args, code, stderr, c.want)
		}
	}
}
