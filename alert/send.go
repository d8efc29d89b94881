package alert

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/linepulse/linepulse/notify/email"
	"github.com/linepulse/linepulse/store"
)

// SignatureHeader carries "sha256=<hex HMAC-SHA256 of the body>" keyed with the channel's
// secret; IdempotencyHeader is the same on every retry of one notification.
const (
	SignatureHeader   = "X-LinePulse-Signature"
	IdempotencyHeader = "Idempotency-Key"
	EventHeader       = "X-LinePulse-Event"
)

// Sign returns the signature header value of body.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Payload is the generic webhook body (docs/CONTRACT.md).
type Payload struct {
	ID        int64       `json:"id"`
	Rule      string      `json:"rule"`
	Kind      string      `json:"kind"`
	Severity  string      `json:"severity"`
	State     string      `json:"state"` // firing or resolved
	Event     string      `json:"event"` // firing, escalated or resolved
	Tenant    string      `json:"tenant"`
	Line      PayloadLine `json:"line"`
	Subject   string      `json:"subject,omitempty"` // node_offline: the vision node
	StartedAt time.Time   `json:"started_at"`
	Value     float64     `json:"value"`
	URL       string      `json:"url"`
}

// PayloadLine names the alert's line.
type PayloadLine struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

const sendParallel = 8

// deliverLoop sends what the outbox holds: at once when woken, when the next retry falls
// due, and on every Sweep.
func (e *Engine) deliverLoop(ctx context.Context) {
	sweep := e.clk.NewTicker(e.cfg.Sweep)
	defer sweep.Stop()
	for {
		wait := e.drain(ctx)
		t := e.clk.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-e.wake:
		case <-sweep.C():
		case <-t.C():
		}
		t.Stop()
	}
}

// drain sends every due notification of every tenant and returns how long to wait for the
// next one.
func (e *Engine) drain(ctx context.Context) time.Duration {
	wait := e.cfg.Sweep
	tenants, err := e.st.AllTenants(ctx)
	if err != nil {
		if ctx.Err() == nil {
			e.log.Warn("alert: cannot list tenants", "err", err)
		}
		return e.cfg.Backoff
	}
	for _, ten := range tenants {
		tdb, err := e.st.Tenant(ctx, ten.ID)
		if err != nil {
			if ctx.Err() == nil {
				e.log.Warn("alert: cannot open the tenant's database", "tenant", ten.Slug, "err", err)
			}
			continue
		}
		e.drainTenant(ctx, ten.Slug, tdb)
		next, ok, err := tdb.NextNotificationDue(ctx)
		if err != nil || !ok {
			continue
		}
		// In the past: another instance holds it; look again soon.
		wait = min(wait, max(next.Sub(e.clk.Now()), 0)+time.Millisecond)
		if next.Before(e.clk.Now()) {
			wait = min(e.cfg.Backoff, e.cfg.ClaimTTL)
		}
	}
	return wait
}

func (e *Engine) drainTenant(ctx context.Context, slug string, tdb *store.TenantDB) {
	for ctx.Err() == nil {
		now := e.clk.Now()
		due, err := tdb.DueNotifications(ctx, now, 50)
		if err != nil || len(due) == 0 {
			return
		}
		var wg sync.WaitGroup
		sem := make(chan struct{}, sendParallel)
		sent := 0
		for _, n := range due {
			ok, err := tdb.ClaimNotification(ctx, n.ID, e.cfg.Holder, now, now.Add(e.cfg.ClaimTTL))
			if err != nil || !ok {
				continue
			}
			sent++
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				e.deliver(ctx, slug, tdb, n)
			}()
		}
		wg.Wait()
		if sent == 0 {
			return
		}
	}
}

// deliver makes one attempt for a claimed notification and records it.
func (e *Engine) deliver(ctx context.Context, slug string, tdb *store.TenantDB, n store.Notification) {
	start := e.clk.Now()
	// Finished even at shutdown (each channel's timeout bounds it): a send cut off after the
	// receiver took it stays pending and would be sent twice.
	ctx = context.WithoutCancel(ctx)
	status, err := e.send(ctx, slug, tdb, n)
	at := e.clk.Now()
	o := store.Outcome{Delivery: store.Delivery{Attempt: n.Attempts + 1, At: at.UTC().Truncate(time.Millisecond), OK: err == nil,
		StatusCode: status, DurationMS: at.Sub(start).Milliseconds()}}
	giveUp := false
	if err != nil {
		o.Error = truncate(err.Error(), 1000)
		if at.Sub(n.CreatedAt) >= e.cfg.MaxAge {
			giveUp = true
		} else {
			o.Next = at.Add(e.backoff(o.Attempt)).UTC().Truncate(time.Millisecond)
		}
	}
	if err := tdb.RecordDelivery(ctx, n, e.cfg.Holder, o); err != nil {
		e.log.Warn("alert: cannot record a delivery", "tenant", slug, "notification", n.ID, "err", err)
		return
	}
	switch {
	case giveUp:
		e.log.Error("alert: notification given up; channel flagged failing", "tenant", slug, "channel", n.ChannelID, "err", o.Error)
		_ = tdb.SetChannelHealth(ctx, n.ChannelID, true, o.Error)
	case err != nil:
		e.log.Warn("alert: delivery failed; will retry", "tenant", slug, "channel", n.ChannelID, "attempt", o.Attempt, "err", o.Error)
	}
}

func (e *Engine) backoff(attempt int) time.Duration {
	d := e.cfg.Backoff
	for i := 1; i < attempt && d < e.cfg.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, e.cfg.MaxBackoff)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// send delivers one notification through its channel; status is the HTTP status of a
// webhook.
func (e *Engine) send(ctx context.Context, slug string, tdb *store.TenantDB, n store.Notification) (int, error) {
	al, err := tdb.GetAlert(ctx, n.AlertID)
	if err != nil {
		return 0, fmt.Errorf("cannot read the alert: %w", err)
	}
	ch, err := tdb.AlertChannels.Get(ctx, n.ChannelID)
	if err != nil {
		return 0, fmt.Errorf("cannot read the channel: %w", err)
	}
	p := Payload{ID: al.ID, Kind: al.Kind, Severity: al.Severity, State: store.AlertFiring, Event: n.Event, Tenant: slug,
		Line: PayloadLine{ID: al.LineID}, Subject: al.Subject, StartedAt: al.StartedAt, Value: al.Value}
	if n.Event == store.EventResolved {
		p.State = store.AlertResolved
	}
	if r, err := tdb.AlertRules.Get(ctx, al.RuleID); err == nil {
		p.Rule = r.Name
	}
	if l, err := tdb.GetLine(ctx, al.LineID); err == nil {
		p.Line.Name = l.Name
	}
	if e.cfg.BaseURL != "" {
		p.URL = strings.TrimRight(e.cfg.BaseURL, "/") + "/alerts?id=" + strconv.FormatInt(al.ID, 10)
	}
	switch ch.Kind {
	case store.ChannelWebhook:
		return e.sendWebhook(ctx, ch, n, p)
	case store.ChannelEmail:
		return 0, e.sendEmail(ctx, tdb, ch, n, p)
	}
	return 0, nil // browser: the notification centre reads the alerts themselves
}

func (e *Engine) sendWebhook(ctx context.Context, ch store.AlertChannel, n store.Notification, p Payload) (int, error) {
	body, err := webhookBody(ch.Config.Format, p)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ch.Config.URL, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("bad webhook URL: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "LinePulse-Alerts/1")
	req.Header.Set(IdempotencyHeader, n.IdempotencyKey)
	req.Header.Set(EventHeader, n.Event)
	if ch.Config.Secret != "" {
		req.Header.Set(SignatureHeader, Sign([]byte(ch.Config.Secret), body))
	}
	resp, err := e.cfg.HTTP.Do(req)
	if err != nil {
		// The URL may carry a token in its query: report the host only.
		return 0, fmt.Errorf("webhook to %s: %w", req.URL.Host, unwrapURL(err))
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("webhook to %s answered %s", req.URL.Host, resp.Status)
	}
	return resp.StatusCode, nil
}

func unwrapURL(err error) error {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) {
		if inner := ue.Unwrap(); inner != nil {
			return inner
		}
	}
	return err
}

// title is the one-line human summary of a notification.
func title(p Payload) string {
	what := map[string]string{store.RuleLineDown: "line stopped", store.RuleOEEBelow: "OEE below target",
		store.RuleUncodedDowntime: "stop without a reason", store.RuleNodeOffline: "vision node offline"}[p.Kind]
	state := strings.ToUpper(p.Event)
	line := p.Line.Name
	if line == "" {
		line = "line " + strconv.FormatInt(p.Line.ID, 10)
	}
	if p.Subject != "" {
		what += " " + p.Subject
	}
	return fmt.Sprintf("[%s] %s: %s - %s (%s)", state, p.Rule, line, what, p.Severity)
}

func webhookBody(format string, p Payload) ([]byte, error) {
	text := title(p) + ", since " + p.StartedAt.UTC().Format(time.RFC3339)
	if p.URL != "" {
		text += " " + p.URL
	}
	switch format {
	case store.FormatSlack:
		return json.Marshal(map[string]any{"text": text})
	case store.FormatTeams:
		color := "D00000"
		if p.State == store.AlertResolved {
			color = "2E7D32"
		}
		return json.Marshal(map[string]any{"@type": "MessageCard", "@context": "https://schema.org/extensions",
			"summary": title(p), "themeColor": color, "title": title(p), "text": text})
	}
	return json.Marshal(p)
}

func (e *Engine) sendEmail(ctx context.Context, tdb *store.TenantDB, ch store.AlertChannel, n store.Notification, p Payload) error {
	cf := ch.Config
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\nRule: %s\nLine: %s\nState: %s\nSince: %s\nValue: %g\n", title(p), p.Rule, p.Line.Name, p.State,
		p.StartedAt.UTC().Format(time.RFC3339), p.Value)
	if p.URL != "" {
		fmt.Fprintf(&b, "\nOpen: %s\n", p.URL)
	}
	if e.cfg.Links != nil && e.cfg.BaseURL != "" && p.State == store.AlertFiring {
		tok := e.cfg.Links.Token(tdb.ID(), p.ID, ch.ID, e.clk.Now().Add(7*24*time.Hour))
		fmt.Fprintf(&b, "\nAcknowledge: %s\n", AckURL(e.cfg.BaseURL, tok))
	}
	return e.cfg.Mail(ctx, email.Server{Host: cf.Host, Port: cf.Port, TLS: cf.TLS, Username: cf.Username, Password: cf.Password},
		email.Message{From: cf.From, To: cf.To, Subject: title(p), Text: b.String(), Headers: map[string]string{"X-LinePulse-Idempotency-Key": n.IdempotencyKey}})
}

// AckURL is the page an e-mail's acknowledge link opens.
func AckURL(base, token string) string {
	return strings.TrimRight(base, "/") + "/alerts/ack?token=" + token
}
