package alert_test

import (
	"context"
	"testing"
	"time"

	"github.com/linepulse/linepulse/alert"
	"github.com/linepulse/linepulse/internal/clock"
	"github.com/linepulse/linepulse/internal/testkit"
	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/store/storetest"
)

// TestEscalationSurvivesRestart: every instance stops before escalate_after; two new ones
// started after it escalate the unacknowledged alert exactly once, and not the one
// acknowledged meanwhile.
func TestEscalationSurvivesRestart(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		fake, r, first, second, _ := escalationRig(t, e)
		withFake := func(c *alert.Config) { c.Clock = fake }
		ctx := context.Background()

		_, stop := r.run(withFake)
		line2 := r.newLine("Packer")
		r.downtime(r.line.ID, "started", 0, fake.Now(), nil, "")
		r.downtime(line2.ID, "started", 0, fake.Now(), nil, "")
		testkit.CheckFor(t, wait, 5*time.Millisecond, func() error {
			return testkit.Unless(len(first.delivered()) == 2 && r.settled(), "first channel got %d", len(first.delivered()))
		})
		var unacked, acked int64
		for _, g := range first.delivered() {
			if g.Payload.Line.ID == line2.ID {
				acked = g.Payload.ID
			} else {
				unacked = g.Payload.ID
			}
		}
		fake.Advance(5 * time.Minute)
		stop()
		if _, err := r.tdb.AckAlert(ctx, acked, 5, "on it"); err != nil {
			t.Fatal(err)
		}
		fake.Advance(6 * time.Minute) // nobody runs when escalate_after passes

		if got := r.restartTwice(fake, second); len(got) != 1 || got[0].Payload.ID != unacked || got[0].Event != store.EventEscalated {
			t.Fatalf("second channel: %+v", got)
		}
		if al, _ := r.tdb.GetAlert(ctx, acked); al.EscalatedAt != nil {
			t.Fatalf("acknowledged alert escalated: %+v", al)
		}
	})
}

// TestUncodedDowntimeSurvivesRestart: a stop ends uncoded while an instance runs, every
// instance stops before `after` passes; two new ones started after it fire exactly once,
// and none for a stop coded meanwhile.
func TestUncodedDowntimeSurvivesRestart(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		fake, r, rc, ch := fakeRig(t, e)
		r.rule(store.AlertRule{Name: "code your stops", Kind: store.RuleUncodedDowntime, Channels: []int64{ch}, After: store.Duration(15 * time.Minute)})
		withFake := func(c *alert.Config) { c.Clock = fake }
		ctx := context.Background()
		if err := r.tdb.Failures.Create(ctx, &store.Failure{Code: "JAM", Name: "Jam"}); err != nil {
			t.Fatal(err)
		}

		_, stop := r.run(withFake)
		fake.Advance(time.Minute)
		var evs []store.DowntimeEvent
		for i := range 2 {
			start := fake.Now().Add(time.Duration(i-2) * 20 * time.Second)
			end := start.Add(10 * time.Second)
			ev := store.DowntimeEvent{Start: start, End: &end, DurationMS: 10000}
			if err := r.tdb.UpsertDowntime(ctx, r.line.ID, &ev); err != nil {
				t.Fatal(err)
			}
			r.downtime(r.line.ID, "ended", ev.ID, start, &end, "")
			evs = append(evs, ev)
		}
		fake.Advance(5 * time.Minute)
		stop()
		if err := r.tdb.SetDowntimeReason(ctx, r.line.ID, evs[1].ID, "JAM", "", 1); err != nil {
			t.Fatal(err)
		}
		fake.Advance(20 * time.Minute) // nobody runs when `after` passes

		got := r.restartTwice(fake, rc)
		if len(got) != 1 || got[0].Payload.Kind != store.RuleUncodedDowntime || !got[0].Payload.StartedAt.Equal(*evs[0].End) {
			t.Fatalf("delivered: %+v", got)
		}
	})
}

// TestLineDownSurvivesRestart: a stop is open when every instance stops before `after`;
// two new ones started after it fire line_down exactly once.
func TestLineDownSurvivesRestart(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		fake, r, rc, ch := fakeRig(t, e)
		r.rule(store.AlertRule{Name: "stopped 5m", Kind: store.RuleLineDown, Channels: []int64{ch}, After: store.Duration(5 * time.Minute)})
		withFake := func(c *alert.Config) { c.Clock = fake }
		start := r.openStop()

		_, stop := r.run(withFake)
		r.downtime(r.line.ID, "started", 0, start, nil, "")
		fake.Advance(2 * time.Minute)
		stop()
		fake.Advance(10 * time.Minute)

		if got := r.restartTwice(fake, rc); len(got) != 1 || got[0].Payload.Kind != store.RuleLineDown || !got[0].Payload.StartedAt.Equal(start) {
			t.Fatalf("delivered: %+v", got)
		}
	})
}

// TestRuleCreatedDuringStop: a line_down rule created (and Invalidate called, as the API
// does) while a stop is open fires for that stop once it has lasted `after`, with no
// further message.
func TestRuleCreatedDuringStop(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		fake, r, rc, ch := fakeRig(t, e)
		eng := r.start(func(c *alert.Config) { c.Clock = fake })
		r.openStop()
		r.rule(store.AlertRule{Name: "stopped 5m", Kind: store.RuleLineDown, Channels: []int64{ch}, After: store.Duration(5 * time.Minute)})
		eng.Invalidate(r.tdb.ID())
		testkit.CheckFor(t, wait, 5*time.Millisecond, func() error {
			fake.Advance(time.Minute) // the rebuild runs in the background
			return testkit.Unless(len(rc.delivered()) == 1 && r.settled(), "delivered %d", len(rc.delivered()))
		})
	})
}

// openStop books an open stop on the rig's line, started now, as the stream engine does.
func (r *rig) openStop() time.Time {
	r.t.Helper()
	ev := store.DowntimeEvent{Start: time.Now().UTC().Truncate(time.Millisecond)}
	if err := r.tdb.UpsertDowntime(context.Background(), r.line.ID, &ev); err != nil {
		r.t.Fatal(err)
	}
	return ev.Start
}

// fakeRig is a rig on a fake clock with one webhook channel ch to rc.
func fakeRig(t *testing.T, e storetest.Engine) (fake *clock.Fake, r *rig, rc *receiver, ch int64) {
	fake = clock.NewFake(time.Now().UTC().Truncate(time.Millisecond))
	r = newRig(t, e, func(c *store.Config) { c.Now = fake.Now })
	rc = newReceiver(t, 0)
	ch = r.channel(store.AlertChannel{Name: "ops", Kind: store.ChannelWebhook, Config: store.ChannelConfig{URL: rc.URL}})
	return fake, r, rc, ch
}

// restartTwice starts two instances on fake after every earlier one stopped, waits until
// rc got one notification, lets an hour pass and returns what rc got by then.
func (r *rig) restartTwice(fake *clock.Fake, rc *receiver) []received {
	r.t.Helper()
	for range 2 {
		r.run(func(c *alert.Config) { c.Clock = fake })
	}
	fake.Advance(time.Second) // what fell due while nobody ran runs at once
	testkit.CheckFor(r.t, wait, 5*time.Millisecond, func() error {
		return testkit.Unless(len(rc.delivered()) == 1 && r.settled(), "delivered %d", len(rc.delivered()))
	})
	fake.Advance(time.Hour)
	testkit.CheckFor(r.t, wait, 5*time.Millisecond, func() error {
		return testkit.Unless(r.settled(), "outbox not settled")
	})
	return rc.delivered()
}
