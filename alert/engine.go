package alert

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/linepulse/linepulse/internal/clock"
	"github.com/linepulse/linepulse/notify/email"
	"github.com/linepulse/linepulse/store"
)

// Config configures an Engine. Store and NC are required.
type Config struct {
	Store *store.Store
	NC    *nats.Conn
	// Clock drives every delay (after, escalation, backoff). Default the wall clock.
	Clock clock.Clock
	// Holder names this instance in outbox claims. Default a random id.
	Holder string
	// BaseURL is where people open LinePulse (https://linepulse.plant), for the links in
	// notifications. Default "" (no links).
	BaseURL string
	// Links signs acknowledgement links in e-mails; nil: e-mails carry no ack link.
	Links *Links
	// HTTP sends webhooks. Default a client with a 10 s timeout.
	HTTP *http.Client
	// Mail sends e-mail. Default email.Send.
	Mail func(ctx context.Context, s email.Server, m email.Message) error
	// Backoff is the delay before the first retry, doubled for each further one up to
	// MaxBackoff. Defaults 1s and 5m.
	Backoff, MaxBackoff time.Duration
	// MaxAge is how long a notification is retried before it gives up and its channel is
	// flagged failing. Default 24h.
	MaxAge time.Duration
	// ClaimTTL is how long a claim keeps other instances off a notification being sent
	// (longer than any send). Default 1m.
	ClaimTTL time.Duration
	// Sweep is the period of the safety net that retries what no wake-up announced (another
	// instance's expired claims, a restart). Default 15s.
	Sweep time.Duration
	// Lookback is how far back, beyond a rule's after, a starting instance looks for
	// uncoded stops whose uncoded_downtime check it must rebuild. Default 24h.
	Lookback time.Duration
	// RuleTTL is how long a tenant's rules are cached. Default 5s.
	RuleTTL time.Duration
	// Meta maps lines to their vision nodes (node_offline). Default a cache of its own.
	Meta *store.MetaCache
	// Logger. Default slog.Default().
	Logger *slog.Logger
}

func (c *Config) defaults() error {
	if c.Store == nil || c.NC == nil {
		return errors.New("alert: Config needs Store and NC")
	}
	c.Clock = clock.Or(c.Clock)
	if c.Holder == "" {
		var b [6]byte
		_, _ = rand.Read(b[:])
		c.Holder = "lp-" + hex.EncodeToString(b[:])
	}
	if c.HTTP == nil {
		c.HTTP = &http.Client{Timeout: 10 * time.Second}
	}
	if c.Mail == nil {
		c.Mail = email.Send
	}
	if c.Backoff <= 0 {
		c.Backoff = time.Second
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = 5 * time.Minute
	}
	if c.MaxAge <= 0 {
		c.MaxAge = 24 * time.Hour
	}
	if c.ClaimTTL <= 0 {
		c.ClaimTTL = time.Minute
	}
	if c.Sweep <= 0 {
		c.Sweep = 15 * time.Second
	}
	if c.Lookback <= 0 {
		c.Lookback = 24 * time.Hour
	}
	if c.RuleTTL <= 0 {
		c.RuleTTL = 5 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Meta == nil {
		c.Meta = store.NewMetaCache(c.Store)
	}
	return nil
}

// Engine evaluates alert rules on the live messages and delivers the notifications.
type Engine struct {
	cfg Config
	st  *store.Store
	clk clock.Clock
	log *slog.Logger

	wake  chan struct{} // the outbox has new work
	ready chan struct{} // closed once Run listens

	mu      sync.Mutex
	tenants map[string]*tenantState // by slug
	ids     map[int64]*tenantState
	timers  map[string]clock.Timer // pending delayed checks by key, stopped on Run's end
	runCtx  context.Context        // Run's, for timers armed outside its loop
	stopped bool                   // Run has ended: no more background work
	bg      sync.WaitGroup         // background work Run waits for on its end
}

// New checks cfg and builds an Engine; Run starts it.
func New(cfg Config) (*Engine, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	return &Engine{cfg: cfg, st: cfg.Store, clk: cfg.Clock, log: cfg.Logger.With("component", "alert"),
		wake: make(chan struct{}, 1), ready: make(chan struct{}), tenants: map[string]*tenantState{}, ids: map[int64]*tenantState{}, timers: map[string]clock.Timer{}}, nil
}

// Run evaluates and delivers until ctx ends.
func (e *Engine) Run(ctx context.Context) error {
	e.mu.Lock()
	e.runCtx = ctx
	e.mu.Unlock()
	msgs := make(chan *nats.Msg, 4096)
	var subs []*nats.Subscription
	for _, subj := range []string{"lp.*.line.*.downtime", "lp.*.line.*.kpi", telemetryWildcard} {
		s, err := e.cfg.NC.ChanSubscribe(subj, msgs)
		if err != nil {
			return fmt.Errorf("alert: cannot subscribe to %s: %w", subj, err)
		}
		subs = append(subs, s)
	}
	if err := e.cfg.NC.Flush(); err != nil {
		return fmt.Errorf("alert: cannot subscribe: %w", err)
	}
	defer func() {
		e.mu.Lock()
		e.stopped = true
		e.mu.Unlock()
		e.bg.Wait()
		for _, s := range subs {
			_ = s.Unsubscribe()
		}
		e.mu.Lock()
		for k, t := range e.timers {
			t.Stop()
			delete(e.timers, k)
		}
		e.mu.Unlock()
	}()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		e.deliverLoop(ctx)
	}()
	defer wg.Wait()
	e.restoreNodes(ctx)
	e.restoreTimers(ctx)
	close(e.ready)
	for {
		select {
		case <-ctx.Done():
			return nil
		case m := <-msgs:
			e.handle(ctx, m)
		}
	}
}

// Ready is closed once Run receives the live messages.
func (e *Engine) Ready() <-chan struct{} { return e.ready }

// poke wakes the sender.
func (e *Engine) poke() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// after runs f once d from now, under key (a later call with the same key replaces it).
func (e *Engine) after(ctx context.Context, key string, d time.Duration, f func(context.Context)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if old, ok := e.timers[key]; ok {
		old.Stop()
	}
	var t clock.Timer
	t = e.clk.AfterFunc(d, func() {
		e.mu.Lock()
		if e.timers[key] != t {
			e.mu.Unlock()
			return
		}
		delete(e.timers, key)
		e.mu.Unlock()
		if ctx.Err() == nil {
			f(ctx)
		}
	})
	e.timers[key] = t
}

// cancel stops the delayed check under key.
func (e *Engine) cancel(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if t, ok := e.timers[key]; ok {
		t.Stop()
		delete(e.timers, key)
	}
}
