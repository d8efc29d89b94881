package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/linepulse/linepulse/identity"
	"github.com/linepulse/linepulse/store"
)

// deviceFlags are the options every device command shares.
type deviceFlags struct {
	store  storeFlags
	tenant *string
	format *string
}

func newDeviceCommand(name, short string) (*command, deviceFlags) {
	c := &command{name: name, short: short, flags: newFlags(name)}
	return c, deviceFlags{
		store:  addStoreFlags(c.flags),
		tenant: c.flags.String("tenant", "", "tenant slug (required)"),
		format: c.flags.String("format", "text", "output format: text or json"),
	}
}

// withTenant opens the store, resolves --tenant and runs fn.
func (f deviceFlags) withTenant(cc *cliContext, fn func(s *store.Store, t *store.TenantDB) error) error {
	if *f.format != "text" && *f.format != "json" {
		return fmt.Errorf("invalid --format %q: use text or json", *f.format)
	}
	s, err := f.store.open(cc)
	if err != nil {
		return err
	}
	defer s.Close()
	t, err := tenantOf(cc, s, *f.tenant)
	if err != nil {
		return err
	}
	return fn(s, t)
}

func deviceCreateCommand() *command {
	c, f := newDeviceCommand("device create", "create an edge device and print its NATS credentials (the secret is shown once)")
	name := c.flags.String("name", "", "device (vision node) name [A-Za-z0-9_-]{1,64} (required)")
	lines := c.flags.String("lines", "", "comma-separated line ids the device may publish for; empty = every line of the tenant")
	urlHint := c.flags.String("nats-url-hint", "nats://localhost:4222", "NATS address the device connects to, used in the printed examples")
	c.run = func(cc *cliContext) error {
		ids, err := parseIDs(*lines)
		if err != nil {
			return fmt.Errorf("invalid --lines %q: want comma-separated positive line ids such as 1,2: %w", *lines, err)
		}
		if *name == "" {
			return errors.New("--name is required")
		}
		return f.withTenant(cc, func(s *store.Store, t *store.TenantDB) error {
			d, cred, err := identity.Devices{Store: s}.Create(cc.ctx, t.ID(), identity.NewDevice{Name: *name, Lines: ids, NATSURL: *urlHint})
			if err != nil {
				return err
			}
			auditChange(cc, s, t.ID(), "device.create", d.ID, nil, d)
			if *f.format == "json" {
				enc := json.NewEncoder(cc.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(map[string]any{"id": d.ID, "tenant": *f.tenant, "name": d.Name, "lines": d.Lines, "credentials": cred})
			}
			return printCredentials(cc, d, cred)
		})
	}
	return c
}

func printCredentials(cc *cliContext, d store.Device, cred identity.Credentials) error {
	tw := tabwriter.NewWriter(cc.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "device\t%s (id %d)\n", d.Name, d.ID)
	fmt.Fprintf(tw, "user\t%s\n", cred.User)
	fmt.Fprintf(tw, "password\t%s\n", cred.Password)
	fmt.Fprintf(tw, "inbox prefix\t%s\n", cred.InboxPrefix)
	fmt.Fprintf(tw, "may publish\t%s\n", strings.Join(cred.Publish, " "))
	fmt.Fprintf(tw, "may subscribe\t%s\n", strings.Join(cred.Subscribe, " "))
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(cc.stdout, "\nThe password is shown only now; LinePulse keeps only its hash.\n\nnats CLI:\n  %s\n\nnats.go (secret in LINEPULSE_DEVICE_SECRET):\n  %s\n",
		cred.NatsCLI, strings.ReplaceAll(cred.NatsGo, "\n", "\n  "))
	return err
}

func deviceRevokeCommand() *command {
	c, f := newDeviceCommand("device revoke", "revoke an edge device's credentials (refused from its next connection attempt)")
	name := c.flags.String("name", "", "device name (required)")
	c.run = func(cc *cliContext) error {
		if *name == "" {
			return errors.New("--name is required")
		}
		return f.withTenant(cc, func(s *store.Store, t *store.TenantDB) error {
			d, err := s.DeviceByName(cc.ctx, t.ID(), *name)
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("tenant %s has no device %q (see `linepulse device list`)", *f.tenant, *name)
			}
			if err != nil {
				return err
			}
			// This process has no bus to reach a running server's NATS connections: the
			// device is refused from its next connection attempt. Revoking through the API
			// (inside the server) also disconnects it at once.
			old := d
			if d, _, err = (identity.Devices{Store: s}).Revoke(cc.ctx, t.ID(), d.ID); err != nil {
				return err
			}
			auditChange(cc, s, t.ID(), "device.delete", d.ID, old, nil)
			return output(cc.stdout, *f.format, map[string]any{"id": d.ID, "tenant": *f.tenant, "name": d.Name, "revoked_at": d.RevokedAt.Format(time.RFC3339),
				"note": "refused from its next connection; live connections stay until then (revoke through the API to disconnect at once)"},
				"id", "tenant", "name", "revoked_at", "note")
		})
	}
	return c
}

func deviceListCommand() *command {
	c, f := newDeviceCommand("device list", "list a tenant's edge devices")
	c.run = func(cc *cliContext) error {
		return f.withTenant(cc, func(s *store.Store, t *store.TenantDB) error {
			all, err := s.AllDevices(cc.ctx, t.ID())
			if err != nil {
				return err
			}
			if all == nil {
				all = []store.Device{} // JSON: [], not null
			}
			if *f.format == "json" {
				return json.NewEncoder(cc.stdout).Encode(all)
			}
			tw := tabwriter.NewWriter(cc.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tLINES\tCREATED\tREVOKED")
			for _, d := range all {
				lines, revoked := "all", "-"
				if len(d.Lines) > 0 {
					lines = joinInts(d.Lines)
				}
				if d.RevokedAt != nil {
					revoked = d.RevokedAt.Format(time.RFC3339)
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", d.ID, d.Name, lines, d.CreatedAt.Format(time.RFC3339), revoked)
			}
			return tw.Flush()
		})
	}
	return c
}

func joinInts(ids []int64) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(parts, ",")
}
