package web

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/linepulse/linepulse/loss"
	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/stream"
	"github.com/linepulse/linepulse/web/ui/i18n"
)

// Periods of the plant report.
const (
	PeriodDay  = "day"  // the local day of date
	PeriodWeek = "week" // the local week (Monday to Sunday) that holds date
)

// plantTopStops is how many stop reasons the plant report names per line.
const plantTopStops = 5

// PlantReport answers GET /api/v1/reports/plant: every line the caller may see over a
// local day or week, and the plant's totals.
type PlantReport struct {
	Tenant string    `json:"tenant"`
	Zone   string    `json:"zone"`
	Period string    `json:"period"`
	Date   string    `json:"date"` // first local day of the period
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	// Total adds the lines up: counts and times summed, OEE = Σ fully productive time /
	// Σ loading time (each line's OEE weighted by its monitored planned time), A and P and
	// Q likewise weighted by their own denominators.
	Total PlantTotal  `json:"total"`
	Lines []PlantLine `json:"lines"`
}

// PlantTotal is the plant's sum over its lines.
type PlantTotal struct {
	OEE          float64 `json:"oee"`
	Availability float64 `json:"availability"`
	Performance  float64 `json:"performance"`
	Quality      float64 `json:"quality"`
	Total        int64   `json:"total"`
	Good         int64   `json:"good"`
	Reject       int64   `json:"reject"`
	PlannedS     float64 `json:"planned_s"`
	RunS         float64 `json:"run_s"`
	DowntimeS    float64 `json:"downtime_s"`
	PlannedStopS float64 `json:"planned_stop_s"`
}

// Monitored says the lines had monitored planned time (run + downtime) in the period:
// without it the plant's A, P, Q and OEE are unknown (stream.OEEReport.Monitored).
func (t PlantTotal) Monitored() bool { return t.RunS+t.DowntimeS > 0 }

// PlantLine is one line of the plant report.
type PlantLine struct {
	ID       int64                 `json:"id"`
	Name     string                `json:"name"`
	OEE      stream.OEEReport      `json:"oee"`
	TopStops []loss.Group          `json:"top_stops"` // the longest stop reasons
	Shifts   []stream.ShiftSummary `json:"shifts"`    // the shift instances that started in the period
}

func (a *API) plantRoutes() []*Route {
	q := []Param{
		{Name: "period", Type: "string", Enum: []string{PeriodDay, PeriodWeek}, Desc: "day (default) or week (Monday to Sunday)"},
		{Name: "date", Type: "string", Format: "date", Desc: "a local date YYYY-MM-DD in the period; default yesterday"},
	}
	lang := Param{Name: "lang", Type: "string", Enum: []string{"en", "es"}, Desc: "language of the labels; default the tenant's"}
	return []*Route{
		{Method: "GET", Path: "/api/v1/reports/plant", Summary: "Plant report of a local day or week: every line's OEE, A, P, Q, counts, downtime, top stop reasons and shift instances", Tag: "data",
			Action: ActDataRead, Resp: PlantReport{}, handle: a.handlePlant, Query: q},
		{Method: "GET", Path: "/api/v1/reports/plant.pdf", Summary: "Plant report as PDF", Tag: "data",
			Action: ActDataRead, Resp: "application/pdf", handle: a.handlePlantPDF, Query: append(q, lang)},
	}
}

// plantReport reads the period and builds the caller's plant report.
func (a *API) plantReport(c *call, kind string) (PlantReport, error) {
	period, err := c.q.oneOf("period", PeriodDay, PeriodDay, PeriodWeek)
	if err != nil {
		return PlantReport{}, err
	}
	t, err := c.tenant()
	if err != nil {
		return PlantReport{}, err
	}
	loc := zoneOf(t)
	day := a.now().In(loc).AddDate(0, 0, -1)
	if s := c.q.str("date"); s != "" {
		if day, err = time.ParseInLocation(time.DateOnly, s, loc); err != nil {
			return PlantReport{}, fieldErr("date", "must be a date YYYY-MM-DD")
		}
	}
	c.recordQuery(0, nil, nil, period, map[string]any{"kind": kind, "date": day.Format(time.DateOnly)})
	var lines []int64
	if c.p.Lines != nil {
		lines = c.p.Lines
	}
	return a.buildPlantReport(c.r.Context(), t, lines, period, day)
}

// buildPlantReport gathers the plant report of the period holding day: of the lines named
// (nil = every line of the tenant).
func (a *API) buildPlantReport(ctx context.Context, t *store.TenantDB, only []int64, period string, day time.Time) (PlantReport, error) {
	la, err := a.lossAnalytics()
	if err != nil {
		return PlantReport{}, err
	}
	loc := zoneOf(t)
	y, m, d := day.In(loc).Date()
	from := time.Date(y, m, d, 0, 0, 0, 0, loc)
	to := from.AddDate(0, 0, 1)
	if period == PeriodWeek {
		from = from.AddDate(0, 0, -((int(from.Weekday()) + 6) % 7))
		to = from.AddDate(0, 0, 7)
	}
	all, err := t.ListLines(ctx, store.Page{Limit: store.MaxPageSize})
	if err != nil {
		return PlantReport{}, err
	}
	rep := PlantReport{Tenant: t.Tenant().Name, Zone: loc.String(), Period: period, Date: from.Format(time.DateOnly), From: from.UTC(), To: to.UTC(), Lines: []PlantLine{}}
	var loading, run, netRun, ideal float64 // the denominators and numerators of A, P, Q
	for _, l := range all {
		if only != nil && !containsID(only, l.ID) {
			continue
		}
		o, err := a.deps.Analytics.OEE(ctx, t.ID(), l.ID, from, to)
		if err != nil {
			return PlantReport{}, err
		}
		p, err := la.Pareto(ctx, t.ID(), []int64{l.ID}, from, to, stream.GroupReason)
		if err != nil {
			return PlantReport{}, err
		}
		shifts, err := la.Shifts(ctx, t.ID(), l.ID, from, to)
		if err != nil {
			return PlantReport{}, err
		}
		top := p.Groups[:min(plantTopStops, len(p.Groups))]
		rep.Lines = append(rep.Lines, PlantLine{ID: l.ID, Name: l.Name, OEE: o, TopStops: top, Shifts: shifts})
		tot := &rep.Total
		tot.Total += o.Total
		tot.Good += o.Good
		tot.Reject += o.Reject
		tot.PlannedS += o.PlannedS
		tot.RunS += o.RunS
		tot.DowntimeS += o.DowntimeS
		tot.PlannedStopS += o.PlannedStopS
		ld := o.PlannedS - o.UnmonitoredS
		loading += ld
		run += ld * o.Availability
		netRun += ld * o.Availability * o.Performance
		ideal += ld * o.OEE
	}
	if loading > 0 {
		rep.Total.OEE, rep.Total.Availability = ideal/loading, run/loading
	}
	if run > 0 {
		rep.Total.Performance = netRun / run
	}
	if netRun > 0 {
		rep.Total.Quality = ideal / netRun
	}
	return rep, nil
}

func containsID(ids []int64, id int64) bool {
	for _, v := range ids {
		if v == id {
			return true
		}
	}
	return false
}

func (a *API) handlePlant(c *call) error {
	rep, err := a.plantReport(c, "plant")
	if err != nil {
		return err
	}
	return c.reply(rep)
}

func (a *API) handlePlantPDF(c *call) error {
	rep, err := a.plantReport(c, "plant.pdf")
	if err != nil {
		return err
	}
	return c.answerPDF(fmt.Sprintf("plant-%s-%s.pdf", rep.Period, rep.Date), func(w *bytes.Buffer, cat *i18n.Catalog, lang string, loc *time.Location, now time.Time) error {
		return PlantPDF(w, cat, lang, loc, now, rep)
	})
}

// PlantReportFor is the plant report of the printable page (web/ui), with the checks of
// GET /api/v1/reports/plant for the page request's session.
func (a *API) PlantReportFor(r *http.Request) (PlantReport, error) {
	c, err := a.pageCall(r, "GET /api/v1/reports/plant")
	if err != nil {
		return PlantReport{}, err
	}
	if c.q, err = parseQuery(r, c.route.Query); err != nil {
		return PlantReport{}, err
	}
	return a.plantReport(c, "plant.page")
}

// PlantPDF renders a plant report as A4 PDF: the plant's totals, then one block per line
// (figures, top stop reasons, shift instances); texts in lang, times in loc.
func PlantPDF(w *bytes.Buffer, cat *i18n.Catalog, lang string, loc *time.Location, now time.Time, rep PlantReport) error {
	pdf, tr, T := newPDF(cat, lang, now, rep.Tenant+" "+rep.Date, "plant.report.title", rep.Tenant)
	pdf.SetFont("Helvetica", "", 11)
	pdf.CellFormat(0, 6, T("plant.report.period."+rep.Period, "date", rep.Date)+" ("+rep.Zone+")", "", 1, "L", false, 0, "")
	tot := rep.Total
	kpis := func(mon bool, oee, a, p, q float64, total, good, reject int64, down float64) {
		pct := func(v float64) string { return tr(measured(mon, v)) }
		pdf.CellFormat(0, 6, fmt.Sprintf("%s %s   %s %s   %s %s   %s %s", T("losses.report.oee"), pct(oee), T("losses.report.availability"), pct(a),
			T("losses.report.performance"), pct(p), T("losses.report.quality"), pct(q)), "", 1, "L", false, 0, "")
		pdf.CellFormat(0, 6, T("losses.report.counts", "total", total, "good", good, "reject", reject)+"; "+T("plant.report.downtime", "min", minutes(down)), "", 1, "L", false, 0, "")
	}
	section(pdf, T("plant.report.total"))
	kpis(tot.Monitored(), tot.OEE, tot.Availability, tot.Performance, tot.Quality, tot.Total, tot.Good, tot.Reject, tot.DowntimeS)
	for _, l := range rep.Lines {
		o := l.OEE
		section(pdf, tr(l.Name))
		kpis(o.Monitored(), o.OEE, o.Availability, o.Performance, o.Quality, o.Total, o.Good, o.Reject, o.DowntimeS)
		for _, g := range l.TopStops {
			bar(pdf, reasonLabel(T, g.Key, g.Label), g.Share, fmt.Sprintf("%s min, %d", minutes(g.DurationS), g.Count), false)
		}
		for _, s := range l.Shifts {
			pdf.CellFormat(0, 5, tr(fmt.Sprintf("%s %s  %s %s  %d/%d", s.Start.In(loc).Format("2006-01-02 15:04"), s.Name, T("losses.report.oee"), measured(s.Monitored(), s.OEE), s.Good, s.Total)), "", 1, "L", false, 0, "")
		}
	}
	return endPDF(pdf, T, w, loc, now, "plant")
}
