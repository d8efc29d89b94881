package web

import (
	"net/http"
	"slices"

	"github.com/linepulse/linepulse/store"
)

// AckInput is the body of POST /api/v1/alerts/{id}/ack.
type AckInput struct {
	Comment *string `json:"comment"` // required, may be ""
}

// AckLinkInput is the body of POST /api/v1/alerts/ack-link: the token of an e-mail's
// acknowledge link stands in for credentials, for that one alert.
type AckLinkInput struct {
	Token   string  `json:"token"`
	Comment *string `json:"comment"` // required, may be ""
}

// AlertSummary answers GET /api/v1/alerts/summary: the bell's counts.
type AlertSummary struct {
	Firing       int64 `json:"firing"`
	Acknowledged int64 `json:"acknowledged"`
}

// Alerting: notification channels and alert rules (tenant admins change them; every role
// that reads alerts sees them), the alerts they raise, acknowledgement and the delivery
// log. Channel secrets (webhook secret, SMTP password) are write-only: no answer and no
// audit entry carries them, and a PUT that leaves them empty keeps the stored ones.
func (a *API) alertRoutes() []*Route {
	rs := crud(spec[store.AlertChannel]{path: "/api/v1/notification-channels", tag: "notification-channels", entity: "channel",
		audit: "config.notification_channel", read: ActAlertsRead, write: ActAlertsManage,
		id: func(v *store.AlertChannel) *int64 { return &v.ID }}, channelOps())
	rs = append(rs, crud(spec[store.AlertRule]{path: "/api/v1/alert-rules", tag: "alert-rules", entity: "alert rule",
		audit: "config.alert_rule", read: ActAlertsRead, write: ActAlertsManage,
		id:   func(v *store.AlertRule) *int64 { return &v.ID },
		init: func(v *store.AlertRule) { v.Active = true }, prepare: checkRule},
		a.ruleOps())...)
	stateParam := Param{Name: "state", Type: "string", Enum: []string{store.AlertFiring, store.AlertAcknowledged, store.AlertResolved}, Desc: "only alerts in this state"}
	item := "/api/v1/alerts/{id}"
	return append(rs,
		&Route{Method: "GET", Path: "/api/v1/alerts", Summary: "List alerts, oldest first", Tag: "alerts", Resource: "alerts",
			Action: ActAlertsRead, Query: append(slices.Clone(lineParams), stateParam), Resp: Page[store.Alert]{}, List: true, handle: a.handleAlerts},
		&Route{Method: "GET", Path: "/api/v1/alerts/summary", Summary: "Count firing and acknowledged alerts (the bell)", Tag: "alerts", Resource: "alerts",
			Action: ActAlertsRead, Resp: AlertSummary{}, handle: a.handleAlertSummary},
		&Route{Method: "GET", Path: item, Summary: "Read an alert", Tag: "alerts", Resource: "alerts",
			Action: ActAlertsRead, Resp: store.Alert{}, handle: func(c *call) error {
				_, al, err := c.alert()
				if err != nil {
					return err
				}
				return c.reply(al)
			}},
		&Route{Method: "POST", Path: item + "/ack", Summary: "Acknowledge a firing alert (stops its escalation)", Tag: "alerts", Resource: "alerts",
			Action: ActAlertsAck, Body: AckInput{}, Resp: store.Alert{}, handle: a.handleAck},
		&Route{Method: "POST", Path: "/api/v1/alerts/ack-link", Summary: "Acknowledge an alert with the signed link of its e-mail (no other credentials)", Tag: "alerts",
			Resource: "alerts", Scope: ScopePublic, Body: AckLinkInput{}, Resp: store.Alert{}, handle: a.handleAckLink},
		&Route{Method: "GET", Path: item + "/deliveries", Summary: "Every delivery attempt of an alert's notifications", Tag: "alerts", Resource: "alerts",
			Action: ActAlertsRead, Resp: Page[store.Delivery]{}, List: true, handle: a.handleDeliveries},
	)
}

// channelOps are the collection's operations with the secrets kept inside the store.
func channelOps() ops[store.AlertChannel] {
	o := collectionOps(func(t *store.TenantDB) store.Collection[store.AlertChannel, *store.AlertChannel] {
		return t.AlertChannels
	})
	list, get, create, update := o.list, o.get, o.create, o.update
	o.list = func(c *call, lo store.ListOptions) ([]store.AlertChannel, error) {
		rows, err := list(c, lo)
		for i := range rows {
			rows[i] = rows[i].Redacted()
		}
		return rows, err
	}
	o.get = func(c *call, id int64) (store.AlertChannel, error) {
		v, err := get(c, id)
		return v.Redacted(), err
	}
	o.create = func(c *call, v *store.AlertChannel) error {
		v.Failing, v.LastError = false, ""
		err := create(c, v)
		*v = v.Redacted()
		return err
	}
	o.update = func(c *call, v *store.AlertChannel) error {
		old, err := get(c, v.ID)
		if err != nil {
			return err
		}
		if v.Config.Secret == "" {
			v.Config.Secret = old.Config.Secret
		}
		if v.Config.Password == "" {
			v.Config.Password = old.Config.Password
		}
		v.Failing, v.LastError = false, "" // a changed channel gets a fresh start
		err = update(c, v)
		*v = v.Redacted()
		return err
	}
	return o
}

// ruleOps are the collection's operations; a change reaches the alert engine at once.
func (a *API) ruleOps() ops[store.AlertRule] {
	o := collectionOps(func(t *store.TenantDB) store.Collection[store.AlertRule, *store.AlertRule] { return t.AlertRules })
	tell := func(c *call, err error) error {
		if err == nil && a.deps.Alerts != nil {
			a.deps.Alerts.Invalidate(c.p.TenantID)
		}
		return err
	}
	create, update, del := o.create, o.update, o.del
	o.create = func(c *call, v *store.AlertRule) error { return tell(c, create(c, v)) }
	o.update = func(c *call, v *store.AlertRule) error { return tell(c, update(c, v)) }
	o.del = func(c *call, id int64) error { return tell(c, del(c, id)) }
	return o
}

// checkRule checks that a rule's channels and lines exist in the caller's tenant (the
// store's check, shared with the CLI) and that the lines are within its permissions.
func checkRule(c *call, v, _ *store.AlertRule) error {
	errs := c.lineListErrs(v.Lines, func(l int64) error {
		if l > 0 {
			return c.seeLine(l)
		}
		return nil
	})
	t, err := c.tenant()
	if err != nil {
		return err
	}
	return checks(append(errs, t.CheckRuleRefs(c.r.Context(), v))...)
}

// lineListErrs checks a "lines" field (empty = every line): each line passes check, and a
// caller limited to some lines names them.
func (c *call) lineListErrs(lines []int64, check func(int64) error) []error {
	var errs []error
	for _, l := range lines {
		if check(l) != nil {
			errs = append(errs, fieldErr("lines", "no such line"))
		}
	}
	if len(lines) == 0 && c.p.Lines != nil {
		errs = append(errs, fieldErr("lines", "your permissions are limited to some lines: name them"))
	}
	return errs
}

// alert reads the {id} alert, not found when it is on a line the caller may not see.
func (c *call) alert() (*store.TenantDB, store.Alert, error) {
	id, err := c.pathID("id")
	if err != nil {
		return nil, store.Alert{}, err
	}
	t, err := c.tenant()
	if err != nil {
		return nil, store.Alert{}, err
	}
	al, err := t.GetAlert(c.r.Context(), id)
	if err != nil {
		return nil, store.Alert{}, err
	}
	if al.LineID != 0 && !c.p.CanSeeLine(al.LineID) {
		return nil, store.Alert{}, notFound("alert")
	}
	return t, al, nil
}

func (a *API) handleAlerts(c *call) error {
	p, lineID, err := c.listQuery()
	if err != nil {
		return err
	}
	state := c.q.str("state")
	t, err := c.tenant()
	if err != nil {
		return err
	}
	rows, err := t.ListAlerts(c.r.Context(), state, p)
	if err != nil {
		return err
	}
	out := make([]store.Alert, 0, len(rows))
	var last int64
	for _, al := range rows {
		last = al.ID
		if (lineID == 0 || al.LineID == lineID) && (al.LineID == 0 || c.p.CanSeeLine(al.LineID)) {
			out = append(out, al)
		}
	}
	return c.reply(pageOf(out, len(rows), last, p))
}

func (a *API) handleAlertSummary(c *call) error {
	t, err := c.tenant()
	if err != nil {
		return err
	}
	var s AlertSummary
	if s.Firing, err = t.CountAlerts(c.r.Context(), store.AlertFiring); err != nil {
		return err
	}
	if s.Acknowledged, err = t.CountAlerts(c.r.Context(), store.AlertAcknowledged); err != nil {
		return err
	}
	return c.reply(s)
}

func (a *API) handleAck(c *call) error {
	t, al, err := c.alert()
	if err != nil {
		return err
	}
	var in AckInput
	if err := c.decode(&in); err != nil {
		return err
	}
	if in.Comment == nil {
		return fieldErr("comment", "is required (it may be empty)")
	}
	acked, err := t.AckAlert(c.r.Context(), al.ID, c.p.UserID, *in.Comment)
	if err != nil {
		return err
	}
	a.audit(c.r.Context(), c.p.TenantID, c.p.UserID, "alert.ack", c.ip, map[string]any{"id": al.ID, "comment": *in.Comment, "via": "api"})
	return c.reply(acked)
}

func (a *API) handleAckLink(c *call) error {
	var in AckLinkInput
	if err := c.decode(&in); err != nil {
		return err
	}
	if in.Comment == nil {
		return fieldErr("comment", "is required (it may be empty)")
	}
	if a.deps.AckLinks == nil {
		return errf(http.StatusServiceUnavailable, CodeUnavailable, "acknowledge links are not configured on this server")
	}
	claim, err := a.deps.AckLinks.Verify(in.Token, a.now())
	if err != nil {
		return errf(http.StatusForbidden, CodeForbidden, "invalid or expired acknowledge link").withField("token")
	}
	t, err := a.st.Tenant(c.r.Context(), claim.TenantID)
	if err != nil {
		return err
	}
	acked, err := t.AckAlert(c.r.Context(), claim.AlertID, 0, *in.Comment)
	if err != nil {
		return err
	}
	a.audit(c.r.Context(), claim.TenantID, 0, "alert.ack", c.ip, map[string]any{"id": claim.AlertID, "comment": *in.Comment,
		"via": "email_link", "channel_id": claim.ChannelID})
	return c.reply(acked)
}

func (a *API) handleDeliveries(c *call) error {
	t, al, err := c.alert()
	if err != nil {
		return err
	}
	log, err := t.Deliveries(c.r.Context(), al.ID)
	if err != nil {
		return err
	}
	return c.reply(Page[store.Delivery]{Items: append([]store.Delivery{}, log...)})
}
