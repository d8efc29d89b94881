package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/web"
)

// serveConfig is everything `linepulse serve` is configured with.
type serveConfig struct {
	http              *string
	store             storeFlags
	stopTimeout       *time.Duration
	partitionInterval *time.Duration
}

func serveCommand() *command {
	c := &command{name: "serve", short: "run LinePulse: ingest, live analytics, WebSocket hub, API and UI in one process", flags: newFlags("serve")}
	cfg := serveConfig{
		http:              c.flags.String("http", ":8080", "HTTP listen address (API, UI, /ws, /metrics)"),
		store:             addStoreFlags(c.flags),
		stopTimeout:       c.flags.Duration("stop-timeout", 10*time.Second, "how long each component may take to stop on SIGTERM"),
		partitionInterval: c.flags.Duration("partition-interval", time.Hour, "how often the partition maintainer runs"),
	}
	c.run = func(cc *cliContext) error { return serve(cc, cfg) }
	return c
}

func serve(cc *cliContext, cfg serveConfig) error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	var st *store.Store
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
