package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/store/storetest"
)

func TestAlertLifecycleAndOutbox(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		s := e.Open(t)
		a := storetest.Tenant(t, s, "acme")
		b := storetest.Tenant(t, s, "bolt")

		hook := store.AlertChannel{Name: "ops", Kind: store.ChannelWebhook, Config: store.ChannelConfig{URL: "https://example.test/h", Secret: "s3cret"}}
		if err := a.AlertChannels.Create(ctx, &hook); err != nil {
			t.Fatal(err)
		}
		if hook.Config.Format != store.FormatGeneric {
			t.Errorf("default format: %q", hook.Config.Format)
		}
		if r := hook.Redacted(); r.Config.Secret != "" {
			t.Error("Redacted kept the secret")
		}
		bad := store.AlertChannel{Name: "x", Kind: store.ChannelWebhook, Config: store.ChannelConfig{URL: "ftp://x"}}
		if err := a.AlertChannels.Create(ctx, &bad); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("bad url: %v", err)
		}
		rule := store.AlertRule{Name: "down", Kind: store.RuleLineDown, Channels: []int64{hook.ID}, Active: true}
		if err := a.AlertRules.Create(ctx, &rule); err != nil {
			t.Fatal(err)
		}
		if rule.Severity != "warning" || rule.Lines == nil {
			t.Errorf("rule defaults: %+v", rule)
		}

		// One occurrence fires once, whoever records it.
		start := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
		var wg sync.WaitGroup
		createdN := make(chan bool, 4)
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				al := store.Alert{RuleID: rule.ID, LineID: 1, Occurrence: "down:1:x", Kind: rule.Kind, Severity: rule.Severity, StartedAt: start}
				created, err := a.OpenAlert(ctx, &al, rule.Channels)
				if err != nil {
					t.Error(err)
				}
				createdN <- created
			}()
		}
		wg.Wait()
		close(createdN)
		n := 0
		for c := range createdN {
			if c {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%d instances opened the same occurrence", n)
		}
		alerts, err := a.ListAlerts(ctx, store.AlertFiring, store.Page{})
		if err != nil || len(alerts) != 1 {
			t.Fatalf("firing alerts: %v %v", alerts, err)
		}
		al := alerts[0]
		if c, _ := a.CountAlerts(ctx, store.AlertFiring); c != 1 {
			t.Errorf("count firing: %d", c)
		}

		// The outbox: due, claimed by exactly one holder, retried, sent.
		now := time.Now().UTC()
		due, err := a.DueNotifications(ctx, now.Add(time.Second), 10)
		if err != nil || len(due) != 1 || due[0].Event != store.EventFiring || due[0].IdempotencyKey == "" {
			t.Fatalf("due: %+v %v", due, err)
		}
		note := due[0]
		if ok, err := a.ClaimNotification(ctx, note.ID, "i1", now, now.Add(time.Minute)); !ok || err != nil {
			t.Fatalf("claim: %v %v", ok, err)
		}
		if ok, _ := a.ClaimNotification(ctx, note.ID, "i2", now, now.Add(time.Minute)); ok {
			t.Fatal("a second instance claimed a held notification")
		}
		if due, _ := a.DueNotifications(ctx, now, 10); len(due) != 0 {
			t.Fatalf("a claimed notification is due: %+v", due)
		}
		retry := now.Add(2 * time.Second).Truncate(time.Millisecond)
		fail := store.Outcome{Delivery: store.Delivery{Attempt: 1, At: now, StatusCode: 503, Error: "503"}, Next: retry}
		if err := a.RecordDelivery(ctx, note, "i2", fail); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("a non-holder recorded: %v", err)
		}
		if err := a.RecordDelivery(ctx, note, "i1", fail); err != nil {
			t.Fatal(err)
		}
		if next, ok, err := a.NextNotificationDue(ctx); err != nil || !ok || !next.Equal(retry) {
			t.Fatalf("next due: %v %v %v (want %v)", next, ok, err, retry)
		}
		if ok, _ := a.ClaimNotification(ctx, note.ID, "i2", retry, retry.Add(time.Minute)); !ok {
			t.Fatal("the retry could not be claimed")
		}
		okOut := store.Outcome{Delivery: store.Delivery{Attempt: 2, At: retry, OK: true, StatusCode: 200}}
		if err := a.RecordDelivery(ctx, note, "i2", okOut); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := a.NextNotificationDue(ctx); ok {
			t.Error("a sent notification is still pending")
		}
		log, err := a.Deliveries(ctx, al.ID)
		if err != nil || len(log) != 2 || log[0].OK || !log[1].OK || log[1].ChannelID != hook.ID {
			t.Fatalf("delivery log: %+v %v", log, err)
		}

		// Acknowledge once; escalation skips acknowledged alerts; resolve once.
		if _, err := a.AckAlert(ctx, al.ID, 9, "on it"); err != nil {
			t.Fatal(err)
		}
		if _, err := a.AckAlert(ctx, al.ID, 9, "again"); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("second ack: %v", err)
		}
		if ok, err := a.EscalateAlert(ctx, al.ID, []int64{hook.ID}); ok || err != nil {
			t.Fatalf("escalated an acknowledged alert: %v %v", ok, err)
		}
		if ok, err := a.ResolveAlert(ctx, al.ID, rule.Channels); !ok || err != nil {
			t.Fatalf("resolve: %v %v", ok, err)
		}
		if ok, _ := a.ResolveAlert(ctx, al.ID, rule.Channels); ok {
			t.Fatal("resolved twice")
		}
		got, _ := a.GetAlert(ctx, al.ID)
		if got.State != store.AlertResolved || got.AckedBy != 9 || got.AckComment != "on it" || got.ResolvedAt == nil {
			t.Fatalf("after resolve: %+v", got)
		}
		notes, _ := a.Notifications(ctx, al.ID)
		if len(notes) != 2 || notes[1].Event != store.EventResolved {
			t.Fatalf("outbox: %+v", notes)
		}

		// Tenant B sees none of it.
		if _, err := b.GetAlert(ctx, al.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("tenant B read A's alert: %v", err)
		}
		if _, err := b.AckAlert(ctx, al.ID, 1, ""); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("tenant B acknowledged A's alert: %v", err)
		}
		if l, _ := b.Deliveries(ctx, al.ID); len(l) != 0 {
			t.Fatal("tenant B read A's deliveries")
		}
		if _, err := b.AlertChannels.Get(ctx, hook.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatal("tenant B read A's channel")
		}
	})
}

// TestCheckRuleRefs: a rule may name only its own tenant's channels and lines; each missing
// reference is a field error, all of them in one answer.
func TestCheckRuleRefs(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		s := e.Open(t)
		a := storetest.Tenant(t, s, "acme")
		b := storetest.Tenant(t, s, "bolt")
		line := store.Line{Name: "L1", DowntimeThresholdMS: 30000, IdealCycleTimeMS: 1000}
		if err := a.CreateLine(ctx, &line); err != nil {
			t.Fatal(err)
		}
		ch := store.AlertChannel{Name: "bell", Kind: store.ChannelBrowser}
		if err := a.AlertChannels.Create(ctx, &ch); err != nil {
			t.Fatal(err)
		}
		ok := store.AlertRule{Lines: []int64{line.ID}, Channels: []int64{ch.ID}, EscalateChannels: []int64{ch.ID}}
		if err := a.CheckRuleRefs(ctx, &ok); err != nil {
			t.Fatalf("own references refused: %v", err)
		}
		// bolt has neither acme's line nor its channel (both are id 1 there too: ids alone never cross).
		var ve *store.ValidationError
		if err := b.CheckRuleRefs(ctx, &ok); !errors.As(err, &ve) || len(ve.Fields) != 3 {
			t.Fatalf("another tenant's references: %v", err)
		}
		bad := store.AlertRule{Lines: []int64{0}, Channels: []int64{-1, 999}}
		if err := a.CheckRuleRefs(ctx, &bad); !errors.As(err, &ve) || len(ve.Fields) != 3 || ve.Fields[1].Message != "no such notification channel" {
			t.Fatalf("bad references: %v", err)
		}
	})
}
