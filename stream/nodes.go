package stream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/telemetry"
)

// This file is vision-node health (the design's Module 5): the engine hears each node's
// telemetry, remembers when it last did (NodeTracker, kept in LP_NODES), keeps downsampled
// figures in SYSTEM_MONITOR, and turns the lines of silent nodes offline. NodeDirectory
// answers GET /api/v1/nodes from LP_NODES.

// NodesBucket holds each vision node's latest status under "<tenant>.<node>" (NodeStatus).
const NodesBucket = "LP_NODES"

// SYSTEM_CONFIG keys read by the node-health code (values: JSON numbers of seconds).
const (
	// ConfigTelemetryInterval is how often nodes are expected to publish telemetry
	// (default 10 s); ConfigOfflineAfter defaults to three of it.
	ConfigTelemetryInterval = "node.telemetry_interval_s"
	// ConfigOfflineAfter is how long a node may be silent before it is offline.
	ConfigOfflineAfter = "node.offline_after_s"
	// ConfigMonitorEvery is the SYSTEM_MONITOR downsampling: at most one row per node per
	// this many seconds (default 60).
	ConfigMonitorEvery = "node.monitor_every_s"
)

// Node states.
const (
	NodeOnline  = "online"
	NodeOffline = "offline"
)

// NodeSettings are the SYSTEM_CONFIG settings of node health.
type NodeSettings struct {
	TelemetryInterval, OfflineAfter, MonitorEvery time.Duration
}

// LoadNodeSettings reads the settings, with their defaults for absent keys. A value that
// is not a positive number of seconds is an error naming the key.
func LoadNodeSettings(ctx context.Context, st *store.Store) (NodeSettings, error) {
	get := func(key string, def time.Duration) (time.Duration, error) {
		e, err := st.GetConfig(ctx, key)
		if errors.Is(err, store.ErrNotFound) {
			return def, nil
		}
		if err != nil {
			return 0, err
		}
		var s float64
		if err := json.Unmarshal(e.Value, &s); err != nil || s <= 0 || s > 86400 {
			return 0, fmt.Errorf("stream: system_config %s: want a number of seconds in (0, 86400], got %s", key, e.Value)
		}
		return time.Duration(s * float64(time.Second)), nil
	}
	var n NodeSettings
	var err error
	if n.TelemetryInterval, err = get(ConfigTelemetryInterval, 10*time.Second); err != nil {
		return n, err
	}
	if n.OfflineAfter, err = get(ConfigOfflineAfter, 3*n.TelemetryInterval); err != nil {
		return n, err
	}
	n.MonitorEvery, err = get(ConfigMonitorEvery, time.Minute)
	return n, err
}

// NodeStatus is a vision node as LinePulse last heard it: the LP_NODES value and an item
// of GET /api/v1/nodes.
type NodeStatus struct {
	Node            string             `json:"node"`
	LastSeen        time.Time          `json:"last_seen"` // when LinePulse received the latest telemetry
	At              time.Time          `json:"at"`        // the node's own time of it
	State           string             `json:"state"`     // online or offline, as of reading
	SilentS         float64            `json:"silent_s"`  // seconds since last_seen, as of reading
	CPUPct          float64            `json:"cpu_pct"`
	RAMPct          float64            `json:"ram_pct"`
	GPUTempC        float64            `json:"gpu_temp_c"`
	GPUMemUsedBytes int64              `json:"gpu_mem_used_bytes"`
	Cameras         []telemetry.Camera `json:"cameras"`
	Lines           []int64            `json:"lines"` // the lines its cameras watch
}

// judge fills State and SilentS as of now.
func (s *NodeStatus) judge(now time.Time, offlineAfter time.Duration) {
	silent := max(now.Sub(s.LastSeen), 0)
	s.SilentS = silent.Seconds()
	s.State = NodeOnline
	if silent > offlineAfter {
		s.State = NodeOffline
	}
}

// NodeTracker remembers each node's latest telemetry and when it arrived. It is not safe
// for concurrent use (the engine's loop owns it). Rules on node silence (the line state
// offline, alerts) ask Silent.
type NodeTracker struct {
	nodes  map[string]*NodeStatus // "<tenant>.<node>"
	stored map[string]time.Time   // last SYSTEM_MONITOR row per node
}

// NewNodeTracker makes an empty tracker.
func NewNodeTracker() *NodeTracker {
	return &NodeTracker{nodes: map[string]*NodeStatus{}, stored: map[string]time.Time{}}
}

// NodeKey is the LP_NODES key of a node: "<tenant>.<node>".
func NodeKey(tenant, node string) string { return tenant + "." + node }

// Seen records a telemetry message received at now and returns the node's status.
func (t *NodeTracker) Seen(tenant string, m telemetry.Message, now time.Time) NodeStatus {
	s := NodeStatus{Node: m.Node, LastSeen: now, At: m.At, State: NodeOnline, CPUPct: m.CPUPct, RAMPct: m.RAMPct,
		GPUTempC: m.GPUTempC, GPUMemUsedBytes: m.GPUMemUsedBytes, Cameras: slices.Clone(m.Cameras)}
	t.nodes[NodeKey(tenant, m.Node)] = &s
	return s
}

// restore puts a status read back from LP_NODES (newer ones win).
func (t *NodeTracker) restore(key string, s NodeStatus) {
	if old, ok := t.nodes[key]; !ok || s.LastSeen.After(old.LastSeen) {
		t.nodes[key] = &s
	}
}

// Silent says whether the node has been silent longer than after at now; known is false
// for a node never heard of (nodes without telemetry are never offline).
func (t *NodeTracker) Silent(tenant, node string, now time.Time, after time.Duration) (silent, known bool) {
	s, ok := t.nodes[NodeKey(tenant, node)]
	if !ok {
		return false, false
	}
	return now.Sub(s.LastSeen) > after, true
}

// dueForMonitor says whether a SYSTEM_MONITOR row of the node is due at now (downsampling),
// and if so counts it as written.
func (t *NodeTracker) dueForMonitor(tenant, node string, now time.Time, every time.Duration) bool {
	k := NodeKey(tenant, node)
	if last, ok := t.stored[k]; ok && now.Sub(last) < every {
		return false
	}
	t.stored[k] = now
	return true
}

// linesOffline says whether a line whose vision nodes are nodes is offline: it has nodes
// that sent telemetry, and all of those are silent.
func (t *NodeTracker) linesOffline(tenant string, nodes []string, now time.Time, after time.Duration) bool {
	known := false
	for _, n := range nodes {
		silent, ok := t.Silent(tenant, n, now, after)
		if ok && !silent {
			return false
		}
		known = known || ok
	}
	return known
}

// NodeDirectory lists a tenant's vision nodes for the API, from LP_NODES.
type NodeDirectory struct {
	kv   jetstream.KeyValue
	st   *store.Store
	meta *store.MetaCache
	now  func() time.Time
}

// OpenNodeDirectory opens (creating if needed) LP_NODES on nc.
func OpenNodeDirectory(ctx context.Context, nc *nats.Conn, st *store.Store, meta *store.MetaCache) (*NodeDirectory, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("stream: cannot open JetStream: %w", err)
	}
	kv, err := openNodesKV(ctx, js)
	if err != nil {
		return nil, err
	}
	return &NodeDirectory{kv: kv, st: st, meta: meta, now: time.Now}, nil
}

func openNodesKV(ctx context.Context, js jetstream.JetStream) (jetstream.KeyValue, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: NodesBucket, Description: "LinePulse vision nodes: latest telemetry and when it arrived", History: 1})
	if err != nil {
		return nil, fmt.Errorf("stream: cannot open bucket %s: %w", NodesBucket, err)
	}
	return kv, nil
}

// Nodes lists the tenant's nodes, sorted by name: every node that sent telemetry, and every
// node a camera names that never did (state offline, zero last_seen).
func (d *NodeDirectory) Nodes(ctx context.Context, tenantID int64) ([]NodeStatus, error) {
	m, err := d.meta.Get(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	set, err := LoadNodeSettings(ctx, d.st)
	if err != nil {
		return nil, err
	}
	stored, err := readNodes(ctx, d.kv, m.Tenant.Slug)
	if err != nil {
		return nil, err
	}
	all := make([]NodeStatus, 0, len(stored))
	for _, s := range stored {
		all = append(all, s)
	}
	byNode := map[string]*NodeStatus{}
	for i := range all {
		byNode[all[i].Node] = &all[i]
	}
	for line, nodes := range m.Nodes {
		for _, n := range nodes {
			s := byNode[n]
			if s == nil {
				all = append(all, NodeStatus{Node: n, State: NodeOffline, Cameras: []telemetry.Camera{}})
				s = &all[len(all)-1]
				byNode[n] = s
			}
			s.Lines = append(s.Lines, line)
		}
	}
	now := d.now()
	for i := range all {
		if !all[i].LastSeen.IsZero() {
			all[i].judge(now, set.OfflineAfter)
		}
		if all[i].Lines == nil {
			all[i].Lines = []int64{}
		}
		slices.Sort(all[i].Lines)
	}
	slices.SortFunc(all, func(a, b NodeStatus) int { return strings.Compare(a.Node, b.Node) })
	return all, nil
}

// readNodes reads the LP_NODES entries of a tenant ("" for all), by key.
func readNodes(ctx context.Context, kv jetstream.KeyValue, tenant string) (map[string]NodeStatus, error) {
	filter := ">"
	if tenant != "" {
		filter = tenant + ".>"
	}
	lister, err := kv.ListKeysFiltered(ctx, filter)
	if err != nil {
		return nil, fmt.Errorf("stream: cannot list %s: %w", NodesBucket, err)
	}
	out := map[string]NodeStatus{}
	for k := range lister.Keys() {
		en, err := kv.Get(ctx, k)
		if err != nil {
			continue // deleted meanwhile
		}
		var s NodeStatus
		if json.Unmarshal(en.Value(), &s) == nil && telemetry.ValidName(s.Node) {
			out[k] = s
		}
	}
	return out, nil
}

// monitorRow is a SYSTEM_MONITOR row to write.
type monitorRow struct {
	tenantID int64
	sample   store.MonitorSample
}

// ---- the engine's side ----

// startNodes opens LP_NODES, reads the settings and what the nodes last said, and
// subscribes to telemetry; the returned function unsubscribes.
func (e *Engine) startNodes(ctx context.Context) (func(), error) {
	kv, err := openNodesKV(ctx, e.js)
	if err != nil {
		return nil, err
	}
	e.nodesKV = kv
	if e.cfg.Nodes != nil {
		e.nodeSet = *e.cfg.Nodes
	} else if e.nodeSet, err = LoadNodeSettings(ctx, e.st); err != nil {
		e.log.Warn("node settings unreadable; using the defaults", "err", err)
		e.nodeSet = NodeSettings{TelemetryInterval: 10 * time.Second, OfflineAfter: 30 * time.Second, MonitorEvery: time.Minute}
	}
	prev, err := readNodes(ctx, kv, "")
	if err != nil {
		e.log.Warn("cannot read the nodes' last status", "err", err)
	}
	for k, s := range prev {
		e.nodes.restore(k, s)
	}
	sub, err := e.nc.ChanSubscribe(telemetryWildcard, e.telem)
	if err != nil {
		return nil, fmt.Errorf("stream: cannot subscribe to %s: %w", telemetryWildcard, err)
	}
	return func() { _ = sub.Unsubscribe() }, nil
}

const telemetryWildcard = "lp.*.node.*.telemetry"

// handleTelemetry records one telemetry message: LP_NODES, and a SYSTEM_MONITOR row when
// one is due. A message that is not valid, or of an unknown tenant, is counted and dropped.
func (e *Engine) handleTelemetry(m *nats.Msg) {
	tenant, node, ok := telemetry.ParseSubject(m.Subject)
	ts := e.reg.tenants[tenant]
	if !ok || ts == nil {
		e.m.skipped.WithLabelValues("telemetry_unknown").Inc()
		return
	}
	msg, err := telemetry.Decode(m.Data, node)
	if err != nil {
		e.m.skipped.WithLabelValues("telemetry_invalid").Inc()
		e.log.Debug("telemetry refused", "tenant", tenant, "node", node, "err", err)
		return
	}
	now := e.now()
	s := e.nodes.Seen(tenant, msg, now)
	if data, err := json.Marshal(s); err == nil {
		e.publish("$KV."+NodesBucket+"."+NodeKey(tenant, node), data)
	}
	if e.nodes.dueForMonitor(tenant, node, now, e.nodeSet.MonitorEvery) {
		row := monitorRow{tenantID: ts.id, sample: store.MonitorSample{Node: node, RecordedAt: msg.At,
			CPUUsage: msg.CPUPct, RAMUsage: msg.RAMPct, GPUTemp: msg.GPUTempC, GPUMemUsedBytes: msg.GPUMemUsedBytes}}
		select {
		case e.monitorCh <- row:
		default:
			e.m.skipped.WithLabelValues("monitor_queue_full").Inc()
		}
	}
}

// monitorWriter writes SYSTEM_MONITOR rows (off the loop: the database may be slow).
func (e *Engine) monitorWriter(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case r := <-e.monitorCh:
			tdb, err := e.st.Tenant(ctx, r.tenantID)
			if err == nil {
				err = tdb.Monitor.Create(ctx, &r.sample)
			}
			if err != nil && ctx.Err() == nil {
				e.log.Warn("cannot store node telemetry", "node", r.sample.Node, "err", err)
			}
		}
	}
}

// lineOffline says whether the line's vision nodes are all silent (see NodeTracker).
func (e *Engine) lineOffline(ls *lineState, now time.Time) bool {
	if ls.ten.meta == nil {
		return false
	}
	return e.nodes.linesOffline(ls.ten.slug, ls.ten.meta.Nodes[ls.id], now, e.nodeSet.OfflineAfter)
}
