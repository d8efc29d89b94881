package hub

import (
	"encoding/json"

	"github.com/nats-io/nats.go"

	"github.com/linepulse/linepulse/bus"
	"github.com/linepulse/linepulse/identity"
)

// revocation is the JSON published on bus.AuthRevokedSubject: either Session, or
// Tenant and Kiosk. It names credentials, it carries none.
type revocation struct {
	From    string `json:"from"` // publishing hub (Hub.id): it has closed its own connections already
	Session string `json:"session,omitempty"`
	Tenant  int64  `json:"tenant,omitempty"`
	Kiosk   int64  `json:"kiosk,omitempty"`
}

func (r revocation) valid() bool {
	return (r.Session != "") != (r.Tenant > 0 && r.Kiosk > 0)
}

func (r revocation) matches(p identity.Principal) bool {
	if r.Session != "" {
		return p.SessionID == r.Session
	}
	return p.Kiosk && p.TenantID == r.Tenant && p.KioskID == r.Kiosk
}

// EndSession closes with CloseRevoked every live connection opened with session
// sessionID, here at once and on every other instance through NATS. Call it after the
// session is revoked in the store, so that a reconnect is refused.
func (h *Hub) EndSession(sessionID string) {
	h.revoke(revocation{Session: sessionID})
}

// RevokeKiosk closes with CloseRevoked every live connection of kiosk token kioskID of
// tenant tenantID, here and on every other instance. Call it after the revocation is stored.
func (h *Hub) RevokeKiosk(tenantID, kioskID int64) {
	h.revoke(revocation{Tenant: tenantID, Kiosk: kioskID})
}

func (h *Hub) revoke(r revocation) {
	if !r.valid() {
		return
	}
	// Locally first: this must work even when NATS is unreachable.
	h.closeRevoked(r)
	r.From = h.id
	b, _ := json.Marshal(r)
	if err := h.nc.Publish(bus.AuthRevokedSubject, b); err != nil {
		h.log.Warn("hub: cannot announce a revocation to other instances", "err", err)
	}
}

// onRevoked handles a revocation published by another instance.
func (h *Hub) onRevoked(m *nats.Msg) {
	var r revocation
	if err := json.Unmarshal(m.Data, &r); err != nil || !r.valid() {
		h.stats.dropped.Add(1)
		h.log.Warn("hub: malformed revocation dropped", "bytes", len(m.Data))
		return
	}
	if r.From != h.id {
		h.closeRevoked(r)
	}
}

// recentRevocations is how many revocations an upgrade in flight is checked against (it
// is refused, to authenticate again, if more happened during its handshake).
const recentRevocations = 256

// revokedSinceLocked reports whether a revocation recorded after generation gen matches
// p, or whether too many happened since to tell (unsure). h.mu held.
func (h *Hub) revokedSinceLocked(gen uint64, p identity.Principal) (revoked, unsure bool) {
	now := h.revGen.Load()
	if now-gen > recentRevocations {
		return false, true
	}
	for g := gen + 1; g <= now; g++ {
		if h.revocations[g%recentRevocations].matches(p) {
			return true, false
		}
	}
	return false, false
}

// closeRevoked closes the local connections r matches and remembers r for upgrades in
// flight.
func (h *Hub) closeRevoked(r revocation) {
	var hit []*conn
	h.mu.Lock()
	gen := h.revGen.Load() + 1
	h.revocations[gen%recentRevocations] = r
	h.revGen.Store(gen)
	for c := range h.conns {
		if r.matches(c.p) {
			hit = append(hit, c)
		}
	}
	h.mu.Unlock()
	n := 0
	for _, c := range hit {
		if !c.isClosing() {
			n++
			h.stats.revoked.Add(1) // before the close: whoever sees it sees the count
			go c.closeWith(CloseRevoked, "credentials revoked")
		}
	}
	if n == 0 {
		return
	}
	if r.Session != "" { // the session id is not logged
		h.log.Info("hub: closed connections of an ended session", "connections", n)
	} else {
		h.log.Info("hub: closed connections of a revoked kiosk token", "tenant", r.Tenant, "kiosk", r.Kiosk, "connections", n)
	}
}
