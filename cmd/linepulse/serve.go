package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/linepulse/linepulse/alert"
	"github.com/linepulse/linepulse/bus"
	"github.com/linepulse/linepulse/hub"
	"github.com/linepulse/linepulse/identity"
	"github.com/linepulse/linepulse/ingest"
	"github.com/linepulse/linepulse/report"
	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/stream"
	"github.com/linepulse/linepulse/web"
	"github.com/linepulse/linepulse/web/ui"
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
	demoHistory       *time.Duration
	tlsCert, tlsKey   *string
	publicHTTPS       *bool
	allowedOrigins    *string
	trustedProxies    *string
	jwtKeys           *string
	accessTTL         *time.Duration
	refreshTTL        *time.Duration
	natsPublicURL     *string
	writerBatch       *int
	writerInterval    *time.Duration
	writerPool        *int
	publishRate       *float64
	leaseTTL          *time.Duration
	uiDev             *bool
	publicURL         *string
	alertLinkKey      *string
}

func serveCommand() *command {
	c := &command{name: "serve", short: "run LinePulse: ingest, live analytics, WebSocket hub, API and UI in one process", flags: newFlags("serve")}
	f := c.flags
	cfg := serveConfig{
		http:              f.String("http", ":8080", "HTTP listen address (API, UI, /ws, /metrics)"),
		store:             addStoreFlags(f),
		stopTimeout:       f.Duration("stop-timeout", 10*time.Second, "how long each component may take to stop on SIGTERM"),
		partitionInterval: f.Duration("partition-interval", time.Hour, "how often the partition maintainer runs"),
		natsListen:        f.String("nats-listen", bus.DefaultListen, "listen address of the embedded NATS server for edge devices (\"-\" = none)"),
		natsURL:           f.String("nats-url", "", "external NATS (cluster) URL instead of the embedded server"),
		natsSync:          f.String("nats-sync", "always", "JetStream durability: always = fsync before every ack (power-cut safe); interval = fsync every 2 min (faster, may lose the last minutes on power loss)"),
		replayWindow:      f.Duration("replay-window", bus.DefaultReplayWindow, "how long detections stay replayable in JetStream"),
		demo:              f.Bool("demo", false, "seed a demo plant (tenant \"demo\") and run the simulator in-process"),
		demoHistory:       f.Duration("demo-history", demoHistorySpan, "with --demo: how much past the demo writes on its first start (0 = none)"),
		tlsCert:           f.String("tls-cert", "", "TLS certificate file (PEM); with --tls-key serves HTTPS"),
		tlsKey:            f.String("tls-key", "", "TLS private key file (PEM)"),
		publicHTTPS:       f.Bool("public-https", false, "browsers reach LinePulse over HTTPS through a TLS-terminating proxy: Secure cookies and HSTS"),
		allowedOrigins:    f.String("allowed-origins", "", "comma-separated extra origins (https://host) allowed for browser writes and WebSockets; the site's own origin always is"),
		trustedProxies:    f.String("trusted-proxies", "", "comma-separated CIDRs of reverse proxies whose X-Forwarded-For gives the client IP"),
		jwtKeys:           f.String("jwt-keyring", "", "JWT signing keyring file (created 0600 when missing; copy it to every node); default <data-dir>/jwt-keyring.json"),
		accessTTL:         f.Duration("access-ttl", identity.DefaultAccessTTL, "lifetime of access tokens and the session cookie"),
		refreshTTL:        f.Duration("refresh-ttl", identity.DefaultRefreshTTL, "a session ends when unused for this long"),
		natsPublicURL:     f.String("nats-public-url", "", "NATS URL shown with new device credentials, e.g. nats://plant-server:4222"),
		writerBatch:       f.Int("writer-batch", ingest.DefaultBatchSize, "most detections per line written in one transaction"),
		writerInterval:    f.Duration("writer-interval", ingest.DefaultFlushInterval, "longest a detection waits in a partial batch"),
		writerPool:        f.Int("writer-pool", ingest.DefaultPoolSize, "dedicated database connections per tenant for the batch writer"),
		publishRate:       f.Float64("kpi-rate", 4, "most KPI updates per second published per line"),
		leaseTTL:          f.Duration("engine-lease-ttl", 15*time.Second, "instances sharing one NATS run a single KPI engine: how long the one running it may be silent before another takes over"),
		uiDev:             f.Bool("ui-dev", false, "serve UI templates and assets from web/ui on disk, re-read on every request (development)"),
		publicURL:         f.String("public-url", "", "where people open LinePulse (https://linepulse.plant): the links in alert webhooks and e-mails; empty = no links"),
		alertLinkKey:      f.String("alert-link-key", "", "key file that signs the acknowledge links of alert e-mails (created 0600 when missing; copy it to every node); default <data-dir>/alert-link.key"),
	}
	c.run = func(cc *cliContext) error { return serve(cc, cfg) }
	return c
}

// lineChecker answers the hub's "does this line exist in this tenant" from the metadata cache.
type lineChecker struct{ meta *store.MetaCache }

func (c lineChecker) LineExists(ctx context.Context, tenantID, lineID int64) bool {
	m, err := c.meta.Get(ctx, tenantID)
	if err != nil {
		return false
	}
	l, ok := m.Lines[lineID]
	return ok && l.Active
}

// parsePrefixes reads a comma-separated list of CIDRs or single addresses.
func parsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, v := range splitList(s) {
		p, err := netip.ParsePrefix(v)
		if err != nil {
			a, aerr := netip.ParseAddr(v)
			if aerr != nil {
				return nil, fmt.Errorf("invalid --trusted-proxies entry %q: use CIDRs like 10.0.0.0/8", v)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p)
	}
	return out, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func serve(cc *cliContext, cfg serveConfig) error {
	if (*cfg.tlsCert == "") != (*cfg.tlsKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	tls := *cfg.tlsCert != "" || *cfg.publicHTTPS
	proxies, err := parsePrefixes(*cfg.trustedProxies)
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	site := web.New(web.Config{Logger: cc.log, Registry: reg})
	srv := &http.Server{Handler: web.SecurityHeaders(site, tls), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	var (
		st      *store.Store
		meta    *store.MetaCache
		devAuth *identity.DeviceAuth
		b       *bus.Bus
		api     *web.API
		nodesNC *nats.Conn
		ln      net.Listener
		live    atomic.Pointer[hub.Hub] // set once the hub exists; the API starts before it
		alerts  *alert.Engine
		links   *alert.Links
	)
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
				meta = store.NewMetaCache(st)
				devAuth = identity.NewDeviceAuth(st, identity.DeviceAuthConfig{Logger: cc.log})
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
				bc.Devices = devAuth
				bc.Admit = ingest.NewAdmission(st, nil).Admit
				bc.Registerer = reg
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
		natsComponent("ingest writer", &b, func(nc *nats.Conn) (func(context.Context) error, error) {
			w, err := ingest.NewWriter(ingest.WriterConfig{BatchSize: *cfg.writerBatch, FlushInterval: *cfg.writerInterval, PoolSize: *cfg.writerPool, Logger: cc.log, Registerer: reg}, nc, st)
			if err != nil {
				return nil, err
			}
			return w.Run, nil
		}),
		natsComponent("kpi engine", &b, func(nc *nats.Conn) (func(context.Context) error, error) {
			engineCfg := stream.Config{PublishRate: *cfg.publishRate, Logger: cc.log, Registerer: reg}
			// One engine per NATS system: the instances share a lease and the holder runs it
			// (a second engine would publish the same lines with other seq numbers and
			// store every downtime event twice).
			leader := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "linepulse", Name: "kpi_engine_leader",
				Help: "1 while this instance holds the kpi-engine lease and runs the KPI engine, else 0."})
			if err := reg.Register(leader); err != nil {
				return nil, err
			}
			lease := bus.LeaseConfig{Name: "kpi-engine", Holder: instanceID(), TTL: *cfg.leaseTTL, Logger: cc.log,
				Held: func(h bool) {
					if h {
						leader.Set(1)
					} else {
						leader.Set(0)
					}
				}}
			return func(ctx context.Context) error {
				return bus.RunAsLeader(ctx, nc, lease, func(ctx context.Context) error {
					e, err := stream.NewEngine(engineCfg, nc, st, meta)
					if err != nil {
						return err
					}
					return e.Run(ctx)
				})
			}, nil
		}),
		natsComponent("alerts", &b, func(nc *nats.Conn) (func(context.Context) error, error) {
			keyFile := *cfg.alertLinkKey
			if keyFile == "" {
				keyFile = filepath.Join(*cfg.store.dataDir, "alert-link.key")
			}
			var err error
			if links, err = alert.LoadOrCreateLinks(keyFile); err != nil {
				return nil, err
			}
			// Every instance evaluates and sends: alerts are unique per occurrence and the
			// outbox is claimed row by row, so nothing is sent twice.
			alerts, err = alert.New(alert.Config{Store: st, NC: nc, Holder: instanceID(), BaseURL: *cfg.publicURL, Links: links, Meta: meta, Logger: cc.log})
			if err != nil {
				return nil, err
			}
			return alerts.Run, nil
		}),
		{
			name: "api",
			start: func(ctx context.Context) error {
				keys := *cfg.jwtKeys
				if keys == "" {
					keys = filepath.Join(*cfg.store.dataDir, "jwt-keyring.json")
				}
				kr, err := web.LoadOrCreateKeyring(keys)
				if err != nil {
					return err
				}
				if nodesNC, err = b.Connect("linepulse-nodes", nats.MaxReconnects(-1)); err != nil {
					return err
				}
				nodes, err := stream.OpenNodeDirectory(ctx, nodesNC, st, meta)
				if err != nil {
					nodesNC.Close()
					return err
				}
				api, err = web.NewAPI(web.APIConfig{Keyring: kr, AccessTTL: *cfg.accessTTL, RefreshTTL: *cfg.refreshTTL, TLS: tls,
					TrustedOrigins: splitList(*cfg.allowedOrigins), TrustedProxies: proxies, NATSURL: *cfg.natsPublicURL, Logger: cc.log, Registry: reg},
					web.Deps{Store: st, Devices: &identity.Devices{Store: st, Bus: b, Auth: devAuth}, DeadLetters: b, Nodes: nodes,
						Analytics: stream.NewHistory(st, meta), ValidateShifts: stream.ValidateShifts, Alerts: alerts, AckLinks: links,
						OnSessionEnd: func(sid string) {
							if h := live.Load(); h != nil {
								h.EndSession(sid)
							}
						},
						OnKioskRevoked: func(tenantID, kioskID int64) {
							if h := live.Load(); h != nil {
								h.RevokeKiosk(tenantID, kioskID)
							}
						},
						// The KPI engine (on whichever instance holds its lease) takes the
						// coding into the live figures.
						OnDowntimeCoded: func(tenantID, lineID int64) {
							if err := stream.NotifyCoded(nodesNC, tenantID, lineID); err != nil {
								cc.log.Warn("cannot announce a coded stop to the KPI engine", "err", err)
							}
						}})
				if err != nil {
					return err
				}
				if err := api.SeedWidgets(ctx); err != nil {
					return err
				}
				api.Mount(site)
				return nil
			},
			run: func(ctx context.Context) error {
				defer nodesNC.Close()
				return api.Run(ctx)
			},
		},
		{
			// Every instance runs the report mail: a report is one row per (schedule,
			// occurrence), claimed by one instance, so each is mailed once.
			name: "report mail",
			run: func(ctx context.Context) error {
				snd, err := report.New(report.Config{Store: st, Render: api.RenderScheduledReport, Calendar: stream.Calendar, Holder: instanceID(), Logger: cc.log})
				if err != nil {
					return err
				}
				return snd.Run(ctx)
			},
		},
		natsComponent("hub", &b, func(nc *nats.Conn) (func(context.Context) error, error) {
			h, err := hub.New(hub.Config{AllowedOrigins: splitList(*cfg.allowedOrigins), Logger: cc.log, Registerer: reg}, nc, api, lineChecker{meta})
			if err != nil {
				return nil, err
			}
			site.Handle("GET /ws", h)
			live.Store(h)
			return h.Run, nil
		}),
		{
			name: "ui",
			start: func(context.Context) error {
				u, err := ui.New(ui.Config{Logger: cc.log, Dev: *cfg.uiDev, Viewers: api})
				if err != nil {
					return err
				}
				site.Handle("/", u.Handler()) // every path the API, hub and health do not claim
				return nil
			},
		},
	}
	if *cfg.demo {
		comps = append(comps, component{
			name: "demo simulator",
			run: func(ctx context.Context) error {
				plant, err := seedDemo(ctx, st, cc.log)
				if err != nil {
					return err
				}
				// Without its past the demo would only show "—" until a shift has run. Written
				// beside the simulator (it ends before the running shift), asked for first.
				var past sync.WaitGroup
				if span := *cfg.demoHistory; span > 0 {
					now := time.Now()
					switch has, err := demoHasData(ctx, st, plant, now); {
					case err != nil:
						cc.log.Warn("demo: no history written; live figures only", "err", err)
					case !has:
						past.Go(func() {
							if err := seedDemoHistory(ctx, st, stream.NewHistory(st, meta), plant, now, span, cc.log); err != nil && ctx.Err() == nil {
								cc.log.Warn("demo: no history written; live figures only", "err", err)
							}
						})
					}
				}
				err = runDemoSim(ctx, b.Connect, plant, cc.log)
				past.Wait()
				return err
			},
		})
	}
	comps = append(comps, component{
		name: "http",
		start: func(context.Context) error {
			var err error
			if ln, err = net.Listen("tcp", *cfg.http); err != nil {
				return fmt.Errorf("cannot listen on %s: %v", *cfg.http, err)
			}
			cc.log.Info("http listening", "addr", ln.Addr().String(), "tls", tls)
			return nil
		},
		run: func(context.Context) error {
			var err error
			if *cfg.tlsCert != "" {
				err = srv.ServeTLS(ln, *cfg.tlsCert, *cfg.tlsKey)
			} else {
				err = srv.Serve(ln)
			}
			if !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
		stop: func(ctx context.Context) error { return srv.Shutdown(ctx) },
	})
	sup := &supervisor{log: cc.log, stopTimeout: *cfg.stopTimeout}
	return sup.runAll(cc.ctx, comps)
}

// natsComponent opens its own internal bus connection at start, builds the component on
// it, runs it, and closes the connection once it has stopped.
// instanceID names this process in leases: host, pid and a random part (a restarted
// process is a new holder).
func instanceID() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s:%d:%s", host, os.Getpid(), rand.Text()[:6])
}

func natsComponent(name string, b **bus.Bus, build func(nc *nats.Conn) (run func(context.Context) error, err error)) component {
	var (
		nc  *nats.Conn
		run func(context.Context) error
	)
	return component{
		name: name,
		start: func(context.Context) error {
			var err error
			if nc, err = (*b).Connect("linepulse-"+strings.ReplaceAll(name, " ", "-"), nats.MaxReconnects(-1)); err != nil {
				return err
			}
			if run, err = build(nc); err != nil {
				nc.Close()
			}
			return err
		},
		run: func(ctx context.Context) error {
			defer nc.Close() // after run returned: a final flush still acks through it
			return run(ctx)
		},
	}
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
