package stream

import (
	"fmt"
	"strings"
	"time"

	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/stream/shiftcal"
)

// ValidateShifts checks a tenant's complete set of shifts (the ones being saved plus the
// ones kept) against its time zone, as the calendar will read them: an unknown zone, bad
// times, days or breaks, and two shifts that can run at once on one line are refused. The
// error wraps store.ErrInvalid (a *store.ValidationError naming the field) so the API
// answers it as a client error. Inactive shifts are not checked for overlaps.
func ValidateShifts(tz string, shifts []store.Shift) error {
	_, err := Calendar(tz, shifts)
	return err
}

// Calendar builds the shift calendar of a tenant from its time zone and its active shifts.
// Errors are *store.ValidationError (wrapping store.ErrInvalid) with a message that says
// which shift is wrong and why.
func Calendar(tz string, shifts []store.Shift) (*shiftcal.Calendar, error) {
	loc, err := loadZone(tz)
	if err != nil {
		return nil, err
	}
	cs := make([]shiftcal.Shift, 0, len(shifts))
	for _, s := range shifts {
		if !s.Active {
			continue
		}
		c, err := toShiftcal(s)
		if err != nil {
			return nil, err
		}
		cs = append(cs, c)
	}
	cal, err := shiftcal.New(loc, cs)
	if err != nil {
		return nil, invalid("shift", "shifts", strings.TrimPrefix(err.Error(), "shiftcal: "))
	}
	return cal, nil
}

func loadZone(tz string) (*time.Location, error) {
	if tz == "" {
		tz = "UTC"
	}
	loc, err := time.LoadLocation(tz)
	if err != nil || tz == "Local" {
		return nil, invalid("tenant", "config_tenant.timezone", fmt.Sprintf("unknown time zone %q (use an IANA name such as Europe/Madrid)", tz))
	}
	return loc, nil
}

func toShiftcal(s store.Shift) (shiftcal.Shift, error) {
	label := fmt.Sprintf("shift %q", s.Name)
	days, err := shiftcal.ParseDays(s.DaysImplemented)
	if err != nil {
		return shiftcal.Shift{}, invalid("shift", "days_implemented", label+": "+strings.TrimPrefix(err.Error(), "shiftcal: "))
	}
	breaks, err := shiftcal.ParseBreaks(s.Breaks)
	if err != nil {
		return shiftcal.Shift{}, invalid("shift", "breaks", label+": "+strings.TrimPrefix(err.Error(), "shiftcal: "))
	}
	return shiftcal.Shift{
		ID: s.ID, LineID: s.LineID, Name: s.Name, Start: s.StartTime, End: s.EndTime,
		Overnight: s.IsOvernight, Days: days, Breaks: breaks,
	}, nil
}

func invalid(entity, field, msg string) error {
	return &store.ValidationError{Entity: entity, Fields: []store.FieldError{{Field: field, Message: msg}}}
}

// ValidateLine checks the settings the engine depends on (the store checks them too on
// save; this gives the engine and the API the same clear messages).
func ValidateLine(l store.Line) error {
	var fields []store.FieldError
	if l.DowntimeThresholdMS <= 0 {
		fields = append(fields, store.FieldError{Field: "downtime_threshold_ms", Message: fmt.Sprintf("must be greater than zero, got %d", l.DowntimeThresholdMS)})
	}
	if l.IdealCycleTimeMS <= 0 {
		fields = append(fields, store.FieldError{Field: "ideal_cycle_time_ms", Message: fmt.Sprintf("must be greater than zero, got %d", l.IdealCycleTimeMS)})
	}
	if l.MicroStopMinMS < 0 || (l.DowntimeThresholdMS > 0 && l.MicroStopMinMS >= l.DowntimeThresholdMS) {
		fields = append(fields, store.FieldError{Field: "micro_stop_min_ms", Message: "must be at least 0 and below the downtime threshold"})
	}
	if len(fields) > 0 {
		return &store.ValidationError{Entity: "line", Fields: fields}
	}
	return nil
}
