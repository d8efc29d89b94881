package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/store/storetest"
)

// TestIncidentsIn lists a line's incidents inside a range only, oldest first.
func TestIncidentsIn(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		s := e.Open(t)
		tdb := storetest.Tenant(t, s, "acme")
		l := newLine(t, tdb)
		other := store.Line{Name: "Other", DowntimeThresholdMS: 30000, IdealCycleTimeMS: 1000}
		if err := tdb.CreateLine(ctx, &other); err != nil {
			t.Fatal(err)
		}
		base := time.Date(2026, 3, 1, 6, 0, 0, 0, time.UTC)
		for i, at := range []time.Duration{3 * time.Hour, -time.Minute, 0, 8 * time.Hour, time.Hour} {
			in := store.Incident{LineID: l.ID, Title: "incident", OccurredAt: base.Add(at)}
			if i == 4 {
				in.LineID = other.ID
			}
			if err := tdb.Incidents.Create(ctx, &in); err != nil {
				t.Fatal(err)
			}
		}
		got, err := tdb.IncidentsIn(ctx, l.ID, base, base.Add(8*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || !got[0].OccurredAt.Equal(base) || !got[1].OccurredAt.Equal(base.Add(3*time.Hour)) {
			t.Fatalf("incidents %+v", got)
		}
	})
}
