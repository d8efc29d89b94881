package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/linepulse/linepulse/bus"
	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/web"
)

// serveConfig is everything `linepulse serve` is configured with.
type serveConfig struct {
	http              *string
	store             storeFlags
	stopTimeout       *time.Duration
	partitionInterval *time.Duration
	natsListen        *string
	natsURL           *string
	natsSync          *string
	replayWindow      *time.Duration
	demo              *bool
}

func serveCommand() *command {
	c := &command{name: "serve", short: "run LinePulse: ingest, live analytics, WebSocket hub, API and UI in one process", flags: newFlags("serve")}
	cfg := serveConfig{
		http:              c.flags.String("http", ":8080", "HTTP listen address (API, UI, /ws, /metrics)"),
		store:             addStoreFlags(c.flags),
		stopTimeout:       c.flags.Duration("stop-timeout", 10*time.Second, "how long each component may take to stop on SIGTERM"),
		partitionInterval: c.flags.Duration("partition-interval", time.Hour, "how often the partition maintainer runs"),
		natsListen:        c.flags.String("nats-listen", bus.DefaultListen, "listen address of the embedded NATS server for edge devices (\"-\" = none)"),
		natsURL:           c.flags.String("nats-url", "", "external NATS (cluster) URL instead of the embedded server"),
		natsSync:          c.flags.String("nats-sync", "always", "JetStream durability: always = fsync before every ack (power-cut safe); interval = fsync every 2 min (faster, may lose the last minutes on power loss)"),
		replayWindow:      c.flags.Duration("replay-window", bus.DefaultReplayWindow, "how long detections stay replayable in JetStream"),
		demo:              c.flags.Bool("demo", false, "seed a demo plant (tenant \"demo\") and run the simulator in-process"),
	}
	c.run = func(cc *cliContext) error { return serve(cc, cfg) }
	return c
}

func serve(cc *cliContext, cfg serveConfig) error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	var st *store.Store
	var b *bus.Bus
	site := web.New(web.Config{Logger: cc.log, Registry: reg})
	var ln net.Listener
	srv := &http.Server{Handler: site, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}

	comps := []component{
		{
			name: "store",
			start: func(ctx context.Context) error {
				var err error
				if st, err = cfg.store.open(cc); err != nil {
					return err
				}
				if err := st.MigrateAll(ctx); err != nil {
					return err
				}
				site.AddCheck("database", st.Ping)
				cc.log.Info("store ready", "store", st.Describe())
				return nil
			},
			stop: func(context.Context) error { return st.Close() },
		},
		{
			name: "nats",
			start: func(ctx context.Context) error {
				bc := bus.DefaultConfig()
				bc.Listen, bc.URL, bc.ReplayWindow, bc.Logger = *cfg.natsListen, *cfg.natsURL, *cfg.replayWindow, cc.log
				bc.StoreDir = filepath.Join(*cfg.store.dataDir, "jetstream")
				switch *cfg.natsSync {
				case "always":
				case "interval":
					bc.SyncAlways = false
				default:
					return fmt.Errorf("invalid --nats-sync %q: use always or interval", *cfg.natsSync)
				}
				var err error
				if b, err = bus.New(bc); err != nil {
					return err
				}
				if err := b.Start(ctx); err != nil {
					return err
				}
				site.AddCheck("nats", func(context.Context) error { return b.Healthy() })
				cc.log.Info("nats ready", "embedded", b.Embedded(), "devices", b.ClientURL())
				return nil
			},
			stop: func(context.Context) error { return b.Close() },
		},
		{
			name: "partition maintainer",
			run: func(ctx context.Context) error {
				tick := time.NewTicker(*cfg.partitionInterval)
				defer tick.Stop()
				for {
					if reports, err := maintainPartitions(&cliContext{ctx: ctx, log: cc.log}, st, ""); err != nil {
						cc.log.Warn("partition maintenance failed; will retry", "err", err)
					} else {
						logPartitionChanges(cc, reports)
					}
					select {
					case <-ctx.Done():
						return nil
					case <-tick.C:
					}
				}
			},
		},
		{
			name: "http",
			start: func(context.Context) error {
				var err error
				if ln, err = net.Listen("tcp", *cfg.http); err != nil {
					return fmt.Errorf("cannot listen on %s: %v", *cfg.http, err)
				}
				cc.log.Info("http listening", "addr", ln.Addr().String())
				return nil
			},
			run: func(context.Context) error {
				if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
					return err
				}
				return nil
			},
			stop: func(ctx context.Context) error { return srv.Shutdown(ctx) },
		},
	}
	sup := &supervisor{log: cc.log, stopTimeout: *cfg.stopTimeout}
	return sup.runAll(cc.ctx, comps)
}

func logPartitionChanges(cc *cliContext, reports map[string][]store.PartitionReport) {
	for slug, rs := range reports {
		for _, r := range rs {
			if len(r.Added)+len(r.Dropped) > 0 || r.Deleted > 0 {
				cc.log.Info("partitions maintained", "tenant", slug, "line", r.LineID, "added", r.Added, "dropped", r.Dropped, "deleted_rows", r.Deleted)
			}
		}
	}
}
