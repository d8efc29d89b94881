package web

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/linepulse/linepulse/stream"
)

// CSV exports of a line's history. Times are RFC 3339 in the tenant's zone (with their
// offset, so a spreadsheet and a script both read them right); durations are seconds.
// The columns are the contract: new ones are added at the end.
func (a *API) exportRoutes() []*Route {
	line := "/api/v1/lines/{id}"
	csvResp := "text/csv"
	return []*Route{
		{Method: "GET", Path: line + "/downtime.csv", Summary: "Downtime events overlapping from..to as CSV, with reasons, comments and counted time", Tag: "data",
			Action: ActDataRead, Resource: "lines", Resp: csvResp, handle: a.handleDowntimeCSV, Query: rangeParams},
		{Method: "GET", Path: line + "/production.csv", Summary: "Production per minute, hour, day or shift instance as CSV", Tag: "data",
			Action: ActDataRead, Resource: "lines", Resp: csvResp, handle: a.handleProductionCSV,
			Query: slices.Concat(rangeParams, []Param{{Name: "interval", Type: "string", Enum: []string{"minute", "hour", "day", "shift"}, Desc: "bucket size; default hour"}})},
		{Method: "GET", Path: line + "/shifts.csv", Summary: "Shift instances that started in from..to as CSV, with OEE, counts and downtime", Tag: "data",
			Action: ActDataRead, Resource: "lines", Resp: csvResp, handle: a.handleShiftsCSV, Query: rangeParams},
	}
}

// tenantZone is the caller's tenant's time zone (UTC when it cannot be read).
func (c *call) tenantZone() *time.Location {
	t, err := c.tenant()
	if err != nil {
		return time.UTC
	}
	loc, err := time.LoadLocation(t.Tenant().Config.Timezone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// writeCSV answers rows as a CSV attachment named name.
func (c *call) writeCSV(name string, header []string, rows [][]string) error {
	c.w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	c.w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	c.w.WriteHeader(http.StatusOK)
	w := csv.NewWriter(c.w)
	if err := w.Write(header); err != nil {
		return err
	}
	if err := w.WriteAll(rows); err != nil {
		return fmt.Errorf("cannot write %s: %w", name, err)
	}
	return nil
}

func localTime(t time.Time, loc *time.Location) string {
	return t.In(loc).Format(time.RFC3339)
}

func secs(v float64) string   { return strconv.FormatFloat(v, 'f', -1, 64) }
func ratio4(v float64) string { return strconv.FormatFloat(v, 'f', 6, 64) }
func count(v int64) string    { return strconv.FormatInt(v, 10) }

func (a *API) handleDowntimeCSV(c *call) error {
	var id int64
	v, err := a.lossFetch(c, "downtime.csv", func(la LossAnalytics, line int64, from, to time.Time) (any, error) {
		id = line
		return la.Stops(c.r.Context(), c.p.TenantID, line, from, to)
	})
	if err != nil {
		return err
	}
	stops := v.([]stream.Stop)
	loc := c.tenantZone()
	rows := make([][]string, 0, len(stops))
	for _, s := range stops {
		end := ""
		if s.End != nil {
			end = localTime(*s.End, loc)
		}
		rows = append(rows, []string{count(s.ID), localTime(s.Start, loc), end, secs(float64(s.DurationMS) / 1000), secs(s.CountedS),
			s.ReasonCode, s.ReasonName, s.Category, s.Kind, s.Comment, count(s.CodedBy)})
	}
	return c.writeCSV(fmt.Sprintf("downtime-line-%d.csv", id),
		[]string{"id", "start", "end", "duration_s", "counted_s", "reason_code", "reason", "category", "kind", "comment", "coded_by"}, rows)
}

func (a *API) handleProductionCSV(c *call) error {
	p, err := a.production(c, "production.csv")
	if err != nil {
		return err
	}
	loc := c.tenantZone()
	rows := make([][]string, 0, len(p.Items))
	for _, b := range p.Items {
		rows = append(rows, []string{localTime(b.Start, loc), localTime(b.End, loc), b.Label, count(b.Total), count(b.Good), count(b.Reject)})
	}
	return c.writeCSV(fmt.Sprintf("production-line-%d.csv", p.LineID), []string{"start", "end", "label", "total", "good", "reject"}, rows)
}

func (a *API) handleShiftsCSV(c *call) error {
	v, err := a.lossFetch(c, "shifts.csv", func(la LossAnalytics, id int64, from, to time.Time) (any, error) {
		items, err := la.Shifts(c.r.Context(), c.p.TenantID, id, from, to)
		return ShiftListResponse{LineID: id, Items: items}, err
	})
	if err != nil {
		return err
	}
	list := v.(ShiftListResponse)
	loc := c.tenantZone()
	rows := make([][]string, 0, len(list.Items))
	for _, s := range list.Items {
		mon := s.Monitored() // without monitored time A, P, Q and OEE are unknown: empty cells
		rows = append(rows, []string{s.ID, s.Name, s.Date, localTime(s.Start, loc), localTime(s.End, loc), strconv.FormatBool(s.Running),
			secs(s.PlannedS), secs(s.PlannedStopS), secs(s.RunS), secs(s.DowntimeS), count(s.Events),
			measuredCell(mon, s.Availability), measuredCell(mon, s.Performance), measuredCell(mon, s.Quality), measuredCell(mon, s.OEE), count(s.Total), count(s.Good), count(s.Reject),
			count(s.MicroStops), secs(s.MicroStopS), count(s.Target)})
	}
	return c.writeCSV(fmt.Sprintf("shifts-line-%d.csv", list.LineID), []string{"id", "name", "date", "start", "end", "running",
		"planned_s", "planned_stop_s", "run_s", "downtime_s", "events", "availability", "performance", "quality", "oee", "total", "good", "reject",
		"micro_stops", "micro_stop_s", "target"}, rows)
}
