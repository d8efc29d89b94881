package wsload

// Config describes the clients.
type Config struct {
	Addr            string                             // server host:port (IPv4)
	Path            string                             // request path; default "/ws"
	Token           func(i int) string                 // Bearer token of client i
	Clients         int                                // number of clients
	Lines           int                                // lines 1..Lines exist
	MinLines        int                                // lines per client, at least (default 1)
	MaxLines        int                                // lines per client, at most (default 5, ≤ maxLinesPerClient)
	Seed            uint64                             // line choice
	Loops           int                                // epoll goroutines; default 2
	DialConcurrency int                                // handshakes in flight; default 64
	RcvBuf          int                                // SO_RCVBUF of each client socket in bytes; 0 = the OS default (autotuned)
	PublishedAt     func(line int64, seq uint64) int64 // publish time of a message without a "pub_ns" field right after "seq", unix ns; 0 = unknown
}

// Window is what the clients saw during one interval.
type Window struct {
	Msgs      int64       // frames received (all types)
	KPIs      int64       // kpi frames
	Snapshots int64       // snapshot frames
	Errors    int64       // error frames
	Gaps      int64       // seq jumps of more than one on a line (KPI coalescing)
	Disorder  int64       // seq not above the last one seen on a line (must stay 0)
	Closes    map[int]int // close frames received by code
	Ended     int64       // connections that ended (close frame or EOF)
	KPI       Hist        // publish → receive latency of kpi frames
	Downtime  Hist        // publish → receive latency of downtime frames
	CPU       float64     // CPU seconds the load generator's process used (set by the caller)
}

func (w *Window) merge(o *Window) {
	w.Msgs += o.Msgs
	w.KPIs += o.KPIs
	w.Snapshots += o.Snapshots
	w.Errors += o.Errors
	w.Gaps += o.Gaps
	w.Disorder += o.Disorder
	w.Ended += o.Ended
	w.CPU += o.CPU
	for k, v := range o.Closes {
		if w.Closes == nil {
			w.Closes = map[int]int{}
		}
		w.Closes[k] += v
	}
	w.KPI.Merge(&o.KPI)
	w.Downtime.Merge(&o.Downtime)
}

// Merge adds o into w.
func (w *Window) Merge(o *Window) { w.merge(o) }
