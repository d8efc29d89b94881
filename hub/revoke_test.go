package hub_test

import (
	"slices"
	"testing"

	"github.com/linepulse/linepulse/bus"
	"github.com/linepulse/linepulse/hub"
)

// watchLine1 connects each user to s and subscribes it to line 1 of its tenant.
func (e *env) watchLine1(s *server, users []string) []*client {
	e.t.Helper()
	cs := make([]*client, len(users))
	for i, u := range users {
		cs[i] = e.connect(s, u)
		cs[i].send(`{"op":"subscribe","lines":[1]}`)
		cs[i].expect("snapshot", 1, 0)
	}
	return cs
}

// expectServed checks that clients still receive line 1 of their tenant.
func (e *env) expectServed(users []string, cs []*client, seq uint64) {
	e.t.Helper()
	e.publish(acme, 1, "kpi", kpi(1, seq, 0))
	e.publish(globex, 1, "kpi", kpi(1, seq, 0))
	for i, c := range cs {
		if m, err := c.read(); err != nil || m.Type != "kpi" || m.Seq != seq {
			e.t.Fatalf("%s (not revoked): got %s, %v; want kpi seq %d", users[i], m.raw, err, seq)
		}
	}
}

func TestRevocationClosesLiveConnections(t *testing.T) {
	all := []string{"alice-s1", "alice-s1", "alice-s2", "kiosk-a5", "kiosk-a6", "kiosk-g5"}
	for _, tc := range []struct {
		name    string
		revoke  func(*hub.Hub)
		victims []string // closed with CloseRevoked; the rest of all stays served
	}{
		{"session", func(h *hub.Hub) { h.EndSession("sess-1") }, []string{"alice-s1"}},
		{"kiosk", func(h *hub.Hub) { h.RevokeKiosk(1, 5) }, []string{"kiosk-a5"}}, // not globex's kiosk 5
		{"nothing", func(h *hub.Hub) { h.EndSession(""); h.RevokeKiosk(0, 5); h.RevokeKiosk(1, 0) }, nil},
	} {
		for _, where := range []string{"same instance", "other instance"} {
			t.Run(tc.name+"/"+where, func(t *testing.T) {
				e := newEnv(t)
				s := e.start()
				from := s
				if where == "other instance" { // two instances on one NATS
					from = e.start()
				}
				cs := e.watchLine1(s, all)
				var victims, survivors []*client
				var alive []string
				wantRevoked := 0
				for i, u := range all {
					if slices.Contains(tc.victims, u) {
						victims = append(victims, cs[i])
						wantRevoked++
					} else {
						survivors = append(survivors, cs[i])
						alive = append(alive, u)
					}
				}

				tc.revoke(from.hub)
				for _, c := range victims {
					if st := c.closeStatus(); st != hub.CloseRevoked {
						t.Fatalf("revoked client: close %d, want %d", st, hub.CloseRevoked)
					}
				}
				e.expectServed(alive, survivors, 1)
				if got := s.hub.Stats().Revoked; got != int64(wantRevoked) {
					t.Fatalf("Stats().Revoked = %d, want %d", got, wantRevoked)
				}
				if from != s && from.hub.Stats().Revoked != 0 {
					t.Fatalf("the publishing instance counted %d revocations without clients", from.hub.Stats().Revoked)
				}
			})
		}
	}
}

func TestMalformedRevocationIsDropped(t *testing.T) {
	e := newEnv(t)
	s := e.start()
	users := []string{"alice-s1", "kiosk-a5"}
	cs := e.watchLine1(s, users)
	for _, p := range []string{`not json`, `{}`, `{"session":"sess-1","tenant":1,"kiosk":5}`, `{"tenant":1}`} {
		if err := e.pub.Publish(bus.AuthRevokedSubject, []byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.pub.Flush(); err != nil {
		t.Fatal(err)
	}
	e.eventually("4 revocations dropped", func() bool { return s.hub.Stats().Dropped == 4 })
	e.expectServed(users, cs, 1)
	if n := s.hub.Stats().Revoked; n != 0 {
		t.Fatalf("Stats().Revoked = %d, want 0", n)
	}
}

// An upgrade whose credentials were accepted just before the revocation, and which
// registers just after it, is closed too.
func TestRevocationReachesUpgradeInFlight(t *testing.T) {
	e := newEnv(t)
	s := e.start()
	held, release := make(chan struct{}), make(chan struct{})
	e.auth.gate = func(user string) {
		if user == "alice-s1" {
			close(held)
			<-release
		}
	}
	dialed := make(chan *client, 1)
	go func() {
		ws, _, err := e.dial(s, bearer(e.token("alice-s1")))
		if err != nil {
			t.Errorf("dial: %v", err)
			dialed <- nil
			return
		}
		t.Cleanup(func() { ws.CloseNow() })
		dialed <- &client{t: t, ws: ws}
	}()
	<-held // authenticated, not yet registered
	s.hub.EndSession("sess-1")
	close(release)
	c := <-dialed
	if c == nil {
		t.FailNow()
	}
	if st := c.closeStatus(); st != hub.CloseRevoked {
		t.Fatalf("upgrade in flight: close %d, want %d", st, hub.CloseRevoked)
	}
	// Another session of the same user is still welcome.
	e.auth.gate = nil
	e.expectServed([]string{"alice-s2"}, e.watchLine1(s, []string{"alice-s2"}), 1)
}
