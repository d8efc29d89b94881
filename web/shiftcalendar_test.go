package web_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/linepulse/linepulse/store/storetest"
	"github.com/linepulse/linepulse/web"
)

// TestShiftCalendarAcrossDST: the calendar lists each day's instances as the engine
// computes them; the night clocks go back is an hour longer, and the day 25 hours.
func TestShiftCalendarAcrossDST(t *testing.T) {
	sqliteOnly(t, func(t *testing.T, e storetest.Engine) {
		ev := newEnv(t, e)
		admin := ev.token("acme", "tenant_admin")
		ev.must(http.StatusOK, req{method: "PUT", path: "/api/v1/tenant", token: admin,
			body: web.TenantSettings{Name: "Acme", Timezone: "Europe/Madrid", RetentionDays: 365}}, nil)
		ev.must(http.StatusCreated, req{method: "POST", path: "/api/v1/shifts", token: admin, body: map[string]any{
			"line_id": 0, "name": "Night", "start_time": "22:00", "end_time": "06:00", "is_overnight": true,
			"days_implemented": []int{}, "breaks": []any{map[string]string{"start": "02:30", "end": "03:00"}}, "active": true}}, nil)
		var cal web.ShiftCalendar
		ev.must(http.StatusOK, req{method: "GET", path: "/api/v1/shifts/calendar?start=2026-10-24&days=3", token: ev.token("acme", "viewer")}, &cal)
		// Four nights touch the three days: the one that started the evening before runs into the first.
		if cal.Timezone != "Europe/Madrid" || len(cal.Days) != 3 || len(cal.Items) != 4 {
			t.Fatalf("calendar: %+v", cal)
		}
		if cal.Days[1].Date != "2026-10-25" || cal.Days[1].Minutes != 25*60 || cal.Days[1].Weekday != 7 || cal.Days[0].Minutes != 24*60 ||
			!cal.Days[0].Start.Equal(time.Date(2026, 10, 23, 22, 0, 0, 0, time.UTC)) {
			t.Errorf("days: %+v", cal.Days)
		}
		if before := cal.Items[0]; before.Date != "2026-10-23" || !before.End.Equal(time.Date(2026, 10, 24, 4, 0, 0, 0, time.UTC)) {
			t.Errorf("the night into the first day: %+v", before)
		}
		long, normal := cal.Items[1], cal.Items[2]
		if long.Date != "2026-10-24" || long.Minutes != 9*60 || long.StartMin != 22*60 || normal.Minutes != 8*60 || normal.StartMin != 22*60+60 {
			t.Errorf("the DST night lasts %d min from minute %d, the next %d min from minute %d; want 540 from 1320, 480 from 1380 (a 25-hour day)",
				long.Minutes, long.StartMin, normal.Minutes, normal.StartMin)
		}
		if len(long.Breaks) != 1 || long.Breaks[0].Minutes != 30 || long.PlannedMinutes != 9*60-30 {
			t.Errorf("breaks of the DST night: %+v planned %d", long.Breaks, long.PlannedMinutes)
		}
		for _, bad := range []string{"?days=0", "?days=63", "?start=2026-13-01", "?line_id=abc"} {
			if got := ev.do(req{method: "GET", path: "/api/v1/shifts/calendar" + bad, token: admin}); got.code != http.StatusBadRequest {
				t.Errorf("%s: %s", bad, got)
			}
		}
	})
}
