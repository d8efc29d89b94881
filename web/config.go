package web

import (
	"encoding/json"
	"errors"
	"regexp"

	"github.com/linepulse/linepulse/store"
)

// ConfigValue is the body of PUT /api/v1/config/{key}.
type ConfigValue struct {
	Value json.RawMessage `json:"value"`
}

var configKeyRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,127}$`)

// System configuration (SYSTEM_CONFIG): platform-wide key/value settings, for platform
// administrators only. Every change is audited with the old and new value.
func (a *API) configRoutes() []*Route {
	return []*Route{
		{Method: "GET", Path: "/api/v1/config", Summary: "List system configuration", Tag: "config", Scope: ScopePlatform,
			Action: ActSystemConfig, Resp: Page[store.ConfigEntry]{}, List: true, handle: a.handleConfigList},
		{Method: "GET", Path: "/api/v1/config/{key}", Summary: "Read a system configuration value", Tag: "config", Scope: ScopePlatform,
			Action: ActSystemConfig, Resp: store.ConfigEntry{}, handle: a.handleConfigGet},
		{Method: "PUT", Path: "/api/v1/config/{key}", Summary: "Set a system configuration value", Tag: "config", Scope: ScopePlatform,
			Action: ActSystemConfig, Body: ConfigValue{}, Resp: store.ConfigEntry{}, handle: a.handleConfigPut},
		{Method: "DELETE", Path: "/api/v1/config/{key}", Summary: "Delete a system configuration value", Tag: "config", Scope: ScopePlatform,
			Action: ActSystemConfig, handle: a.handleConfigDelete},
	}
}

func configKey(c *call) (string, error) {
	k := c.r.PathValue("key")
	if !configKeyRe.MatchString(k) {
		return "", fieldErr("key", "must match [a-z0-9][a-z0-9_.-]{0,127}")
	}
	return k, nil
}

func (a *API) handleConfigList(c *call) error {
	list, err := a.st.ListConfig(c.r.Context())
	if err != nil {
		return err
	}
	return c.reply(Page[store.ConfigEntry]{Items: append([]store.ConfigEntry{}, list...)})
}

func (a *API) handleConfigGet(c *call) error {
	k, err := configKey(c)
	if err != nil {
		return err
	}
	e, err := a.st.GetConfig(c.r.Context(), k)
	if err != nil {
		return err
	}
	return c.reply(e)
}

func (a *API) handleConfigPut(c *call) error {
	k, err := configKey(c)
	if err != nil {
		return err
	}
	var in ConfigValue
	if err := c.decode(&in); err != nil {
		return err
	}
	if len(in.Value) == 0 {
		return fieldErr("value", "is required (any JSON value)")
	}
	ctx := c.r.Context()
	old, err := a.st.GetConfig(ctx, k)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err := a.st.SetConfig(ctx, k, store.JSON(in.Value)); err != nil {
		return err
	}
	e, err := a.st.GetConfig(ctx, k)
	if err != nil {
		return err
	}
	a.audit(ctx, c.p.TenantID, c.p.UserID, "system_config.set", c.ip, map[string]any{"key": k, "before": old.Value, "after": e.Value})
	return c.reply(e)
}

func (a *API) handleConfigDelete(c *call) error {
	k, err := configKey(c)
	if err != nil {
		return err
	}
	ctx := c.r.Context()
	old, err := a.st.GetConfig(ctx, k)
	if err != nil {
		return err
	}
	if err := a.st.DeleteConfig(ctx, k); err != nil {
		return err
	}
	a.audit(ctx, c.p.TenantID, c.p.UserID, "system_config.delete", c.ip, map[string]any{"key": k, "before": old.Value})
	return c.reply(nil)
}
