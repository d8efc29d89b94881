package web

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"codeberg.org/go-pdf/fpdf"

	"github.com/linepulse/linepulse/loss"
	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/stream"
	"github.com/linepulse/linepulse/web/ui/i18n"
)

// ShiftReport is everything a shift report shows: the instance with its stops and loss
// waterfall, its Pareto, and the line (name, targets). The PDF, the CSV and the printable
// page all render this one value.
type ShiftReport struct {
	// Tenant is the plant's name and Zone its IANA time zone: the report's local times.
	Tenant string             `json:"tenant"`
	Zone   string             `json:"zone"`
	Line   store.Line         `json:"line"`
	Shift  stream.ShiftDetail `json:"shift"`
	Pareto loss.Pareto        `json:"pareto"`
	// Production is the instance's production per hour (the page's chart).
	Production []stream.ProductionBucket `json:"production"`
	// Incidents are the line's incidents that occurred during the instance.
	Incidents []store.Incident `json:"incidents"`
}

var catalog = sync.OnceValues(i18n.Embedded)

func (a *API) reportRoutes() []*Route {
	p := "/api/v1/lines/{id}/shifts/{instance}/report"
	lang := []Param{{Name: "lang", Type: "string", Enum: []string{"en", "es"}, Desc: "language of the labels; default the tenant's"}}
	return []*Route{
		{Method: "GET", Path: p, Summary: "Shift report as JSON: what the printable page, the PDF and the CSV show (figures, stops, Pareto, production per hour, incidents)", Tag: "data",
			Action: ActDataRead, Resource: "lines", Resp: ShiftReport{}, handle: a.handleReport},
		{Method: "GET", Path: p + ".pdf", Summary: "Shift report as PDF (OEE, A, P, Q against targets, counts, loss waterfall, Pareto, stops and comments)", Tag: "data",
			Action: ActDataRead, Resource: "lines", Resp: "application/pdf", handle: a.handleReportPDF, Query: lang},
		{Method: "GET", Path: p + ".csv", Summary: "Shift report as CSV: the figures, the loss waterfall and the stops", Tag: "data",
			Action: ActDataRead, Resource: "lines", Resp: "text/csv", handle: a.handleReportCSV},
	}
}

// shiftReport gathers a report (recorded in USER_QUERY as kind).
func (a *API) shiftReport(c *call, kind string) (ShiftReport, error) {
	_, id, err := a.lossQuery(c)
	if err != nil {
		return ShiftReport{}, err
	}
	inst := c.r.PathValue("instance")
	if len(inst) > 40 {
		return ShiftReport{}, fieldErr("instance", "must be a shift instance id such as 2026-12-01.1")
	}
	c.recordQuery(id, nil, nil, "shift", map[string]any{"kind": kind, "instance": inst})
	t, err := c.tenant()
	if err != nil {
		return ShiftReport{}, err
	}
	return a.buildShiftReport(c.r.Context(), t, id, inst)
}

// buildShiftReport gathers the shift report of a line's instance (the line exists; the
// caller's permissions are checked).
func (a *API) buildShiftReport(ctx context.Context, t *store.TenantDB, lineID int64, inst string) (ShiftReport, error) {
	la, err := a.lossAnalytics()
	if err != nil {
		return ShiftReport{}, err
	}
	tenantID := t.ID()
	d, err := la.Shift(ctx, tenantID, lineID, inst)
	if err != nil {
		return ShiftReport{}, err
	}
	p, err := la.Pareto(ctx, tenantID, []int64{lineID}, d.From, d.To, stream.GroupReason)
	if err != nil {
		return ShiftReport{}, err
	}
	l, err := t.GetLine(ctx, lineID)
	if err != nil {
		return ShiftReport{}, err
	}
	prod, err := a.deps.Analytics.Production(ctx, tenantID, lineID, d.From, d.To, "hour")
	if err != nil {
		return ShiftReport{}, err
	}
	inc, err := t.IncidentsIn(ctx, lineID, d.From, d.To)
	if err != nil {
		return ShiftReport{}, err
	}
	return ShiftReport{Tenant: t.Tenant().Name, Zone: zoneOf(t).String(), Line: l, Shift: d, Pareto: p, Production: prod, Incidents: inc}, nil
}

func (a *API) handleReport(c *call) error {
	rep, err := a.shiftReport(c, "report")
	if err != nil {
		return err
	}
	return c.reply(rep)
}

// ShiftReportFor is the shift report of the printable page (web/ui): the same checks and
// figures as GET /api/v1/lines/{id}/shifts/{instance}/report for the page request's
// session. Its errors carry their HTTP status (ErrorStatus).
func (a *API) ShiftReportFor(r *http.Request, lineID int64, instance string) (ShiftReport, error) {
	r = r.Clone(r.Context())
	r.SetPathValue("id", strconv.FormatInt(lineID, 10))
	r.SetPathValue("instance", instance)
	c, err := a.pageCall(r, "GET /api/v1/lines/{id}/shifts/{instance}/report")
	if err != nil {
		return ShiftReport{}, err
	}
	return a.shiftReport(c, "report.page")
}

// pageCall authenticates and authorizes a page request of the UI as the API route named
// by its pattern ("GET /api/v1/..."), so a page shows only what that route would answer.
func (a *API) pageCall(r *http.Request, pattern string) (*call, error) {
	var rt *Route
	for _, x := range a.routes {
		if x.Method+" "+x.Path == pattern {
			rt = x
		}
	}
	if rt == nil {
		return nil, fmt.Errorf("cannot serve a page: no route %s", pattern)
	}
	c := &call{a: a, r: r, route: rt, ip: a.clientIP(r), q: query{vals: map[string]string{}}}
	if err := c.authenticate(); err != nil {
		return nil, err
	}
	if err := c.authorize(); err != nil {
		return nil, err
	}
	return c, nil
}

// ErrorStatus is the HTTP status the API answers err with (404 for another tenant's line).
func ErrorStatus(err error) int { return errorOf(err).status }

func (a *API) handleReportPDF(c *call) error {
	rep, err := a.shiftReport(c, "report.pdf")
	if err != nil {
		return err
	}
	return c.answerPDF(fmt.Sprintf("shift-%d-%s.pdf", rep.Line.ID, rep.Shift.ID), func(w *bytes.Buffer, cat *i18n.Catalog, lang string, loc *time.Location, now time.Time) error {
		return ShiftPDF(w, cat, lang, loc, now, rep)
	})
}

// answerPDF renders a PDF in the ?lang of the request and answers it, named name.
func (c *call) answerPDF(name string, render func(w *bytes.Buffer, cat *i18n.Catalog, lang string, loc *time.Location, now time.Time) error) error {
	lang, err := c.reportLang()
	if err != nil {
		return err
	}
	cat, err := catalog()
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := render(&buf, cat, lang, c.tenantZone(), c.a.cfg.Now()); err != nil {
		return err
	}
	return c.writePDF(name, buf.Bytes())
}

// reportLang is the ?lang of a PDF, else the tenant's language, else English.
func (c *call) reportLang() (string, error) {
	lang, err := c.q.oneOf("lang", "", "en", "es")
	if err != nil || lang != "" {
		return lang, err
	}
	if t, err := c.tenant(); err == nil && t.Tenant().Config.Language == "es" {
		return "es", nil
	}
	return "en", nil
}

// writePDF answers a PDF shown in the browser, named name when saved.
func (c *call) writePDF(name string, pdf []byte) error {
	c.w.Header().Set("Content-Type", "application/pdf")
	c.w.Header().Set("Content-Disposition", `inline; filename="`+name+`"`)
	c.w.WriteHeader(http.StatusOK)
	_, err := c.w.Write(pdf)
	return err
}

func (a *API) handleReportCSV(c *call) error {
	rep, err := a.shiftReport(c, "report.csv")
	if err != nil {
		return err
	}
	loc := c.tenantZone()
	s := rep.Shift
	mon := s.Monitored()
	rows := [][]string{
		{"line", rep.Line.Name}, {"shift", s.ID}, {"name", s.Name}, {"start", localTime(s.Start, loc)}, {"end", localTime(s.End, loc)},
		{"oee", measuredCell(mon, s.OEE)}, {"availability", measuredCell(mon, s.Availability)}, {"performance", measuredCell(mon, s.Performance)}, {"quality", measuredCell(mon, s.Quality)},
		{"target_availability", ratio4(rep.Line.Availability)}, {"target_performance", ratio4(rep.Line.Performance)}, {"target_quality", ratio4(rep.Line.Quality)},
		{"total", count(s.Total)}, {"good", count(s.Good)}, {"reject", count(s.Reject)},
		{"planned_s", secs(s.PlannedS)}, {"planned_stop_s", secs(s.PlannedStopS)}, {"run_s", secs(s.RunS)}, {"downtime_s", secs(s.DowntimeS)},
		{"micro_stops", count(s.MicroStops)}, {"micro_stop_s", secs(s.MicroStopS)}, {"target", count(s.Target)},
	}
	for _, b := range s.Losses.Buckets {
		rows = append(rows, []string{"loss." + b.Kind + keySuffix(b.Key, b.Kind), secs(b.Seconds)})
	}
	for _, st := range s.Stops {
		rows = append(rows, []string{"stop", localTime(st.Start, loc), secs(float64(st.DurationMS) / 1000), st.ReasonCode, st.Comment})
	}
	return c.writeCSV(fmt.Sprintf("shift-%d-%s.csv", rep.Line.ID, s.ID), []string{"field", "value"}, rows)
}

func keySuffix(key, kind string) string {
	if kind == loss.KindPlannedStop || kind == loss.KindUnplannedStop {
		return "." + key
	}
	return ""
}

// ShiftPDF renders a shift report as a one- or two-page A4 PDF: texts in lang, times in
// loc. It uses the PDF core fonts (Windows-1252), so Spanish and Western European texts
// show; other characters read as '?'.
func ShiftPDF(w *bytes.Buffer, cat *i18n.Catalog, lang string, loc *time.Location, now time.Time, rep ShiftReport) error {
	s := rep.Shift
	pdf, tr, T := newPDF(cat, lang, now, rep.Line.Name+" "+s.Name+" "+s.Date, "losses.report.title", rep.Line.Name)
	pdf.SetFont("Helvetica", "", 11)
	when := T("losses.report.period", "start", s.Start.In(loc).Format("2006-01-02 15:04"), "end", s.End.In(loc).Format("2006-01-02 15:04 MST"))
	if s.Running {
		when += " " + T("losses.report.running")
	}
	pdf.CellFormat(0, 6, tr(s.Name)+" - "+when, "", 1, "L", false, 0, "")
	pdf.Ln(3)

	// Indicators against targets.
	pdf.SetFont("Helvetica", "B", 11)
	for _, h := range []string{"losses.report.kpi", "losses.report.actual", "losses.report.target"} {
		pdf.CellFormat(45, 7, T(h), "B", 0, "L", false, 0, "")
	}
	pdf.Ln(-1)
	pdf.SetFont("Helvetica", "", 11)
	l, mon := rep.Line, s.Monitored()
	for _, r := range []struct {
		key            string
		actual, target float64
	}{{"losses.report.oee", s.OEE, l.Availability * l.Performance * l.Quality}, {"losses.report.availability", s.Availability, l.Availability},
		{"losses.report.performance", s.Performance, l.Performance}, {"losses.report.quality", s.Quality, l.Quality}} {
		pdf.CellFormat(45, 6, T(r.key), "", 0, "L", false, 0, "")
		pdf.CellFormat(45, 6, tr(measured(mon, r.actual)), "", 0, "L", false, 0, "")
		pdf.CellFormat(45, 6, Percent(r.target), "", 1, "L", false, 0, "")
	}
	if s.Target > 0 { // the production target: good units against the planned quantity
		pdf.CellFormat(45, 6, T("target.actual_vs_target"), "", 0, "L", false, 0, "")
		pdf.CellFormat(45, 6, strconv.FormatInt(s.Good, 10), "", 0, "L", false, 0, "")
		pdf.CellFormat(45, 6, strconv.FormatInt(s.Target, 10), "", 1, "L", false, 0, "")
	}
	pdf.Ln(2)
	pdf.CellFormat(0, 6, T("losses.report.counts", "total", s.Total, "good", s.Good, "reject", s.Reject), "", 1, "L", false, 0, "")
	pdf.CellFormat(0, 6, T("losses.report.times", "planned", minutes(s.PlannedS+s.PlannedStopS), "run", minutes(s.RunS),
		"down", minutes(s.DowntimeS), "pstop", minutes(s.PlannedStopS)), "", 1, "L", false, 0, "")

	// The waterfall as horizontal bars, each a share of planned time.
	section(pdf, T("losses.report.waterfall"))
	for _, b := range s.Losses.Buckets {
		label := T("losses.bucket." + b.Kind)
		if b.Kind == loss.KindPlannedStop || b.Kind == loss.KindUnplannedStop {
			label += ": " + reasonLabel(T, b.Key, b.Label)
		}
		bar(pdf, label, b.Share, fmt.Sprintf("%s min", minutes(b.Seconds)), b.Kind == loss.KindFullyProd)
	}

	section(pdf, T("losses.report.pareto"))
	for i, g := range rep.Pareto.Groups {
		if i == 10 {
			break
		}
		bar(pdf, reasonLabel(T, g.Key, g.Label), g.Share, fmt.Sprintf("%s min, %d, %s", minutes(g.DurationS), g.Count, Percent(g.Cumulative)), false)
	}

	section(pdf, T("losses.report.stops"))
	if len(s.Stops) == 0 {
		pdf.CellFormat(0, 6, T("losses.report.none"), "", 1, "L", false, 0, "")
	} else {
		pdf.SetFont("Helvetica", "B", 10)
		widths := []float64{22, 22, 20, 40, 86}
		for i, h := range []string{"losses.report.start", "losses.report.end", "losses.report.minutes", "losses.report.reason", "losses.report.comment"} {
			pdf.CellFormat(widths[i], 6, T(h), "B", 0, "L", false, 0, "")
		}
		pdf.Ln(-1)
		pdf.SetFont("Helvetica", "", 10)
		for _, st := range s.Stops {
			end := ""
			if st.End != nil {
				end = st.End.In(loc).Format("15:04:05")
			}
			pdf.CellFormat(widths[0], 6, st.Start.In(loc).Format("15:04:05"), "", 0, "L", false, 0, "")
			pdf.CellFormat(widths[1], 6, end, "", 0, "L", false, 0, "")
			pdf.CellFormat(widths[2], 6, minutes(float64(st.DurationMS)/1000), "", 0, "L", false, 0, "")
			pdf.CellFormat(widths[3], 6, reasonLabel(T, st.ReasonCode, st.ReasonCode), "", 0, "L", false, 0, "")
			pdf.MultiCell(widths[4], 6, tr(st.Comment), "", "L", false)
		}
	}
	return endPDF(pdf, T, w, loc, now, "shift")
}

// newPDF starts an A4 report: its title line is the text of titleKey and name. tr turns
// UTF-8 into the core fonts' encoding; T translates a key and encodes it.
func newPDF(cat *i18n.Catalog, lang string, now time.Time, title, titleKey, name string) (*fpdf.Fpdf, func(string) string, func(string, ...any) string) {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetCatalogSort(true) // the same report gives the same bytes
	pdf.SetCreationDate(now)
	pdf.SetModificationDate(now)
	tr := pdf.UnicodeTranslatorFromDescriptor("")
	T := func(key string, args ...any) string { return tr(cat.T(lang, key, args...)) }
	pdf.SetTitle(tr(title), false)
	pdf.AddPage()
	pdf.SetFont("Helvetica", "B", 16)
	pdf.CellFormat(0, 9, T(titleKey)+": "+tr(name), "", 1, "L", false, 0, "")
	return pdf, tr, T
}

// endPDF writes the "generated at" line and the document into w.
func endPDF(pdf *fpdf.Fpdf, T func(string, ...any) string, w *bytes.Buffer, loc *time.Location, now time.Time, what string) error {
	pdf.Ln(4)
	pdf.SetFont("Helvetica", "I", 8)
	pdf.CellFormat(0, 5, T("losses.report.generated", "at", now.In(loc).Format("2006-01-02 15:04 MST")), "", 1, "R", false, 0, "")
	if err := pdf.Output(w); err != nil {
		return fmt.Errorf("cannot render the %s report: %w", what, err)
	}
	return nil
}

func section(pdf *fpdf.Fpdf, title string) {
	pdf.Ln(4)
	pdf.SetFont("Helvetica", "B", 12)
	pdf.CellFormat(0, 7, title, "B", 1, "L", false, 0, "")
	pdf.SetFont("Helvetica", "", 10)
	pdf.Ln(1)
}

// bar draws one labelled horizontal bar of share (0..1) of an 80 mm scale.
func bar(pdf *fpdf.Fpdf, label string, share float64, value string, good bool) {
	x, y := pdf.GetX(), pdf.GetY()
	pdf.CellFormat(60, 6, label, "", 0, "L", false, 0, "")
	if good {
		pdf.SetFillColor(46, 160, 67)
	} else {
		pdf.SetFillColor(207, 34, 46)
	}
	if wd := 80 * min(max(share, 0), 1); wd > 0 {
		pdf.Rect(x+61, y+1, wd, 4, "F")
	}
	pdf.SetX(x + 143)
	pdf.CellFormat(0, 6, value, "", 1, "L", false, 0, "")
}

func reasonLabel(T func(string, ...any) string, code, label string) string {
	switch {
	case code == "":
		return T("losses.uncoded")
	case label == "" || label == code:
		return code
	}
	return code + " " + label
}

// Percent formats a ratio as the report and the page show it: "83.4 %".
func Percent(v float64) string { return fmt.Sprintf("%.1f %%", v*100) }

// measured is an indicator (A, P, Q, OEE) as Percent, or "—" without monitored planned
// time (no data): unknown, not 0 %, as on the pages and the tiles (docs/OEE.md).
func measured(monitored bool, v float64) string {
	if !monitored {
		return "—"
	}
	return Percent(v)
}

// measuredCell is measured for a CSV cell: the ratio, or empty when unknown.
func measuredCell(monitored bool, v float64) string {
	if !monitored {
		return ""
	}
	return ratio4(v)
}

func minutes(s float64) string { return fmt.Sprintf("%.1f", s/60) }

// ShiftLink is a shift instance as the line page lists it: a link to its report.
type ShiftLink struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	Start   time.Time `json:"start"`
	Running bool      `json:"running"`
	OEE     float64   `json:"oee"`
	// Monitored is false when the instance has no monitored planned time (no data): its
	// OEE is unknown, not 0.
	Monitored bool `json:"monitored"`
}

// ShiftLinkOf is the link to an instance's shift report.
func ShiftLinkOf(s stream.ShiftSummary) ShiftLink {
	return ShiftLink{ID: s.ID, Name: s.Name, Start: s.Start, Running: s.Running, OEE: s.OEE, Monitored: s.Monitored()}
}

// recentShiftDays is how far back the line page lists shift instances.
const recentShiftDays = 3

// RecentShiftsFor lists the line's shift instances of the last days, newest first, for
// the line page's links to their reports; the checks are those of GET .../shifts.
func (a *API) RecentShiftsFor(r *http.Request, lineID int64) ([]ShiftLink, error) {
	r = r.Clone(r.Context())
	r.SetPathValue("id", strconv.FormatInt(lineID, 10))
	c, err := a.pageCall(r, "GET /api/v1/lines/{id}/shifts")
	if err != nil {
		return nil, err
	}
	la, id, err := a.lossQuery(c)
	if err != nil {
		return nil, err
	}
	now := a.now()
	items, err := la.Shifts(r.Context(), c.p.TenantID, id, now.AddDate(0, 0, -recentShiftDays), now.Add(time.Minute))
	if err != nil {
		return nil, err
	}
	out := make([]ShiftLink, 0, len(items))
	for i := len(items) - 1; i >= 0; i-- {
		s := items[i]
		out = append(out, ShiftLinkOf(s))
	}
	return out, nil
}
