package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/linepulse/linepulse/identity"
	"github.com/linepulse/linepulse/store"
)

// storeFlags are the database options shared by every command that opens the store.
type storeFlags struct {
	mysql   *string
	dataDir *string
}

func addStoreFlags(fs *flag.FlagSet) storeFlags {
	return storeFlags{
		mysql:   fs.String("mysql", "", "MySQL/MariaDB DSN user:pass@tcp(host:3306)/dbname; empty = embedded SQLite"),
		dataDir: fs.String("data-dir", "./data", "directory for SQLite files and the JetStream store"),
	}
}

func (f storeFlags) open(c *cliContext) (*store.Store, error) {
	return store.Open(c.ctx, store.Config{MySQLDSN: *f.mysql, DataDir: *f.dataDir, Logger: c.log})
}

// withStore returns a command body that opens the store, runs fn with it and closes it.
func (f storeFlags) withStore(fn func(cc *cliContext, s *store.Store) error) func(*cliContext) error {
	return func(cc *cliContext) error {
		s, err := f.open(cc)
		if err != nil {
			return err
		}
		defer s.Close()
		return fn(cc, s)
	}
}

// tenantOf resolves --tenant to a tenant database, with a clear error for unknown slugs.
func tenantOf(c *cliContext, s *store.Store, slug string) (*store.TenantDB, error) {
	if slug == "" {
		return nil, errors.New("--tenant is required")
	}
	ten, err := s.TenantBySlug(c.ctx, slug)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("unknown tenant %q (list tenants with the API or create one with `linepulse tenant create`)", slug)
	}
	if err != nil {
		return nil, err
	}
	return s.Tenant(c.ctx, ten.ID)
}

// output prints v as JSON (--format json) or as aligned "key value" lines.
func output(w io.Writer, format string, v map[string]any, order ...string) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	case "text", "":
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, k := range order {
			fmt.Fprintf(tw, "%s\t%v\n", k, v[k])
		}
		return tw.Flush()
	}
	return fmt.Errorf("invalid --format %q: use text or json", format)
}

func migrateCommand() *command {
	c := &command{name: "migrate", short: "bring the global database and every tenant database up to date", flags: newFlags("migrate")}
	sf := addStoreFlags(c.flags)
	c.run = sf.withStore(func(cc *cliContext, s *store.Store) error {
		if err := s.MigrateAll(cc.ctx); err != nil {
			return err
		}
		cc.log.Info("schema up to date", "store", s.Describe())
		return nil
	})
	return c
}

func tenantCreateCommand() *command {
	c := &command{name: "tenant create", short: "create a tenant (a customer company) and its database", flags: newFlags("tenant create")}
	sf := addStoreFlags(c.flags)
	slug := c.flags.String("slug", "", "tenant slug [a-z0-9-]{1,32}, used in NATS subjects (required)")
	name := c.flags.String("name", "", "display name (required)")
	tz := c.flags.String("timezone", "UTC", "IANA time zone of the plant, e.g. Europe/Madrid")
	retention := c.flags.Int("retention-days", 365, "days of detections to keep (whole months are dropped)")
	format := c.flags.String("format", "text", "output format: text or json")
	c.run = sf.withStore(func(cc *cliContext, s *store.Store) error {
		t := store.Tenant{Slug: *slug, Name: *name, Config: store.TenantConfig{Timezone: *tz, RetentionDays: *retention}}
		if err := s.CreateTenant(cc.ctx, &t); err != nil {
			return err
		}
		auditChange(cc, s, 0, "tenant.create", t.ID, nil, t)
		return output(cc.stdout, *format, map[string]any{"id": t.ID, "slug": t.Slug, "name": t.Name, "timezone": t.Config.Timezone, "retention_days": t.Config.RetentionDays},
			"id", "slug", "name", "timezone", "retention_days")
	})
	return c
}

func userCreateCommand() *command {
	c := &command{name: "user create", short: "create a user; the password is read from standard input", flags: newFlags("user create")}
	sf := addStoreFlags(c.flags)
	tenant := c.flags.String("tenant", "", "tenant slug (omit for a platform_admin)")
	email := c.flags.String("email", "", "e-mail address, the login name (required)")
	role := c.flags.String("role", "viewer", "role: "+strings.Join(store.Roles, ", "))
	name := c.flags.String("name", "", "display name")
	stdinPw := c.flags.Bool("password-stdin", false, "read the password from the first line of standard input (required)")
	format := c.flags.String("format", "text", "output format: text or json")
	c.run = func(cc *cliContext) error {
		if !*stdinPw {
			return errors.New("--password-stdin is required (passwords are never taken from arguments)")
		}
		pw, err := bufio.NewReader(io.LimitReader(cc.stdin, identity.MaxPasswordLen+2)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("cannot read password: %w", err)
		}
		pw = strings.TrimRight(pw, "\r\n")
		if len(pw) < 8 {
			return errors.New("the password must have at least 8 characters")
		}
		s, err := sf.open(cc)
		if err != nil {
			return err
		}
		defer s.Close()
		var tenantID int64
		if *role != store.RolePlatformAdmin {
			t, err := tenantOf(cc, s, *tenant)
			if err != nil {
				return err
			}
			tenantID = t.ID()
		}
		hash, err := identity.Hasher{Params: identity.DefaultParams()}.Hash(pw)
		if err != nil {
			return err
		}
		u := store.User{TenantID: tenantID, Email: *email, Name: *name, Role: *role, PasswordHash: hash}
		if err := s.CreateUser(cc.ctx, &u); err != nil {
			return err
		}
		auditChange(cc, s, tenantID, "user.create", u.ID, nil, u)
		return output(cc.stdout, *format, map[string]any{"id": u.ID, "tenant": *tenant, "email": u.Email, "role": u.Role}, "id", "tenant", "email", "role")
	}
	return c
}

func lineCreateCommand() *command {
	c := &command{name: "line create", short: "create a production line and its detection and downtime tables", flags: newFlags("line create")}
	sf := addStoreFlags(c.flags)
	tenant := c.flags.String("tenant", "", "tenant slug (required)")
	name := c.flags.String("name", "", "line name (required)")
	threshold := c.flags.Duration("downtime-threshold", 30*time.Second, "a gap between detections longer than this is downtime")
	ideal := c.flags.Duration("ideal-cycle-time", time.Second, "ideal time per product (performance = ideal × count / run time)")
	micro := c.flags.Duration("micro-stop-min", 0, "gaps shorter than the threshold but longer than this count as micro-stops (0 = threshold/6)")
	format := c.flags.String("format", "text", "output format: text or json")
	c.run = sf.withStore(func(cc *cliContext, s *store.Store) error {
		t, err := tenantOf(cc, s, *tenant)
		if err != nil {
			return err
		}
		if *micro == 0 {
			*micro = *threshold / 6
		}
		l := store.Line{Name: *name, DowntimeThresholdMS: threshold.Milliseconds(), IdealCycleTimeMS: ideal.Milliseconds(), MicroStopMinMS: micro.Milliseconds()}
		if err := t.CreateLine(cc.ctx, &l); err != nil {
			return err
		}
		auditChange(cc, s, t.ID(), "config.line.create", l.ID, nil, l)
		det, _ := store.DetectionsTable(l.ID)
		return output(cc.stdout, *format, map[string]any{"id": l.ID, "tenant": *tenant, "name": l.Name, "table": det,
			"downtime_threshold": threshold.String(), "ideal_cycle_time": ideal.String()},
			"id", "tenant", "name", "table", "downtime_threshold", "ideal_cycle_time")
	})
	return c
}

func partitionsCommand() *command {
	c := &command{name: "partitions maintain", short: "add future monthly partitions and apply retention now (serve does this hourly)", flags: newFlags("partitions maintain")}
	sf := addStoreFlags(c.flags)
	tenant := c.flags.String("tenant", "", "tenant slug; empty = every tenant")
	format := c.flags.String("format", "text", "output format: text or json")
	c.run = sf.withStore(func(cc *cliContext, s *store.Store) error {
		reports, err := maintainPartitions(cc, s, *tenant)
		if err != nil {
			return err
		}
		if *format == "json" {
			return json.NewEncoder(cc.stdout).Encode(reports)
		}
		for slug, rs := range reports {
			for _, r := range rs {
				fmt.Fprintf(cc.stdout, "%s line %d: added %v dropped %v deleted rows %d\n", slug, r.LineID, r.Added, r.Dropped, r.Deleted)
			}
		}
		return nil
	})
	return c
}

// maintainPartitions runs the partition maintainer for one tenant or all of them.
func maintainPartitions(cc *cliContext, s *store.Store, slug string) (map[string][]store.PartitionReport, error) {
	out := map[string][]store.PartitionReport{}
	var tenants []store.Tenant
	if slug != "" {
		t, err := tenantOf(cc, s, slug)
		if err != nil {
			return nil, err
		}
		tenants = append(tenants, t.Tenant())
	} else {
		all, err := s.AllTenants(cc.ctx)
		if err != nil {
			return nil, err
		}
		tenants = all
	}
	for _, ten := range tenants {
		t, err := s.Tenant(cc.ctx, ten.ID)
		if err != nil {
			return out, err
		}
		r, err := t.MaintainPartitions(cc.ctx)
		if err != nil {
			return out, fmt.Errorf("tenant %s: %w", ten.Slug, err)
		}
		out[ten.Slug] = r
	}
	return out, nil
}
