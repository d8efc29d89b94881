package alert_test

import (
	"bytes"
	"context"
	"io"
	"mime/quotedprintable"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/linepulse/linepulse/alert"
	"github.com/linepulse/linepulse/bus"
	"github.com/linepulse/linepulse/identity"
	"github.com/linepulse/linepulse/internal/clock"
	"github.com/linepulse/linepulse/internal/testkit"
	"github.com/linepulse/linepulse/notify/email"
	"github.com/linepulse/linepulse/notify/email/emailtest"
	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/store/storetest"
	"github.com/linepulse/linepulse/stream"
	"github.com/linepulse/linepulse/web"
)

// TestEscalation: nobody acknowledges, so the second channel is told after escalate_after;
// an acknowledged alert is not escalated.
func TestEscalation(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		fake, r, first, second, b := escalationRig(t, e)
		r.start(func(c *alert.Config) { c.Clock = fake })
		ctx := context.Background()

		// Unacknowledged: escalated once, and both channels hear it resolve.
		r.downtime(r.line.ID, "started", 0, fake.Now(), nil, "")
		testkit.CheckFor(t, wait, 5*time.Millisecond, func() error {
			return testkit.Unless(len(first.delivered()) == 1 && r.settled(), "first channel got %d", len(first.delivered()))
		})
		fake.Advance(10 * time.Minute)
		testkit.CheckFor(t, wait, 5*time.Millisecond, func() error {
			return testkit.Unless(len(second.delivered()) == 1 && r.settled(), "second channel got %d", len(second.delivered()))
		})
		if g := second.delivered()[0]; g.Event != store.EventEscalated || g.Payload.State != store.AlertFiring {
			t.Fatalf("escalation: %+v", g)
		}
		fake.Advance(10 * time.Minute)
		end := fake.Now()
		r.downtime(r.line.ID, "ended", 1, end.Add(-20*time.Minute), &end, "")
		testkit.CheckFor(t, wait, 5*time.Millisecond, func() error {
			return testkit.Unless(len(first.delivered()) == 2 && len(second.delivered()) == 2 && r.settled(), "resolved: %d %d", len(first.delivered()), len(second.delivered()))
		})

		// Acknowledged within escalate_after: the second channel hears nothing.
		line2 := r.newLine("Packer")
		r.downtime(line2.ID, "started", 0, fake.Now(), nil, "")
		testkit.CheckFor(t, wait, 5*time.Millisecond, func() error {
			return testkit.Unless(len(first.delivered()) == 3 && r.settled(), "first channel got %d", len(first.delivered()))
		})
		id := first.delivered()[2].Payload.ID
		if _, err := r.tdb.AckAlert(ctx, id, 5, "on it"); err != nil {
			t.Fatal(err)
		}
		fake.Advance(11 * time.Minute) // the escalation check runs inside Advance
		notes, err := r.tdb.Notifications(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range notes {
			if n.ChannelID == b {
				t.Fatalf("an acknowledged alert was escalated: %+v", n)
			}
		}
		if al, _ := r.tdb.GetAlert(ctx, id); al.EscalatedAt != nil {
			t.Fatalf("acknowledged alert marked escalated: %+v", al)
		}
	})
}

// escalationRig is a rig on a fake clock with a line_down rule (after 0) told to first and
// escalated after 10 minutes to second (channel b).
func escalationRig(t *testing.T, e storetest.Engine) (fake *clock.Fake, r *rig, first, second *receiver, b int64) {
	fake = clock.NewFake(time.Now().UTC().Truncate(time.Millisecond))
	r = newRig(t, e, func(c *store.Config) { c.Now = fake.Now })
	first, second = newReceiver(t, 0), newReceiver(t, 0)
	a := r.channel(store.AlertChannel{Name: "shift lead", Kind: store.ChannelWebhook, Config: store.ChannelConfig{URL: first.URL}})
	b = r.channel(store.AlertChannel{Name: "plant manager", Kind: store.ChannelWebhook, Config: store.ChannelConfig{URL: second.URL}})
	r.rule(store.AlertRule{Name: "stopped", Kind: store.RuleLineDown, Channels: []int64{a},
		EscalateAfter: store.Duration(10 * time.Minute), EscalateChannels: []int64{b}})
	return fake, r, first, second, b
}

// TestEmailWithWorkingAckLink: a real SMTP server receives the alert mail, and its
// acknowledge link acknowledges the alert through the API.
func TestEmailWithWorkingAckLink(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		r := newRig(t, e)
		srv := emailtest.Start(t)
		links, err := alert.NewLinks(bytes.Repeat([]byte("k"), 32))
		if err != nil {
			t.Fatal(err)
		}
		sc := srv.Config
		ch := r.channel(store.AlertChannel{Name: "mail", Kind: store.ChannelEmail, Config: store.ChannelConfig{Host: sc.Host, Port: sc.Port,
			TLS: "starttls", Username: sc.Username, Password: sc.Password, From: "LinePulse <alerts@plant.test>", To: []string{"boss@plant.test"}}})
		r.rule(store.AlertRule{Name: "stopped", Kind: store.RuleLineDown, Channels: []int64{ch}})
		r.start(func(c *alert.Config) {
			c.Links = links
			c.Mail = func(ctx context.Context, s email.Server, m email.Message) error {
				s.TLSConfig = sc.TLSConfig // trust the test server's certificate
				return email.Send(ctx, s, m)
			}
		})
		r.downtime(r.line.ID, "started", 0, time.Now().UTC(), nil, "")
		testkit.CheckFor(t, wait, 5*time.Millisecond, func() error {
			return testkit.Unless(len(srv.Received()) == 1 && r.settled(), "%d mails", len(srv.Received()))
		})
		m := srv.Received()[0]
		if m.From != "alerts@plant.test" || len(m.To) != 1 || m.To[0] != "boss@plant.test" {
			t.Fatalf("envelope: %+v", m)
		}
		_, body, _ := bytes.Cut(m.Data, []byte("\r\n\r\n"))
		text, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(body)))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(m.Data, []byte("Subject: [FIRING] stopped: Filler 1")) {
			t.Errorf("subject: %s", m.Data)
		}
		link := regexp.MustCompile(`Acknowledge: (\S+)`).FindSubmatch(text)
		if link == nil || !strings.HasPrefix(string(link[1]), "https://lp.example.test/alerts/ack?token=") {
			t.Fatalf("no acknowledge link in:\n%s", text)
		}
		token := strings.TrimPrefix(string(link[1]), "https://lp.example.test/alerts/ack?token=")

		// The page behind the link posts the token to the API.
		kr := identity.NewKeyring()
		kid, priv := identity.GenerateKey()
		if err := kr.Add(kid, priv); err != nil {
			t.Fatal(err)
		}
		api, err := web.NewAPI(web.APIConfig{Keyring: kr, Logger: r.quiet()}, web.Deps{Store: r.st, AckLinks: links})
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest("POST", "/api/v1/alerts/ack-link", strings.NewReader(`{"token":"`+token+`","comment":"seen"}`))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("ack link: %d %s", rec.Code, rec.Body)
		}
		alerts, _ := r.tdb.ListAlerts(context.Background(), store.AlertAcknowledged, store.Page{})
		if len(alerts) != 1 || alerts[0].AckComment != "seen" {
			t.Fatalf("acknowledged alerts: %+v", alerts)
		}
	})
}

// TestUncodedDowntime fires for a stop left without a reason and resolves when coded.
func TestUncodedDowntime(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		r := newRig(t, e)
		rc := newReceiver(t, 0)
		ch := r.channel(store.AlertChannel{Name: "ops", Kind: store.ChannelWebhook, Config: store.ChannelConfig{URL: rc.URL}})
		r.rule(store.AlertRule{Name: "code your stops", Kind: store.RuleUncodedDowntime, Channels: []int64{ch}})
		eng := r.start(nil)
		ctx := context.Background()
		if err := r.tdb.Failures.Create(ctx, &store.Failure{Code: "JAM", Name: "Jam"}); err != nil {
			t.Fatal(err)
		}
		start := time.Now().UTC().Add(-10 * time.Minute).Truncate(time.Millisecond)
		end := start.Add(5 * time.Minute)
		ev := store.DowntimeEvent{Start: start, End: &end, DurationMS: 300000}
		if err := r.tdb.UpsertDowntime(ctx, r.line.ID, &ev); err != nil {
			t.Fatal(err)
		}
		r.downtime(r.line.ID, "ended", ev.ID, start, &end, "")
		testkit.CheckFor(t, wait, 5*time.Millisecond, func() error {
			return testkit.Unless(len(rc.delivered()) == 1 && r.settled(), "delivered %d", len(rc.delivered()))
		})
		if p := rc.delivered()[0].Payload; p.Kind != store.RuleUncodedDowntime || !p.StartedAt.Equal(end) {
			t.Fatalf("payload: %+v", p)
		}
		if err := r.tdb.SetDowntimeReason(ctx, r.line.ID, ev.ID, "JAM", "", 1); err != nil {
			t.Fatal(err)
		}
		eng.DowntimeCoded(ctx, r.tdb.ID(), r.line.ID, ev.ID)
		testkit.CheckFor(t, wait, 5*time.Millisecond, func() error {
			return testkit.Unless(len(rc.delivered()) == 2 && r.settled(), "delivered %d", len(rc.delivered()))
		})
		if p := rc.delivered()[1].Payload; p.State != store.AlertResolved {
			t.Fatalf("second: %+v", p)
		}
	})
}

// TestOEEBelow fires when the shift's OEE stays below the threshold for `after` (by the KPI
// messages' own time) and resolves when it recovers.
func TestOEEBelow(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		r := newRig(t, e)
		rc := newReceiver(t, 0)
		ch := r.channel(store.AlertChannel{Name: "ops", Kind: store.ChannelWebhook, Config: store.ChannelConfig{URL: rc.URL}})
		r.rule(store.AlertRule{Name: "slow", Kind: store.RuleOEEBelow, Threshold: 0.6, After: store.Duration(time.Minute), Channels: []int64{ch}})
		r.start(nil)
		shiftStart := time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC)
		kpi := func(at time.Time, oee float64) {
			r.seq++
			r.publish(bus.KPISubject("acme", r.line.ID), stream.KPIUpdate{Type: "kpi", Line: r.line.ID, Seq: r.seq, At: stream.Time(at), State: stream.StateRunning,
				Shift: &stream.KPIShift{ID: 1, Name: "Morning", Start: stream.Time(shiftStart), End: stream.Time(shiftStart.Add(8 * time.Hour))}, OEE: oee})
		}
		t0 := shiftStart.Add(time.Hour)
		kpi(t0, 0.5)
		kpi(t0.Add(30*time.Second), 0.55)
		kpi(t0.Add(61*time.Second), 0.5)
		kpi(t0.Add(64*time.Second), 0.5) // still below: no second alert
		testkit.CheckFor(t, wait, 5*time.Millisecond, func() error {
			return testkit.Unless(len(rc.delivered()) == 1 && r.settled(), "delivered %d", len(rc.delivered()))
		})
		if p := rc.delivered()[0].Payload; p.Kind != store.RuleOEEBelow || p.Value != 0.5 || !p.StartedAt.Equal(t0) {
			t.Fatalf("payload: %+v", p)
		}
		kpi(t0.Add(90*time.Second), 0.7)
		testkit.CheckFor(t, wait, 5*time.Millisecond, func() error {
			return testkit.Unless(len(rc.delivered()) == 2 && r.settled(), "delivered %d", len(rc.delivered()))
		})
		if p := rc.delivered()[1].Payload; p.State != store.AlertResolved {
			t.Fatalf("second: %+v", p)
		}
	})
}

// TestLineDownResolvedByKPIAfterRestart: an alert whose stop ended while no instance was
// listening resolves on the line's next KPI message that says it runs.
func TestLineDownResolvedByKPIAfterRestart(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		r := newRig(t, e)
		rc := newReceiver(t, 0)
		ch := r.channel(store.AlertChannel{Name: "ops", Kind: store.ChannelWebhook, Config: store.ChannelConfig{URL: rc.URL}})
		rule := r.rule(store.AlertRule{Name: "stopped", Kind: store.RuleLineDown, Channels: []int64{ch}})
		ctx := context.Background()
		al := store.Alert{RuleID: rule.ID, LineID: r.line.ID, Occurrence: "line_down:before-restart", Kind: rule.Kind, Severity: "warning", StartedAt: time.Now()}
		if _, err := r.tdb.OpenAlert(ctx, &al, rule.Channels); err != nil {
			t.Fatal(err)
		}
		r.start(nil)
		kpi := func(state string) {
			r.seq++
			r.publish(bus.KPISubject("acme", r.line.ID), stream.KPIUpdate{Type: "kpi", Line: r.line.ID, Seq: r.seq, At: stream.Time(time.Now()), State: state})
		}
		kpi(stream.StateDown)
		kpi(stream.StateRunning)
		testkit.CheckFor(t, wait, 5*time.Millisecond, func() error {
			got, err := r.tdb.GetAlert(ctx, al.ID)
			return testkit.Unless(err == nil && got.State == store.AlertResolved && len(rc.delivered()) == 2 && r.settled(),
				"alert %s, %d delivered", got.State, len(rc.delivered()))
		})
	})
}
