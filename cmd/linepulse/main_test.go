package main

import (
	"bytes"
	"context"
	"flag"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/linepulse/linepulse/internal/testkit"
	"github.com/linepulse/linepulse/store/storetest"
)

// runCLI runs one command line in-process and returns its exit code and output.
func runCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errOut, func(string) string { return "" })
	return code, out.String(), errOut.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestServeEmptyDirAnswersHealthz(t *testing.T) {
	dir := t.TempDir()
	wd, _ := os.Getwd()
	os.Chdir(dir)
	t.Cleanup(func() { os.Chdir(wd) })
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() {
		var out, errOut bytes.Buffer
		done <- run(ctx, []string{"serve", "--http", addr, "--nats-listen", "127.0.0.1:-1", "--log-level", "warn"}, strings.NewReader(""), &out, &errOut, func(string) string { return "" })
	}()
	// An outcome, not a timing: a loaded machine may take its time to migrate and start.
	testkit.CheckFor(t, time.Minute, 20*time.Millisecond, func() error {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		return testkit.Unless(resp.StatusCode == 200, "/healthz answered %d", resp.StatusCode)
	})
	resp, err := http.Get("http://" + addr + "/readyz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("/readyz: %v %v", resp, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "global.db")); err != nil {
		t.Fatalf("./data not created: %v", err)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve exited %d after SIGTERM-equivalent", code)
	}
}

// oneClearLine asserts a failure: non-zero exit, exactly one line on stderr, no trace.
func oneClearLine(t *testing.T, code int, stderr, want string) {
	t.Helper()
	if code == 0 {
		t.Fatalf("exit 0, want failure")
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if len(lines) != 1 || strings.Contains(stderr, "goroutine") || strings.Contains(stderr, "panic") {
		t.Fatalf("want one error line, got:\n%s", stderr)
	}
	if !strings.Contains(stderr, want) {
		t.Fatalf("error %q does not mention %q", stderr, want)
	}
}

func TestCLIErrorsAreOneClearLine(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o644)
	readOnly := filepath.Join(dir, "ro")
	os.Mkdir(readOnly, 0o555)
	roData := filepath.Join(readOnly, "data")
	if os.Geteuid() == 0 {
		roData = filepath.Join(file, "data") // root ignores mode bits: a file as parent is unwritable for everyone
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"invalid DSN", []string{"migrate", "--mysql", "not a dsn"}, "invalid MySQL DSN"},
		{"unreachable MySQL", []string{"migrate", "--mysql", "u:p@tcp(127.0.0.1:1)/lp"}, "cannot reach MySQL"},
		{"read-only data dir", []string{"migrate", "--data-dir", roData}, "data directory"},
		{"unknown tenant", []string{"line create", "--log-level", "error", "--data-dir", dir, "--tenant", "nope", "--name", "L"}, `unknown tenant "nope"`},
		{"unknown flag", []string{"serve", "--bogus"}, "flag provided but not defined"},
		{"bad duration", []string{"line create", "--downtime-threshold", "soon"}, "invalid value"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append(strings.Fields(c.args[0]), c.args[1:]...)
			code, _, stderr := runCLI(t, "", args...)
			oneClearLine(t, code, stderr, c.want)
		})
	}
}

func TestCreateCommands(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		cfg := e.Config(t)
		db := []string{"--data-dir", cfg.DataDir}
		if cfg.MySQLDSN != "" {
			db = []string{"--mysql", cfg.MySQLDSN}
		}
		code, out, stderr := runCLI(t, "", append([]string{"tenant", "create", "--slug", "acme", "--name", "Acme", "--timezone", "Europe/Madrid", "--format", "json", "--log-level", "error"}, db...)...)
		if code != 0 || !strings.Contains(out, `"slug": "acme"`) {
			t.Fatalf("tenant create: %d %s %s", code, out, stderr)
		}
		code, out, stderr = runCLI(t, "", append([]string{"line", "create", "--tenant", "acme", "--name", "Filling", "--downtime-threshold", "45s", "--ideal-cycle-time", "800ms", "--format", "json", "--log-level", "error"}, db...)...)
		if code != 0 || !strings.Contains(out, `"table": "detections_line_1"`) {
			t.Fatalf("line create: %d %s %s", code, out, stderr)
		}
		code, out, stderr = runCLI(t, "s3cret-password\n", append([]string{"user", "create", "--tenant", "acme", "--email", "Ana@Acme.test", "--role", "supervisor", "--password-stdin", "--log-level", "error"}, db...)...)
		if code != 0 || !strings.Contains(out, "ana@acme.test") {
			t.Fatalf("user create: %d %s %s", code, out, stderr)
		}
		code, _, stderr = runCLI(t, "", append([]string{"user", "create", "--tenant", "acme", "--email", "b@acme.test", "--log-level", "error"}, db...)...)
		oneClearLine(t, code, stderr, "--password-stdin")
	})
}

func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "lp.json")
	os.WriteFile(file, []byte(`{"http": ":1111", "data-dir": "/from-file", "stop-timeout": "3s"}`), 0o644)
	c := serveCommand()
	addCommon(c.flags)
	if err := c.flags.Parse([]string{"--config", file, "--http", ":3333"}); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"LINEPULSE_DATA_DIR": "/from-env", "LINEPULSE_HTTP": ":2222"}
	if err := applyConfig(c.flags, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	get := func(n string) string { return c.flags.Lookup(n).Value.String() }
	if get("http") != ":3333" || get("data-dir") != "/from-env" || get("stop-timeout") != "3s" || get("mysql") != "" {
		t.Fatalf("precedence wrong: http=%s data-dir=%s stop-timeout=%s", get("http"), get("data-dir"), get("stop-timeout"))
	}
	os.WriteFile(file, []byte(`{"htp": ":1"}`), 0o644)
	if err := applyConfig(c.flags, func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), `unknown setting "htp"`) {
		t.Fatalf("unknown config key accepted: %v", err)
	}
}

func TestHelpListsEveryOption(t *testing.T) {
	for _, c := range commands() {
		code, out, _ := runCLI(t, "", append(strings.Fields(c.name), "--help")...)
		if code != 0 {
			t.Fatalf("%s --help exited %d", c.name, code)
		}
		c.flags.VisitAll(func(f *flagT) {
			if !strings.Contains(out, "--"+f.Name) || !strings.Contains(out, "LINEPULSE_") {
				t.Fatalf("%s --help misses --%s:\n%s", c.name, f.Name, out)
			}
		})
	}
	code, out, _ := runCLI(t, "", "help")
	if code != 0 || !strings.Contains(out, "tenant create") {
		t.Fatalf("help: %d %s", code, out)
	}
}

type flagT = flag.Flag
