package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/linepulse/linepulse/internal/clock"
)

// Defaults applied by New to zero-valued Config fields, and by DefaultConfig.
const (
	DefaultListen          = ":4222"
	DefaultReplayWindow    = 24 * time.Hour
	DefaultDuplicateWindow = 10 * time.Minute
	DefaultSyncInterval    = 2 * time.Minute // nats-server's own default
	// DefaultMaxPayload is the contract's 64 KiB message limit plus 8 KiB for headers
	// (Nats-Msg-Id, ...). The ingest decoder re-checks the 64 KiB body limit.
	DefaultMaxPayload int32 = 64<<10 + 8<<10
)

// Config configures the bus. Start from DefaultConfig: a zero Config means no TCP
// listener and interval fsync (SyncAlways false).
type Config struct {
	// Listen is the host:port of the embedded server's TCP listener for edge devices.
	// DefaultConfig: ":4222". "" or "-" = in-process connections only (no listener).
	// Port 0 or -1 = a random free port (see ClientURL). Ignored when URL is set.
	Listen string
	// URL is an external NATS (cluster) URL, e.g. "nats://user:pass@nats1:4222,nats://nats2:4222".
	// When set no embedded server is started, Connect dials URL, and device
	// authentication and Disconnect are the external cluster's business.
	URL string
	// StoreDir is the JetStream file-store directory (e.g. <data-dir>/jetstream); nats-server
	// keeps its data in a "jetstream" sub-folder of it. Required unless URL is set.
	StoreDir string
	// SyncAlways makes the server fsync every write before it acknowledges it
	// (power-cut safe, the DefaultConfig choice). false = fsync every SyncInterval:
	// much faster, but a power cut can lose up to SyncInterval of acknowledged detections.
	SyncAlways bool
	// SyncInterval is the background fsync period when SyncAlways is false. Default 2m.
	SyncInterval time.Duration
	// ReplayWindow is the MaxAge of the LP_DET stream: how long detections stay
	// replayable (for the writer after a database outage, for the KPI engine after a
	// restart). Default 24h.
	ReplayWindow time.Duration
	// DuplicateWindow is the Nats-Msg-Id de-duplication window of LP_DET. Default 10m;
	// must not exceed ReplayWindow.
	DuplicateWindow time.Duration
	// MaxPayload is the largest message (headers + body) in bytes the server and the
	// stream accept. Default DefaultMaxPayload (72 KiB).
	MaxPayload int32
	// Replicas of the LP_DET stream. Default 1 (use 3 on an external cluster).
	Replicas int
	// Devices authenticates edge devices (user "<tenant>.<device>", password = secret).
	// nil = only the internal, in-process user can connect.
	Devices DeviceAuth
	// Admit, when set, is asked by the ingest edge about every device message before it
	// is stored; an error refuses the whole message (the device gets it as an error reply).
	Admit Admit
	// EdgeMaxBatch is the most device messages the edge stores with one atomic batch
	// publish (one fsync). Default DefaultEdgeMaxBatch; at most 1000.
	EdgeMaxBatch int
	// Clock is the edge's time (duplicate memory, Admit). Default clock.Real.
	Clock clock.Clock
	// Observe, when set, receives the edge's stage timings (for benchmarks): per group,
	// "edge.gather" from the oldest message's arrival until its write starts, and
	// "edge.store" the write itself (until the stream acknowledged it). It must be quick
	// and safe for concurrent use.
	Observe func(stage string, d time.Duration)
	// Registerer receives the linepulse_edge_* metrics; nil = no metrics.
	Registerer prometheus.Registerer
	// Logger receives the bus's and the embedded server's logs. Default slog.Default().
	Logger *slog.Logger
}

// DefaultConfig returns the production defaults: listener on :4222, fsync on every
// write, 24 h replay window, 10 min duplicate window, 72 KiB payloads.
func DefaultConfig() Config {
	return Config{
		Listen:          DefaultListen,
		SyncAlways:      true,
		SyncInterval:    DefaultSyncInterval,
		ReplayWindow:    DefaultReplayWindow,
		DuplicateWindow: DefaultDuplicateWindow,
		MaxPayload:      DefaultMaxPayload,
		Replicas:        1,
	}
}

// Errors returned by the bus.
var (
	ErrNotStarted     = errors.New("bus: not started")
	ErrAlreadyStarted = errors.New("bus: already started")
	ErrClosed         = errors.New("bus: closed")
)

const (
	stateNew = iota
	stateStarted
	stateClosed
)

// Bus is the message bus: an embedded NATS server with JetStream (or a connection to
// an external one), the LP_DET stream, and internal connections for the components.
type Bus struct {
	cfg    Config
	log    *slog.Logger
	host   string
	port   int
	listen bool
	auth   *authenticator
	cancel context.CancelFunc

	mu    sync.Mutex
	state int
	srv   *server.Server
	ctl   *nats.Conn // the bus's own control connection (stream management, health)
	js    jetstream.JetStream
	edge  *edge
}

// New validates cfg, applies defaults and generates the per-process internal
// credentials. It starts nothing: call Start (or Run).
func New(cfg Config) (*Bus, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.SyncInterval <= 0 {
		cfg.SyncInterval = DefaultSyncInterval
	}
	if cfg.ReplayWindow <= 0 {
		cfg.ReplayWindow = DefaultReplayWindow
	}
	if cfg.DuplicateWindow <= 0 {
		cfg.DuplicateWindow = min(DefaultDuplicateWindow, cfg.ReplayWindow)
	}
	if cfg.DuplicateWindow > cfg.ReplayWindow {
		return nil, fmt.Errorf("bus: duplicate window %s exceeds replay window %s", cfg.DuplicateWindow, cfg.ReplayWindow)
	}
	if cfg.MaxPayload <= 0 {
		cfg.MaxPayload = DefaultMaxPayload
	}
	if cfg.Replicas <= 0 {
		cfg.Replicas = 1
	}
	if cfg.EdgeMaxBatch <= 0 {
		cfg.EdgeMaxBatch = DefaultEdgeMaxBatch
	}
	if cfg.EdgeMaxBatch > 1000 {
		return nil, fmt.Errorf("bus: edge batch %d exceeds nats-server's atomic batch limit of 1000", cfg.EdgeMaxBatch)
	}
	cfg.Clock = clock.Or(cfg.Clock)
	b := &Bus{cfg: cfg, log: cfg.Logger.With("component", "bus")}
	if cfg.URL == "" {
		if cfg.StoreDir == "" {
			return nil, errors.New("bus: StoreDir is required for the embedded server")
		}
		if cfg.Replicas != 1 {
			return nil, fmt.Errorf("bus: the embedded server is not clustered, replicas must be 1, not %d", cfg.Replicas)
		}
		if cfg.Listen != "" && cfg.Listen != "-" {
			host, portStr, err := net.SplitHostPort(cfg.Listen)
			if err != nil {
				return nil, fmt.Errorf("bus: invalid listen address %q: %w", cfg.Listen, err)
			}
			port, err := strconv.Atoi(portStr)
			if err != nil || port < -1 || port > 65535 {
				return nil, fmt.Errorf("bus: invalid listen port in %q", cfg.Listen)
			}
			if port == 0 {
				port = server.RANDOM_PORT // nats-server reads 0 as "default port"
			}
			b.host, b.port, b.listen = host, port, true
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	auth, err := newAuthenticator(b.log, cfg.Devices, ctx)
	if err != nil {
		cancel()
		return nil, err
	}
	b.auth, b.cancel = auth, cancel
	if cfg.Registerer != nil {
		if err := registerEdgeMetrics(cfg.Registerer, b); err != nil {
			cancel()
			return nil, err
		}
	}
	return b, nil
}

// Embedded reports whether the bus runs its own NATS server (Config.URL empty).
func (b *Bus) Embedded() bool { return b.cfg.URL == "" }

// Start starts the embedded server (unless Config.URL is set), waits until it accepts
// connections, opens the control connection and creates or updates the LP_DET stream.
// It is synchronous: when it returns nil the bus is ready for Connect and devices.
// ctx bounds the start-up only. On error everything started is stopped again.
// Start may be called once; stop with Close.
func (b *Bus) Start(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case stateStarted:
		return ErrAlreadyStarted
	case stateClosed:
		return ErrClosed
	}
	if err := b.start(ctx); err != nil {
		b.stopLocked()
		b.state = stateClosed
		return err
	}
	b.state = stateStarted
	return nil
}

func (b *Bus) start(ctx context.Context) error {
	if b.Embedded() {
		if err := b.startServer(ctx); err != nil {
			return err
		}
	}
	nc, err := b.connect("linepulse-bus")
	if err != nil {
		return fmt.Errorf("bus: cannot open control connection: %w", err)
	}
	b.ctl = nc
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("bus: cannot open JetStream context: %w", err)
	}
	b.js = js
	if _, err := js.CreateOrUpdateStream(ctx, b.DetStreamConfig()); err != nil {
		return fmt.Errorf("bus: cannot create or update stream %s: %w", DetStream, err)
	}
	if _, err := js.CreateOrUpdateStream(ctx, b.DLQStreamConfig()); err != nil {
		return fmt.Errorf("bus: cannot create or update stream %s: %w", DLQStream, err)
	}
	enc, err := b.connect("linepulse-edge")
	if err != nil {
		return fmt.Errorf("bus: cannot open edge connection: %w", err)
	}
	if b.edge, err = startEdge(enc, b.log, b.cfg.Clock, b.cfg.Admit, b.cfg.Observe, b.cfg.EdgeMaxBatch, b.cfg.DuplicateWindow); err != nil {
		enc.Close()
		return fmt.Errorf("bus: %w", err)
	}
	b.log.Info("bus: ready", "embedded", b.Embedded(), "client_url", b.clientURLLocked(), "stream", DetStream,
		"sync_always", b.cfg.SyncAlways, "replay_window", b.cfg.ReplayWindow)
	return nil
}

func (b *Bus) startServer(ctx context.Context) error {
	opts := &server.Options{
		ServerName:                 "linepulse",
		Host:                       b.host,
		Port:                       b.port,
		DontListen:                 !b.listen,
		NoSigs:                     true,
		JetStream:                  true,
		StoreDir:                   b.cfg.StoreDir,
		SyncAlways:                 b.cfg.SyncAlways,
		SyncInterval:               b.cfg.SyncInterval,
		MaxPayload:                 b.cfg.MaxPayload,
		CustomClientAuthentication: b.auth,
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return fmt.Errorf("bus: cannot create NATS server: %w", err)
	}
	sl := newServerLogger(b.cfg.Logger)
	srv.SetLoggerV2(sl, sl.debugEnabled(), false, false)
	if err := exportEdge(srv.GlobalAccount()); err != nil {
		return err
	}
	b.auth.setServer(srv)
	b.srv = srv
	srv.Start() // JetStream recovery runs here; accept loops run in goroutines

	for !srv.ReadyForConnections(100 * time.Millisecond) {
		select {
		case msg := <-sl.fatal:
			return fmt.Errorf("bus: NATS server failed to start: %s", msg)
		case <-ctx.Done():
			return fmt.Errorf("bus: NATS server not ready: %w", ctx.Err())
		default:
		}
	}
	select {
	case msg := <-sl.fatal:
		return fmt.Errorf("bus: NATS server failed to start: %s", msg)
	default:
	}
	if !srv.JetStreamEnabled() {
		return errors.New("bus: NATS server started without JetStream")
	}
	return nil
}

// DetStreamConfig is the configuration Start applies to the LP_DET stream.
func (b *Bus) DetStreamConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        DetStream,
		Description: "LinePulse detections (replay buffer)",
		Subjects:    []string{DetWildcard},
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		MaxAge:      b.cfg.ReplayWindow,
		MaxMsgSize:  b.cfg.MaxPayload,
		Storage:     jetstream.FileStorage,
		Replicas:    b.cfg.Replicas,
		Duplicates:  b.cfg.DuplicateWindow,
		// The edge stores each group of device messages with one atomic batch publish.
		AllowAtomicPublish: true,
	}
}

// Close closes the control connection and shuts the embedded server down (it waits
// for the shutdown). Components should close their own connections first. Close is
// idempotent.
func (b *Bus) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == stateClosed {
		return nil
	}
	b.stopLocked()
	b.state = stateClosed
	return nil
}

func (b *Bus) stopLocked() {
	b.cancel()
	if b.edge != nil {
		b.edge.close()
		b.edge.nc.Close()
	}
	if b.ctl != nil {
		b.ctl.Close()
	}
	if b.srv != nil {
		b.srv.Shutdown()
		b.srv.WaitForShutdown()
		b.log.Info("bus: NATS server stopped")
	}
}

// Run implements the lifecycle convention: it starts the bus unless it was already
// started, blocks until ctx is done, then closes it. Use Start + Close instead when the
// caller must know when the bus is ready.
func (b *Bus) Run(ctx context.Context) error {
	if err := b.Start(ctx); err != nil && !errors.Is(err, ErrAlreadyStarted) {
		return err
	}
	<-ctx.Done()
	return b.Close()
}

// Connect opens an internal, fully privileged connection named name: in-process
// (nats.InProcessServer) to the embedded server, or to Config.URL. opts are applied
// after the bus's own options, so they may override them (handlers, reconnect policy).
// The caller closes the connection.
func (b *Bus) Connect(name string, opts ...nats.Option) (*nats.Conn, error) {
	b.mu.Lock()
	state := b.state
	b.mu.Unlock()
	switch state {
	case stateNew:
		return nil, ErrNotStarted
	case stateClosed:
		return nil, ErrClosed
	}
	return b.connect(name, opts...)
}

func (b *Bus) connect(name string, opts ...nats.Option) (*nats.Conn, error) {
	all := []nats.Option{nats.Name(name)}
	url := b.cfg.URL
	if b.Embedded() {
		url = ""
		all = append(all, nats.InProcessServer(b.srv), nats.UserInfo(b.auth.internalUser, b.auth.internalPass))
	}
	all = append(all, opts...)
	nc, err := nats.Connect(url, all...)
	if err != nil {
		return nil, fmt.Errorf("bus: cannot connect %q: %w", name, err)
	}
	return nc, nil
}

// ClientURL returns the TCP URL devices use to reach the embedded listener
// ("nats://127.0.0.1:4222" when listening on all interfaces), Config.URL for an
// external NATS, or "" when there is no listener or the bus is not started.
func (b *Bus) ClientURL() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.clientURLLocked()
}

func (b *Bus) clientURLLocked() string {
	if !b.Embedded() {
		return b.cfg.URL
	}
	if b.srv == nil || !b.listen {
		return ""
	}
	addr, ok := b.srv.Addr().(*net.TCPAddr)
	if !ok || addr == nil {
		return ""
	}
	host := addr.IP.String()
	if addr.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "nats://" + net.JoinHostPort(host, strconv.Itoa(addr.Port))
}

// Disconnect closes every live connection of device <tenant>.<device> on the embedded
// server and returns how many it closed. Call it after revoking the device's
// credentials: an authentication that was in flight during the call is refused too,
// and the device cannot reconnect once DeviceAuth refuses it. With an external NATS
// (Config.URL) it does nothing and returns 0.
func (b *Bus) Disconnect(tenant, device string) int {
	b.mu.Lock()
	srv, state := b.srv, b.state
	b.mu.Unlock()
	if srv == nil || state != stateStarted {
		return 0
	}
	user := DeviceUser(tenant, device)
	b.auth.revoke(user)

	const page = 1024
	var cids []uint64
	for offset := 0; ; offset += page {
		cz, err := srv.Connz(&server.ConnzOptions{Username: true, User: user, State: server.ConnOpen, Offset: offset, Limit: page})
		if err != nil {
			b.log.Warn("bus: cannot list connections", "user", user, "err", err)
			break
		}
		for _, c := range cz.Conns {
			cids = append(cids, c.Cid)
		}
		if len(cz.Conns) < page {
			break
		}
	}
	n := 0
	for _, cid := range cids {
		if err := srv.DisconnectClientByID(cid); err == nil {
			n++
		}
	}
	if n > 0 {
		b.log.Info("bus: device disconnected", "user", user, "connections", n)
	}
	return n
}

// EdgeStats returns what this process's ingest edge has stored since Start.
func (b *Bus) EdgeStats() EdgeStats {
	b.mu.Lock()
	e := b.edge
	b.mu.Unlock()
	if e == nil {
		return EdgeStats{}
	}
	return EdgeStats{Writes: e.writes.Load(), Messages: e.stored.Load(), Refused: e.refused.Load()}
}

// registerEdgeMetrics exposes EdgeStats:
//
//	linepulse_edge_writes_total     durable writes (group commits) of the ingest edge
//	linepulse_edge_messages_total   device messages stored by them
//	linepulse_edge_refused_total    device messages refused as a whole (Admit)
func registerEdgeMetrics(reg prometheus.Registerer, b *Bus) error {
	for _, m := range []struct {
		name, help string
		get        func(EdgeStats) int64
	}{
		{"linepulse_edge_writes_total", "Durable writes (group commits) of the ingest edge.", func(s EdgeStats) int64 { return s.Writes }},
		{"linepulse_edge_messages_total", "Device messages stored by the ingest edge.", func(s EdgeStats) int64 { return s.Messages }},
		{"linepulse_edge_refused_total", "Device messages the ingest edge refused as a whole.", func(s EdgeStats) int64 { return s.Refused }},
	} {
		c := prometheus.NewCounterFunc(prometheus.CounterOpts{Name: m.name, Help: m.help}, func() float64 { return float64(m.get(b.EdgeStats())) })
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("bus: cannot register %s: %w", m.name, err)
		}
	}
	return nil
}

// Healthy returns nil when the bus can take detections: the embedded server runs with
// JetStream, the control connection is up and the LP_DET stream answers. For /readyz.
func (b *Bus) Healthy() error {
	b.mu.Lock()
	srv, ctl, js, edge, state := b.srv, b.ctl, b.js, b.edge, b.state
	b.mu.Unlock()
	switch state {
	case stateNew:
		return ErrNotStarted
	case stateClosed:
		return ErrClosed
	}
	if srv != nil {
		if !srv.Running() {
			return errors.New("bus: NATS server is not running")
		}
		if !srv.JetStreamEnabled() {
			return errors.New("bus: JetStream is disabled")
		}
	}
	if st := ctl.Status(); st != nats.CONNECTED {
		return fmt.Errorf("bus: control connection is %s", st)
	}
	if e := edge; e == nil || !e.sub.IsValid() || e.nc.Status() != nats.CONNECTED {
		return errors.New("bus: the ingest edge is not receiving")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := js.Stream(ctx, DetStream); err != nil {
		return fmt.Errorf("bus: stream %s: %w", DetStream, err)
	}
	return nil
}
