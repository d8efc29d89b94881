package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"
)

// TenantConfig is the typed content of TENANT.config_tenant.
type TenantConfig struct {
	// Timezone is the IANA zone shifts are expressed in. Default "UTC".
	Timezone string `json:"timezone"`
	// RetentionDays: detections older than this are dropped, whole months at a time. Default 365.
	RetentionDays int `json:"retention_days"`
	// Language is the interface language of the tenant's users who chose none themselves
	// (one of Languages); "" = none: each browser's Accept-Language applies.
	Language string `json:"language,omitempty"`
	// UI holds free-form presentation settings (logo, colours, ...).
	UI JSON `json:"ui,omitempty"`
}

// Languages are the interface languages LinePulse speaks (the catalogues of web/ui/i18n).
var Languages = []string{"en", "es"}

// languageOK accepts "" (no choice) and the codes of Languages.
func languageOK(l string) bool { return l == "" || slices.Contains(Languages, l) }

// Location resolves the tenant's time zone.
func (c TenantConfig) Location() (*time.Location, error) {
	return time.LoadLocation(c.Timezone)
}

// Tenant is a customer company. Its plant model lives in its own database.
type Tenant struct {
	ID        int64        `json:"id"`
	Slug      string       `json:"slug"`
	Name      string       `json:"name"`
	Config    TenantConfig `json:"config_tenant"`
	Active    bool         `json:"active"`
	CreatedAt time.Time    `json:"created_at"`
	UpdatedAt time.Time    `json:"updated_at"`
}

// SlugPattern is the tenant slug of the contract (it appears in NATS subjects).
var SlugPattern = regexp.MustCompile(`^[a-z0-9-]{1,32}$`)

func (t *Tenant) validate() error {
	v := validator{entity: "tenant"}
	v.check(SlugPattern.MatchString(t.Slug), "slug", "must match [a-z0-9-]{1,32}")
	v.check(strings.TrimSpace(t.Name) != "" && len(t.Name) <= 200, "name", "is required (at most 200 characters)")
	if t.Config.Timezone == "" {
		t.Config.Timezone = "UTC"
	}
	if t.Config.RetentionDays == 0 {
		t.Config.RetentionDays = 365
	}
	_, err := time.LoadLocation(t.Config.Timezone)
	v.check(err == nil && t.Config.Timezone != "Local", "config_tenant.timezone", fmt.Sprintf("unknown time zone %q (use an IANA name such as Europe/Madrid)", t.Config.Timezone))
	v.check(t.Config.RetentionDays >= 31 && t.Config.RetentionDays <= 3650, "config_tenant.retention_days", "must be between 31 and 3650")
	v.check(languageOK(t.Config.Language), "config_tenant.language", "must be empty or one of "+strings.Join(Languages, ", "))
	return v.err()
}

// Roles, from most to least powerful. Permissions refine them per user.
const (
	RolePlatformAdmin = "platform_admin"
	RoleTenantAdmin   = "tenant_admin"
	RoleSupervisor    = "supervisor"
	RoleOperator      = "operator"
	RoleViewer        = "viewer"
)

// Roles lists every role, most powerful first.
var Roles = []string{RolePlatformAdmin, RoleTenantAdmin, RoleSupervisor, RoleOperator, RoleViewer}

// Permissions is the content of USER.permissions: fine-grained limits on top of the role.
type Permissions struct {
	// Lines the user may see; empty means every line of the tenant.
	Lines []int64 `json:"lines,omitempty"`
	// Deny lists actions removed from the role's defaults (e.g. "downtime.code").
	Deny []string `json:"deny,omitempty"`
}

// User is a person who signs in. TenantID 0 is the platform scope (platform admins).
type User struct {
	ID           int64       `json:"id"`
	TenantID     int64       `json:"tenant_id"`
	Email        string      `json:"email"`
	Name         string      `json:"name"`
	PasswordHash string      `json:"-"`
	Role         string      `json:"role"`
	Permissions  Permissions `json:"permissions"`
	Active       bool        `json:"active"`
	// Language is the user's own interface language (one of Languages); "" = none, the
	// tenant's setting or the browser's applies.
	Language  string    `json:"language"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

var emailRe = regexp.MustCompile(`^[^@\s]{1,64}@[^@\s]{1,189}$`)

func (u *User) validate() error {
	u.Email = strings.ToLower(strings.TrimSpace(u.Email))
	v := validator{entity: "user"}
	v.check(emailRe.MatchString(u.Email), "email", "must be an e-mail address")
	v.check(len(u.Name) <= 200, "name", "at most 200 characters")
	v.check(u.PasswordHash != "", "password", "is required")
	known := false
	for _, r := range Roles {
		known = known || r == u.Role
	}
	v.check(known, "role", "must be one of "+strings.Join(Roles, ", "))
	v.check((u.Role == RolePlatformAdmin) == (u.TenantID == 0), "role", "platform_admin users belong to no tenant, every other role to one")
	v.check(languageOK(u.Language), "language", "must be empty or one of "+strings.Join(Languages, ", "))
	return v.err()
}

// AuditEntry is one row of the tamper-evident AUDIT_LOG.
type AuditEntry struct {
	ID       int64     `json:"id"`
	TenantID int64     `json:"tenant_id"`
	Seq      int64     `json:"seq"`
	At       time.Time `json:"at"`
	UserID   int64     `json:"user_id"`
	Action   string    `json:"action"`
	IP       string    `json:"ip_address"`
	Details  JSON      `json:"details"`
	PrevHash []byte    `json:"prev_hash"`
	Hash     []byte    `json:"hash"`
}

// UserLogin is one session of USER_LOGIN.
type UserLogin struct {
	ID        int64      `json:"id"`
	UserID    int64      `json:"user_id"`
	TenantID  int64      `json:"tenant_id"`
	SessionID string     `json:"session_id"`
	LoginAt   time.Time  `json:"login_at"`
	LogoutAt  *time.Time `json:"logout_at"`
	IP        string     `json:"ip_address"`
	UserAgent string     `json:"user_agent"`
}

// UserQuery records the filters of one data query (USER_QUERY).
type UserQuery struct {
	ID           int64      `json:"id"`
	TenantID     int64      `json:"tenant_id"`
	UserID       int64      `json:"user_id"`
	SQLQuery     string     `json:"sql_query"`
	StartDate    *time.Time `json:"start_date"`
	EndDate      *time.Time `json:"end_date"`
	Line         int64      `json:"line"`
	IntervalType string     `json:"interval_type"`
	Filters      JSON       `json:"filters"`
	// Name makes the query a saved view ("" = history).
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// Widget is a WIDGET_CATALOG entry; required_params is a JSON Schema.
type Widget struct {
	ID             int64  `json:"id"`
	WidgetType     string `json:"widget_type"`
	Name           string `json:"name"`
	Description    string `json:"description"`
	RequiredParams JSON   `json:"required_params"`
}

// DashboardTemplate is a layout assigned to a role of a tenant.
type DashboardTemplate struct {
	ID           int64     `json:"id"`
	TenantID     int64     `json:"tenant_id"`
	Name         string    `json:"name"`
	RoleAccess   string    `json:"role_access"`
	LayoutConfig JSON      `json:"layout_config"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// ConfigEntry is one SYSTEM_CONFIG key/value.
type ConfigEntry struct {
	Key       string    `json:"key"`
	Value     JSON      `json:"value"`
	UpdatedAt time.Time `json:"updated_at"`
}

type globalTables struct {
	tenant    *table[Tenant]
	user      *table[User]
	login     *table[UserLogin]
	query     *table[UserQuery]
	widget    *table[Widget]
	dashboard *table[DashboardTemplate]
}

func newGlobalTables(d dialect) globalTables {
	return globalTables{
		tenant: newTable(d, "tenant", []string{"slug", "name", "config_tenant", "active", "created_at", "updated_at"},
			func(t *Tenant) *int64 { return &t.ID },
			func(t *Tenant) []any {
				return []any{&t.Slug, &t.Name, asJSON(&t.Config), &t.Active, &t.CreatedAt, &t.UpdatedAt}
			}),
		user: newTable(d, "user", []string{"tenant_id", "email", "name", "password_hash", "role", "permissions", "active", "language", "created_at", "updated_at"},
			func(u *User) *int64 { return &u.ID },
			func(u *User) []any {
				return []any{&u.TenantID, &u.Email, &u.Name, &u.PasswordHash, &u.Role, asJSON(&u.Permissions), &u.Active, &u.Language, &u.CreatedAt, &u.UpdatedAt}
			}),
		login: newTable(d, "user_login", []string{"user_id", "tenant_id", "session_id", "login_at", "logout_at", "ip_address", "user_agent"},
			func(l *UserLogin) *int64 { return &l.ID },
			func(l *UserLogin) []any {
				return []any{&l.UserID, &l.TenantID, &l.SessionID, &l.LoginAt, &l.LogoutAt, &l.IP, &l.UserAgent}
			}),
		query: newTable(d, "user_query", []string{"tenant_id", "user_id", "sql_query", "start_date", "end_date", "line", "interval_type", "filters", "name", "created_at"},
			func(q *UserQuery) *int64 { return &q.ID },
			func(q *UserQuery) []any {
				return []any{&q.TenantID, &q.UserID, &q.SQLQuery, &q.StartDate, &q.EndDate, &q.Line, &q.IntervalType, &q.Filters, &q.Name, &q.CreatedAt}
			}),
		widget: newTable(d, "widget_catalog", []string{"widget_type", "name", "description", "required_params"},
			func(w *Widget) *int64 { return &w.ID },
			func(w *Widget) []any { return []any{&w.WidgetType, &w.Name, &w.Description, &w.RequiredParams} }),
		dashboard: newTable(d, "dashboard_template", []string{"tenant_id", "name", "role_access", "layout_config", "created_at", "updated_at"},
			func(t *DashboardTemplate) *int64 { return &t.ID },
			func(t *DashboardTemplate) []any {
				return []any{&t.TenantID, &t.Name, &t.RoleAccess, &t.LayoutConfig, &t.CreatedAt, &t.UpdatedAt}
			}),
	}
}

// ---- tenants ----

// CreateTenant validates and inserts a tenant, then creates and migrates its database.
func (s *Store) CreateTenant(ctx context.Context, t *Tenant) error {
	if err := t.validate(); err != nil {
		return err
	}
	t.Active = true
	t.CreatedAt, t.UpdatedAt = s.now(), s.now()
	if err := s.tables.tenant.insert(ctx, s.global, t); err != nil {
		if errors.Is(err, ErrConflict) {
			return fmt.Errorf("store: tenant slug %q is taken: %w", t.Slug, ErrConflict)
		}
		return err
	}
	if _, err := s.openTenant(ctx, *t); err != nil {
		return fmt.Errorf("store: tenant %s created but its database failed: %w", t.Slug, err)
	}
	return nil
}

// GetTenant reads a tenant by id.
func (s *Store) GetTenant(ctx context.Context, id int64) (Tenant, error) {
	return s.tables.tenant.get(ctx, s.global, id)
}

// TenantBySlug reads a tenant by its slug.
func (s *Store) TenantBySlug(ctx context.Context, slug string) (Tenant, error) {
	list, err := s.tables.tenant.list(ctx, s.global, "`slug` = ?", []any{slug}, Page{Limit: 1})
	if err != nil {
		return Tenant{}, err
	}
	if len(list) == 0 {
		return Tenant{}, fmt.Errorf("store: tenant %q: %w", slug, ErrNotFound)
	}
	return list[0], nil
}

// ListTenants pages through tenants (the API's list). Code that must see every tenant
// uses AllTenants.
func (s *Store) ListTenants(ctx context.Context, p Page) ([]Tenant, error) {
	return s.tables.tenant.list(ctx, s.global, "", nil, p)
}

// AllTenants returns every tenant, active or not, in id order: read page after page
// (Config.TenantPage at a time), so no tenant is left out however many there are.
func (s *Store) AllTenants(ctx context.Context) ([]Tenant, error) {
	return s.tables.tenant.allBy(ctx, s.global, s.cfg.TenantPage, "")
}

// UpdateTenant saves name, configuration and active flag (the slug never changes: it is
// part of NATS subjects and device credentials).
func (s *Store) UpdateTenant(ctx context.Context, t *Tenant) error {
	old, err := s.GetTenant(ctx, t.ID)
	if err != nil {
		return err
	}
	t.Slug, t.CreatedAt, t.UpdatedAt = old.Slug, old.CreatedAt, s.now()
	if err := t.validate(); err != nil {
		return err
	}
	if err := s.tables.tenant.update(ctx, s.global, t); err != nil {
		return err
	}
	s.mu.Lock()
	if tdb, ok := s.tenants[t.ID]; ok {
		tdb.setTenant(*t)
	}
	s.mu.Unlock()
	s.changed(t.ID)
	return nil
}

// DeleteTenant removes a tenant, its users and its whole database.
func (s *Store) DeleteTenant(ctx context.Context, id int64) error {
	if _, err := s.GetTenant(ctx, id); err != nil {
		return err
	}
	s.mu.Lock()
	if t, ok := s.tenants[id]; ok {
		t.db.Close()
		delete(s.tenants, id)
	}
	s.mu.Unlock()
	if err := s.d.dropTenant(ctx, id); err != nil {
		return err
	}
	for _, q := range []string{"DELETE FROM `user` WHERE `tenant_id` = ?", "DELETE FROM `dashboard_template` WHERE `tenant_id` = ?"} {
		if _, err := s.global.ExecContext(ctx, q, id); err != nil {
			return fmt.Errorf("store: cannot delete tenant %d: %w", id, err)
		}
	}
	return s.tables.tenant.delete(ctx, s.global, id)
}

// ---- users ----

// CreateUser validates and inserts a user; the caller hashes the password.
func (s *Store) CreateUser(ctx context.Context, u *User) error {
	if err := u.validate(); err != nil {
		return err
	}
	if u.TenantID != 0 {
		if _, err := s.GetTenant(ctx, u.TenantID); err != nil {
			return err
		}
	}
	u.Active = true
	u.CreatedAt, u.UpdatedAt = s.now(), s.now()
	if err := s.tables.user.insert(ctx, s.global, u); err != nil {
		if errors.Is(err, ErrConflict) {
			return fmt.Errorf("store: a user with e-mail %q exists in this tenant: %w", u.Email, ErrConflict)
		}
		return err
	}
	return nil
}

// GetUser reads a user of one tenant (tenantID 0 for platform users). A user of another
// tenant is ErrNotFound: callers never learn it exists.
func (s *Store) GetUser(ctx context.Context, tenantID, id int64) (User, error) {
	u, err := s.tables.user.get(ctx, s.global, id)
	if err == nil && u.TenantID != tenantID {
		return User{}, fmt.Errorf("store: user %d: %w", id, ErrNotFound)
	}
	return u, err
}

// UserByEmail finds a user by tenant and e-mail (case-insensitive).
func (s *Store) UserByEmail(ctx context.Context, tenantID int64, email string) (User, error) {
	list, err := s.tables.user.list(ctx, s.global, "`tenant_id` = ? AND `email` = ?", []any{tenantID, strings.ToLower(strings.TrimSpace(email))}, Page{Limit: 1})
	if err != nil {
		return User{}, err
	}
	if len(list) == 0 {
		return User{}, fmt.Errorf("store: user: %w", ErrNotFound)
	}
	return list[0], nil
}

// ListUsers pages through the users of one tenant.
func (s *Store) ListUsers(ctx context.Context, tenantID int64, p Page) ([]User, error) {
	return s.tables.user.list(ctx, s.global, "`tenant_id` = ?", []any{tenantID}, p)
}

// UpdateUser saves a user of tenantID; tenant and creation time cannot change.
func (s *Store) UpdateUser(ctx context.Context, tenantID int64, u *User) error {
	old, err := s.GetUser(ctx, tenantID, u.ID)
	if err != nil {
		return err
	}
	u.TenantID, u.CreatedAt, u.UpdatedAt = old.TenantID, old.CreatedAt, s.now()
	if u.PasswordHash == "" {
		u.PasswordHash = old.PasswordHash
	}
	if err := u.validate(); err != nil {
		return err
	}
	return s.tables.user.update(ctx, s.global, u)
}

// DeleteUser removes a user of tenantID.
func (s *Store) DeleteUser(ctx context.Context, tenantID, id int64) error {
	if _, err := s.GetUser(ctx, tenantID, id); err != nil {
		return err
	}
	return s.tables.user.delete(ctx, s.global, id)
}

// ---- sessions and data-query audit ----

// RecordLogin inserts a USER_LOGIN row.
func (s *Store) RecordLogin(ctx context.Context, l *UserLogin) error {
	if l.LoginAt.IsZero() {
		l.LoginAt = s.now()
	}
	return s.tables.login.insert(ctx, s.global, l)
}

// RecordLogout stamps logout_at on the open login of a session.
func (s *Store) RecordLogout(ctx context.Context, sessionID string) error {
	_, err := s.global.ExecContext(ctx, "UPDATE `user_login` SET `logout_at` = ? WHERE `session_id` = ? AND `logout_at` IS NULL", s.now(), sessionID)
	if err != nil {
		return fmt.Errorf("store: cannot record logout: %w", err)
	}
	return nil
}

// ListLogins pages through the logins of one tenant's users.
func (s *Store) ListLogins(ctx context.Context, tenantID int64, p Page) ([]UserLogin, error) {
	return s.tables.login.list(ctx, s.global, "`tenant_id` = ?", []any{tenantID}, p)
}

// RecordQuery inserts a USER_QUERY row.
func (s *Store) RecordQuery(ctx context.Context, q *UserQuery) error {
	if q.CreatedAt.IsZero() {
		q.CreatedAt = s.now()
	}
	if len(q.Filters) == 0 {
		q.Filters = JSON("{}")
	}
	return s.tables.query.insert(ctx, s.global, q)
}

// ListQueries pages through one tenant's recorded data queries.
func (s *Store) ListQueries(ctx context.Context, tenantID int64, p Page) ([]UserQuery, error) {
	return s.tables.query.list(ctx, s.global, "`tenant_id` = ?", []any{tenantID}, p)
}

// ---- audit log ----

// AuditHasher computes an entry's chained hash from the previous entry's hash.
type AuditHasher func(prev []byte, e *AuditEntry) []byte

// AppendAudit appends an entry to a tenant's chain: it reads the tail, assigns the next
// sequence number and hash, and inserts, all in one transaction. A concurrent append that
// takes the same sequence number fails on the unique key and is retried.
func (s *Store) AppendAudit(ctx context.Context, e *AuditEntry, hash AuditHasher) error {
	if len(e.Details) == 0 {
		e.Details = JSON("{}")
	}
	if e.At.IsZero() {
		e.At = s.now()
	}
	for attempt := 0; ; attempt++ {
		err := s.appendAuditOnce(ctx, e, hash)
		if err == nil || !errors.Is(err, ErrConflict) || attempt >= 20 {
			return err
		}
	}
}

func (s *Store) appendAuditOnce(ctx context.Context, e *AuditEntry, hash AuditHasher) error {
	tx, err := s.global.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: cannot append audit: %w", err)
	}
	defer tx.Rollback()
	var prev []byte
	var seq int64
	err = tx.QueryRowContext(ctx, "SELECT `seq`, `hash` FROM `audit_log` WHERE `tenant_id` = ? ORDER BY `seq` DESC LIMIT 1", e.TenantID).Scan(&seq, &prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("store: cannot read audit tail: %w", err)
	}
	e.Seq = seq + 1
	e.PrevHash = append([]byte{}, prev...)
	if e.PrevHash == nil {
		e.PrevHash = []byte{}
	}
	e.Hash = hash(e.PrevHash, e)
	res, err := tx.ExecContext(ctx, "INSERT INTO `audit_log` (`tenant_id`, `seq`, `at`, `user_id`, `action`, `ip_address`, `details`, `prev_hash`, `hash`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
		e.TenantID, e.Seq, e.At, e.UserID, e.Action, e.IP, e.Details, e.PrevHash, e.Hash)
	if err != nil {
		if s.d.isDuplicate(err) {
			return ErrConflict
		}
		return fmt.Errorf("store: cannot append audit: %w", err)
	}
	if e.ID, err = res.LastInsertId(); err != nil {
		return err
	}
	return tx.Commit()
}

// AuditEntries returns a tenant's audit chain in sequence order, from seq > afterSeq.
func (s *Store) AuditEntries(ctx context.Context, tenantID, afterSeq int64, limit int) ([]AuditEntry, error) {
	return s.auditEntries(ctx, "`tenant_id` = ? AND `seq` > ? ORDER BY `seq`", tenantID, afterSeq, limit)
}

// AuditEntriesNewestFirst returns a tenant's audit chain newest first, from seq < beforeSeq
// (0 = from the newest entry).
func (s *Store) AuditEntriesNewestFirst(ctx context.Context, tenantID, beforeSeq int64, limit int) ([]AuditEntry, error) {
	if beforeSeq <= 0 {
		beforeSeq = math.MaxInt64
	}
	return s.auditEntries(ctx, "`tenant_id` = ? AND `seq` < ? ORDER BY `seq` DESC", tenantID, beforeSeq, limit)
}

func (s *Store) auditEntries(ctx context.Context, where string, tenantID, seq int64, limit int) ([]AuditEntry, error) {
	rows, err := s.global.QueryContext(ctx, "SELECT `id`, `tenant_id`, `seq`, `at`, `user_id`, `action`, `ip_address`, `details`, `prev_hash`, `hash` FROM `audit_log` WHERE "+where+" LIMIT ?", tenantID, seq, limit)
	if err != nil {
		return nil, fmt.Errorf("store: cannot read audit log: %w", err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		if err := rows.Scan(&e.ID, &e.TenantID, &e.Seq, &e.At, &e.UserID, &e.Action, &e.IP, &e.Details, &e.PrevHash, &e.Hash); err != nil {
			return nil, fmt.Errorf("store: cannot read audit log: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// ---- UI configuration ----

// ListWidgets returns the whole widget catalogue.
func (s *Store) ListWidgets(ctx context.Context) ([]Widget, error) {
	return s.tables.widget.all(ctx, s.global, "")
}

// GetWidget reads one catalogue entry.
func (s *Store) GetWidget(ctx context.Context, id int64) (Widget, error) {
	return s.tables.widget.get(ctx, s.global, id)
}

// UpsertWidget installs or updates a catalogue entry by widget_type (system metadata,
// written at start-up, never by tenants).
func (s *Store) UpsertWidget(ctx context.Context, w *Widget) error {
	list, err := s.tables.widget.list(ctx, s.global, "`widget_type` = ?", []any{w.WidgetType}, Page{Limit: 1})
	if err != nil {
		return err
	}
	if len(list) == 1 {
		w.ID = list[0].ID
		return s.tables.widget.update(ctx, s.global, w)
	}
	return s.tables.widget.insert(ctx, s.global, w)
}

func (t *DashboardTemplate) validate() error {
	v := validator{entity: "dashboard_template"}
	v.check(strings.TrimSpace(t.Name) != "" && len(t.Name) <= 200, "name", "is required (at most 200 characters)")
	known := false
	for _, r := range Roles {
		known = known || r == t.RoleAccess
	}
	v.check(known, "role_access", "must be one of "+strings.Join(Roles, ", "))
	v.check(len(t.LayoutConfig) > 0, "layout_config", "is required")
	return v.err()
}

// CreateDashboard inserts a dashboard template of a tenant.
func (s *Store) CreateDashboard(ctx context.Context, t *DashboardTemplate) error {
	if err := t.validate(); err != nil {
		return err
	}
	t.CreatedAt, t.UpdatedAt = s.now(), s.now()
	return s.tables.dashboard.insert(ctx, s.global, t)
}

// GetDashboard reads a template of tenantID.
func (s *Store) GetDashboard(ctx context.Context, tenantID, id int64) (DashboardTemplate, error) {
	t, err := s.tables.dashboard.get(ctx, s.global, id)
	if err == nil && t.TenantID != tenantID {
		return DashboardTemplate{}, fmt.Errorf("store: dashboard_template %d: %w", id, ErrNotFound)
	}
	return t, err
}

// ListDashboards pages through a tenant's templates.
func (s *Store) ListDashboards(ctx context.Context, tenantID int64, p Page) ([]DashboardTemplate, error) {
	return s.tables.dashboard.list(ctx, s.global, "`tenant_id` = ?", []any{tenantID}, p)
}

// UpdateDashboard saves a template of tenantID.
func (s *Store) UpdateDashboard(ctx context.Context, tenantID int64, t *DashboardTemplate) error {
	old, err := s.GetDashboard(ctx, tenantID, t.ID)
	if err != nil {
		return err
	}
	t.TenantID, t.CreatedAt, t.UpdatedAt = old.TenantID, old.CreatedAt, s.now()
	if err := t.validate(); err != nil {
		return err
	}
	return s.tables.dashboard.update(ctx, s.global, t)
}

// DeleteDashboard removes a template of tenantID.
func (s *Store) DeleteDashboard(ctx context.Context, tenantID, id int64) error {
	if _, err := s.GetDashboard(ctx, tenantID, id); err != nil {
		return err
	}
	return s.tables.dashboard.delete(ctx, s.global, id)
}

// GetConfig reads a SYSTEM_CONFIG value.
func (s *Store) GetConfig(ctx context.Context, key string) (ConfigEntry, error) {
	e := ConfigEntry{Key: key}
	err := s.global.QueryRowContext(ctx, "SELECT `value`, `updated_at` FROM `system_config` WHERE `key` = ?", key).Scan(&e.Value, &e.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return e, fmt.Errorf("store: system_config %q: %w", key, ErrNotFound)
	}
	if err != nil {
		return e, fmt.Errorf("store: cannot read system_config %q: %w", key, err)
	}
	return e, nil
}

// ListConfig returns every SYSTEM_CONFIG entry.
func (s *Store) ListConfig(ctx context.Context) ([]ConfigEntry, error) {
	rows, err := s.global.QueryContext(ctx, "SELECT `key`, `value`, `updated_at` FROM `system_config` ORDER BY `key`")
	if err != nil {
		return nil, fmt.Errorf("store: cannot list system_config: %w", err)
	}
	defer rows.Close()
	var out []ConfigEntry
	for rows.Next() {
		var e ConfigEntry
		if err := rows.Scan(&e.Key, &e.Value, &e.UpdatedAt); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// SetConfig writes a SYSTEM_CONFIG value (insert or replace).
func (s *Store) SetConfig(ctx context.Context, key string, value JSON) error {
	v := validator{entity: "system_config"}
	v.check(key != "" && len(key) <= 128, "key", "is required (at most 128 characters)")
	if err := v.err(); err != nil {
		return err
	}
	tx, err := s.global.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, "UPDATE `system_config` SET `value` = ?, `updated_at` = ? WHERE `key` = ?", value, s.now(), key)
	if err != nil {
		return fmt.Errorf("store: cannot write system_config %q: %w", key, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := tx.ExecContext(ctx, "INSERT INTO `system_config` (`key`, `value`, `updated_at`) VALUES (?, ?, ?)", key, value, s.now()); err != nil {
			return fmt.Errorf("store: cannot write system_config %q: %w", key, err)
		}
	}
	return tx.Commit()
}

// DeleteConfig removes a SYSTEM_CONFIG key.
func (s *Store) DeleteConfig(ctx context.Context, key string) error {
	res, err := s.global.ExecContext(ctx, "DELETE FROM `system_config` WHERE `key` = ?", key)
	if err != nil {
		return fmt.Errorf("store: cannot delete system_config %q: %w", key, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: system_config %q: %w", key, ErrNotFound)
	}
	return nil
}
