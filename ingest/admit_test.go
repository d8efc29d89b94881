package ingest_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/linepulse/linepulse/detection"
	"github.com/linepulse/linepulse/ingest"
	"github.com/linepulse/linepulse/internal/testkit"
	"github.com/linepulse/linepulse/store/storetest"
)

// TestAdmission: a whole message is refused when none of it would be stored, judged
// with the tenant's retention (90 days in storetest.Tenant) at the time it was received.
func TestAdmission(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		st := e.Open(t)
		newPlant(t, st, "acme", 1)
		a := ingest.NewAdmission(st, nil)
		now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
		msg := func(ages ...time.Duration) []byte {
			b := []byte("[")
			for i, age := range ages {
				if i > 0 {
					b = append(b, ',')
				}
				b = fmt.Appendf(b, `{"id":%d,"at":%q,"area":1,"product":1}`, i+1, now.Add(-age).Format("2006-01-02T15:04:05.000Z07:00"))
			}
			return append(b, ']')
		}
		old := msg(100*24*time.Hour, 95*24*time.Hour)
		// The retention is looked up in the background: the first verdicts may not know it.
		testkit.CheckFor(t, waitLong, poll, func() error {
			r := a.Admit("acme", "cam1", 1, old, now)
			return testkit.Unless(r != nil && r.Reason == detection.ReasonTooOld, "verdict %+v", r)
		})
		if r := a.Admit("acme", "cam1", 1, old, now); r.Index != -1 || r.Raw != string(old) {
			t.Fatalf("refusal %+v", r)
		}
		cases := []struct {
			name string
			body []byte
			want detection.Reason // "" = admitted
		}{
			{"recent", msg(time.Minute), ""},
			{"mixed: the writer dead-letters the old one", msg(100*24*time.Hour, time.Minute), ""},
			{"future", msg(-time.Hour), detection.ReasonInFuture},
			{"malformed", []byte(`{"id":`), detection.ReasonMalformed},
			{"empty", []byte(`[]`), detection.ReasonEmpty},
			{"bad element", []byte(`[{"id":0}]`), detection.ReasonBadID},
		}
		for _, c := range cases {
			r := a.Admit("acme", "cam1", 1, c.body, now)
			switch {
			case c.want == "" && r != nil:
				t.Errorf("%s: refused %+v", c.name, r)
			case c.want != "" && (r == nil || r.Reason != c.want || r.Index != -1):
				t.Errorf("%s: verdict %+v, want %s", c.name, r, c.want)
			}
		}
		// An unknown tenant has no horizon: only the message itself is judged.
		if r := a.Admit("nobody", "cam1", 1, old, now); r != nil {
			t.Fatalf("unknown tenant: %+v", r)
		}
	})
}
