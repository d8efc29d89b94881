package stream

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/store/storetest"
)

// TestHistoryBucketsAcrossDST buckets production in Madrid local time over the night the
// clocks go back (25 Oct 2026): that local day has 25 hours, the repeated 02:00 hour is two
// buckets, and the night shift 22:00-06:00 is 9 hours long. Rollups and raw agree.
// historyLine makes tenant "acme" (Madrid) with one line (threshold thresholdMS, ideal
// cycle 1 s) and the shifts.
func historyLine(t *testing.T, e storetest.Engine, thresholdMS int64, shifts []store.Shift) (*store.Store, store.Tenant, *store.TenantDB, store.Line) {
	t.Helper()
	ctx := context.Background()
	s := e.Open(t)
	ten := store.Tenant{Slug: "acme", Name: "Acme", Config: store.TenantConfig{Timezone: "Europe/Madrid", RetentionDays: 3650}}
	if err := s.CreateTenant(ctx, &ten); err != nil {
		t.Fatal(err)
	}
	tdb, err := s.Tenant(ctx, ten.ID)
	if err != nil {
		t.Fatal(err)
	}
	l := store.Line{Name: "L", DowntimeThresholdMS: thresholdMS, IdealCycleTimeMS: 1000}
	if err := tdb.CreateLine(ctx, &l); err != nil {
		t.Fatal(err)
	}
	for _, sh := range shifts {
		sh.ID = 0
		if err := tdb.Shifts.Create(ctx, &sh); err != nil {
			t.Fatal(err)
		}
	}
	return s, ten, tdb, l
}

func TestHistoryBucketsAcrossDST(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		loc := madrid(t)
		s, ten, tdb, l := historyLine(t, e, 60000, []store.Shift{
			{Name: "Night", StartTime: "22:00", EndTime: "06:00", IsOvernight: true, Active: true},
			{Name: "Morning", StartTime: "06:00", EndTime: "14:00", Active: true},
		})
		w, err := tdb.NewWriterPool(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		// One detection every 30 s (120 an hour) from 24 Oct 20:00 to 26 Oct 00:00 local;
		// every tenth is a reject.
		from := time.Date(2026, 10, 24, 20, 0, 0, 0, loc)
		to := time.Date(2026, 10, 26, 0, 0, 0, 0, loc)
		var dets []store.Detection
		for ts := from; ts.Before(to); ts = ts.Add(30 * time.Second) {
			dets = append(dets, store.Detection{ID: uint64(len(dets) + 1), At: ts.UTC(), Area: 1, Product: 1, OK: len(dets)%10 != 0})
		}
		for i := 0; i < len(dets); i += 2000 {
			if _, err := tdb.WriteDetections(ctx, w, l.ID, dets[i:min(i+2000, len(dets))]); err != nil {
				t.Fatal(err)
			}
		}
		meta := store.NewMetaCache(s)
		h := NewHistory(s, meta)
		day := time.Date(2026, 10, 25, 0, 0, 0, 0, loc)
		nextDay := time.Date(2026, 10, 26, 0, 0, 0, 0, loc)

		hours, err := h.Production(ctx, ten.ID, l.ID, day, nextDay, IntervalHour)
		if err != nil {
			t.Fatal(err)
		}
		if len(hours) != 25 {
			t.Fatalf("%d hourly buckets on the fall-back day, want 25", len(hours))
		}
		if hours[2].Label != "2026-10-25 02:00 CEST" || hours[3].Label != "2026-10-25 02:00 CET" {
			t.Errorf("repeated hour labels %q, %q", hours[2].Label, hours[3].Label)
		}
		for _, b := range hours {
			if b.Total != 120 || b.Reject != 12 || b.End.Sub(b.Start) != time.Hour {
				t.Errorf("bucket %s: %+v", b.Label, b)
			}
		}
		days, err := h.Production(ctx, ten.ID, l.ID, from, to, IntervalDay)
		if err != nil {
			t.Fatal(err)
		}
		if len(days) != 2 || days[0].Label != "2026-10-24" || days[0].Total != 4*120 || days[1].Label != "2026-10-25" || days[1].Total != 25*120 || days[1].End.Sub(days[1].Start) != 25*time.Hour {
			t.Errorf("daily buckets %+v", days)
		}
		shifts, err := h.Production(ctx, ten.ID, l.ID, from, to, IntervalShift)
		if err != nil {
			t.Fatal(err)
		}
		var labels []string
		for _, b := range shifts {
			labels = append(labels, b.Label)
		}
		if strings.Join(labels, ",") != "2026-10-24 Night,2026-10-25 Morning,2026-10-25 Night" {
			t.Fatalf("shift buckets %v", labels)
		}
		if shifts[0].Total != 9*120 || shifts[0].End.Sub(shifts[0].Start) != 9*time.Hour || shifts[1].Total != 8*120 || shifts[2].Total != 2*120 {
			t.Errorf("shift production %+v", shifts)
		}
		minutes, err := h.Production(ctx, ten.ID, l.ID, day.Add(90*time.Second), day.Add(time.Hour), IntervalMinute)
		if err != nil {
			t.Fatal(err)
		}
		// The partial first minute counts whole (minute resolution).
		if len(minutes) != 59 || minutes[0].Total != 2 || minutes[1].Total != 2 || !minutes[0].Start.Equal(day.Add(90*time.Second)) {
			t.Errorf("minute buckets: %d, first %+v", len(minutes), minutes[0])
		}
		raw := h.WithRawSource()
		for _, iv := range []string{IntervalMinute, IntervalHour, IntervalDay, IntervalShift} {
			a, err := h.Production(ctx, ten.ID, l.ID, from, from.Add(30*time.Hour), iv)
			if err != nil {
				t.Fatal(err)
			}
			b, err := raw.Production(ctx, ten.ID, l.ID, from, from.Add(30*time.Hour), iv)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(a, b) {
				t.Errorf("%s: rollups and raw differ", iv)
			}
		}

		// OEE of the 9-hour night: no downtime booked, all planned time is run time.
		night, err := h.ShiftOEE(ctx, ten.ID, l.ID, ShiftPrevious, time.Date(2026, 10, 25, 7, 0, 0, 0, loc))
		if err != nil {
			t.Fatal(err)
		}
		if night.Shift == nil || night.Shift.Name != "Night" || night.PlannedS != 9*3600 || night.Total != 1080 || night.Availability != 1 {
			t.Errorf("night OEE %+v", night)
		}
		cur, err := h.ShiftOEE(ctx, ten.ID, l.ID, ShiftCurrent, time.Date(2026, 10, 25, 7, 0, 0, 0, loc))
		if err != nil || cur.Shift.Name != "Morning" || cur.PlannedS != 3600 || cur.Total != 120 {
			t.Errorf("current shift OEE %+v %v", cur, err)
		}
		if _, err := h.ShiftOEE(ctx, ten.ID, l.ID, ShiftCurrent, time.Date(2026, 10, 25, 15, 0, 0, 0, loc)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("no current shift at 15:00: %v", err)
		}

		// Requests that must be refused with a clear message.
		for _, c := range []struct {
			name     string
			from, to time.Time
			interval string
			want     string
		}{
			{"bad interval", day, nextDay, "week", `unknown interval "week"`},
			{"reversed", nextDay, day, IntervalHour, "must be after from"},
			{"too many buckets", from, from.AddDate(0, 0, 40), IntervalMinute, "more than 50000 buckets"},
			{"too long", from, from.AddDate(2, 0, 0), IntervalDay, "longer than 400 days"},
		} {
			_, err := h.Production(ctx, ten.ID, l.ID, c.from, c.to, c.interval)
			if !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: %v, want ErrInvalid saying %q", c.name, err, c.want)
			}
		}
		if _, err := h.Production(ctx, ten.ID, 999, day, nextDay, IntervalHour); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown line: %v", err)
		}

		// Shifts saved without validation (overlapping): OEE and shift buckets refuse with
		// the calendar's message; hourly production does not need the calendar.
		bad := store.Shift{Name: "Overlap", StartTime: "05:00", EndTime: "07:00", Active: true}
		if err := tdb.Shifts.Create(ctx, &bad); err != nil {
			t.Fatal(err)
		}
		if _, err := h.OEE(ctx, ten.ID, l.ID, day, nextDay); err == nil || !strings.Contains(err.Error(), `shift "Overlap" overlaps shift "Night"`) || !errors.Is(err, store.ErrInvalid) {
			t.Errorf("OEE with overlapping shifts: %v", err)
		}
		if _, err := h.Production(ctx, ten.ID, l.ID, day, nextDay, IntervalHour); err != nil {
			t.Errorf("hourly production with bad shifts: %v", err)
		}
	})
}

// TestBadConfigurationRefused: what the engine cannot compute with is refused where it is
// saved, with a message naming the field (lines and tenants by the store, shifts by
// ValidateShifts, which the API calls before saving).
func TestBadConfigurationRefused(t *testing.T) {
	e := storetest.Engines(t)[0]
	ctx := context.Background()
	s := e.Open(t)
	bad := store.Tenant{Slug: "mars", Name: "Mars", Config: store.TenantConfig{Timezone: "Mars/Olympus_Mons"}}
	if err := s.CreateTenant(ctx, &bad); !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), `unknown time zone "Mars/Olympus_Mons"`) {
		t.Errorf("unknown time zone: %v", err)
	}
	tdb := storetest.Tenant(t, s, "acme")
	for _, c := range []struct {
		line store.Line
		want string
	}{
		{store.Line{Name: "L", DowntimeThresholdMS: 30000, IdealCycleTimeMS: 0}, "ideal_cycle_time_ms: must be greater than zero"},
		{store.Line{Name: "L", DowntimeThresholdMS: 30000, IdealCycleTimeMS: -1000}, "ideal_cycle_time_ms: must be greater than zero"},
		{store.Line{Name: "L", DowntimeThresholdMS: 0, IdealCycleTimeMS: 1000}, "downtime_threshold_ms: must be greater than zero"},
		{store.Line{Name: "L", DowntimeThresholdMS: -5, IdealCycleTimeMS: 1000}, "downtime_threshold_ms: must be greater than zero"},
	} {
		l := c.line
		if err := tdb.CreateLine(ctx, &l); !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("CreateLine(%+v) = %v, want %q", c.line, err, c.want)
		}
	}
	shifts := []store.Shift{
		{ID: 1, Name: "Morning", StartTime: "06:00", EndTime: "14:00", Active: true},
		{ID: 2, Name: "Overlap", StartTime: "13:00", EndTime: "15:00", Active: true},
	}
	if err := ValidateShifts("Europe/Madrid", shifts); !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), `shift "Overlap" overlaps shift "Morning" on all lines`) {
		t.Errorf("overlapping shifts: %v", err)
	}
}
