package web_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/store/storetest"
	"github.com/linepulse/linepulse/stream"
)

// fakeNodes answers for each tenant one node named after it, watching lines 1 and 2 (the
// real directory, on LP_NODES, is tested in package stream).
type fakeNodes struct{}

func (fakeNodes) Nodes(_ context.Context, tenantID int64) ([]stream.NodeStatus, error) {
	return []stream.NodeStatus{{Node: "edge-" + strconv.FormatInt(tenantID, 10), State: stream.NodeOffline, CPUPct: 12.5, Lines: []int64{1, 2}}}, nil
}

func TestNodesRoute(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		ev := newEnv(t, e)
		tok := ev.token("acme", "supervisor")
		got := ev.do(req{method: "GET", path: "/api/v1/nodes", token: tok})
		if got.code != http.StatusOK || !strings.Contains(string(got.body), `"node":"edge-`+strconv.FormatInt(ev.acme.ID, 10)+`"`) || !strings.Contains(string(got.body), `"cpu_pct":12.5`) {
			t.Errorf("GET /api/v1/nodes: %d %s", got.code, got.body)
		}
		if got := ev.do(req{method: "GET", path: "/api/v1/nodes"}); got.code != http.StatusUnauthorized {
			t.Errorf("without credentials: %d", got.code)
		}
		// Stored telemetry: acme's node, not beta's.
		ctx := context.Background()
		tdb, err := ev.st.Tenant(ctx, ev.acme.ID)
		if err != nil {
			t.Fatal(err)
		}
		at := ev.clock.Now().Add(-time.Hour)
		if err := tdb.Monitor.Create(ctx, &store.MonitorSample{Node: "edge-1", RecordedAt: at, CPUUsage: 41.5, RAMUsage: 60, GPUTemp: 65, GPUMemUsedBytes: 1 << 30}); err != nil {
			t.Fatal(err)
		}
		got = ev.do(req{method: "GET", path: "/api/v1/nodes/edge-1/telemetry", token: tok})
		if got.code != http.StatusOK || !strings.Contains(string(got.body), `"cpu_usage":41.5`) {
			t.Errorf("telemetry: %d %s", got.code, got.body)
		}
		if got := ev.do(req{method: "GET", path: "/api/v1/nodes/edge-1/telemetry", token: ev.token("beta", "supervisor")}); got.code != http.StatusOK || strings.Contains(string(got.body), "41.5") {
			t.Errorf("beta sees acme's telemetry: %d %s", got.code, got.body)
		}
		if got := ev.do(req{method: "GET", path: "/api/v1/nodes/edge.1/telemetry", token: tok}); got.code != http.StatusNotFound {
			t.Errorf("bad node name: %d %s", got.code, got.body)
		}
	})
}
