package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/linepulse/linepulse/store"
)

// builtinWidgets is the catalogue installed by SeedWidgets: each widget type with the JSON
// Schema of its parameters (WIDGET_CATALOG.required_params). Dashboard layouts are
// validated against these schemas.
var builtinWidgets = []store.Widget{
	{WidgetType: "kpi_tile", Name: "KPI tile", Description: "One live figure of a line in big type: OEE, a factor, the count or the rate.",
		RequiredParams: store.JSON(`{"type":"object","additionalProperties":false,"required":["line_id","metric"],"properties":{"line_id":{"type":"integer","minimum":1},"metric":{"enum":["oee","availability","performance","quality","count","rate"]},"title":{"type":"string","maxLength":100}}}`)},
	{WidgetType: "line_state", Name: "Line state", Description: "Running, down, planned stop or no shift, with the time in that state.",
		RequiredParams: store.JSON(`{"type":"object","additionalProperties":false,"required":["line_id"],"properties":{"line_id":{"type":"integer","minimum":1},"title":{"type":"string","maxLength":100}}}`)},
	{WidgetType: "production_chart", Name: "Production chart", Description: "Good and rejected counts per interval over a recent window.",
		RequiredParams: store.JSON(`{"type":"object","additionalProperties":false,"required":["line_id","interval"],"properties":{"line_id":{"type":"integer","minimum":1},"interval":{"enum":["minute","hour","day","shift"]},"hours":{"type":"integer","minimum":1,"maximum":744},"title":{"type":"string","maxLength":100}}}`)},
	{WidgetType: "product_mix", Name: "Product mix", Description: "Share of each product in the current shift.",
		RequiredParams: store.JSON(`{"type":"object","additionalProperties":false,"required":["line_id"],"properties":{"line_id":{"type":"integer","minimum":1},"title":{"type":"string","maxLength":100}}}`)},
	{WidgetType: "downtime_list", Name: "Downtime list", Description: "Latest downtime events of a line with their reason codes.",
		RequiredParams: store.JSON(`{"type":"object","additionalProperties":false,"required":["line_id"],"properties":{"line_id":{"type":"integer","minimum":1},"limit":{"type":"integer","minimum":1,"maximum":100},"title":{"type":"string","maxLength":100}}}`)},
	{WidgetType: "oee_gauge", Name: "OEE gauge", Description: "OEE with availability, performance and quality of the current or previous shift.",
		RequiredParams: store.JSON(`{"type":"object","additionalProperties":false,"required":["line_id"],"properties":{"line_id":{"type":"integer","minimum":1},"shift":{"enum":["current","previous"]},"title":{"type":"string","maxLength":100}}}`)},
	{WidgetType: "plant_map", Name: "Plant map", Description: "The areas drawn from their coordinates over the floor plan, coloured live by their line's state; click an area for its line.",
		RequiredParams: store.JSON(`{"type":"object","additionalProperties":false,"properties":{"line_id":{"type":"integer","minimum":1},"title":{"type":"string","maxLength":100}}}`)},
	{WidgetType: "stop_timeline", Name: "Stop timeline", Description: "The current shift as a bar: running, down and planned stops (breaks).",
		RequiredParams: store.JSON(`{"type":"object","additionalProperties":false,"required":["line_id"],"properties":{"line_id":{"type":"integer","minimum":1},"title":{"type":"string","maxLength":100}}}`)},
	{WidgetType: "counter_target", Name: "Counter vs target", Description: "Good count of the shift against a target (given, or what the ideal cycle time allows so far).",
		RequiredParams: store.JSON(`{"type":"object","additionalProperties":false,"required":["line_id"],"properties":{"line_id":{"type":"integer","minimum":1},"target":{"type":"integer","minimum":1,"maximum":100000000},"title":{"type":"string","maxLength":100}}}`)},
	{WidgetType: "clock_banner", Name: "Clock and shift", Description: "The time in the plant's zone and the current shift of a line.",
		RequiredParams: store.JSON(`{"type":"object","additionalProperties":false,"properties":{"line_id":{"type":"integer","minimum":1},"title":{"type":"string","maxLength":100}}}`)},
}

// SeedWidgets installs or updates the built-in widget catalogue; serve calls it at start.
func (a *API) SeedWidgets(ctx context.Context) error {
	for _, w := range builtinWidgets {
		if _, err := a.widgets.compile(w); err != nil {
			return fmt.Errorf("web: built-in widget %s: %w", w.WidgetType, err)
		}
		if err := a.st.UpsertWidget(ctx, &w); err != nil {
			return fmt.Errorf("web: cannot seed widget %s: %w", w.WidgetType, err)
		}
	}
	return nil
}

// widgetSchemas caches compiled parameter schemas by widget type and schema content.
type widgetSchemas struct {
	mu    sync.Mutex
	cache map[string]*jsonschema.Schema
}

func newWidgetSchemas() *widgetSchemas { return &widgetSchemas{cache: map[string]*jsonschema.Schema{}} }

func (ws *widgetSchemas) compile(w store.Widget) (*jsonschema.Schema, error) {
	sum := sha256.Sum256(w.RequiredParams)
	key := w.WidgetType + "@" + fmt.Sprintf("%x", sum[:8])
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if s, ok := ws.cache[key]; ok {
		return s, nil
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(w.RequiredParams))
	if err != nil {
		return nil, fmt.Errorf("required_params is not JSON: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.UseLoader(jsonschema.SchemeURLLoader{}) // never read files or URLs named by a schema
	url := "urn:linepulse:widget:" + w.WidgetType
	if err := c.AddResource(url, doc); err != nil {
		return nil, err
	}
	s, err := c.Compile(url)
	if err != nil {
		return nil, err
	}
	if len(ws.cache) > 1000 {
		clear(ws.cache)
	}
	ws.cache[key] = s
	return s, nil
}

// validate checks params (raw JSON) against a widget's schema and returns readable
// problems, at most a few.
func (ws *widgetSchemas) validate(w store.Widget, params []byte) ([]string, error) {
	s, err := ws.compile(w)
	if err != nil {
		return nil, err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(params))
	if err != nil {
		return []string{"params must be JSON"}, nil
	}
	verr := s.Validate(inst)
	if verr == nil {
		return nil, nil
	}
	ve, ok := verr.(*jsonschema.ValidationError)
	if !ok {
		return []string{verr.Error()}, nil
	}
	var out []string
	for _, u := range ve.BasicOutput().Errors {
		if u.Error == nil || len(out) == 5 {
			continue
		}
		loc := strings.TrimPrefix(u.InstanceLocation, "/")
		if loc == "" {
			loc = "params"
		} else {
			loc = "params." + strings.ReplaceAll(loc, "/", ".")
		}
		out = append(out, loc+": "+u.Error.String())
	}
	if len(out) == 0 {
		out = append(out, "params do not match the widget's schema")
	}
	return out, nil
}

// Widget catalogue: read-only system metadata.
func (a *API) widgetRoutes() []*Route {
	o := scoped[store.Widget]{
		list: func(ctx context.Context, _ int64, p store.Page) ([]store.Widget, error) {
			all, err := a.st.ListWidgets(ctx)
			return pageSlice(all, func(w *store.Widget) int64 { return w.ID }, p), err
		},
		get: func(ctx context.Context, _, id int64) (store.Widget, error) { return a.st.GetWidget(ctx, id) },
	}.ops(callerTenant)
	return crud(spec[store.Widget]{path: "/api/v1/widgets", tag: "widgets", entity: "widget", scope: ScopeAny,
		read: ActWidgetsRead, write: ActWidgetsRead, id: func(v *store.Widget) *int64 { return &v.ID }}, o)
}
