package shiftcal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"
)

// maxCycle bounds a rotation's On+Off days. It keeps the overlap check and
// the searches of Previous and NextChange bounded; a crew cycle longer than
// a year is a data-entry mistake.
const maxCycle = 366

// Break is a planned stop inside a shift, in local wall-clock "HH:MM". In an
// overnight shift it may cross midnight (23:50 to 00:10).
type Break struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// Days says on which local dates a shift starts. With both Weekdays and
// Rotation set, the shift runs on dates that satisfy both (a 4-on/4-off crew
// that never works Sundays). With neither, it runs every day.
type Days struct {
	Weekdays []int // ISO weekdays, 1=Mon..7=Sun, of the date the shift starts
	Rotation *Rotation
}

// Rotation is a crew cycle: On working days then Off free days, repeating
// forwards and backwards from Anchor.
type Rotation struct {
	Anchor string `json:"anchor"` // "2006-01-02": local date of the first ON day
	On     int    `json:"on"`
	Off    int    `json:"off"`
}

// daysJSON is the object form of Days (the canonical form).
type daysJSON struct {
	Weekdays []int     `json:"weekdays"`
	Rotation *Rotation `json:"rotation,omitempty"`
}

// ParseDays decodes SHIFT.days_implemented: an array of ISO weekdays [1,2,3],
// or an object {"weekdays":[...],"rotation":{"anchor":"2026-01-05","on":4,"off":4}}
// with either or both keys. Empty input or null means every day. Unknown keys
// are rejected so a typo does not silently mean "every day".
func ParseDays(raw []byte) (Days, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return Days{}, nil
	}
	var d Days
	switch raw[0] {
	case '[':
		if err := decodeStrict(raw, &d.Weekdays); err != nil {
			return Days{}, fmt.Errorf("shiftcal: bad days: %w", err)
		}
	case '{':
		var o daysJSON
		if err := decodeStrict(raw, &o); err != nil {
			return Days{}, fmt.Errorf("shiftcal: bad days: %w", err)
		}
		d = Days(o)
	default:
		return Days{}, errors.New("shiftcal: bad days: want a JSON array or object")
	}
	if err := d.validate(); err != nil {
		return Days{}, fmt.Errorf("shiftcal: bad days: %w", err)
	}
	return d, nil
}

// MarshalJSON writes the canonical object form: weekdays sorted and
// deduplicated (always present, [] meaning no weekday filter), rotation only
// when set.
func (d Days) MarshalJSON() ([]byte, error) {
	if err := d.validate(); err != nil {
		return nil, fmt.Errorf("shiftcal: bad days: %w", err)
	}
	wd := slices.Compact(slices.Sorted(slices.Values(d.Weekdays)))
	if wd == nil {
		wd = []int{}
	}
	return json.Marshal(daysJSON{Weekdays: wd, Rotation: d.Rotation})
}

// UnmarshalJSON accepts every form ParseDays does.
func (d *Days) UnmarshalJSON(raw []byte) error {
	v, err := ParseDays(raw)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// validate's errors are unprefixed: callers wrap them.
func (d Days) validate() error {
	for _, w := range d.Weekdays {
		if w < 1 || w > 7 {
			return fmt.Errorf("weekday %d outside 1..7 (ISO, 1=Monday)", w)
		}
	}
	if d.Rotation != nil {
		return d.Rotation.validate()
	}
	return nil
}

func (r *Rotation) validate() error {
	if _, err := r.anchorDay(); err != nil {
		return err
	}
	switch {
	case r.On < 1:
		return fmt.Errorf("rotation on must be at least 1, got %d", r.On)
	case r.Off < 0:
		return fmt.Errorf("rotation off must not be negative, got %d", r.Off)
	case r.On+r.Off > maxCycle:
		return fmt.Errorf("rotation cycle of %d days is longer than %d", r.On+r.Off, maxCycle)
	}
	return nil
}

// anchorDay returns the anchor as a day number (days since 1970-01-01).
func (r *Rotation) anchorDay() (int64, error) {
	a, err := time.Parse(time.DateOnly, r.Anchor)
	if err != nil {
		return 0, fmt.Errorf("bad rotation anchor %q: want YYYY-MM-DD", r.Anchor)
	}
	return dayNumber(a.Date()), nil
}

// ParseBreaks decodes SHIFT.breaks: [{"start":"10:00","end":"10:15"}].
// Empty input or null means no breaks. Whether each break lies inside its
// shift is checked by New, which knows the shift.
func ParseBreaks(raw []byte) ([]Break, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	var bs []Break
	if err := decodeStrict(raw, &bs); err != nil {
		return nil, fmt.Errorf("shiftcal: bad breaks: %w", err)
	}
	for _, b := range bs {
		if _, _, err := b.minutes(); err != nil {
			return nil, fmt.Errorf("shiftcal: bad breaks: %w", err)
		}
	}
	return bs, nil
}

// minutes returns the break's start and end as minutes after local midnight.
func (b Break) minutes() (start, end int, err error) {
	if start, err = parseHHMM(b.Start); err != nil {
		return 0, 0, err
	}
	if end, err = parseHHMM(b.End); err != nil {
		return 0, 0, err
	}
	if start == end {
		return 0, 0, fmt.Errorf("zero-length break %s-%s", b.Start, b.End)
	}
	return start, end, nil
}

// parseHHMM and Break.minutes return unprefixed errors: callers wrap them.

// parseHHMM parses a strict "HH:MM" (00:00..23:59) into minutes after midnight.
func parseHHMM(s string) (int, error) {
	digit := func(c byte) bool { return c >= '0' && c <= '9' }
	if len(s) != 5 || s[2] != ':' || !digit(s[0]) || !digit(s[1]) || !digit(s[3]) || !digit(s[4]) {
		return 0, fmt.Errorf("bad time %q: want HH:MM", s)
	}
	h := int(s[0]-'0')*10 + int(s[1]-'0')
	m := int(s[3]-'0')*10 + int(s[4]-'0')
	if h > 23 || m > 59 {
		return 0, fmt.Errorf("bad time %q: want HH:MM", s)
	}
	return h*60 + m, nil
}

func decodeStrict(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after JSON value")
	}
	return nil
}

// dayNumber counts days since 1970-01-01 for a civil date; out-of-range
// month/day values are normalised as time.Date does.
func dayNumber(y int, m time.Month, d int) int64 {
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

// isoWeekday of a day number: 1970-01-01 was a Thursday (4).
func isoWeekday(day int64) int { return int(floorMod(day+3, 7)) + 1 }

func floorMod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}
