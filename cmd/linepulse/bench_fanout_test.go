package main

import (
	"bytes"
	"context"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// TestBenchFanoutSmoke runs a tiny in-process fan-out bench end to end: every client
// gets its snapshots, the updates arrive in order, and the last line has the contract's shape.
func TestBenchFanoutSmoke(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the load generator needs epoll")
	}
	for _, pacing := range []string{"engine", "burst", "even"} {
		var out, errb bytes.Buffer
		code := run(context.Background(), []string{"bench", "fanout", "--local-clients", "--clients", "40", "--lines", "5", "--pacing", pacing,
			"--rate", "20", "--duration", "1s", "--warmup", "200ms", "--window", "500ms", "--slow", "0.1", "--log-level", "warn"},
			strings.NewReader(""), &out, &errb, func(string) string { return "" })
		if code != 0 {
			t.Fatalf("%s: exit %d: %s\n%s", pacing, code, errb.String(), out.String())
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		last := lines[len(lines)-1]
		if !regexp.MustCompile(`^fanout: 40 clients, [0-9]+ msgs/s, p99 [0-9.]+ ms, [0-9.-]+ KiB/conn$`).MatchString(last) {
			t.Fatalf("%s: last line %q\n%s", pacing, last, out.String())
		}
		if !strings.Contains(out.String(), "out of order 0, errors 0") || !strings.Contains(out.String(), "("+pacing+" pacing)") {
			t.Fatalf("%s: clients saw disorder or errors, or the pacing is not reported:\n%s", pacing, out.String())
		}
	}
}
