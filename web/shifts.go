package web

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/stream"
	"github.com/linepulse/linepulse/stream/shiftcal"
)

// Shifts: the shift calendar in the tenant's time zone. line_id 0 is a shift of every
// line. Every change is checked against the tenant's whole calendar (overlaps, breaks,
// days) by the ShiftValidator before it is saved.
func (a *API) shiftRoutes() []*Route {
	return append([]*Route{a.shiftCalendarRoute()}, crud(spec[store.Shift]{path: "/api/v1/shifts", tag: "shifts", entity: "shift", read: ActPlantRead, write: ActPlantWrite, byLine: true,
		id: func(v *store.Shift) *int64 { return &v.ID }, line: lineField(func(v *store.Shift) int64 { return v.LineID }),
		init: func(v *store.Shift) { v.Active = true }, prepare: a.checkShift},
		collectionOps(func(t *store.TenantDB) store.Collection[store.Shift, *store.Shift] { return t.Shifts }))...)
}

func (a *API) checkShift(c *call, v, old *store.Shift) error {
	if err := c.lineExists("line_id", v.LineID); err != nil {
		return err
	}
	if a.deps.ValidateShifts == nil {
		return nil
	}
	t, err := c.tenant()
	if err != nil {
		return err
	}
	all, err := t.Shifts.All(c.r.Context())
	if err != nil {
		return err
	}
	cand := *v
	if len(cand.DaysImplemented) == 0 {
		cand.DaysImplemented = store.JSON("[1,2,3,4,5,6,7]")
	}
	if len(cand.Breaks) == 0 {
		cand.Breaks = store.JSON("[]")
	}
	set := make([]store.Shift, 0, len(all)+1)
	for _, s := range all {
		if old == nil || s.ID != old.ID {
			set = append(set, s)
		}
	}
	set = append(set, cand)
	if err := a.deps.ValidateShifts(t.Tenant().Config.Timezone, set); err != nil {
		var ve *store.ValidationError
		if errors.As(err, &ve) {
			return ve
		}
		return &apiError{status: http.StatusBadRequest, code: CodeValidation, msg: err.Error(),
			fields: []store.FieldError{{Field: "shift", Message: err.Error()}}}
	}
	return nil
}

// ShiftCalendar answers GET /api/v1/shifts/calendar: the shift instances of some days as
// the KPI engine computes them (stream/shiftcal), in the tenant's time zone, including one
// that started the day before and runs into the first day (its date is that day). Minutes are
// real elapsed minutes, so a shift across a daylight-saving change is an hour longer or
// shorter than its wall-clock times say, and such a day lasts 1380 or 1500 minutes.
type ShiftCalendar struct {
	Timezone string          `json:"timezone"`
	Days     []CalendarDay   `json:"days"`
	Items    []ShiftInstance `json:"items"`
}

// CalendarDay is one local date of a ShiftCalendar.
type CalendarDay struct {
	Date    string    `json:"date"`    // 2006-01-02, local
	Start   time.Time `json:"start"`   // its local midnight
	Weekday int       `json:"weekday"` // ISO, 1 = Monday
	Minutes int       `json:"minutes"` // real length of the local day: 1440, or 1380/1500 on DST changes
}

// ShiftInstance is one occurrence of a shift.
type ShiftInstance struct {
	ShiftID        int64           `json:"shift_id"`
	Name           string          `json:"name"`
	LineID         int64           `json:"line_id"` // 0 = every line
	Date           string          `json:"date"`    // local date it starts
	Start          time.Time       `json:"start"`
	End            time.Time       `json:"end"`
	StartMin       int             `json:"start_min"` // real minutes from local midnight of date to start
	Minutes        int             `json:"minutes"`   // real length
	PlannedMinutes int             `json:"planned_minutes"`
	Breaks         []InstanceBreak `json:"breaks"`
}

// InstanceBreak is a break of a ShiftInstance.
type InstanceBreak struct {
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	StartMin int       `json:"start_min"` // real minutes from local midnight of the instance's date
	Minutes  int       `json:"minutes"`
}

const maxCalendarDays = 62

func (a *API) shiftCalendarRoute() *Route {
	return &Route{Method: "GET", Path: "/api/v1/shifts/calendar", Summary: "Shift instances of the coming days as the engine computes them (DST-aware)",
		Tag: "shifts", Action: ActPlantRead, Resp: ShiftCalendar{}, handle: a.handleShiftCalendar,
		Query: []Param{
			{Name: "start", Type: "string", Format: "date", Desc: "first local date, YYYY-MM-DD (default: today in the tenant's zone)"},
			{Name: "days", Type: "integer", Desc: fmt.Sprintf("number of days, 1..%d (default 14)", maxCalendarDays)},
			{Name: "line_id", Type: "integer", Format: "int64", Desc: "only the shifts of this line (and those of every line)"},
		}}
}

func (a *API) handleShiftCalendar(c *call) error {
	lineID, err := c.q.id("line_id")
	if err != nil {
		return err
	}
	if err := c.seeLine(lineID); err != nil {
		return err
	}
	days := 14
	if c.q.has("days") {
		n, ok := parseID(c.q.str("days"))
		if !ok || n > maxCalendarDays {
			return fieldErr("days", "must be an integer between 1 and %d", maxCalendarDays)
		}
		days = int(n)
	}
	t, err := c.tenant()
	if err != nil {
		return err
	}
	tz := t.Tenant().Config.Timezone
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return fmt.Errorf("web: tenant zone %q: %w", tz, err)
	}
	y, m, d := a.now().In(loc).Date()
	if c.q.has("start") {
		s, err := time.ParseInLocation(time.DateOnly, c.q.str("start"), loc)
		if err != nil || s.Year() < 2000 || s.Year() > 2200 {
			return fieldErr("start", "must be a date YYYY-MM-DD between years 2000 and 2200")
		}
		y, m, d = s.Date()
	}
	all, err := t.Shifts.All(c.r.Context())
	if err != nil {
		return err
	}
	shifts := all[:0:0]
	lines := map[int64]bool{0: true}
	for _, s := range all {
		if s.LineID == 0 || (c.p.CanSeeLine(s.LineID) && (lineID == 0 || s.LineID == lineID)) {
			shifts = append(shifts, s)
			lines[s.LineID] = true
		}
	}
	out := ShiftCalendar{Timezone: tz, Days: []CalendarDay{}, Items: []ShiftInstance{}}
	from := time.Date(y, m, d, 0, 0, 0, 0, loc)
	to := time.Date(y, m, d+days, 0, 0, 0, 0, loc)
	for i := 0; i < days; i++ {
		day := time.Date(y, m, d+i, 0, 0, 0, 0, loc)
		out.Days = append(out.Days, CalendarDay{Date: day.Format(time.DateOnly), Start: day, Weekday: (int(day.Weekday())+6)%7 + 1,
			Minutes: int(time.Date(y, m, d+i+1, 0, 0, 0, 0, loc).Sub(day) / time.Minute)})
	}
	cal, err := stream.Calendar(tz, shifts)
	if err != nil {
		return err // a calendar the API refused to save cannot be stored; report it as it is
	}
	seen := map[string]bool{}
	for l := range lines {
		if lineID != 0 && l != lineID && l != 0 {
			continue
		}
		query := l
		if lineID != 0 {
			query = lineID
		}
		for _, in := range cal.Instances(query, from, to) {
			key := fmt.Sprint(in.ShiftID, in.Start.UnixNano())
			if seen[key] {
				continue
			}
			seen[key] = true
			out.Items = append(out.Items, instanceOf(in, shiftLine(shifts, in.ShiftID), loc))
		}
	}
	slices.SortFunc(out.Items, func(x, y ShiftInstance) int {
		if c := x.Start.Compare(y.Start); c != 0 {
			return c
		}
		return cmp.Compare(x.ShiftID, y.ShiftID)
	})
	return c.reply(out)
}

func shiftLine(shifts []store.Shift, id int64) int64 {
	for _, s := range shifts {
		if s.ID == id {
			return s.LineID
		}
	}
	return 0
}

func instanceOf(in shiftcal.Instance, line int64, loc *time.Location) ShiftInstance {
	day, _ := time.ParseInLocation(time.DateOnly, in.Date, loc)
	mins := func(d time.Duration) int { return int(d / time.Minute) }
	out := ShiftInstance{ShiftID: in.ShiftID, Name: in.Name, LineID: line, Date: in.Date, Start: in.Start.UTC(), End: in.End.UTC(),
		StartMin: mins(in.Start.Sub(day)), Minutes: mins(in.End.Sub(in.Start)), PlannedMinutes: mins(in.PlannedTime()), Breaks: []InstanceBreak{}}
	for _, b := range in.Breaks {
		out.Breaks = append(out.Breaks, InstanceBreak{Start: b.Start.UTC(), End: b.End.UTC(), StartMin: mins(b.Start.Sub(day)), Minutes: mins(b.End.Sub(b.Start))})
	}
	return out
}
