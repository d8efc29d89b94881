package shiftcal

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestParseDays(t *testing.T) {
	rot := &Rotation{Anchor: "2026-01-05", On: 4, Off: 4}
	tests := []struct {
		name    string
		raw     string
		want    Days
		wantErr string
	}{
		{name: "empty means every day", raw: "", want: Days{}},
		{name: "null means every day", raw: "null", want: Days{}},
		{name: "array form", raw: "[1,2,3]", want: Days{Weekdays: []int{1, 2, 3}}},
		{name: "object weekdays", raw: `{"weekdays":[6,7]}`, want: Days{Weekdays: []int{6, 7}}},
		{name: "object rotation", raw: ` {"rotation":{"anchor":"2026-01-05","on":4,"off":4}} `, want: Days{Rotation: rot}},
		{name: "both keys", raw: `{"weekdays":[1],"rotation":{"anchor":"2026-01-05","on":4,"off":4}}`, want: Days{Weekdays: []int{1}, Rotation: rot}},
		{name: "empty object", raw: `{}`, want: Days{}},
		{name: "weekday zero", raw: "[0]", wantErr: "weekday 0 outside 1..7"},
		{name: "weekday eight", raw: `{"weekdays":[8]}`, wantErr: "weekday 8 outside 1..7"},
		{name: "fractional weekday", raw: "[1.5]", wantErr: "days"},
		{name: "unknown key", raw: `{"weekday":[1]}`, wantErr: "unknown field"},
		{name: "string", raw: `"mon"`, wantErr: "want a JSON array or object"},
		{name: "trailing data", raw: `[1] [2]`, wantErr: "trailing data"},
		{name: "on zero", raw: `{"rotation":{"anchor":"2026-01-05","on":0,"off":4}}`, wantErr: "on must be at least 1"},
		{name: "off negative", raw: `{"rotation":{"anchor":"2026-01-05","on":4,"off":-1}}`, wantErr: "off must not be negative"},
		{name: "bad anchor", raw: `{"rotation":{"anchor":"2026-13-05","on":4,"off":4}}`, wantErr: "bad rotation anchor"},
		{name: "short anchor", raw: `{"rotation":{"anchor":"2026-1-5","on":4,"off":4}}`, wantErr: "bad rotation anchor"},
		{name: "cycle too long", raw: `{"rotation":{"anchor":"2026-01-05","on":200,"off":200}}`, wantErr: "longer than 366"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDays([]byte(tt.raw))
			checkErr(t, err, tt.wantErr)
			if tt.wantErr == "" && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseDays(%s) = %+v, want %+v", tt.raw, got, tt.want)
			}
		})
	}
}

func TestDaysMarshalJSON(t *testing.T) {
	tests := []struct {
		name string
		in   Days
		want string
	}{
		{name: "every day", in: Days{}, want: `{"weekdays":[]}`},
		{name: "sorted and deduplicated", in: Days{Weekdays: []int{5, 1, 5, 3}}, want: `{"weekdays":[1,3,5]}`},
		{
			name: "rotation",
			in:   Days{Weekdays: []int{1}, Rotation: &Rotation{Anchor: "2026-01-05", On: 4, Off: 4}},
			want: `{"weekdays":[1],"rotation":{"anchor":"2026-01-05","on":4,"off":4}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.want {
				t.Errorf("got %s, want %s", b, tt.want)
			}
			// The canonical form must parse back to the same canonical form.
			var back Days
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			b2, err := json.Marshal(back)
			if err != nil {
				t.Fatal(err)
			}
			if string(b2) != tt.want {
				t.Errorf("round trip: got %s, want %s", b2, tt.want)
			}
		})
	}
	if _, err := json.Marshal(Days{Weekdays: []int{9}}); err == nil {
		t.Error("marshalling an invalid Days succeeded")
	}
}

func TestParseBreaks(t *testing.T) {
	tests := []struct {
		name    string
		raw     string
		want    []Break
		wantErr string
	}{
		{name: "empty", raw: "", want: nil},
		{name: "null", raw: "null", want: nil},
		{name: "none", raw: "[]", want: []Break{}},
		{name: "two", raw: `[{"start":"10:00","end":"10:15"},{"start":"23:50","end":"00:10"}]`,
			want: []Break{{Start: "10:00", End: "10:15"}, {Start: "23:50", End: "00:10"}}},
		{name: "bad time", raw: `[{"start":"10:60","end":"11:00"}]`, wantErr: `bad time "10:60"`},
		{name: "24:00 is not a time", raw: `[{"start":"23:00","end":"24:00"}]`, wantErr: `bad time "24:00"`},
		{name: "one digit hour", raw: `[{"start":"9:00","end":"10:00"}]`, wantErr: `bad time "9:00"`},
		{name: "zero length", raw: `[{"start":"10:00","end":"10:00"}]`, wantErr: "zero-length"},
		{name: "unknown field", raw: `[{"from":"10:00","end":"10:15"}]`, wantErr: "unknown field"},
		{name: "object", raw: `{"start":"10:00","end":"10:15"}`, wantErr: "breaks"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseBreaks([]byte(tt.raw))
			checkErr(t, err, tt.wantErr)
			if tt.wantErr == "" && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseBreaks(%s) = %#v, want %#v", tt.raw, got, tt.want)
			}
		})
	}
}

// FuzzParseDays checks that whatever ParseDays accepts has a canonical form
// that parses back to itself: the admin API and the database both feed it.
func FuzzParseDays(f *testing.F) {
	for _, s := range []string{"[1,2,3]", `{"weekdays":[7,1]}`, `{"rotation":{"anchor":"2026-01-05","on":4,"off":4}}`, "null", "{}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		d, err := ParseDays(raw)
		if err != nil {
			return
		}
		b, err := d.MarshalJSON()
		if err != nil {
			t.Fatalf("accepted %q but cannot marshal it: %v", raw, err)
		}
		d2, err := ParseDays(b)
		if err != nil {
			t.Fatalf("canonical form %s does not parse: %v", b, err)
		}
		b2, _ := d2.MarshalJSON()
		if string(b) != string(b2) {
			t.Fatalf("canonical form not stable: %s then %s", b, b2)
		}
	})
}

func FuzzParseBreaks(f *testing.F) {
	f.Add([]byte(`[{"start":"10:00","end":"10:15"}]`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		bs, err := ParseBreaks(raw)
		if err != nil {
			return
		}
		for _, b := range bs {
			if _, err := parseHHMM(b.Start); err != nil {
				t.Fatalf("accepted bad start %q", b.Start)
			}
			if _, err := parseHHMM(b.End); err != nil {
				t.Fatalf("accepted bad end %q", b.End)
			}
		}
	})
}

func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Fatalf("unexpected error: %v", err)
	case want != "" && err == nil:
		t.Fatalf("no error, want one containing %q", want)
	case want != "" && !strings.Contains(err.Error(), want):
		t.Fatalf("error %q does not contain %q", err, want)
	}
}
