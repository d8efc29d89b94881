package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/linepulse/linepulse/store"
)

// maxChannelConfig bounds --config and --config-file, like an API body.
const maxChannelConfig = 64 << 10

// A running server applies rule changes made here within its rule cache's lifetime (the
// CLI has no bus to tell it at once; the API does).

func alertRuleCreateCommand() *command {
	c, f := newDeviceCommand("alert-rule create", "create an alert rule (same fields and checks as POST /api/v1/alert-rules)")
	name := c.flags.String("name", "", "rule name (required)")
	kind := c.flags.String("kind", "", "line_down, oee_below, uncoded_downtime or node_offline (required)")
	lines := c.flags.String("lines", "", "comma-separated line ids; empty = every line")
	after := c.flags.Duration("after", 0, "how long the condition lasts before the rule fires, e.g. 30s, 5m")
	threshold := c.flags.Float64("threshold", 0, "oee_below: a fraction in (0, 1]")
	metric := c.flags.String("metric", "", "oee_below: oee (default), availability, performance or quality")
	severity := c.flags.String("severity", "", "info, warning (default) or critical")
	channels := c.flags.String("channels", "", "comma-separated notification channel ids (required)")
	escAfter := c.flags.Duration("escalate-after", 0, "notify --escalate-channels when nobody acknowledges within this")
	escChannels := c.flags.String("escalate-channels", "", "comma-separated notification channel ids for escalation")
	c.run = func(cc *cliContext) error {
		r := store.AlertRule{Name: *name, Kind: *kind, After: store.Duration(*after), Threshold: *threshold, Metric: *metric,
			Severity: *severity, EscalateAfter: store.Duration(*escAfter), Active: true}
		for _, l := range []struct {
			flag string
			in   string
			out  *[]int64
		}{{"lines", *lines, &r.Lines}, {"channels", *channels, &r.Channels}, {"escalate-channels", *escChannels, &r.EscalateChannels}} {
			ids, err := parseIDs(l.in)
			if err != nil {
				return fmt.Errorf("invalid --%s %q: want comma-separated positive ids such as 1,2: %w", l.flag, l.in, err)
			}
			*l.out = ids
		}
		return f.withTenant(cc, func(s *store.Store, t *store.TenantDB) error {
			if err := t.CheckRuleRefs(cc.ctx, &r); err != nil {
				return err
			}
			if err := t.AlertRules.Create(cc.ctx, &r); err != nil {
				return err
			}
			auditChange(cc, s, t.ID(), "config.alert_rule.create", r.ID, nil, r)
			return printOne(cc, *f.format, r, map[string]any{"id": r.ID, "tenant": *f.tenant, "name": r.Name, "kind": r.Kind}, "id", "tenant", "name", "kind")
		})
	}
	return c
}

func alertRuleListCommand() *command {
	c, f := newDeviceCommand("alert-rule list", "list a tenant's alert rules")
	c.run = func(cc *cliContext) error {
		return f.withTenant(cc, func(_ *store.Store, t *store.TenantDB) error {
			all, err := t.AlertRules.All(cc.ctx)
			if err != nil {
				return err
			}
			if all == nil {
				all = []store.AlertRule{} // JSON [] rather than null
			}
			if *f.format == "json" {
				return json.NewEncoder(cc.stdout).Encode(all)
			}
			tw := tabwriter.NewWriter(cc.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tKIND\tSEVERITY\tLINES\tAFTER\tCHANNELS\tESCALATE")
			for _, r := range all {
				lines, esc := "all", "-"
				if len(r.Lines) > 0 {
					lines = joinInts(r.Lines)
				}
				if r.EscalateAfter > 0 {
					esc = r.EscalateAfter.D().String() + " → " + joinInts(r.EscalateChannels)
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Name, r.Kind, r.Severity, lines, r.After.D(), joinInts(r.Channels), esc)
			}
			return tw.Flush()
		})
	}
	return c
}

func alertRuleDeleteCommand() *command {
	c, f := newDeviceCommand("alert-rule delete", "delete an alert rule")
	id := c.flags.Int64("id", 0, "rule id (required; see `linepulse alert-rule list`)")
	c.run = func(cc *cliContext) error {
		return f.withTenant(cc, func(s *store.Store, t *store.TenantDB) error {
			return deleteOne(cc, s, t, f, "alert rule", "config.alert_rule.delete", *id, t.AlertRules.Get, t.AlertRules.Delete)
		})
	}
	return c
}

func channelCreateCommand() *command {
	c, f := newDeviceCommand("notification-channel create", "create a notification channel (same fields and checks as POST /api/v1/notification-channels)")
	name := c.flags.String("name", "", "channel name (required)")
	kind := c.flags.String("kind", "", "webhook, email or browser (required)")
	file := c.flags.String("config-file", "", "file with the channel's JSON config (- = standard input); keeps secrets out of the process list")
	inline := c.flags.String("config-json", "", `the channel's JSON config (--config is the common settings file), e.g. {"url":"https://…","secret":"…","format":"slack"}`)
	c.run = func(cc *cliContext) error {
		ch := store.AlertChannel{Name: *name, Kind: *kind}
		if err := readChannelConfig(cc, *file, *inline, &ch.Config); err != nil {
			return err
		}
		return f.withTenant(cc, func(s *store.Store, t *store.TenantDB) error {
			if err := t.AlertChannels.Create(cc.ctx, &ch); err != nil {
				return err
			}
			ch = ch.Redacted() // secrets are write-only: never printed, never audited
			auditChange(cc, s, t.ID(), "config.notification_channel.create", ch.ID, nil, ch)
			return printOne(cc, *f.format, ch, map[string]any{"id": ch.ID, "tenant": *f.tenant, "name": ch.Name, "kind": ch.Kind}, "id", "tenant", "name", "kind")
		})
	}
	return c
}

// readChannelConfig decodes --config-file or --config-json (exactly one may be given; browser
// channels need neither) with the API's strictness: unknown fields are refused.
func readChannelConfig(cc *cliContext, file, inline string, cfg *store.ChannelConfig) error {
	var r io.Reader
	switch {
	case file != "" && inline != "":
		return errors.New("give --config-file or --config-json, not both")
	case file == "-":
		r = cc.stdin
	case file != "":
		fh, err := os.Open(file)
		if err != nil {
			return fmt.Errorf("cannot read --config-file: %w", err)
		}
		defer fh.Close()
		r = fh
	case inline != "":
		r = strings.NewReader(inline)
	default:
		return nil
	}
	b, err := io.ReadAll(io.LimitReader(r, maxChannelConfig+1))
	if err != nil {
		return fmt.Errorf("cannot read the channel config: %w", err)
	}
	if len(b) > maxChannelConfig {
		return fmt.Errorf("the channel config exceeds %d bytes", maxChannelConfig)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(cfg); err != nil {
		return fmt.Errorf("invalid channel config (a JSON object such as {\"url\":…,\"secret\":…}): %w", err)
	}
	return nil
}

func channelListCommand() *command {
	c, f := newDeviceCommand("notification-channel list", "list a tenant's notification channels (secrets are never shown)")
	c.run = func(cc *cliContext) error {
		return f.withTenant(cc, func(_ *store.Store, t *store.TenantDB) error {
			all, err := t.AlertChannels.All(cc.ctx)
			if err != nil {
				return err
			}
			if all == nil {
				all = []store.AlertChannel{} // JSON [] rather than null
			}
			for i := range all {
				all[i] = all[i].Redacted()
			}
			if *f.format == "json" {
				return json.NewEncoder(cc.stdout).Encode(all)
			}
			tw := tabwriter.NewWriter(cc.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tKIND\tFAILING\tLAST ERROR")
			for _, ch := range all {
				lastErr := "-"
				if ch.LastError != "" {
					lastErr = ch.LastError
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%t\t%s\n", ch.ID, ch.Name, ch.Kind, ch.Failing, lastErr)
			}
			return tw.Flush()
		})
	}
	return c
}

func channelDeleteCommand() *command {
	c, f := newDeviceCommand("notification-channel delete", "delete a notification channel")
	id := c.flags.Int64("id", 0, "channel id (required; see `linepulse notification-channel list`)")
	c.run = func(cc *cliContext) error {
		return f.withTenant(cc, func(s *store.Store, t *store.TenantDB) error {
			get := func(ctx context.Context, id int64) (store.AlertChannel, error) {
				ch, err := t.AlertChannels.Get(ctx, id)
				return ch.Redacted(), err
			}
			return deleteOne(cc, s, t, f, "notification channel", "config.notification_channel.delete", *id, get, t.AlertChannels.Delete)
		})
	}
	return c
}

// deleteOne deletes row id after reading it for the audit entry.
func deleteOne[T any](cc *cliContext, s *store.Store, t *store.TenantDB, f deviceFlags, what, action string, id int64,
	get func(context.Context, int64) (T, error), del func(context.Context, int64) error) error {
	if id <= 0 {
		return errors.New("--id is required (a positive id)")
	}
	old, err := get(cc.ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("tenant %s has no %s %d", *f.tenant, what, id)
	}
	if err != nil {
		return err
	}
	if err := del(cc.ctx, id); err != nil {
		return fmt.Errorf("cannot delete %s %d: %w", what, id, err)
	}
	auditChange(cc, s, t.ID(), action, id, old, nil)
	return output(cc.stdout, *f.format, map[string]any{"id": id, "tenant": *f.tenant, "deleted": what}, "id", "tenant", "deleted")
}

// printOne prints a created row: all of it as JSON, its summary as text.
func printOne(cc *cliContext, format string, v any, summary map[string]any, order ...string) error {
	if format == "json" {
		enc := json.NewEncoder(cc.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	return output(cc.stdout, format, summary, order...)
}
