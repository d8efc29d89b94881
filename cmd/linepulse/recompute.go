package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/stream"
)

// recomputeCommand re-books a line's downtime from its stored detections (docs/OEE.md):
// for data that arrived late, older than the KPI engine's replay window.
func recomputeCommand() *command {
	c := &command{name: "recompute", short: "re-book a line's downtime events over a range from its stored detections (late or backfilled data)", flags: newFlags("recompute")}
	sf := addStoreFlags(c.flags)
	tenant := c.flags.String("tenant", "", "tenant slug (required)")
	line := c.flags.Int64("line", 0, "line id (required)")
	fromS := c.flags.String("from", "", "start of the range, RFC 3339 (required)")
	toS := c.flags.String("to", "", "end of the range, exclusive, RFC 3339 (required; capped at now)")
	format := c.flags.String("format", "text", "output format: text or json")
	c.run = sf.withStore(func(cc *cliContext, s *store.Store) error {
		if *line <= 0 {
			return errors.New("--line is required (a line id)")
		}
		from, err := time.Parse(time.RFC3339, *fromS)
		if err != nil {
			return fmt.Errorf("--from: want an RFC 3339 time such as 2026-01-07T00:00:00+01:00 (%v)", err)
		}
		to, err := time.Parse(time.RFC3339, *toS)
		if err != nil {
			return fmt.Errorf("--to: want an RFC 3339 time such as 2026-01-08T00:00:00+01:00 (%v)", err)
		}
		t, err := tenantOf(cc, s, *tenant)
		if err != nil {
			return err
		}
		tenantID := t.Tenant().ID
		res, err := stream.NewHistory(s, store.NewMetaCache(s)).Recompute(cc.ctx, tenantID, *line, from, to)
		if err != nil {
			return err
		}
		auditChange(cc, s, tenantID, "downtime.recompute", *line, nil, map[string]any{
			"line": *line, "from": from.UTC(), "to": to.UTC(), "events": len(res.Events), "deleted": res.Deleted, "detections": res.Detections})
		return output(cc.stdout, *format, map[string]any{"tenant": *tenant, "line": *line, "detections": res.Detections,
			"events": len(res.Events), "deleted": res.Deleted}, "tenant", "line", "detections", "events", "deleted")
	})
	return c
}
