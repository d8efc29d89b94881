package detection

import (
	"testing"
	"time"
)

func TestWindowAt(t *testing.T) {
	accepted := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) string {
		return without(fat, `"at":"`+accepted.Add(d).Format("2006-01-02T15:04:05.000Z07:00")+`"`)
	}
	const retention = 31
	horizon := accepted.AddDate(0, 0, -retention).Sub(accepted)
	for _, tt := range []struct {
		name      string
		msg       string
		retention int
		want      Reason // "" = valid
	}{
		{"at the stream time", at(0), retention, ""},
		{"at the future margin", at(MaxFuture), retention, ""},
		{"past the future margin", at(MaxFuture + time.Millisecond), retention, ReasonInFuture},
		{"at the retention horizon", at(horizon), retention, ""},
		{"before the retention horizon", at(horizon - time.Millisecond), retention, ReasonTooOld},
		{"no retention", without(fat, `"at":"0001-01-01T00:00:00Z"`), 0, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, rej := Decode(nil, []byte(tt.msg), WindowAt(accepted, tt.retention))
			switch {
			case tt.want == "" && (len(got) != 1 || len(rej) != 0):
				t.Errorf("want valid, got %+v", rej)
			case tt.want != "" && (len(got) != 0 || len(rej) != 1 || rej[0].Reason != tt.want):
				t.Errorf("want %s, got %+v %+v", tt.want, got, rej)
			}
		})
	}
}

// The stream time of a JetStream message is in the local zone; the window must not
// depend on it (AddDate across a DST change would move the horizon by an hour).
func TestWindowAtIgnoresLocation(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no zoneinfo:", err)
	}
	accepted := time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC) // 31 days back lies before the DST change of March 8
	if got, want := WindowAt(accepted.In(ny), 31), WindowAt(accepted, 31); !got.oldest.Equal(want.oldest) || !got.latest.Equal(want.latest) {
		t.Errorf("window in New York time %+v, in UTC %+v", got, want)
	}
}

func TestRejectMessage(t *testing.T) {
	big := make([]byte, MaxRawBytes+100)
	for i := range big {
		big[i] = 'x'
	}
	r := RejectMessage(ReasonUnknownLine, "tenant \"acme\" has no line 9", big)
	if r.Index != -1 || r.Reason != ReasonUnknownLine || r.Detail == "" || len(r.Raw) != MaxRawBytes {
		t.Errorf("got %+v", r)
	}
}
