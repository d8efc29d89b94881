package fanout

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/linepulse/linepulse/bus"
	"github.com/linepulse/linepulse/hub"
	"github.com/linepulse/linepulse/identity"
)

// benchAuth trusts "Bearer bench": the bench command's in-process server only.
type benchAuth struct{ tenant string }

func (a benchAuth) AuthenticateWS(r *http.Request) (identity.Principal, error) {
	if r.Header.Get("Authorization") != "Bearer "+benchToken {
		return identity.Principal{}, errors.New("bench: unknown token")
	}
	return identity.Principal{UserID: 1, TenantID: 1, TenantSlug: a.tenant, Role: "viewer"}, nil
}

const benchToken = "bench"

type benchLines struct{ n int64 }

func (l benchLines) LineExists(_ context.Context, tenantID, lineID int64) bool {
	return tenantID == 1 && lineID >= 1 && lineID <= l.n
}

type target struct {
	wsURL string
	pubNC *nats.Conn
	hub   *hub.Hub
	reg   *prometheus.Registry
	close func()
}

func (t *target) stats() hub.Stats {
	if t.hub == nil {
		return hub.Stats{}
	}
	return t.hub.Stats()
}

// setup starts the in-process bus, hub and HTTP server, or connects to --url.
func setup(ctx context.Context, cfg Config) (*target, error) {
	if cfg.URL != "" {
		u, err := url.Parse(cfg.URL)
		if err != nil || u.Scheme != "ws" || u.Port() == "" || net.ParseIP(u.Hostname()).To4() == nil {
			return nil, fmt.Errorf("--url %q: want ws://<IPv4>:port/path (the load generator speaks plain ws over IPv4)", cfg.URL)
		}
		if cfg.NATSURL == "" || cfg.Token == "" {
			return nil, errors.New("--url needs --nats-url (to publish) and --token (for the clients)")
		}
		nc, err := nats.Connect(cfg.NATSURL, nats.Name("linepulse bench fanout"))
		if err != nil {
			return nil, fmt.Errorf("cannot connect to %s: %w", cfg.NATSURL, err)
		}
		return &target{wsURL: cfg.URL, pubNC: nc, close: nc.Close}, nil
	}
	dir, err := os.MkdirTemp("", "linepulse-bench-fanout-")
	if err != nil {
		return nil, err
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	bcfg := bus.DefaultConfig()
	bcfg.Listen, bcfg.StoreDir, bcfg.SyncAlways, bcfg.Logger = "-", dir, false, quiet
	b, err := bus.New(bcfg)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	var closers []func()
	cleanup := func() {
		for _, c := range slices.Backward(closers) {
			c()
		}
	}
	closers = append(closers, func() { os.RemoveAll(dir) })
	if err := b.Start(ctx); err != nil {
		cleanup()
		return nil, err
	}
	closers = append(closers, func() { _ = b.Close() })
	hnc, err := b.Connect("hub")
	if err != nil {
		cleanup()
		return nil, err
	}
	closers = append(closers, hnc.Close)
	pnc, err := b.Connect("bench-publisher")
	if err != nil {
		cleanup()
		return nil, err
	}
	closers = append(closers, pnc.Close)
	if err := seedKPIs(ctx, pnc, cfg.Tenant, cfg.Lines, cfg.Payload); err != nil {
		cleanup()
		return nil, err
	}
	reg := prometheus.NewRegistry()
	h, err := hub.New(hub.Config{
		MaxConnsPerIP: -1, MaxConnsPerUser: -1, Workers: cfg.Workers,
		Logger: cfg.Logger, Registerer: reg,
	}, hnc, benchAuth{tenant: cfg.Tenant}, benchLines{n: int64(cfg.Lines)})
	if err != nil {
		cleanup()
		return nil, err
	}
	hctx, stopHub := context.WithCancel(context.WithoutCancel(ctx))
	hdone := make(chan error, 1)
	go func() { hdone <- h.Run(hctx) }()
	closers = append(closers, func() { stopHub(); <-hdone })
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		cleanup()
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /ws", h)
	if cfg.Baseline {
		nh, err := newNaiveHub(ctx, pnc, cfg.Tenant)
		if err != nil {
			cleanup()
			return nil, err
		}
		mux = http.NewServeMux()
		mux.Handle("GET /ws", nh)
		closers = append(closers, nh.close)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: nil}
	go func() { _ = srv.Serve(ln) }()
	closers = append(closers, func() { _ = srv.Close() })
	for { // wait until Run accepts upgrades
		resp, err := http.Get("http://" + ln.Addr().String() + "/ws")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusServiceUnavailable {
				break
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return &target{
		wsURL: "ws://" + ln.Addr().String() + "/ws", pubNC: pnc, hub: h, reg: reg,
		close: cleanup,
	}, nil
}

// seedKPIs creates the LP_KPI bucket and stores seq 1 of every line, as the stream
// engine would, so that subscribers get real snapshots.
func seedKPIs(ctx context.Context, nc *nats.Conn, tenant string, lines, size int) error {
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: hub.KPIBucket, Storage: jetstream.MemoryStorage})
	if err != nil {
		return fmt.Errorf("cannot create the %s bucket: %w", hub.KPIBucket, err)
	}
	var b []byte
	for l := 1; l <= lines; l++ {
		b = kpiMessage(b[:0], int64(l), 1, 0, size)
		if _, err := kv.Put(ctx, hub.KPIKey(tenant, int64(l)), b); err != nil {
			return err
		}
	}
	return nil
}
