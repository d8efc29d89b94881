package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/linepulse/linepulse/identity"
	"github.com/linepulse/linepulse/internal/testkit"
	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/store/storetest"
)

// TestKillDuringIngestExactlyOnce: `serve` runs as a child process; a device publishes
// (one and fifty detections per message) through the ingest edge; the child is killed
// with SIGKILL in the middle; after the restart every detection acknowledged before the
// kill is stored, and once the device has re-sent everything (same Nats-Msg-Id), every
// detection is stored exactly once, rollups included.
func TestKillDuringIngestExactlyOnce(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		for _, batch := range []int{1, 50} {
			t.Run(fmt.Sprint("batch", batch), func(t *testing.T) { killDuringIngest(t, e.Config(t), batch) })
		}
	})
}

func killDuringIngest(t *testing.T, cfg store.Config, batch int) {
	dir := t.TempDir()
	db := []string{"--data-dir", dir}
	if cfg.MySQLDSN != "" {
		db = append(db, "--mysql", cfg.MySQLDSN)
	}
	cli := func(args ...string) string {
		t.Helper()
		code, out, stderr := runCLI(t, "", append(append(args, db...), "--log-level", "error")...)
		if code != 0 {
			t.Fatalf("%v: %s", args, stderr)
		}
		return out
	}
	cli("tenant", "create", "--slug", "acme", "--name", "Acme")
	cli("line", "create", "--tenant", "acme", "--name", "L1")
	var created struct {
		Credentials identity.Credentials `json:"credentials"`
	}
	if err := json.Unmarshal([]byte(cli("device", "create", "--tenant", "acme", "--name", "cam", "--format", "json")), &created); err != nil {
		t.Fatal(err)
	}
	cred := created.Credentials

	natsAddr, httpAddr := freeAddr(t), freeAddr(t)
	var logs bytes.Buffer
	var logMu sync.Mutex
	start := func() *exec.Cmd {
		t.Helper()
		cmd := exec.Command(os.Args[0], append([]string{"serve", "--http", httpAddr, "--nats-listen", natsAddr, "--log-level", "warn"}, db...)...)
		cmd.Env = append(os.Environ(), mainEnv+"=1")
		cmd.Stdout, cmd.Stderr = &lockedWriter{w: &logs, mu: &logMu}, &lockedWriter{w: &logs, mu: &logMu}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		testkit.CheckFor(t, time.Minute, 50*time.Millisecond, func() error {
			resp, err := http.Get("http://" + httpAddr + "/readyz")
			if err != nil {
				return err
			}
			resp.Body.Close()
			return testkit.Unless(resp.StatusCode == 200, "/readyz %d", resp.StatusCode)
		})
		return cmd
	}

	total := 6000 // detections
	if batch > 1 {
		total = 30000
	}
	msgs := total / batch
	base := time.Now().Add(-time.Hour).UTC()
	body := func(m int) []byte {
		b := []byte("[")
		for i := range batch {
			id := m*batch + i + 1
			if i > 0 {
				b = append(b, ',')
			}
			b = fmt.Appendf(b, `{"id":%d,"at":%q,"area":1,"product":1}`, id, base.Add(time.Duration(id)*time.Millisecond).Format("2006-01-02T15:04:05.000Z07:00"))
		}
		return append(b, ']')
	}
	// publish sends messages from..msgs-1 and returns how many detections were
	// acknowledged; stop ends it early.
	publish := func(from int, acked *atomic.Int64, stop <-chan struct{}) error {
		nc, err := nats.Connect("nats://"+natsAddr, nats.UserInfo(cred.User, cred.Password), nats.CustomInboxPrefix(cred.InboxPrefix),
			nats.MaxReconnects(0))
		if err != nil {
			return err
		}
		defer nc.Close()
		js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(256))
		if err != nil {
			return err
		}
		for m := from; m < msgs; m++ {
			select {
			case <-stop:
				return nil
			default:
			}
			f, err := js.PublishAsync("lp.acme.line.1.det", body(m), jetstream.WithMsgID(fmt.Sprintf("1-%d-%d", m*batch+1, batch)),
				jetstream.WithStallWait(10*time.Second))
			if err != nil {
				return nil // the server went away
			}
			go func() {
				select {
				case <-f.Ok():
					acked.Add(int64(batch))
				case <-f.Err():
				}
			}()
		}
		select {
		case <-js.PublishAsyncComplete():
		case <-time.After(time.Minute):
			return fmt.Errorf("not every message was answered")
		}
		return nil
	}

	child := start()
	var acked atomic.Int64
	stop := make(chan struct{})
	pubDone := make(chan error, 1)
	go func() { pubDone <- publish(0, &acked, stop) }()
	testkit.CheckFor(t, 2*time.Minute, 5*time.Millisecond, func() error {
		n := acked.Load()
		return testkit.Unless(n >= int64(total/10), "acknowledged %d of %d", n, total)
	})
	if err := child.Process.Kill(); err != nil { // SIGKILL: no shutdown at all
		t.Fatal(err)
	}
	_ = child.Wait()
	close(stop)
	<-pubDone
	ackedBefore := acked.Load()
	t.Logf("killed after %d of %d detections acknowledged", ackedBefore, total)
	if ackedBefore >= int64(total) {
		t.Fatal("everything was acknowledged before the kill: the test proves nothing")
	}

	child = start()
	defer func() {
		_ = child.Process.Signal(os.Interrupt)
		_ = child.Wait()
		if t.Failed() {
			logMu.Lock()
			t.Logf("serve logs:\n%s", logs.String())
			logMu.Unlock()
		}
	}()
	st, err := store.Open(context.Background(), store.Config{DataDir: dir, MySQLDSN: cfg.MySQLDSN})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ten, err := st.TenantBySlug(context.Background(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	tdb, err := st.Tenant(context.Background(), ten.ID)
	if err != nil {
		t.Fatal(err)
	}
	from, to := base.Add(-time.Minute), base.Add(time.Hour)
	count := func() (rows, rollup int64) {
		rows, err := tdb.CountDetections(context.Background(), 1, from, to)
		if err != nil {
			t.Fatal(err)
		}
		rollup, _, _, err = tdb.RollupTotals(context.Background(), 1, from, to)
		if err != nil {
			t.Fatal(err)
		}
		return rows, rollup
	}
	// Every acknowledged detection survived the kill (the writer stores them from the stream).
	testkit.CheckFor(t, 2*time.Minute, 50*time.Millisecond, func() error {
		rows, _ := count()
		return testkit.Unless(rows >= ackedBefore, "stored %d, acknowledged before the kill %d", rows, ackedBefore)
	})
	// The device re-sends everything: nothing twice.
	var again atomic.Int64
	if err := publish(0, &again, nil); err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, 2*time.Minute, 50*time.Millisecond, func() error {
		rows, rollup := count()
		return testkit.Unless(rows == int64(total) && rollup == int64(total), "stored %d, rollups %d, want %d", rows, rollup, total)
	})
	testkit.CheckFor(t, time.Minute, 10*time.Millisecond, func() error {
		n := again.Load()
		return testkit.Unless(n == int64(total), "the re-send was acknowledged for %d of %d detections", n, total)
	})
	rows, rollup := count()
	if rows != int64(total) || rollup != int64(total) {
		t.Fatalf("stored %d, rollups %d, want exactly %d", rows, rollup, total)
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
