package main

import (
	"os"

	"github.com/linepulse/linepulse/internal/bench/alerts"
	"github.com/linepulse/linepulse/internal/bench/fanout"
	"github.com/linepulse/linepulse/internal/bench/ingest"
	"github.com/linepulse/linepulse/internal/bench/query"
)

// The bench subcommands parse their flags into the bench package's Config and run it;
// what they measure lives in internal/bench.

func benchIngestCommand() *command {
	c := &command{name: "bench ingest", short: "measure end-to-end ingest (NATS → JetStream → writer → database) against the raw insert ceiling", flags: newFlags("bench ingest")}
	f, cfg := c.flags, ingest.DefaultConfig()
	f.StringVar(&cfg.MySQL, "mysql", cfg.MySQL, "MySQL/MariaDB DSN (a throwaway tenant database is created and dropped); empty = SQLite in a temporary directory")
	f.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "directory for the temporary JetStream store and SQLite files (default: the system temp dir); removed afterwards")
	f.DurationVar(&cfg.Duration, "duration", cfg.Duration, "how long the publishers push as fast as acknowledgements allow (phase 1), and the raw insert runs at most")
	f.DurationVar(&cfg.LatencyDuration, "latency-duration", cfg.LatencyDuration, "length of the paced latency phase (0 = half of --duration, at least 5s)")
	f.Float64Var(&cfg.LatencyShare, "latency-rate", cfg.LatencyShare, "pace of the latency phase as a fraction of the measured end-to-end rate")
	f.IntVar(&cfg.Lines, "lines", cfg.Lines, "lines of the throwaway tenant")
	f.IntVar(&cfg.Batch, "batch", cfg.Batch, "detections per message (1..1000)")
	f.IntVar(&cfg.Publishers, "publishers", cfg.Publishers, "publishing connections, each with its own goroutines (0 = min(lines, 4))")
	f.IntVar(&cfg.Window, "window", cfg.Window, "messages in flight without acknowledgement, per publisher")
	f.IntVar(&cfg.Pool, "pool", cfg.Pool, "writer connections (the raw ceiling uses as many)")
	f.IntVar(&cfg.WriterBatch, "writer-batch", cfg.WriterBatch, "writer batch size (the raw ceiling inserts batches of this size)")
	f.DurationVar(&cfg.Flush, "flush", cfg.Flush, "writer flush interval")
	f.BoolVar(&cfg.HoldPartial, "hold-partial", cfg.HoldPartial, "the writer holds partial batches for --flush even when it has caught up with the stream (the design before the caught-up flush, for comparison)")
	f.BoolVar(&cfg.SyncAlways, "sync-always", cfg.SyncAlways, "JetStream fsyncs every message before acknowledging it (the default durability)")
	f.StringVar(&cfg.Format, "format", cfg.Format, "output format: text or json")
	f.StringVar(&cfg.CPUProfile, "cpuprofile", cfg.CPUProfile, "write a CPU profile of phase 1 (publishers, NATS, edge, writer, database: one process) to this file")
	c.run = func(cc *cliContext) error {
		cfg.Logger = cc.log
		return ingest.Run(cc.ctx, cfg, cc.stdout)
	}
	return c
}

func benchQueryCommand() *command {
	c := &command{name: "bench query", short: "load days of one line, then time history queries from the rollups against the raw table", flags: newFlags("bench query")}
	f, cfg := c.flags, query.DefaultConfig()
	st := addStoreFlags(f)
	f.IntVar(&cfg.Days, "days", cfg.Days, "days of history to load (1-366)")
	f.Float64Var(&cfg.Rate, "rate", cfg.Rate, "detections per second on the line while it runs")
	f.StringVar(&cfg.Tenant, "tenant", cfg.Tenant, "tenant holding the bench data; reused when it already holds the same days and rate")
	f.BoolVar(&cfg.Reload, "reload", cfg.Reload, "delete the bench tenant and load it again")
	f.IntVar(&cfg.Batch, "batch", cfg.Batch, "detections per writer transaction while loading")
	f.IntVar(&cfg.Runs, "runs", cfg.Runs, "timed runs of each rollup query (the median is reported)")
	f.IntVar(&cfg.Shifts, "shifts", cfg.Shifts, "how many of the last shift instances get an OEE")
	f.StringVar(&cfg.Format, "format", cfg.Format, "output format: text or json")
	c.run = func(cc *cliContext) error {
		cfg.MySQL, cfg.DataDir, cfg.Logger = *st.mysql, *st.dataDir, cc.log
		return query.Run(cc.ctx, cfg, cc.stdout)
	}
	return c
}

func benchFanoutCommand() *command {
	c := &command{name: "bench fanout", short: "measure WebSocket fan-out: latency, throughput, memory per connection, slow clients", flags: newFlags("bench fanout")}
	f, cfg := c.flags, fanout.DefaultConfig()
	f.IntVar(&cfg.Clients, "clients", cfg.Clients, "WebSocket clients, each on 1-5 random lines")
	f.IntVar(&cfg.Lines, "lines", cfg.Lines, "lines publishing KPI updates (ids 1..N)")
	f.Float64Var(&cfg.Rate, "rate", cfg.Rate, "KPI updates per second per line")
	f.DurationVar(&cfg.Duration, "duration", cfg.Duration, "measurement time of each phase (without and with slow clients)")
	f.DurationVar(&cfg.Warmup, "warmup", cfg.Warmup, "load before measuring")
	f.DurationVar(&cfg.Window, "window", cfg.Window, "interval of the per-window report (lag growth)")
	f.Float64Var(&cfg.Slow, "slow", cfg.Slow, "fraction of clients that stop reading in the second phase; 0 = skip it")
	f.Float64Var(&cfg.DowntimeRate, "downtime-rate", cfg.DowntimeRate, "downtime events per second (over all lines), taking seq numbers like KPI updates")
	f.IntVar(&cfg.Payload, "payload", cfg.Payload, "approximate KPI message size in bytes")
	f.IntVar(&cfg.Loops, "loops", cfg.Loops, "epoll goroutines of the load generator")
	f.IntVar(&cfg.RcvBuf, "client-rcvbuf", cfg.RcvBuf, "SO_RCVBUF of each client socket in bytes (0 = the OS default, autotuned)")
	f.IntVar(&cfg.Workers, "workers", cfg.Workers, "hub writer goroutines (0 = GOMAXPROCS)")
	f.StringVar(&cfg.URL, "url", cfg.URL, "ws://host:port/ws of an external server (default: an in-process bus + hub on 127.0.0.1)")
	f.StringVar(&cfg.NATSURL, "nats-url", cfg.NATSURL, "with --url: the NATS server to publish on")
	f.StringVar(&cfg.Token, "token", cfg.Token, "with --url: Bearer token for every client")
	f.StringVar(&cfg.Tenant, "tenant", cfg.Tenant, "tenant slug of the lines")
	f.StringVar(&cfg.Pacing, "pacing", cfg.Pacing, "KPI update timing within each 1/rate period: engine (each line in its slot, as the KPI engine publishes), burst (every line at once) or even (evenly spaced, one line at a time)")
	f.StringVar(&cfg.CPUProfile, "cpuprofile", cfg.CPUProfile, "write a CPU profile of the server process during the first measured phase to this file")
	f.StringVar(&cfg.Trace, "trace", cfg.Trace, "write an execution trace of the server process during the first measured phase (go tool trace)")
	f.BoolVar(&cfg.Baseline, "baseline", cfg.Baseline, "serve with the naive design instead of package hub (a goroutine and a 16-slot channel per connection, one coder/websocket Write per message), for comparison")
	f.BoolVar(&cfg.LocalClients, "local-clients", cfg.LocalClients, "run the clients in this process instead of a child (≤ ~9,000 clients: one process may hold 20,000 sockets here)")
	loadChild := f.Bool("load-child", false, "internal: run only the clients, configured and driven over stdin/stdout by the parent bench")
	c.run = func(cc *cliContext) error {
		if *loadChild {
			return fanout.RunChild(cc.ctx, cc.stdin, cc.stdout)
		}
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		cfg.Child, cfg.ChildStderr, cfg.Logger = []string{exe, "bench", "fanout", "--load-child", "--log-level", "warn"}, cc.stderr, cc.log
		return fanout.Run(cc.ctx, cfg, cc.stdout)
	}
	return c
}

func benchAlertsCommand() *command {
	c := &command{name: "bench alerts", short: "measure alert latency: from last detection + threshold + after to the webhook's arrival, with the KPI and alert engines in-process", flags: newFlags("bench alerts")}
	f, cfg := c.flags, alerts.DefaultConfig()
	f.IntVar(&cfg.Lines, "lines", cfg.Lines, "lines, each stopping once")
	f.IntVar(&cfg.Rules, "rules", cfg.Rules, "line_down rules, each watching its share of the lines")
	f.DurationVar(&cfg.Threshold, "threshold", cfg.Threshold, "downtime threshold of the lines")
	f.DurationVar(&cfg.After, "after", cfg.After, "the rules' after")
	f.DurationVar(&cfg.Spread, "spread", cfg.Spread, "the stops are spread over this long")
	f.DurationVar(&cfg.Warmup, "warmup", cfg.Warmup, "every line runs this long before the first stop")
	f.DurationVar(&cfg.Every, "every", cfg.Every, "each running line sends one detection this often")
	f.DurationVar(&cfg.Timeout, "timeout", cfg.Timeout, "longest wait for the alerts")
	f.StringVar(&cfg.Format, "format", cfg.Format, "output format: text or json")
	c.run = func(cc *cliContext) error {
		cfg.Logger = cc.log
		return alerts.Run(cc.ctx, cfg, cc.stdout)
	}
	return c
}
