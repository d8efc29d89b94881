package bus_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/linepulse/linepulse/bus"
	"github.com/linepulse/linepulse/bus/bustest"
	"github.com/linepulse/linepulse/internal/testkit"
)

// runners records the lease jobs running at each moment.
type runners struct {
	mu      sync.Mutex
	running map[string]bool
	most    int // most jobs seen running at once
	started chan string
}

func newRunners() *runners {
	return &runners{running: map[string]bool{}, started: make(chan string, 8)}
}

// job is a lease job that runs until its context ends.
func (r *runners) job(name string) func(context.Context) error {
	return func(ctx context.Context) error {
		r.mu.Lock()
		r.running[name] = true
		r.most = max(r.most, len(r.running))
		r.mu.Unlock()
		r.started <- name
		<-ctx.Done()
		r.mu.Lock()
		delete(r.running, name)
		r.mu.Unlock()
		return nil
	}
}

func (r *runners) waitStarted(t *testing.T) string {
	t.Helper()
	select {
	case n := <-r.started:
		return n
	case <-time.After(waitFor):
		t.Fatal("no job started")
		return ""
	}
}

// contend runs RunAsLeader for holder until the returned stop is called (or the test
// ends); stop returns RunAsLeader's result. done reports it without stopping.
func contend(t *testing.T, b *bus.Bus, holder string, ttl time.Duration, job func(context.Context) error) (stop func() error, done <-chan struct{}) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	nc := internalConn(t, b)
	finished := make(chan struct{})
	var err error
	go func() {
		defer close(finished)
		err = bus.RunAsLeader(ctx, nc, bus.LeaseConfig{Name: "job", Holder: holder, TTL: ttl, Logger: quietLogger()}, job)
	}()
	stop = func() error { cancel(); <-finished; return err }
	t.Cleanup(func() { _ = stop() })
	return stop, finished
}

func TestLeaseOneRunnerAndHandover(t *testing.T) {
	b := bustest.Run(t)
	r := newRunners()
	stopA, _ := contend(t, b, "a", time.Second, r.job("a"))
	if n := r.waitStarted(t); n != "a" {
		t.Fatalf("first runner %q", n)
	}
	contend(t, b, "b", time.Second, r.job("b"))
	// b stands by through several renewal periods of a.
	select {
	case n := <-r.started:
		t.Fatalf("%s started while a holds the lease", n)
	case <-time.After(1500 * time.Millisecond):
	}
	// a stops: it releases the lease and b takes over.
	if err := stopA(); err != nil {
		t.Fatalf("a: %v", err)
	}
	if n := r.waitStarted(t); n != "b" {
		t.Fatalf("second runner %q", n)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.most != 1 {
		t.Fatalf("%d jobs ran at once", r.most)
	}
}

func TestLeaseTakenOverAfterHolderVanishes(t *testing.T) {
	b := bustest.Run(t)
	// A holder that crashed: its lease stays in the bucket, never renewed.
	js, err := jetstream.New(internalConn(t, b))
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: bus.LeaseBucket, History: 1, TTL: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Create(ctx, "job", []byte("crashed")); err != nil {
		t.Fatal(err)
	}
	created := time.Now()
	r := newRunners()
	contend(t, b, "b", time.Second, r.job("b"))
	if n := r.waitStarted(t); n != "b" {
		t.Fatalf("runner %q", n)
	}
	if time.Since(created) < 900*time.Millisecond {
		t.Fatal("the crashed holder's lease was taken before it expired")
	}
}

func TestLeaseJobErrorReleasesAndReturns(t *testing.T) {
	b := bustest.Run(t)
	boom := errors.New("boom")
	stop, done := contend(t, b, "a", time.Minute, func(context.Context) error { return boom })
	select {
	case <-done:
		if err := stop(); !errors.Is(err, boom) {
			t.Fatalf("RunAsLeader = %v, want the job's error", err)
		}
	case <-time.After(waitFor):
		t.Fatal("RunAsLeader did not return the job's error")
	}
	// Released: another contender gets it without waiting the minute of TTL.
	r := newRunners()
	contend(t, b, "b", time.Minute, r.job("b"))
	if n := r.waitStarted(t); n != "b" {
		t.Fatalf("runner %q", n)
	}
}

func TestLeaseLostStopsTheJob(t *testing.T) {
	b := bustest.Run(t)
	r := newRunners()
	contend(t, b, "a", 3*time.Second, r.job("a")) // renewed every second; "other" expires after 3 s
	r.waitStarted(t)
	// Someone else takes the lease (as after a's renewals failed and the lease expired).
	js, err := jetstream.New(internalConn(t, b))
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	kv, err := js.KeyValue(ctx, bus.LeaseBucket)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, "job", []byte("other")); err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, waitFor, 10*time.Millisecond, func() error {
		r.mu.Lock()
		defer r.mu.Unlock()
		return testkit.Unless(!r.running["a"], "the job kept running after its lease was lost")
	})
	select {
	case n := <-r.started:
		t.Fatalf("%s restarted while another instance holds the lease", n)
	case <-time.After(700 * time.Millisecond):
	}
}

func TestLeaseHeldReportsTerms(t *testing.T) {
	b := bustest.Run(t)
	var mu sync.Mutex
	var seen []bool
	ctx, cancel := context.WithCancel(context.Background())
	running := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- bus.RunAsLeader(ctx, internalConn(t, b), bus.LeaseConfig{Name: "job", Holder: "a", TTL: time.Second, Logger: quietLogger(),
			Held: func(h bool) { mu.Lock(); seen = append(seen, h); mu.Unlock() }},
			func(ctx context.Context) error { close(running); <-ctx.Done(); return nil })
	}()
	select {
	case <-running:
	case <-time.After(waitFor):
		t.Fatal("job did not start")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2 || !seen[0] || seen[1] {
		t.Fatalf("Held calls %v, want [true false]", seen)
	}
}
