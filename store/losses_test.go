package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/store/storetest"
)

// TestRejectsInRanges sums rejects over minute windows from the rollups and the raw
// table alike, more windows than one statement takes included; and a failure keeps its
// place in the reason tree and its kind.
func TestRejectsInRanges(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		s := e.Open(t)
		tdb := storetest.Tenant(t, s, "acme")
		l := newLine(t, tdb)
		w, err := tdb.NewWriterPool(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		var batch []store.Detection
		for i := 0; i < 1000; i++ { // one a minute; every odd minute a reject
			batch = append(batch, store.Detection{ID: uint64(i + 1), At: base.Add(time.Duration(i)*time.Minute + 30*time.Second), Area: 1, Product: 1, OK: i%2 == 0})
		}
		if _, err := tdb.WriteDetections(ctx, w, l.ID, batch); err != nil {
			t.Fatal(err)
		}
		m0 := base.Unix() / 60
		var ranges []store.MinuteRange
		for i := int64(0); i < 450; i++ { // 450 windows of 2 minutes: one reject each
			ranges = append(ranges, store.MinuteRange{From: m0 + 2*i, To: m0 + 2*i + 2})
		}
		for name, f := range map[string]func(context.Context, int64, []store.MinuteRange) (map[int64]int64, error){"rollup": tdb.RejectsInRollup, "raw": tdb.RejectsInRaw} {
			n, err := f(ctx, l.ID, ranges)
			if err != nil || len(n) != 1 || n[1] != 450 {
				t.Errorf("%s: %v rejects by product, %v; want 450 of product 1", name, n, err)
			}
			// Gaps between windows, given out of order and overlapping: minutes 10i..10i+2
			// hold one reject each (10i+1); a row counts once however many windows hold it.
			var gapped []store.MinuteRange
			for i := int64(49); i >= 0; i-- {
				gapped = append(gapped, store.MinuteRange{From: m0 + 10*i, To: m0 + 10*i + 3}, store.MinuteRange{From: m0 + 10*i + 1, To: m0 + 10*i + 2})
			}
			if n, err := f(ctx, l.ID, gapped); err != nil || n[1] != 50 {
				t.Errorf("%s, windows with gaps: %v, %v; want 50 of product 1", name, n, err)
			}
			if n, err := f(ctx, l.ID, nil); err != nil || len(n) != 0 {
				t.Errorf("%s, no windows: %v, %v", name, n, err)
			}
		}
		cat := store.Failure{Code: "CAT", Name: "Category"}
		if err := tdb.Failures.Create(ctx, &cat); err != nil {
			t.Fatal(err)
		}
		r := store.Failure{Code: "CHG", Name: "Changeover", ParentID: cat.ID, Kind: store.ReasonPlanned}
		if err := tdb.Failures.Create(ctx, &r); err != nil {
			t.Fatal(err)
		}
		got, err := tdb.Failures.Get(ctx, r.ID)
		if err != nil || got.ParentID != cat.ID || !got.Planned() {
			t.Fatalf("failure %+v %v", got, err)
		}
		if c, _ := tdb.Failures.Get(ctx, cat.ID); c.Kind != store.ReasonUnplanned {
			t.Errorf("default kind %q", c.Kind)
		}
		bad := store.Failure{Code: "X", Name: "X", Kind: "sometimes"}
		if err := tdb.Failures.Create(ctx, &bad); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("bad kind: %v", err)
		}
	})
}

// TestUserQueriesAreTheUsers lists and reads a user's own recorded queries only.
func TestUserQueriesAreTheUsers(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		s := e.Open(t)
		ten := storetest.Tenant(t, s, "acme").Tenant()
		for _, u := range []int64{7, 8, 7} {
			q := store.UserQuery{TenantID: ten.ID, UserID: u, SQLQuery: "GET /x", Line: 1, Filters: store.JSON(`{"kind":"oee"}`)}
			if err := s.RecordQuery(ctx, &q); err != nil {
				t.Fatal(err)
			}
		}
		qs, err := s.ListUserQueries(ctx, ten.ID, 7, store.QueriesAll, store.Page{})
		if err != nil || len(qs) != 2 || qs[0].UserID != 7 || qs[1].UserID != 7 {
			t.Fatalf("user 7's queries %+v %v", qs, err)
		}
		if _, err := s.GetUserQuery(ctx, ten.ID, 8, qs[0].ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("another user's query: %v", err)
		}
		if _, err := s.GetUserQuery(ctx, ten.ID+1, 7, qs[0].ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("another tenant's query: %v", err)
		}
		if q, err := s.GetUserQuery(ctx, ten.ID, 7, qs[0].ID); err != nil || q.ID != qs[0].ID {
			t.Errorf("own query %+v %v", q, err)
		}
		// Naming one makes it a saved view; another user's cannot be named.
		if q, err := s.NameUserQuery(ctx, ten.ID, 7, qs[1].ID, "Line 1 this week"); err != nil || q.Name != "Line 1 this week" {
			t.Fatalf("named %+v %v", q, err)
		}
		if _, err := s.NameUserQuery(ctx, ten.ID, 8, qs[0].ID, "mine now"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("naming another user's query: %v", err)
		}
		var ve *store.ValidationError
		if _, err := s.NameUserQuery(ctx, ten.ID, 7, qs[0].ID, "two\nlines"); !errors.As(err, &ve) {
			t.Errorf("a bad name: %v", err)
		}
		for which, want := range map[string][]int64{store.QueriesSaved: {qs[1].ID}, store.QueriesHistory: {qs[0].ID}, store.QueriesAll: {qs[0].ID, qs[1].ID}} {
			got, err := s.ListUserQueries(ctx, ten.ID, 7, which, store.Page{})
			var ids []int64
			for _, q := range got {
				ids = append(ids, q.ID)
			}
			if err != nil || fmt.Sprint(ids) != fmt.Sprint(want) {
				t.Errorf("%q queries %v %v, want %v", which, ids, err, want)
			}
		}
		if got, _ := s.GetUserQuery(ctx, ten.ID, 7, qs[0].ID); got.Name != "" {
			t.Errorf("another user's attempt renamed it: %+v", got)
		}
	})
}

// TestFirstProductionsInOneQuery answers many ranges at once exactly as FirstProduction
// answers each, empty ranges and more ranges than one statement takes included.
func TestFirstProductionsInOneQuery(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		s := e.Open(t)
		tdb := storetest.Tenant(t, s, "acme")
		l := newLine(t, tdb)
		w, err := tdb.NewWriterPool(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		var batch []store.Detection
		for i := 0; i < 300; i++ { // every 7 minutes and 13 seconds
			batch = append(batch, store.Detection{ID: uint64(i + 1), At: base.Add(time.Duration(i) * (7*time.Minute + 13*time.Second)), Area: 1, Product: 1, OK: true})
		}
		if _, err := tdb.WriteDetections(ctx, w, l.ID, batch); err != nil {
			t.Fatal(err)
		}
		var ranges [][2]time.Time
		for i := 0; i < 450; i++ { // overlapping ranges of 5 minutes, some empty, some past the data
			from := base.Add(time.Duration(i) * 5 * time.Minute)
			ranges = append(ranges, [2]time.Time{from, from.Add(5 * time.Minute)})
		}
		got, err := tdb.FirstProductions(ctx, l.ID, ranges)
		if err != nil || len(got) != len(ranges) {
			t.Fatalf("%d firsts, %v", len(got), err)
		}
		empty := 0
		for i, r := range ranges {
			want, ok, err := tdb.FirstProduction(ctx, l.ID, r[0], r[1])
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				want = time.Time{}
				empty++
			}
			if !got[i].Equal(want) {
				t.Fatalf("range %d %v: %v, FirstProduction says %v", i, r, got[i], want)
			}
		}
		if empty == 0 || empty == len(ranges) {
			t.Fatalf("%d empty ranges of %d: the test does not test", empty, len(ranges))
		}
	})
}
