package main

import (
	"context"
	"os"
	"runtime"
	"strings"
	"testing"
)

// mainEnv makes the test binary behave as the linepulse binary, for the child process
// that `bench fanout` starts from os.Executable.
const mainEnv = "LINEPULSE_TEST_AS_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(mainEnv) == "1" {
		os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
	}
	os.Exit(m.Run())
}

// lastLine is the last line of a command's output.
func lastLine(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return lines[len(lines)-1]
}

// TestBenchCommandsRun runs each bench subcommand once with tiny settings: the flags
// reach the bench and its report reaches stdout (the benches' own tests are in
// internal/bench).
func TestBenchCommandsRun(t *testing.T) {
	t.Run("ingest", func(t *testing.T) {
		code, out, errOut := runCLI(t, "", "bench", "ingest", "--duration", "1s", "--latency-duration", "1s", "--lines", "1", "--batch", "20",
			"--window", "32", "--data-dir", t.TempDir(), "--log-level", "warn")
		if code != 0 || !strings.HasPrefix(lastLine(out), "ingest: ") || !strings.Contains(out, "20 detections per message") {
			t.Fatalf("exit %d: %s\n%s", code, errOut, out)
		}
	})
	t.Run("query", func(t *testing.T) {
		code, out, errOut := runCLI(t, "", "bench", "query", "--days", "1", "--rate", "0.05", "--runs", "1", "--shifts", "2",
			"--data-dir", t.TempDir(), "--format", "json", "--log-level", "warn")
		if code != 0 || !strings.Contains(out, `"shifts": 2`) || !strings.Contains(out, `"oee_agree": true`) {
			t.Fatalf("exit %d: %s\n%s", code, errOut, out)
		}
	})
	t.Run("fanout", func(t *testing.T) {
		if runtime.GOOS != "linux" {
			t.Skip("the load generator needs epoll")
		}
		t.Setenv(mainEnv, "1") // the clients run in a child: this binary as `linepulse bench fanout --load-child`
		code, out, errOut := runCLI(t, "", "bench", "fanout", "--clients", "20", "--lines", "3", "--rate", "20", "--pacing", "burst",
			"--duration", "500ms", "--warmup", "100ms", "--window", "500ms", "--slow", "0", "--log-level", "warn")
		if code != 0 || !strings.HasPrefix(lastLine(out), "fanout: 20 clients, ") || !strings.Contains(out, "(burst pacing)") {
			t.Fatalf("exit %d: %s\n%s", code, errOut, out)
		}
	})
}

func TestBenchCommandsRejectBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "ingest", "--lines", "0"},
		{"bench", "ingest", "--batch", "1001"},
		{"bench", "ingest", "--latency-rate", "0"},
		{"bench", "fanout", "--pacing", "random"},
		{"bench", "query", "--days", "0"},
	} {
		if code, _, errOut := runCLI(t, "", args...); code != 1 || !strings.Contains(errOut, "linepulse "+strings.Join(args[:2], " ")+":") {
			t.Errorf("%v: exit %d, %q", args, code, errOut)
		}
	}
}
