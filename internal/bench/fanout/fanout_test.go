package fanout

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
)

// childEnv makes the test binary the load generator's child process (RunChild).
const childEnv = "LINEPULSE_TEST_FANOUT_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		if err := RunChild(context.Background(), os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// tinyConfig is a bench of 40 clients on 5 lines, a second per phase.
func tinyConfig(pacing string) Config {
	cfg := DefaultConfig()
	cfg.LocalClients, cfg.Clients, cfg.Lines, cfg.Pacing, cfg.Rate = true, 40, 5, pacing, 20
	cfg.Duration, cfg.Warmup, cfg.Window, cfg.Slow = time.Second, 200*time.Millisecond, 500*time.Millisecond, 0.1
	return cfg
}

// checkReport checks the report of a tiny run: the last line has the contract's shape,
// the clients saw neither disorder nor errors, and the pacing is reported.
func checkReport(t *testing.T, pacing, out string) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	last := lines[len(lines)-1]
	if !regexp.MustCompile(`^fanout: 40 clients, [0-9]+ msgs/s, p99 [0-9.]+ ms, [0-9.-]+ KiB/conn$`).MatchString(last) {
		t.Fatalf("%s: last line %q\n%s", pacing, last, out)
	}
	if !strings.Contains(out, "out of order 0, errors 0") || !strings.Contains(out, "("+pacing+" pacing)") {
		t.Fatalf("%s: clients saw disorder or errors, or the pacing is not reported:\n%s", pacing, out)
	}
}

// TestBenchFanoutSmoke runs a tiny in-process fan-out bench end to end: every client
// gets its snapshots, the updates arrive in order, and the last line has the contract's shape.
func TestBenchFanoutSmoke(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the load generator needs epoll")
	}
	for _, pacing := range []string{"engine", "burst", "even"} {
		var out bytes.Buffer
		if err := Run(context.Background(), tinyConfig(pacing), &out); err != nil {
			t.Fatalf("%s: %v\n%s", pacing, err, out.String())
		}
		checkReport(t, pacing, out.String())
	}
}

// TestBenchFanoutChildProcess runs the clients in a child process, as the command does
// by default: the child gets its configuration and every window over the pipe.
func TestBenchFanoutChildProcess(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the load generator needs epoll")
	}
	t.Setenv(childEnv, "1")
	cfg := tinyConfig("engine")
	cfg.LocalClients, cfg.Child, cfg.ChildStderr = false, []string{os.Args[0]}, t.Output()
	var out bytes.Buffer
	if err := Run(context.Background(), cfg, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	checkReport(t, "engine", out.String())
}

func TestBenchFanoutRejectsBadConfig(t *testing.T) {
	for name, mutate := range map[string]func(*Config){
		"no clients": func(c *Config) { c.Clients = 0 },
		"pacing":     func(c *Config) { c.Pacing = "random" },
	} {
		cfg := DefaultConfig()
		mutate(&cfg)
		if err := Run(context.Background(), cfg, &bytes.Buffer{}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
