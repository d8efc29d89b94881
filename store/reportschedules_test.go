package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/store/storetest"
)

// TestReportDeliveriesOncePerOccurrence: a schedule is validated; an occurrence recorded
// twice is one row; of two claims one wins; a finished delivery is no longer due and a
// stale holder records nothing.
func TestReportDeliveriesOncePerOccurrence(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		s := e.Open(t)
		tdb := storetest.Tenant(t, s, "acme")
		bad := store.ReportSchedule{Name: "x", Kind: "hourly", Recipients: []string{"not an address"}, Hour: 25}
		var ve *store.ValidationError
		if err := tdb.ReportSchedules.Create(ctx, &bad); !errors.As(err, &ve) || len(ve.Fields) < 4 {
			t.Fatalf("invalid schedule: %v", err)
		}
		sc := store.ReportSchedule{Name: "Shift ends", Kind: store.ReportShiftEnd, ChannelID: 1, Recipients: []string{"boss@acme.test"}, Active: true}
		if err := tdb.ReportSchedules.Create(ctx, &sc); err != nil {
			t.Fatal(err)
		}
		if got, err := tdb.ReportSchedules.Get(ctx, sc.ID); err != nil || got.Language != "en" || len(got.Lines) != 0 || got.Recipients[0] != "boss@acme.test" || !got.Covers(7) {
			t.Fatalf("schedule %+v %v", got, err)
		}
		if _, ok, err := tdb.LastReportDue(ctx, sc.ID); ok || err != nil {
			t.Fatalf("a last report before any: %v %v", ok, err)
		}
		// A due time in the plant's zone (a shift's end), compared with UTC clocks.
		due := time.Date(2026, 3, 1, 15, 0, 0, 0, time.FixedZone("CET", 3600))
		// A skipped occurrence, a day earlier: recorded, never due.
		old := store.ReportDelivery{ScheduleID: sc.ID, Occurrence: "1/2026-02-28.1", LineID: 1, Subject: "2026-02-28.1", DueAt: due.Add(-24 * time.Hour),
			State: store.ReportSkipped, LastError: "not sent: late"}
		if created, err := tdb.AddReportDelivery(ctx, &old); err != nil || !created {
			t.Fatalf("add skipped: %v %v", created, err)
		}
		for i, want := range []bool{true, false} {
			d := store.ReportDelivery{ScheduleID: sc.ID, Occurrence: "1/2026-03-01.1", LineID: 1, Subject: "2026-03-01.1", DueAt: due}
			if created, err := tdb.AddReportDelivery(ctx, &d); err != nil || created != want {
				t.Fatalf("add #%d: %v %v", i, created, err)
			}
		}
		if list, err := tdb.DueReportDeliveries(ctx, due.Add(-time.Minute).UTC(), 10); err != nil || len(list) != 0 {
			t.Fatalf("due a minute early: %+v %v", list, err)
		}
		if last, ok, err := tdb.LastReportDue(ctx, sc.ID); !ok || err != nil || !last.Equal(due) {
			t.Fatalf("last report due %v %v %v, want %v", last, ok, err, due)
		}
		if all, err := tdb.ReportDeliveries(ctx, sc.ID, 10); err != nil || len(all) != 2 || all[1].State != store.ReportSkipped || all[1].LastError != "not sent: late" || all[0].State != store.ReportPending {
			t.Fatalf("deliveries %+v %v", all, err)
		}
		now := due.Add(time.Minute).UTC()
		list, err := tdb.DueReportDeliveries(ctx, now, 10)
		if err != nil || len(list) != 1 {
			t.Fatalf("due %+v %v", list, err)
		}
		a, _ := tdb.ClaimReportDelivery(ctx, list[0].ID, "a", now, now.Add(time.Minute))
		b, _ := tdb.ClaimReportDelivery(ctx, list[0].ID, "b", now, now.Add(time.Minute))
		if !a || b {
			t.Fatalf("claims a=%v b=%v", a, b)
		}
		if err := tdb.FinishReportDelivery(ctx, list[0], "b", now, "", time.Time{}); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("a stale holder: %v", err)
		}
		if err := tdb.FinishReportDelivery(ctx, list[0], "a", now, "", time.Time{}); err != nil {
			t.Fatal(err)
		}
		if list, err := tdb.DueReportDeliveries(ctx, now.Add(time.Hour), 10); err != nil || len(list) != 0 {
			t.Fatalf("due after sending %+v %v", list, err)
		}
		got, err := tdb.ReportDeliveries(ctx, sc.ID, 10)
		if err != nil || len(got) != 2 || got[0].State != store.ReportSent || got[0].Attempts != 1 || got[0].SentAt == nil || got[1].State != store.ReportSkipped {
			t.Fatalf("deliveries %+v %v", got, err)
		}
	})
}
