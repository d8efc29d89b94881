package web

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/stream"
	"github.com/linepulse/linepulse/telemetry"
)

// NodeLister lists a tenant's vision nodes; *stream.NodeDirectory implements it.
type NodeLister interface {
	Nodes(ctx context.Context, tenantID int64) ([]stream.NodeStatus, error)
}

// NodesResponse answers GET /api/v1/nodes.
type NodesResponse struct {
	Items []stream.NodeStatus `json:"items"`
}

// NodeTelemetryResponse answers GET /api/v1/nodes/{node}/telemetry.
type NodeTelemetryResponse struct {
	Node  string                `json:"node"`
	From  time.Time             `json:"from"`
	To    time.Time             `json:"to"`
	Items []store.MonitorSample `json:"items"`
}

func (a *API) nodeRoutes() []*Route {
	return []*Route{
		{Method: "GET", Path: "/api/v1/nodes", Summary: "Vision nodes: last seen, state (online or offline) and latest telemetry", Tag: "nodes",
			Action: ActDataRead, Resp: NodesResponse{}, handle: a.handleNodes},
		{Method: "GET", Path: "/api/v1/nodes/{node}/telemetry", Summary: "A vision node's stored (downsampled) telemetry over from..to", Tag: "nodes",
			Action: ActDataRead, Resource: "nodes", Resp: NodeTelemetryResponse{}, Query: rangeParams, handle: a.handleNodeTelemetry},
	}
}

// handleNodeTelemetry lists a node's SYSTEM_MONITOR rows (at most 31 days, 10000 rows).
func (a *API) handleNodeTelemetry(c *call) error {
	from, to, err := c.dataRange(31 * 24 * time.Hour)
	if err != nil {
		return err
	}
	node := c.r.PathValue("node")
	if !telemetry.ValidName(node) {
		return notFound("node " + strconv.Quote(node))
	}
	t, err := c.tenant()
	if err != nil {
		return err
	}
	items, err := t.MonitorSamples(c.r.Context(), node, from, to, 10000)
	if err != nil {
		return err
	}
	return c.reply(NodeTelemetryResponse{Node: node, From: from.UTC(), To: to.UTC(), Items: items})
}

// handleNodes lists the nodes of the caller's tenant; a node that watches only lines the
// caller may not see is left out, and so are those lines.
func (a *API) handleNodes(c *call) error {
	if a.deps.Nodes == nil {
		return errf(http.StatusServiceUnavailable, CodeUnavailable, "node health is not configured on this server")
	}
	ns, err := a.deps.Nodes.Nodes(c.r.Context(), c.p.TenantID)
	if err != nil {
		return err
	}
	out := make([]stream.NodeStatus, 0, len(ns))
	for _, n := range ns {
		all := len(n.Lines)
		n.Lines = slices.DeleteFunc(n.Lines, func(l int64) bool { return !c.p.CanSeeLine(l) })
		if all > 0 && len(n.Lines) == 0 {
			continue
		}
		out = append(out, n)
	}
	return c.reply(NodesResponse{Items: out})
}
