package alert_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/linepulse/linepulse/alert"
	"github.com/linepulse/linepulse/bus"
	"github.com/linepulse/linepulse/bus/bustest"
	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/store/storetest"
	"github.com/linepulse/linepulse/stream"
)

// rig is one tenant with a line on a real database and a real NATS server.
type rig struct {
	t    *testing.T
	st   *store.Store
	tdb  *store.TenantDB
	bus  *bus.Bus
	nc   *nats.Conn
	line store.Line
	seq  uint64
}

func newRig(t *testing.T, e storetest.Engine, mutate ...func(*store.Config)) *rig {
	t.Helper()
	st := e.Open(t, mutate...)
	tdb := storetest.Tenant(t, st, "acme")
	b := bustest.Run(t)
	r := &rig{t: t, st: st, tdb: tdb, bus: b, nc: bustest.Connect(t, b, "publisher")}
	r.line = r.newLine("Filler 1")
	return r
}

func (r *rig) newLine(name string) store.Line {
	r.t.Helper()
	l := store.Line{Name: name, Availability: 0.9, Performance: 0.9, Quality: 0.9, DowntimeThresholdMS: 30000, IdealCycleTimeMS: 1000, Active: true}
	if err := r.tdb.CreateLine(context.Background(), &l); err != nil {
		r.t.Fatal(err)
	}
	return l
}

// start runs an engine until the test ends and waits until it listens.
func (r *rig) start(mutate func(*alert.Config)) *alert.Engine {
	r.t.Helper()
	eng, _ := r.run(mutate)
	return eng
}

// run runs an engine until stop or the test's end and waits until it listens.
func (r *rig) run(mutate func(*alert.Config)) (eng *alert.Engine, stop func()) {
	r.t.Helper()
	cfg := alert.Config{Store: r.st, NC: bustest.Connect(r.t, r.bus, "alerts"), Backoff: 5 * time.Millisecond,
		MaxBackoff: 20 * time.Millisecond, BaseURL: "https://lp.example.test", Logger: slog.New(slog.DiscardHandler)}
	if mutate != nil {
		mutate(&cfg)
	}
	eng, err := alert.New(cfg)
	if err != nil {
		r.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- eng.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				r.t.Errorf("engine: %v", err)
			}
		})
	}
	r.t.Cleanup(stop)
	select {
	case <-eng.Ready():
	case err := <-done:
		r.t.Fatalf("engine stopped: %v", err)
	}
	return eng, stop
}

func (r *rig) channel(c store.AlertChannel) int64 {
	r.t.Helper()
	if err := r.tdb.AlertChannels.Create(context.Background(), &c); err != nil {
		r.t.Fatal(err)
	}
	return c.ID
}

func (r *rig) rule(ru store.AlertRule) store.AlertRule {
	r.t.Helper()
	ru.Active = true
	if err := r.tdb.AlertRules.Create(context.Background(), &ru); err != nil {
		r.t.Fatal(err)
	}
	return ru
}

// downtime publishes a downtime message as the stream engine does.
func (r *rig) downtime(line int64, state string, id int64, start time.Time, end *time.Time, reason string) {
	r.t.Helper()
	r.seq++
	m := stream.DowntimeMessage{Type: "downtime", Line: line, Seq: r.seq, Event: stream.DowntimeMsgBody{ID: id, State: state, Start: stream.Time(start), ReasonCode: reason}}
	if end != nil {
		e := stream.Time(*end)
		m.Event.End = &e
		m.Event.DurationMS = end.Sub(start).Milliseconds()
	}
	r.publish(bus.DowntimeSubject("acme", line), m)
}

func (r *rig) publish(subj string, v any) {
	r.t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		r.t.Fatal(err)
	}
	if err := r.nc.Publish(subj, data); err != nil {
		r.t.Fatal(err)
	}
	if err := r.nc.Flush(); err != nil {
		r.t.Fatal(err)
	}
}

// received is one request a receiver got.
type received struct {
	Payload   alert.Payload
	Raw       []byte
	Signature string
	Key       string
	Event     string
	Status    int
}

// receiver is a webhook endpoint that refuses its first `down` requests with 503.
type receiver struct {
	*httptest.Server
	mu   sync.Mutex
	down int
	got  []received
}

func newReceiver(t *testing.T, down int) *receiver {
	rc := &receiver{down: down}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		g := received{Raw: body, Signature: req.Header.Get(alert.SignatureHeader), Key: req.Header.Get(alert.IdempotencyHeader),
			Event: req.Header.Get(alert.EventHeader), Status: http.StatusOK}
		_ = json.Unmarshal(body, &g.Payload)
		rc.mu.Lock()
		if rc.down > 0 {
			rc.down--
			g.Status = http.StatusServiceUnavailable
		}
		rc.got = append(rc.got, g)
		rc.mu.Unlock()
		w.WriteHeader(g.Status)
	}))
	t.Cleanup(rc.Close)
	return rc
}

// delivered returns the requests it accepted (2xx).
func (rc *receiver) delivered() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []received
	for _, g := range rc.got {
		if g.Status == http.StatusOK {
			out = append(out, g)
		}
	}
	return out
}

func (rc *receiver) all() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// settled reports whether the outbox holds nothing pending.
func (r *rig) settled() bool {
	_, pending, err := r.tdb.NextNotificationDue(context.Background())
	return err == nil && !pending
}

func (r *rig) quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }
