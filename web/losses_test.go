package web_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/linepulse/linepulse/loss"
	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/store/storetest"
	"github.com/linepulse/linepulse/stream"
	"github.com/linepulse/linepulse/web"
)

// TestLossEndpoints walks the shift instances, the loss waterfall, the Pareto and the
// reason tree over the API on a Wednesday of the fixture's Mon-Fri 06:00-14:00 shift
// (break 10:00-10:15, tenant local time) with its one 10-minute stop at 13:00.
func TestLossEndpoints(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		ev := newEnv(t, e)
		f, day, admin := ev.shiftDay()
		viewer := ev.token("acme", "viewer")
		lp := "/api/v1/lines/" + itoa(f.line)
		rng := url.Values{"from": {day.Format(time.RFC3339)}, "to": {day.Add(24 * time.Hour).Format(time.RFC3339)}}

		var list web.ShiftListResponse
		ev.must(http.StatusOK, req{method: "GET", path: lp + "/shifts?" + rng.Encode(), token: viewer}, &list)
		id := "2026-12-02." + itoa(f.ids["shifts"])
		if len(list.Items) != 1 || list.Items[0].ID != id || list.Items[0].Running || list.Items[0].Total != 2520 ||
			list.Items[0].Reject != 25 || list.Items[0].PlannedS != 27900 || list.Items[0].DowntimeS != 600 {
			t.Fatalf("shift list %+v", list.Items)
		}
		var d stream.ShiftDetail
		ev.must(http.StatusOK, req{method: "GET", path: lp + "/shifts/" + id, token: viewer}, &d)
		if len(d.Stops) != 1 || d.Stops[0].ID != f.event || d.OEE != list.Items[0].OEE || sum(d.Losses) != 27900 || d.Losses.OEE != d.OEE {
			t.Fatalf("shift detail %+v", d)
		}
		ev.must(http.StatusNotFound, req{method: "GET", path: lp + "/shifts/2026-12-05." + itoa(f.ids["shifts"]), token: viewer}, nil) // Saturday
		ev.must(http.StatusBadRequest, req{method: "GET", path: lp + "/shifts/yesterday", token: viewer}, nil)
		var o stream.OEEReport
		ev.must(http.StatusOK, req{method: "GET", path: lp + "/oee?from=" + url.QueryEscape(d.Start.Format(time.RFC3339)) + "&to=" + url.QueryEscape(d.End.Format(time.RFC3339)), token: viewer}, &o)
		if o.Shift == nil || o.Shift.Instance != id || o.OEE != d.OEE {
			t.Fatalf("oee over the instance %+v", o)
		}
		var lr stream.LossReport
		ev.must(http.StatusOK, req{method: "GET", path: lp + "/losses?from=" + url.QueryEscape(d.Start.Format(time.RFC3339)) + "&to=" + url.QueryEscape(d.End.Format(time.RFC3339)), token: viewer}, &lr)
		if lr.OEE.Shift == nil || lr.Losses.OEE != d.Losses.OEE || sum(lr.Losses) != 27900 || len(lr.Losses.Bars) == 0 {
			t.Fatalf("losses %+v", lr)
		}
		// The plant waterfall of this line alone is the line's.
		var pl stream.PlantLossReport
		ev.must(http.StatusOK, req{method: "GET", path: "/api/v1/losses?lines=" + itoa(f.line) + "&from=" + url.QueryEscape(d.Start.Format(time.RFC3339)) + "&to=" + url.QueryEscape(d.End.Format(time.RFC3339)), token: viewer}, &pl)
		if !slices.Equal(pl.Lines, []int64{f.line}) || !reflect.DeepEqual(pl.Losses, lr.Losses) {
			t.Fatalf("plant losses %+v\nline %+v", pl, lr.Losses)
		}

		// The reason tree: a category, a reason under it, depth at most 3, a planned kind.
		mk := func(code string, parent int64, kind string, want int) int64 {
			t.Helper()
			got := ev.must(want, req{method: "POST", path: "/api/v1/failures", token: admin, body: map[string]any{"code": code, "name": code + " name", "parent_id": parent, "kind": kind}}, nil)
			if want != http.StatusCreated {
				return 0
			}
			return idOf(t, got)
		}
		cat := mk("CAT", 0, "", http.StatusCreated)
		jam := mk("JAM", cat, "unplanned", http.StatusCreated)
		deep := mk("DEEP", jam, "", http.StatusCreated)
		mk("TOO-DEEP", deep, "", http.StatusBadRequest)
		mk("ORPHAN", 999999, "", http.StatusBadRequest)
		mk("ODD", 0, "sometimes", http.StatusBadRequest)
		chgID := mk("CHG", 0, "planned", http.StatusCreated)
		got := ev.do(req{method: "PUT", path: "/api/v1/failures/" + itoa(cat), token: admin, body: map[string]any{"code": "CAT", "name": "CAT name", "parent_id": deep, "type_failure": map[string]any{}, "description": ""}})
		if got.code != http.StatusBadRequest || !slices.Contains(errFields(got), "parent_id") {
			t.Fatalf("a cycle: %d %s", got.code, got.body)
		}

		pareto := func(q string) web.ParetoResponse {
			t.Helper()
			var p web.ParetoResponse
			ev.must(http.StatusOK, req{method: "GET", path: "/api/v1/downtime/pareto?" + rng.Encode() + q, token: viewer}, &p)
			return p
		}
		if p := pareto(""); len(p.Groups) != 1 || p.Groups[0].Key != loss.Uncoded || p.UncodedShare != 1 || p.TotalS != 600 || !slices.Equal(p.Lines, []int64{f.line}) {
			t.Fatalf("uncoded pareto %+v", p)
		}
		var chg store.Failure // an absent kind in a PUT keeps the old one
		ev.must(http.StatusOK, req{method: "PUT", path: "/api/v1/failures/" + itoa(chgID), token: admin, body: map[string]any{"code": "CHG", "name": "Changeover", "type_failure": map[string]any{}, "description": ""}}, &chg)
		if chg.Kind != store.ReasonPlanned || chg.Name != "Changeover" {
			t.Fatalf("changeover after a PUT without kind: %+v", chg)
		}
		op := ev.token("acme", "operator")
		reason := lp + "/downtime/" + itoa(f.event) + "/reason"
		ev.must(http.StatusOK, req{method: "PUT", path: reason, token: op, body: map[string]any{"reason_code": "DEEP", "comment": "chain"}}, nil)
		if p := pareto("&group=category&lines=" + itoa(f.line)); len(p.Groups) != 1 || p.Groups[0].Key != "CAT" || p.UncodedS != 0 || p.Groups[0].Cumulative != 1 {
			t.Fatalf("category pareto %+v", p)
		}
		if p := pareto("&group=reason"); p.Groups[0].Key != "DEEP" || p.Groups[0].Label != "DEEP name" {
			t.Fatalf("reason pareto %+v", p)
		}
		if p := pareto("&group=shift"); p.Groups[0].Label != "acme shift" {
			t.Fatalf("shift pareto %+v", p)
		}
		// A planned reason moves the stop out of availability loss, in history at once.
		ev.must(http.StatusOK, req{method: "PUT", path: reason, token: op, body: map[string]any{"reason_code": "CHG"}}, nil)
		ev.must(http.StatusOK, req{method: "GET", path: lp + "/shifts/" + id, token: viewer}, &d)
		if d.PlannedS != 27300 || d.PlannedStopS != 600 || d.DowntimeS != 0 || d.Events != 0 || d.Availability != 1 || sum(d.Losses) != 27900 ||
			d.Losses.Buckets[1].Kind != loss.KindPlannedStop || d.Losses.Buckets[1].Key != "CHG" {
			t.Fatalf("after a planned reason %+v", d)
		}

		// The CSV exports parse, sum to the API's figures and show the tenant's local times.
		shiftRange := url.Values{"from": {d.Start.Format(time.RFC3339)}, "to": {d.End.Format(time.RFC3339)}}
		down := ev.csv(lp+"/downtime.csv?"+shiftRange.Encode(), viewer)
		if len(down) != 2 || down[1][0] != itoa(f.event) || down[1][5] != "CHG" || down[1][8] != "planned" || down[1][1] != "2026-12-02T13:00:00+01:00" ||
			colSum(down, "counted_s") != d.PlannedStopS+d.DowntimeS {
			t.Fatalf("downtime.csv %q", down)
		}
		prod := ev.csv(lp+"/production.csv?interval=hour&"+shiftRange.Encode(), viewer)
		if len(prod) != 9 || prod[1][0] != "2026-12-02T06:00:00+01:00" || colSum(prod, "total") != float64(d.Total) || colSum(prod, "reject") != float64(d.Reject) {
			t.Fatalf("production.csv %q", prod)
		}
		sh := ev.csv(lp+"/shifts.csv?"+rng.Encode(), viewer)
		if len(sh) != 2 || sh[1][0] != id || colSum(sh, "planned_s") != d.PlannedS || colSum(sh, "total") != float64(d.Total) {
			t.Fatalf("shifts.csv %q", sh)
		}

		// The shift report: a PDF whose text names the line and shows the API's OEE, in the
		// tenant's local time; the CSV with the same figures.
		pdf := ev.must(http.StatusOK, req{method: "GET", path: lp + "/shifts/" + id + "/report.pdf", token: viewer}, nil)
		text := pdfTexts(t, pdf.body)
		var line store.Line
		ev.must(http.StatusOK, req{method: "GET", path: lp, token: viewer}, &line)
		if !bytes.HasPrefix(pdf.body, []byte("%PDF-")) || pdf.hdr.Get("Content-Type") != "application/pdf" ||
			!strings.Contains(text, line.Name) || !strings.Contains(text, web.Percent(d.OEE)) || !strings.Contains(text, "2026-12-02 06:00") || !strings.Contains(text, "CHG") {
			t.Fatalf("the PDF says:\n%s", text)
		}
		es := pdfTexts(t, ev.must(http.StatusOK, req{method: "GET", path: lp + "/shifts/" + id + "/report.pdf?lang=es", token: viewer}, nil).body)
		if !strings.Contains(es, "Informe de turno") || !strings.Contains(es, "Disponibilidad") {
			t.Fatalf("the Spanish PDF says:\n%s", es)
		}
		rc := ev.must(http.StatusOK, req{method: "GET", path: lp + "/shifts/" + id + "/report.csv", token: viewer}, nil)
		r := csv.NewReader(bytes.NewReader(rc.body))
		r.FieldsPerRecord = -1
		rrows, err := r.ReadAll()
		if err != nil || !slices.ContainsFunc(rrows, func(r []string) bool { return slices.Equal(r, []string{"oee", strconv.FormatFloat(d.OEE, 'f', 6, 64)}) }) {
			t.Fatalf("report.csv %q %v", rrows, err)
		}

		// Bad input; a line the caller may not see is not found, and left out by default.
		ev.user(ev.acme.ID, "narrow@acme.test", store.RoleViewer, store.Permissions{Lines: []int64{f.line + 1}})
		narrow := ev.login("acme", "narrow@acme.test").AccessToken
		for q, code := range map[string]int{"&group=colour": 400, "&lines=1,abc": 400, "&lines=999": 404, "&lines=": 400} {
			got := ev.do(req{method: "GET", path: "/api/v1/downtime/pareto?" + rng.Encode() + q, token: viewer})
			if got.code != code {
				t.Errorf("pareto %s: %d %s", q, got.code, got.body)
			}
		}
		for q, code := range map[string]int{"&lines=1,abc": 400, "&lines=999": 404, "&lines=": 400, "&lines=" + itoa(f.line): 200} {
			if got := ev.do(req{method: "GET", path: "/api/v1/losses?" + rng.Encode() + q, token: viewer}); got.code != code {
				t.Errorf("plant losses %s: %d %s", q, got.code, got.body)
			}
		}
		ev.must(http.StatusNotFound, req{method: "GET", path: "/api/v1/losses?lines=" + itoa(f.line), token: narrow}, nil)
		ev.must(http.StatusNotFound, req{method: "GET", path: "/api/v1/losses?lines=" + itoa(f.line), token: ev.token("beta", store.RoleTenantAdmin)}, nil)
		var none stream.PlantLossReport
		ev.must(http.StatusOK, req{method: "GET", path: "/api/v1/losses?" + rng.Encode(), token: narrow}, &none)
		if len(none.Lines) != 0 || none.Losses.PlannedS != 0 || none.Losses.Bars == nil || len(none.Losses.Bars) != 0 {
			t.Fatalf("plant losses of a viewer of other lines %+v", none)
		}
		var p web.ParetoResponse
		ev.must(http.StatusOK, req{method: "GET", path: "/api/v1/downtime/pareto?" + rng.Encode(), token: narrow}, &p)
		if len(p.Lines) != 0 || p.Count != 0 {
			t.Fatalf("pareto of a viewer of other lines %+v", p)
		}
		ev.must(http.StatusNotFound, req{method: "GET", path: "/api/v1/downtime/pareto?lines=" + itoa(f.line), token: narrow}, nil)
		ev.must(http.StatusNotFound, req{method: "GET", path: lp + "/shifts/" + id, token: narrow}, nil)
	})
}

// shiftDay sets the clock to Wednesday 2026-12-02 15:00 in the tenant's zone, creates the
// fixture (its stop starts 2 h before now: 13:00 local, inside the shift) and writes a
// detection every 10 s from 06:00 to 13:00, every 100th a reject. It returns the fixture,
// the day's local midnight and a tenant admin's token (taken after the clock moved).
func (ev *env) shiftDay() (fixture, time.Time, string) {
	ev.t.Helper()
	loc, err := time.LoadLocation(ev.acme.Config.Timezone)
	if err != nil {
		ev.t.Fatal(err)
	}
	ev.clock.Add(time.Date(2026, 12, 2, 15, 0, 0, 0, loc).Sub(ev.clock.Now()))
	admin := ev.token("acme", "tenant_admin")
	f := ev.plant(ev.acme, admin, "acme")
	day := time.Date(2026, 12, 2, 0, 0, 0, 0, loc)
	var dets []store.Detection
	for ts := day.Add(6 * time.Hour); ts.Before(day.Add(13 * time.Hour)); ts = ts.Add(10 * time.Second) {
		dets = append(dets, store.Detection{ID: uint64(len(dets) + 1), At: ts, Area: f.ids["areas"], Product: f.ids["products"], OK: len(dets)%100 != 50})
	}
	ev.write(ev.acme.ID, f.line, dets)
	return f, day, admin
}

// write stores detections of a line as the ingest writer does (rollups included).
func (ev *env) write(tenantID, line int64, dets []store.Detection) {
	ev.t.Helper()
	ctx := context.Background()
	tdb, err := ev.st.Tenant(ctx, tenantID)
	if err != nil {
		ev.t.Fatal(err)
	}
	pool, err := tdb.NewWriterPool(ctx, 1)
	if err != nil {
		ev.t.Fatal(err)
	}
	defer pool.Close()
	if _, err := tdb.WriteDetections(ctx, pool, line, dets); err != nil {
		ev.t.Fatal(err)
	}
}

// csv fetches and parses a CSV export.
func (ev *env) csv(path, token string) [][]string {
	ev.t.Helper()
	got := ev.must(http.StatusOK, req{method: "GET", path: path, token: token}, nil)
	rows, err := csv.NewReader(bytes.NewReader(got.body)).ReadAll()
	if err != nil {
		ev.t.Fatalf("%s: %v\n%s", path, err, got.body)
	}
	return rows
}

// colSum adds up a column of a CSV with a header row.
func colSum(rows [][]string, col string) float64 {
	i := slices.Index(rows[0], col)
	var s float64
	for _, r := range rows[1:] {
		v, _ := strconv.ParseFloat(r[i], 64)
		s += v
	}
	return s
}

func sum(w loss.Waterfall) float64 {
	var s float64
	for _, b := range w.Buckets {
		s += b.Seconds
	}
	return s
}

// TestQueryHistory lists the caller's own data queries and runs one again from its
// recorded parameters; another user's query is not found.
func TestQueryHistory(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		ev := newEnv(t, e)
		admin := ev.token("acme", "tenant_admin")
		f := ev.plant(ev.acme, admin, "acme")
		viewer := ev.token("acme", "viewer")
		from := ev.clock.Now().Add(-3 * time.Hour).Truncate(time.Hour)
		ev.write(ev.acme.ID, f.line, []store.Detection{{ID: 1, At: from.Add(time.Minute), Area: f.ids["areas"], Product: f.ids["products"], OK: true}})
		q := url.Values{"from": {from.Format(time.RFC3339)}, "to": {from.Add(2 * time.Hour).Format(time.RFC3339)}, "interval": {"hour"}}
		var first web.ProductionResponse
		ev.must(http.StatusOK, req{method: "GET", path: "/api/v1/lines/" + itoa(f.line) + "/production?" + q.Encode(), token: viewer}, &first)
		ev.must(http.StatusOK, req{method: "GET", path: "/api/v1/downtime/pareto?group=line&lines=" + itoa(f.line), token: viewer}, nil)
		var hist web.Page[store.UserQuery]
		ev.must(http.StatusOK, req{method: "GET", path: "/api/v1/queries", token: viewer}, &hist)
		if len(hist.Items) != 2 || hist.Items[0].Line != f.line || hist.Items[0].IntervalType != "hour" {
			t.Fatalf("history %+v", hist.Items)
		}
		var again web.ProductionResponse
		ev.must(http.StatusOK, req{method: "POST", path: "/api/v1/queries/" + itoa(hist.Items[0].ID) + "/run", token: viewer}, &again)
		if again.Interval != "hour" || !again.From.Equal(first.From) || len(again.Items) != 2 || again.Items[0].Total != 1 {
			t.Fatalf("run again %+v", again)
		}
		var p web.ParetoResponse
		ev.must(http.StatusOK, req{method: "POST", path: "/api/v1/queries/" + itoa(hist.Items[1].ID) + "/run", token: viewer}, &p)
		if p.Group != "line" || !slices.Equal(p.Lines, []int64{f.line}) {
			t.Fatalf("pareto again %+v", p)
		}
		ev.must(http.StatusNotFound, req{method: "POST", path: "/api/v1/queries/" + itoa(hist.Items[0].ID) + "/run", token: admin}, nil)

		// The plant waterfall is recorded as its own kind and runs again over the same lines.
		ev.must(http.StatusOK, req{method: "GET", path: "/api/v1/losses?lines=" + itoa(f.line), token: viewer}, nil)
		ev.must(http.StatusOK, req{method: "GET", path: "/api/v1/queries", token: viewer}, &hist)
		plant := slices.IndexFunc(hist.Items, func(q store.UserQuery) bool { return strings.Contains(string(q.Filters), `"plant_losses"`) })
		if plant < 0 {
			t.Fatalf("no plant_losses query in %+v", hist.Items)
		}
		var pl stream.PlantLossReport
		ev.must(http.StatusOK, req{method: "POST", path: "/api/v1/queries/" + itoa(hist.Items[plant].ID) + "/run", token: viewer}, &pl)
		if !slices.Equal(pl.Lines, []int64{f.line}) {
			t.Fatalf("plant losses again %+v", pl)
		}
		var mine web.Page[store.UserQuery]
		ev.must(http.StatusOK, req{method: "GET", path: "/api/v1/queries", token: admin}, &mine)
		for _, it := range mine.Items {
			if it.UserID != hist.Items[0].UserID {
				continue
			}
			t.Fatalf("the admin sees the viewer's query %+v", it)
		}

		// Saved views: the viewer names one of its queries; it lists apart from the history;
		// another user's id is not found, and the name stays.
		view := "/api/v1/queries/" + itoa(hist.Items[0].ID)
		var named store.UserQuery
		ev.must(http.StatusOK, req{method: "PUT", path: view, token: viewer, body: map[string]any{"name": "  Line output by hour "}}, &named)
		if named.Name != "Line output by hour" || named.ID != hist.Items[0].ID {
			t.Fatalf("named %+v", named)
		}
		ev.must(http.StatusNotFound, req{method: "PUT", path: view, token: admin, body: map[string]any{"name": "taken"}}, nil)
		ev.must(http.StatusNotFound, req{method: "PUT", path: view, token: ev.token("beta", "tenant_admin"), body: map[string]any{"name": "taken"}}, nil)
		ev.must(http.StatusBadRequest, req{method: "PUT", path: view, token: viewer, body: map[string]any{}}, nil)
		ev.must(http.StatusBadRequest, req{method: "PUT", path: view, token: viewer, body: map[string]any{"name": strings.Repeat("x", 201)}}, nil)
		var saved, history web.Page[store.UserQuery]
		ev.must(http.StatusOK, req{method: "GET", path: "/api/v1/queries?saved=true", token: viewer}, &saved)
		ev.must(http.StatusOK, req{method: "GET", path: "/api/v1/queries?saved=false", token: viewer}, &history)
		if len(saved.Items) != 1 || saved.Items[0].Name != "Line output by hour" || slices.ContainsFunc(history.Items, func(q store.UserQuery) bool { return q.ID == named.ID }) {
			t.Fatalf("saved %+v, history %+v", saved.Items, history.Items)
		}
		if !contains(ev.auditActions(ev.acme.ID), "query.name") {
			t.Fatalf("naming not audited: %v", ev.auditActions(ev.acme.ID))
		}
	})
}
