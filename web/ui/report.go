package ui

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/linepulse/linepulse/loss"
	"github.com/linepulse/linepulse/web"
)

// Reports gives the printable report pages their figures (*web.API implements it): the
// same checks and numbers as the report routes of the API, for the page's session.
type Reports interface {
	ShiftReportFor(r *http.Request, lineID int64, instance string) (web.ShiftReport, error)
	RecentShiftsFor(r *http.Request, lineID int64) ([]web.ShiftLink, error)
	PlantReportFor(r *http.Request) (web.PlantReport, error)
}

// reportView is a report page as its template shows it: every figure already formatted
// in the page's language and every time in the tenant's zone.
type reportView struct {
	Tenant, Line, Shift, Period, Zone, Generated string
	Running                                      bool
	// KPIs are the indicator rows (actual against target); more rows (production
	// targets) append here.
	KPIs   []kpiRow
	Counts []kpiRow // units and times: label and value
	Chart  chartView
	// Timeline places the stops along the instance (percent of its length).
	Timeline []segment
	// Waterfall is the loss waterfall: planned time stepping down to fully productive time.
	Waterfall []waterfallRow
	Pareto    []paretoRow
	Stops     []stopRow
	// Incidents of the line during the instance.
	Incidents []incidentRow
	// PDF and CSV are the downloads of the same report; Back the page it belongs to.
	PDF, CSV, Back string
}

type kpiRow struct {
	ID, Label, Actual, Target string
}

type chartView struct {
	Bars  []chartBar
	Label string
}

// chartBar is one hour of production: heights in percent of the tallest bar.
type chartBar struct {
	Label               string
	X, Width            float64
	GoodH, RejectH      float64
	GoodY, RejectY      float64
	Total, Good, Reject int64
}

type segment struct {
	X, Width float64
	Planned  bool
	Title    string
}

type paretoRow struct {
	Label, Count, Minutes, Share, Cumulative string
	Width                                    float64 // share in percent, for the bar
}

// waterfallRow is one bar of the loss waterfall (loss.Bar) with its words.
type waterfallRow struct {
	Kind, Label, Value, Color string
	Total                     bool // planned time, a subtotal or fully productive time: from 0
	X, Width                  float64
}

type stopRow struct {
	Start, End, Minutes, Reason, Comment string
}

type incidentRow struct {
	When, Title, Description, Solution string
}

// number formats v with prec decimals in the page's language (a decimal comma in Spanish).
func (q *req) number(v float64, prec int) string {
	s := strconv.FormatFloat(v, 'f', prec, 64)
	if q.lang == "es" {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s
}

// percent is web.Percent in the page's language ("83.4 %", "83,4 %").
func (q *req) percent(v float64) string { return q.number(v*100, 1) + " %" }

// measured is an indicator as a percentage, or "—" without monitored planned time (run
// + downtime is 0: no data, or no shift), as on the live tiles: unknown, not 0 %
// (docs/OEE.md).
func (q *req) measured(monitored bool, v float64) string {
	if !monitored {
		return "—"
	}
	return q.percent(v)
}

func (q *req) minutes(s float64) string { return q.number(s/60, 1) }

// reasonText names a stop reason as the PDF does.
func (q *req) reasonText(code, label string) string {
	switch {
	case code == "":
		return q.t("losses.uncoded")
	case label == "" || label == code:
		return code
	}
	return code + " " + label
}

// shiftReportPage serves /lines/{id}/shifts/{instance}/report: the printable shift report.
func (u *UI) shiftReportPage(w http.ResponseWriter, r *http.Request) {
	rq, id := u.beginID(w, r)
	if id == 0 {
		return
	}
	reps, ok := u.cfg.Viewers.(Reports)
	if !ok || rq.viewer == nil {
		// No session: the page's script refreshes it or goes to the login page.
		rq.render(http.StatusOK, "report", rq.data("report", "page.report"))
		return
	}
	inst := r.PathValue("instance")
	rep, err := reps.ShiftReportFor(r, id, inst)
	if err != nil {
		rq.reportError(err, "report.bad_instance")
		return
	}
	d := rq.data("report", "page.report_title", "line", rep.Line.Name, "shift", rep.Shift.Name, "date", rep.Shift.Date)
	d.Report = rq.shiftView(rep)
	rq.render(http.StatusOK, "report", d)
}

// reportError answers a report the API refused with the error page and its status.
func (q *req) reportError(err error, badKey string) {
	switch st := web.ErrorStatus(err); st {
	case http.StatusNotFound:
		q.notFound()
	case http.StatusForbidden, http.StatusUnauthorized:
		q.fail(http.StatusForbidden, "page.forbidden", q.t("report.forbidden"))
	case http.StatusBadRequest:
		q.fail(http.StatusBadRequest, "page.bad_request", q.t(badKey))
	default:
		q.u.cfg.Logger.Error("ui: cannot build a report", "path", q.r.URL.Path, "err", err)
		q.fail(st, "page.report", q.t("report.failed"))
	}
}

func (q *req) shiftView(rep web.ShiftReport) *reportView {
	loc, err := time.LoadLocation(rep.Zone)
	if err != nil {
		loc = time.UTC
	}
	s, l := rep.Shift, rep.Line
	base := fmt.Sprintf("/api/v1/lines/%d/shifts/%s/report", l.ID, url.PathEscape(s.ID))
	monitored := s.Monitored()
	v := &reportView{
		Tenant: rep.Tenant, Line: l.Name, Shift: s.Name + " · " + s.ID, Zone: loc.String(), Running: s.Running,
		Period:    q.t("losses.report.period", "start", s.Start.In(loc).Format("2006-01-02 15:04"), "end", s.End.In(loc).Format("2006-01-02 15:04 MST")),
		Generated: q.t("losses.report.generated", "at", q.u.cfg.Now().In(loc).Format("2006-01-02 15:04 MST")),
		PDF:       base + ".pdf?lang=" + q.lang, CSV: base + ".csv", Back: fmt.Sprintf("/lines/%d", l.ID),
		KPIs: []kpiRow{
			{"oee", q.t("losses.report.oee"), q.measured(monitored, s.OEE), q.percent(l.Availability * l.Performance * l.Quality)},
			{"availability", q.t("losses.report.availability"), q.measured(monitored, s.Availability), q.percent(l.Availability)},
			{"performance", q.t("losses.report.performance"), q.measured(monitored, s.Performance), q.percent(l.Performance)},
			{"quality", q.t("losses.report.quality"), q.measured(monitored, s.Quality), q.percent(l.Quality)},
		},
		Counts: []kpiRow{
			{ID: "total", Label: q.t("kpi.total"), Actual: strconv.FormatInt(s.Total, 10)},
			{ID: "good", Label: q.t("kpi.good"), Actual: strconv.FormatInt(s.Good, 10)},
			{ID: "reject", Label: q.t("kpi.reject"), Actual: strconv.FormatInt(s.Reject, 10)},
			{ID: "planned", Label: q.t("report.planned_min"), Actual: q.minutes(s.PlannedS + s.PlannedStopS)},
			{ID: "run", Label: q.t("report.run_min"), Actual: q.minutes(s.RunS)},
			{ID: "downtime", Label: q.t("report.downtime_min"), Actual: q.minutes(s.DowntimeS)},
			{ID: "planned_stop", Label: q.t("report.planned_stop_min"), Actual: q.minutes(s.PlannedStopS)},
			{ID: "micro_stops", Label: q.t("report.micro_stops"), Actual: strconv.FormatInt(s.MicroStops, 10)},
		},
	}
	if s.UnmonitoredS > 0 { // planned time without data, left out of A, P and Q: say how much
		v.Counts = append(v.Counts, kpiRow{ID: "unmonitored", Label: q.t("report.unmonitored_min"), Actual: q.minutes(s.UnmonitoredS)})
	}
	if s.Target > 0 { // the production target: good units against the planned quantity
		v.KPIs = append(v.KPIs, kpiRow{"good_target", q.t("target.actual_vs_target"), strconv.FormatInt(s.Good, 10), strconv.FormatInt(s.Target, 10)})
	}
	v.Chart = productionChart(rep, loc)
	v.Chart.Label = q.t("report.chart_label")
	span := s.End.Sub(s.Start).Seconds()
	for _, st := range s.Stops {
		end := s.End
		if st.End != nil && st.End.Before(end) {
			end = *st.End
		}
		from := max(st.Start.Sub(s.Start).Seconds(), 0)
		to := min(end.Sub(s.Start).Seconds(), span)
		reason := q.reasonText(st.ReasonCode, st.ReasonCode)
		if span > 0 && to > from {
			v.Timeline = append(v.Timeline, segment{X: pct(from / span), Width: pct(max((to-from)/span, 0.002)), Planned: isPlanned(s.Losses, st.ReasonCode),
				Title: st.Start.In(loc).Format("15:04") + " " + reason})
		}
		row := stopRow{Start: st.Start.In(loc).Format("15:04:05"), Minutes: q.minutes(float64(st.DurationMS) / 1000), Reason: reason, Comment: st.Comment}
		if st.End != nil {
			row.End = st.End.In(loc).Format("15:04:05")
		}
		v.Stops = append(v.Stops, row)
	}
	v.Waterfall = q.waterfallView(s.Losses)
	for _, g := range rep.Pareto.Groups {
		v.Pareto = append(v.Pareto, paretoRow{Label: q.reasonText(g.Key, g.Label), Count: strconv.FormatInt(g.Count, 10), Minutes: q.minutes(g.DurationS),
			Share: q.percent(g.Share), Cumulative: q.percent(g.Cumulative), Width: pct(g.Share)})
	}
	for _, in := range rep.Incidents {
		v.Incidents = append(v.Incidents, incidentRow{When: in.OccurredAt.In(loc).Format("15:04"), Title: in.Title, Description: in.Description, Solution: in.Solution})
	}
	return v
}

// isPlanned tells whether code is one of the waterfall's planned-stop reasons.
func isPlanned(w loss.Waterfall, code string) bool {
	for _, b := range w.Buckets {
		if b.Kind == loss.KindPlannedStop && b.Key == code && code != "" {
			return true
		}
	}
	return false
}

// bucketKeys name the waterfall's bucket kinds and the subtotals between them.
var bucketKeys = map[string]string{
	loss.TotalPlanned: "losses.bucket.planned", loss.KindUnmonitored: "losses.bucket.unmonitored", loss.KindPlannedStop: "losses.bucket.planned_stop",
	loss.TotalLoading: "losses.bucket.loading", loss.KindUnplannedStop: "losses.bucket.unplanned_stop", loss.KindChangeover: "losses.bucket.changeover",
	loss.TotalRun: "losses.bucket.run", loss.KindMicroStop: "losses.bucket.micro_stop", loss.KindReducedSpeed: "losses.bucket.reduced_speed",
	loss.TotalNetRun: "losses.bucket.net_run", loss.KindStartupReject: "losses.bucket.startup_reject", loss.KindProcessReject: "losses.bucket.process_reject",
	loss.KindFullyProd: "losses.bucket.fully_productive",
}

// waterfallView words the drawn waterfall w.Bars in the page's language.
func (q *req) waterfallView(w loss.Waterfall) []waterfallRow {
	rows := make([]waterfallRow, 0, len(w.Bars))
	for _, b := range w.Bars {
		label := q.t(bucketKeys[b.Kind])
		if b.Kind == loss.KindPlannedStop || b.Kind == loss.KindUnplannedStop {
			label += ": " + q.reasonText(b.Key, b.Label)
		}
		rows = append(rows, waterfallRow{Kind: b.Kind, Label: label, Total: b.Total, Color: b.Color, X: b.X, Width: b.Width,
			Value: q.t("losses.waterfall.value", "minutes", q.minutes(b.Seconds), "share", q.percent(b.Share))})
	}
	return rows
}

// pct is a share as a percentage rounded to 0.01 (SVG coordinates on a 0..100 box).
func pct(share float64) float64 { return math.Round(min(max(share, 0), 1)*10000) / 100 }

// productionChart lays the hourly production out as stacked bars on a 100×100 box.
func productionChart(rep web.ShiftReport, loc *time.Location) chartView {
	var c chartView
	n := len(rep.Production)
	if n == 0 {
		return c
	}
	var top int64 = 1
	for _, b := range rep.Production {
		top = max(top, b.Total)
	}
	w := 100 / float64(n)
	for i, b := range rep.Production {
		good := 90 * float64(b.Good) / float64(top)
		rej := 90 * float64(b.Reject) / float64(top)
		c.Bars = append(c.Bars, chartBar{Label: b.Start.In(loc).Format("15:04"), X: round2(float64(i)*w + w*0.1), Width: round2(w * 0.8),
			GoodH: round2(good), GoodY: round2(100 - good), RejectH: round2(rej), RejectY: round2(100 - good - rej),
			Total: b.Total, Good: b.Good, Reject: b.Reject})
	}
	return c
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }

// recentShifts are the links of the line page to the reports of the line's last shifts.
func (q *req) recentShifts(lineID int64) []web.ShiftLink {
	reps, ok := q.u.cfg.Viewers.(Reports)
	if !ok || q.viewer == nil || !q.viewer.Can(web.ActDataRead) {
		return nil
	}
	ctx, cancel := context.WithTimeout(q.r.Context(), 10*time.Second)
	defer cancel()
	list, err := reps.RecentShiftsFor(q.r.WithContext(ctx), lineID)
	if err != nil {
		if web.ErrorStatus(err) >= 500 {
			q.u.cfg.Logger.Warn("ui: cannot list the line's recent shifts", "line", lineID, "err", err)
		}
		return nil
	}
	return list
}

// shiftLinkView is one link of the line page to a shift report.
type shiftLinkView struct {
	Href, Label, OEE string
	Running          bool
}

// shiftLink is the link to the report of a line's shift instance.
func (q *req) shiftLink(lineID int64, s web.ShiftLink, loc *time.Location) shiftLinkView {
	return shiftLinkView{Href: fmt.Sprintf("/lines/%d/shifts/%s/report", lineID, url.PathEscape(s.ID)),
		Label: s.Start.In(loc).Format("2006-01-02 15:04") + " " + s.Name, OEE: q.measured(s.Monitored, s.OEE), Running: s.Running}
}

func (q *req) shiftLinks(lineID int64) []shiftLinkView {
	list := q.recentShifts(lineID)
	if len(list) == 0 {
		return nil
	}
	loc, err := time.LoadLocation(q.viewer.Timezone)
	if err != nil {
		loc = time.UTC
	}
	out := make([]shiftLinkView, 0, len(list))
	for _, s := range list {
		out = append(out, q.shiftLink(lineID, s, loc))
	}
	return out
}

// plantView is the plant report page: the period's form and one block per line.
type plantView struct {
	Tenant, Period, Date, Title, Zone, Generated, PDF string
	Total                                             []kpiRow
	Lines                                             []plantLineView
}

type plantLineView struct {
	ID     int64
	Name   string
	KPIs   []kpiRow // OEE, A, P, Q, counts, downtime
	Top    []paretoRow
	Shifts []shiftLinkView
}

// plantReportPage serves /reports/plant: the plant's day or week, printable.
func (u *UI) plantReportPage(w http.ResponseWriter, r *http.Request) {
	rq := u.begin(w, r, "")
	if rq == nil {
		return
	}
	reps, ok := u.cfg.Viewers.(Reports)
	if !ok || rq.viewer == nil {
		rq.render(http.StatusOK, "plant", rq.data("plant", "plant.report.title"))
		return
	}
	rep, err := reps.PlantReportFor(r)
	if err != nil {
		rq.reportError(err, "report.bad_period")
		return
	}
	d := rq.data("plant", "plant.report.title")
	d.Plant = rq.plantView(rep)
	rq.render(http.StatusOK, "plant", d)
}

// kpis are the figure rows of one line or the plant: the indicators, then the counts.
func (q *req) kpis(monitored bool, oee, a, p, qu float64, total, good, reject int64, downS float64) []kpiRow {
	pct := func(v float64) string { return q.measured(monitored, v) }
	return []kpiRow{
		{ID: "oee", Label: q.t("losses.report.oee"), Actual: pct(oee)},
		{ID: "availability", Label: q.t("losses.report.availability"), Actual: pct(a)},
		{ID: "performance", Label: q.t("losses.report.performance"), Actual: pct(p)},
		{ID: "quality", Label: q.t("losses.report.quality"), Actual: pct(qu)},
		{ID: "total", Label: q.t("kpi.total"), Actual: strconv.FormatInt(total, 10)},
		{ID: "good", Label: q.t("kpi.good"), Actual: strconv.FormatInt(good, 10)},
		{ID: "reject", Label: q.t("kpi.reject"), Actual: strconv.FormatInt(reject, 10)},
		{ID: "downtime", Label: q.t("report.downtime_min"), Actual: q.minutes(downS)},
	}
}

func (q *req) plantView(rep web.PlantReport) *plantView {
	loc, err := time.LoadLocation(rep.Zone)
	if err != nil {
		loc = time.UTC
	}
	t := rep.Total
	v := &plantView{Tenant: rep.Tenant, Period: rep.Period, Date: rep.Date, Zone: loc.String(),
		Title:     q.t("plant.report.period."+rep.Period, "date", rep.Date),
		Generated: q.t("losses.report.generated", "at", q.u.cfg.Now().In(loc).Format("2006-01-02 15:04 MST")),
		PDF:       "/api/v1/reports/plant.pdf?" + url.Values{"period": {rep.Period}, "date": {rep.Date}, "lang": {q.lang}}.Encode(),
		Total:     q.kpis(t.Monitored(), t.OEE, t.Availability, t.Performance, t.Quality, t.Total, t.Good, t.Reject, t.DowntimeS)}
	for _, l := range rep.Lines {
		o := l.OEE
		lv := plantLineView{ID: l.ID, Name: l.Name, KPIs: q.kpis(o.Monitored(), o.OEE, o.Availability, o.Performance, o.Quality, o.Total, o.Good, o.Reject, o.DowntimeS)}
		for _, g := range l.TopStops {
			lv.Top = append(lv.Top, paretoRow{Label: q.reasonText(g.Key, g.Label), Count: strconv.FormatInt(g.Count, 10), Minutes: q.minutes(g.DurationS),
				Share: q.percent(g.Share), Cumulative: q.percent(g.Cumulative), Width: pct(g.Share)})
		}
		for _, s := range l.Shifts {
			lv.Shifts = append(lv.Shifts, q.shiftLink(l.ID, web.ShiftLinkOf(s), loc))
		}
		v.Lines = append(v.Lines, lv)
	}
	return v
}
