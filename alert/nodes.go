package alert

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/telemetry"
)

// node_offline: a vision node silent (no telemetry, lp.<tenant>.node.<node>.telemetry) for
// the rule's `after`. Every telemetry message re-arms a timer per rule; when it runs out the
// alert opens, and the next message resolves it. On start the timers are armed from what
// the nodes last said (the LP_NODES key-value bucket, docs/CONTRACT.md), so a node that
// fell silent while no instance ran is still reported.

const (
	nodesBucket       = "LP_NODES"
	telemetryWildcard = "lp.*.node.*.telemetry"
	// minNodeSilence keeps a rule with after 0 from firing between two telemetry messages.
	minNodeSilence = time.Second
)

// nodeSeen is the part of a telemetry message, or of an LP_NODES value, the rule reads.
type nodeSeen struct {
	Node     string    `json:"node"`
	At       time.Time `json:"at"`        // the node's time: names the occurrence alike on every instance
	LastSeen time.Time `json:"last_seen"` // LP_NODES only: when LinePulse received it
}

type ruleNode struct {
	rule int64
	node string
}

func nodeKey(node string, at time.Time) string {
	return "node_offline:" + node + ":" + strconv.FormatInt(at.UnixMilli(), 10)
}

// onTelemetry handles one telemetry message: the node is heard, so its open alerts
// resolve and its silence timers start again.
func (e *Engine) onTelemetry(ctx context.Context, m *nats.Msg) {
	slug, node, ok := telemetry.ParseSubject(m.Subject)
	if !ok {
		return
	}
	msg, err := telemetry.Decode(m.Data, node)
	if err != nil {
		return
	}
	e.nodeHeard(ctx, slug, nodeSeen{Node: node, At: msg.At}, e.clk.Now(), true)
}

// nodeHeard arms the node_offline timers of a node last heard at seen (a resolve also
// happens when live: the node speaks again).
func (e *Engine) nodeHeard(ctx context.Context, slug string, n nodeSeen, seen time.Time, live bool) {
	ts, rules, err := e.tenant(ctx, slug)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			e.log.Warn("alert: cannot load the rules", "tenant", slug, "err", err)
		}
		return
	}
	e.mu.Lock()
	if h, ok := ts.heard[n.Node]; !ok || !seen.Before(h.seen) {
		ts.heard[n.Node] = heardNode{n, seen}
	}
	e.mu.Unlock()
	for _, r := range rules {
		if r.Kind != store.RuleNodeOffline {
			continue
		}
		key := ruleNode{r.ID, n.Node}
		if live {
			e.mu.Lock()
			occ, open := ts.nodeOpen[key]
			delete(ts.nodeOpen, key)
			e.mu.Unlock()
			if open {
				e.resolveOccurrence(ctx, ts, r, occ)
			}
		}
		e.armNode(ctx, ts, r, n, seen)
	}
}

// armNode starts (again) the silence timer of a rule and a node last heard at seen.
func (e *Engine) armNode(ctx context.Context, ts *tenantState, r store.AlertRule, n nodeSeen, seen time.Time) {
	silence := max(r.After.D(), minNodeSilence)
	occ := nodeKey(n.Node, n.At.UTC())
	e.after(ctx, timerKey(ts, r, "node:"+n.Node), max(silence-e.clk.Now().Sub(seen), 0), func(ctx context.Context) {
		e.nodeSilent(ctx, ts, r, n.Node, occ, seen)
	})
}

// heardNode is a node's latest telemetry and when it arrived.
type heardNode struct {
	n    nodeSeen
	seen time.Time
}

// armNewNodeRules arms the node_offline rules not seen before for every node heard so
// far, so a rule created while a node is already silent still reports it.
func (e *Engine) armNewNodeRules(ts *tenantState, rules []store.AlertRule) {
	var fresh []store.AlertRule
	e.mu.Lock()
	ctx := e.runCtx // the caller's may be a request's
	if ctx == nil {
		e.mu.Unlock()
		return
	}
	for _, r := range rules {
		if r.Kind == store.RuleNodeOffline && !ts.nodeRules[r.ID] {
			ts.nodeRules[r.ID] = true
			fresh = append(fresh, r)
		}
	}
	heard := make([]heardNode, 0, len(ts.heard))
	if len(fresh) > 0 {
		for _, h := range ts.heard {
			heard = append(heard, h)
		}
	}
	e.mu.Unlock()
	for _, r := range fresh {
		for _, h := range heard {
			e.armNode(ctx, ts, r, h.n, h.seen)
		}
	}
}

// nodeSilent opens the alert of a node silent since seen, on the first line of the node
// that the rule covers (nodes watching no covered line are not reported).
func (e *Engine) nodeSilent(ctx context.Context, ts *tenantState, r store.AlertRule, node, occ string, seen time.Time) {
	m, err := e.cfg.Meta.Get(ctx, ts.id)
	if err != nil {
		e.log.Warn("alert: cannot load the plant model", "tenant", ts.slug, "err", err)
		return
	}
	var lines []int64
	for line, nodes := range m.Nodes {
		if slices.Contains(nodes, node) && r.Covers(line) {
			lines = append(lines, line)
		}
	}
	if len(lines) == 0 {
		return
	}
	al := store.Alert{RuleID: r.ID, LineID: slices.Min(lines), Occurrence: occ, Kind: r.Kind, Severity: r.Severity,
		Subject: node, StartedAt: seen, Value: e.clk.Now().Sub(seen).Seconds()}
	e.fire(ctx, ts, r, al)
	// Whoever opened it (this instance or another), it is this node's open occurrence now.
	e.mu.Lock()
	ts.nodeOpen[ruleNode{r.ID, node}] = occ
	e.mu.Unlock()
}

// restoreNodes arms the timers from LP_NODES (absent before the stream engine first ran).
func (e *Engine) restoreNodes(ctx context.Context) {
	js, err := jetstream.New(e.cfg.NC)
	if err != nil {
		return
	}
	kv, err := js.KeyValue(ctx, nodesBucket)
	if err != nil {
		if !errors.Is(err, jetstream.ErrBucketNotFound) {
			e.log.Warn("alert: cannot open the node bucket", "err", err)
		}
		return
	}
	lister, err := kv.ListKeys(ctx)
	if err != nil {
		if !errors.Is(err, jetstream.ErrNoKeysFound) {
			e.log.Warn("alert: cannot list the nodes", "err", err)
		}
		return
	}
	for k := range lister.Keys() {
		en, err := kv.Get(ctx, k)
		if err != nil {
			continue
		}
		slug, _, ok := strings.Cut(k, ".")
		var n nodeSeen
		if !ok || json.Unmarshal(en.Value(), &n) != nil || k != slug+"."+n.Node || !telemetry.ValidName(n.Node) || n.LastSeen.IsZero() {
			continue
		}
		e.nodeHeard(ctx, slug, n, n.LastSeen, false)
	}
}
