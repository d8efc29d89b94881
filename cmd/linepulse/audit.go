package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/linepulse/linepulse/audit"
	"github.com/linepulse/linepulse/store"
)

// auditVerifyCommand checks the tamper-evident audit chain of a tenant (or of the platform,
// or of every chain) and fails, naming the first broken entry, when it is not intact.
func auditVerifyCommand() *command {
	c := &command{name: "audit verify", short: "check a tenant's tamper-evident audit log; exits 1 naming the first broken entry", flags: newFlags("audit verify")}
	all := c.flags.Bool("all", false, "check every chain in the database instead of one")
	pageSize := c.flags.Int("page-size", 1000, "entries read per query (1..100000)")
	tenant := c.flags.String("tenant", "", "tenant slug; empty = the platform chain (platform administrators, unknown-tenant sign-ins)")
	format := c.flags.String("format", "text", "output format: text or json")
	sf := addStoreFlags(c.flags)
	c.run = func(cc *cliContext) error {
		if *pageSize < 1 || *pageSize > 100000 {
			return fmt.Errorf("invalid --page-size %d: use 1..100000", *pageSize)
		}
		s, err := sf.open(cc)
		if err != nil {
			return err
		}
		defer s.Close()
		type chain struct {
			id   int64
			name string
		}
		var chains []chain
		if *all {
			ids, err := s.AuditTenants(cc.ctx)
			if err != nil {
				return err
			}
			for _, id := range ids {
				chains = append(chains, chain{id, chainName(cc, s, id)})
			}
		} else {
			id, err := auditTenantID(cc, s, *tenant)
			if err != nil {
				return err
			}
			chains = append(chains, chain{id, chainName(cc, s, id)})
		}
		var broken []string
		for _, ch := range chains {
			rep, err := audit.Verify(cc.ctx, s, ch.id, *pageSize)
			if err != nil {
				return fmt.Errorf("cannot verify the audit log of %s: %w", ch.name, err)
			}
			if err := printAuditReport(cc, *format, ch.name, rep); err != nil {
				return err
			}
			if !rep.OK {
				broken = append(broken, describeBreak(ch.name, rep))
			}
		}
		if len(broken) > 0 {
			return errors.New(joinLines(broken))
		}
		return nil
	}
	return c
}

// auditTenantID resolves --tenant ("" = platform chain 0).
func auditTenantID(cc *cliContext, s *store.Store, slug string) (int64, error) {
	if slug == "" {
		return 0, nil
	}
	t, err := tenantOf(cc, s, slug)
	if err != nil {
		return 0, err
	}
	return t.ID(), nil
}

func chainName(cc *cliContext, s *store.Store, id int64) string {
	if id == 0 {
		return "platform"
	}
	if t, err := s.GetTenant(cc.ctx, id); err == nil {
		return "tenant " + t.Slug
	}
	return "deleted tenant #" + strconv.FormatInt(id, 10)
}

func printAuditReport(cc *cliContext, format, name string, rep audit.Report) error {
	status := "intact"
	if !rep.OK {
		status = "BROKEN"
	}
	v := map[string]any{"chain": name, "status": status, "ok": rep.OK, "entries": rep.Entries, "last_seq": rep.LastSeq,
		"last_hash": hex.EncodeToString(rep.LastHash), "anchor_seq": rep.AnchorSeq}
	order := []string{"chain", "status", "entries", "last_seq", "last_hash", "anchor_seq"}
	if !rep.OK {
		v["broken_seq"], v["reason"] = rep.BrokenSeq, rep.Reason
		order = append(order, "broken_seq", "reason")
		if b := rep.Broken; b != nil {
			v["broken_id"], v["broken_action"], v["broken_at"] = b.ID, b.Action, b.At.UTC().Format(time.RFC3339Nano)
			order = append(order, "broken_id", "broken_action", "broken_at")
		}
	}
	return output(cc.stdout, format, v, order...)
}

func describeBreak(name string, rep audit.Report) string {
	if b := rep.Broken; b != nil {
		return fmt.Sprintf("the audit log of %s is broken at seq %d (row id %d, action %q, at %s): %s",
			name, b.Seq, b.ID, b.Action, b.At.UTC().Format(time.RFC3339), rep.Reason)
	}
	return fmt.Sprintf("the audit log of %s is broken at seq %d: %s", name, rep.BrokenSeq, rep.Reason)
}

func joinLines(s []string) string {
	out := s[0]
	for _, l := range s[1:] {
		out += "; " + l
	}
	return out
}

// auditChange records a change the CLI made in the audit log of tenantID (0 = the
// platform chain), like the API records its own: the same action names, user 0 (the
// system), no IP, details {"id","before","after","via":"cli"}.
func auditChange(cc *cliContext, s *store.Store, tenantID int64, action string, id int64, before, after any) {
	recordChange(cc.ctx, cc.log, s, tenantID, "cli", action, id, before, after)
}

// recordChange appends one change made outside the API (via: "cli", "demo"). The change
// has happened whatever the log says, so a failure to record it is logged loudly, not
// returned.
func recordChange(ctx context.Context, log *slog.Logger, s *store.Store, tenantID int64, via, action string, id int64, before, after any) {
	d := map[string]any{"id": id, "via": via}
	if before != nil {
		d["before"] = before
	}
	if after != nil {
		d["after"] = after
	}
	e := audit.NewEntry(tenantID, 0, action, "", d, time.Time{})
	if err := audit.Append(context.WithoutCancel(ctx), s, e); err != nil {
		log.Error("AUDIT ENTRY NOT WRITTEN", "tenant", tenantID, "action", action, "details", string(e.Details), "err", err)
	}
}
