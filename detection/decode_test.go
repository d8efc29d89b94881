package detection

import (
	"bytes"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var (
	testNow    = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	testOldest = testNow.Add(-90 * 24 * time.Hour)
	testWindow = WindowAt(testNow, 90) // from testOldest to testNow + MaxFuture
)

// obj builds a valid detection object with the given extra/overriding fields
// appended (later keys are appended after the defaults, so use it only for
// fields not already present, or pass base=false).
func obj(fields ...string) string {
	return "{" + strings.Join(fields, ",") + "}"
}

const (
	fid      = `"id":7`
	fat      = `"at":"2026-03-01T11:59:00.123Z"`
	farea    = `"area":3`
	fproduct = `"product":12`
)

func good(extra ...string) string {
	return obj(append([]string{fid, fat, farea, fproduct}, extra...)...)
}

func without(skip string, extra ...string) string {
	var f []string
	for _, x := range []string{fid, fat, farea, fproduct} {
		if x != skip {
			f = append(f, x)
		}
	}
	return obj(append(f, extra...)...)
}

type wantRej struct {
	index  int
	reason Reason
}

func decodeT(t *testing.T, msg string) ([]Detection, []Rejected) {
	t.Helper()
	return Decode(nil, []byte(msg), testWindow)
}

func TestDecodeReasons(t *testing.T) {
	tooLarge := "[" + good() + "]" + strings.Repeat(" ", MaxBytes)
	arr := func(n int) string {
		var b strings.Builder
		b.WriteByte('[')
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`{"id":` + strconv.Itoa(i+1) + `,"at":"2026-03-01T11:00:00Z","area":1,"product":1}`)
		}
		b.WriteByte(']')
		return b.String()
	}
	deep := func(n int) string { // n nested arrays inside an unknown field of an element (depth n+2)
		return `[{"x":` + strings.Repeat("[", n) + strings.Repeat("]", n) + `,` + fid + `,` + fat + `,` + farea + `,` + fproduct + `}]`
	}
	long := strings.Repeat("a", 64)
	tests := []struct {
		name  string
		msg   string
		valid int
		rej   []wantRej
	}{
		// whole-message failures
		{"empty", "", 0, []wantRej{{-1, ReasonEmpty}}},
		{"whitespace only", " \n\t\r ", 0, []wantRej{{-1, ReasonEmpty}}},
		{"empty array", "[]", 0, []wantRej{{-1, ReasonEmpty}}},
		{"empty array spaced", " [ \n ] ", 0, []wantRej{{-1, ReasonEmpty}}},
		{"too large", tooLarge, 0, []wantRej{{-1, ReasonTooLarge}}},
		{"1000 elements", arr(1000), 1000, nil},
		{"1001 elements", arr(1001), 0, []wantRej{{-1, ReasonTooMany}}},
		{"top-level number", "42", 0, []wantRej{{-1, ReasonNotObject}}},
		{"top-level string", `"x"`, 0, []wantRej{{-1, ReasonNotObject}}},
		{"top-level null", " null ", 0, []wantRej{{-1, ReasonNotObject}}},
		{"malformed brace", "{", 0, []wantRej{{-1, ReasonMalformed}}},
		{"malformed bracket", "[", 0, []wantRej{{-1, ReasonMalformed}}},
		{"malformed unterminated array", "[" + good(), 0, []wantRej{{-1, ReasonMalformed}}},
		{"malformed trailing comma object", `{"id":1,}`, 0, []wantRej{{-1, ReasonMalformed}}},
		{"malformed trailing comma array", "[" + good() + ",]", 0, []wantRej{{-1, ReasonMalformed}}},
		{"malformed single quotes", `{'id':1}`, 0, []wantRej{{-1, ReasonMalformed}}},
		{"malformed two objects", good() + good(), 0, []wantRej{{-1, ReasonMalformed}}},
		{"malformed ndjson", good() + "\n" + good(), 0, []wantRej{{-1, ReasonMalformed}}},
		{"malformed trailing garbage", "[" + good() + "] x", 0, []wantRej{{-1, ReasonMalformed}}},
		{"malformed later element", "[" + good() + `,{"id":}]`, 0, []wantRej{{-1, ReasonMalformed}}},
		{"malformed raw control in string", "[" + good(`"camera":"a`+"\x01"+`"`) + "]", 0, []wantRej{{-1, ReasonMalformed}}},
		{"malformed bad escape", "[" + good(`"camera":"\q"`) + "]", 0, []wantRej{{-1, ReasonMalformed}}},
		{"malformed short unicode escape", "[" + good(`"camera":"\u12"`) + "]", 0, []wantRej{{-1, ReasonMalformed}}},
		{"malformed leading zero", without(fid, `"id":07`), 0, []wantRej{{-1, ReasonMalformed}}},
		{"malformed plus sign", without(fid, `"id":+7`), 0, []wantRej{{-1, ReasonMalformed}}},
		{"malformed NaN", good(`"conf":NaN`), 0, []wantRej{{-1, ReasonMalformed}}},
		{"malformed dangling dot", good(`"conf":1.`), 0, []wantRej{{-1, ReasonMalformed}}},
		{"malformed literal", good(`"ok":tru`), 0, []wantRej{{-1, ReasonMalformed}}},
		{"malformed missing colon", `{"id" 1}`, 0, []wantRej{{-1, ReasonMalformed}}},
		{"malformed nesting too deep", deep(9999), 0, []wantRej{{-1, ReasonMalformed}}},
		{"nesting at the limit", deep(9998), 1, nil},

		// single object and array forms
		{"single object", good(), 1, nil},
		{"single object rejected has index 0", without(fid), 0, []wantRej{{0, ReasonBadID}}},
		{"array", "[" + good() + "," + good() + "]", 2, nil},
		{"whitespace around", "\r\n\t [ \n" + good() + " ,\n\t" + good() + " \n] \n\r\t", 2, nil},
		{"byte order mark", "\xEF\xBB\xBF" + good(), 1, nil},
		{"mixed valid and invalid", "[" + good() + `,1,` + without(fid, `"id":0`) + "," + good() + `,"x",null,[],` + good(`"conf":2`) + "]",
			2, []wantRej{{1, ReasonNotObject}, {2, ReasonBadID}, {4, ReasonNotObject}, {5, ReasonNotObject}, {6, ReasonNotObject}, {7, ReasonBadConf}}},

		// id
		{"id max", without(fid, `"id":18446744073709551615`), 1, nil},
		{"id zero", without(fid, `"id":0`), 0, []wantRej{{0, ReasonBadID}}},
		{"id negative", without(fid, `"id":-1`), 0, []wantRej{{0, ReasonBadID}}},
		{"id minus zero", without(fid, `"id":-0`), 0, []wantRej{{0, ReasonBadID}}},
		{"id float", without(fid, `"id":1.5`), 0, []wantRej{{0, ReasonBadID}}},
		{"id float integral", without(fid, `"id":1.0`), 0, []wantRej{{0, ReasonBadID}}},
		{"id exponent", without(fid, `"id":1e3`), 0, []wantRej{{0, ReasonBadID}}},
		{"id string", without(fid, `"id":"7"`), 0, []wantRej{{0, ReasonBadID}}},
		{"id overflow", without(fid, `"id":18446744073709551616`), 0, []wantRej{{0, ReasonBadID}}},
		{"id huge", without(fid, `"id":1`+strings.Repeat("0", 40)), 0, []wantRej{{0, ReasonBadID}}},
		{"id null", without(fid, `"id":null`), 0, []wantRej{{0, ReasonBadID}}},
		{"id missing", without(fid), 0, []wantRej{{0, ReasonBadID}}},
		{"id object", without(fid, `"id":{"v":1}`), 0, []wantRej{{0, ReasonBadID}}},
		{"id duplicate", good(`"id":8`), 0, []wantRej{{0, ReasonBadID}}},
		{"id duplicate via escape", good(`"\u0069d":7`), 0, []wantRej{{0, ReasonBadID}}},
		{"id keys are case-sensitive", without(fid, `"ID":7`), 0, []wantRej{{0, ReasonBadID}}},
		{"escaped key matches", without(fid, `"\u0069\u0064":7`), 1, nil},

		// at
		{"at missing", without(fat), 0, []wantRej{{0, ReasonBadTime}}},
		{"at null", without(fat, `"at":null`), 0, []wantRej{{0, ReasonBadTime}}},
		{"at number", without(fat, `"at":1772366340`), 0, []wantRej{{0, ReasonBadTime}}},
		{"at no zone", without(fat, `"at":"2026-03-01T11:59:00"`), 0, []wantRej{{0, ReasonBadTime}}},
		{"at space separator", without(fat, `"at":"2026-03-01 11:59:00Z"`), 0, []wantRej{{0, ReasonBadTime}}},
		{"at date only", without(fat, `"at":"2026-03-01"`), 0, []wantRej{{0, ReasonBadTime}}},
		{"at feb 30", without(fat, `"at":"2026-02-30T11:59:00Z"`), 0, []wantRej{{0, ReasonBadTime}}},
		{"at hour 24", without(fat, `"at":"2026-03-01T24:00:00Z"`), 0, []wantRej{{0, ReasonBadTime}}},
		{"at leap second", without(fat, `"at":"2026-02-28T23:59:60Z"`), 0, []wantRej{{0, ReasonBadTime}}},
		{"at empty fraction", without(fat, `"at":"2026-03-01T11:59:00.Z"`), 0, []wantRej{{0, ReasonBadTime}}},
		{"at bad offset", without(fat, `"at":"2026-03-01T11:59:00+0100"`), 0, []wantRej{{0, ReasonBadTime}}},
		{"at offset hour 24", without(fat, `"at":"2026-03-01T11:59:00+24:00"`), 0, []wantRej{{0, ReasonBadTime}}},
		{"at trailing text", without(fat, `"at":"2026-03-01T11:59:00Zx"`), 0, []wantRej{{0, ReasonBadTime}}},
		{"at unicode digits", without(fat, `"at":"２026-03-01T11:59:00Z"`), 0, []wantRej{{0, ReasonBadTime}}},
		{"at lower case", without(fat, `"at":"2026-03-01t11:59:00z"`), 1, nil},
		{"at offset", without(fat, `"at":"2026-03-01T12:59:00+01:00"`), 1, nil},
		{"at escaped", without(fat, `"at":"\u0032026-03-01T11:59:00Z"`), 1, nil},
		{"at duplicate", good(`"at":"2026-03-01T11:59:00Z"`), 0, []wantRej{{0, ReasonBadTime}}},
		{"at older than retention", without(fat, `"at":"2025-12-01T11:59:00Z"`), 0, []wantRej{{0, ReasonTooOld}}},
		{"at at retention horizon", without(fat, `"at":"`+testOldest.Format(time.RFC3339)+`"`), 1, nil},
		{"at year 1", without(fat, `"at":"0001-01-01T00:00:00Z"`), 0, []wantRej{{0, ReasonTooOld}}},
		{"at before year 1", without(fat, `"at":"0001-01-01T00:00:00+01:00"`), 0, []wantRej{{0, ReasonBadTime}}},
		{"at after year 9999", without(fat, `"at":"9999-12-31T23:59:59-01:00"`), 0, []wantRej{{0, ReasonBadTime}}},
		{"at far future", without(fat, `"at":"2030-01-01T00:00:00Z"`), 0, []wantRej{{0, ReasonInFuture}}},
		{"at just past the future margin", without(fat, `"at":"2026-03-01T12:05:00.001Z"`), 0, []wantRej{{0, ReasonInFuture}}},
		{"at exactly the future margin", without(fat, `"at":"2026-03-01T12:05:00Z"`), 1, nil},

		// area, product
		{"area max", without(farea, `"area":2147483647`), 1, nil},
		{"area zero", without(farea, `"area":0`), 0, []wantRej{{0, ReasonBadArea}}},
		{"area negative", without(farea, `"area":-3`), 0, []wantRej{{0, ReasonBadArea}}},
		{"area too big", without(farea, `"area":2147483648`), 0, []wantRej{{0, ReasonBadArea}}},
		{"area float", without(farea, `"area":3.0`), 0, []wantRej{{0, ReasonBadArea}}},
		{"area string", without(farea, `"area":"3"`), 0, []wantRej{{0, ReasonBadArea}}},
		{"area missing", without(farea), 0, []wantRej{{0, ReasonBadArea}}},
		{"area duplicate", good(`"area":3`), 0, []wantRej{{0, ReasonBadArea}}},
		{"product zero", without(fproduct, `"product":0`), 0, []wantRej{{0, ReasonBadProduct}}},
		{"product bool", without(fproduct, `"product":true`), 0, []wantRej{{0, ReasonBadProduct}}},
		{"product exponent", without(fproduct, `"product":1E2`), 0, []wantRej{{0, ReasonBadProduct}}},
		{"product missing", without(fproduct), 0, []wantRej{{0, ReasonBadProduct}}},
		{"product overflow", without(fproduct, `"product":99999999999999999999999`), 0, []wantRej{{0, ReasonBadProduct}}},

		// ok
		{"ok false", good(`"ok":false`), 1, nil},
		{"ok null", good(`"ok":null`), 1, nil},
		{"ok string", good(`"ok":"true"`), 0, []wantRej{{0, ReasonBadOK}}},
		{"ok number", good(`"ok":1`), 0, []wantRej{{0, ReasonBadOK}}},
		{"ok duplicate", good(`"ok":true`, `"ok":false`), 0, []wantRej{{0, ReasonBadOK}}},

		// conf
		{"conf 0", good(`"conf":0`), 1, nil},
		{"conf 1", good(`"conf":1`), 1, nil},
		{"conf exponent", good(`"conf":5E-1`), 1, nil},
		{"conf null", good(`"conf":null`), 1, nil},
		{"conf negative", good(`"conf":-0.01`), 0, []wantRej{{0, ReasonBadConf}}},
		{"conf above 1", good(`"conf":1.0001`), 0, []wantRej{{0, ReasonBadConf}}},
		{"conf overflow", good(`"conf":1e400`), 0, []wantRej{{0, ReasonBadConf}}},
		{"conf string", good(`"conf":"0.5"`), 0, []wantRej{{0, ReasonBadConf}}},
		{"conf duplicate", good(`"conf":0.5`, `"conf":0.5`), 0, []wantRej{{0, ReasonBadConf}}},

		// camera
		{"camera 64 bytes", good(`"camera":"` + long + `"`), 1, nil},
		{"camera 65 bytes", good(`"camera":"` + long + `b"`), 0, []wantRej{{0, ReasonBadCamera}}},
		{"camera 65 bytes after unescaping", good(`"camera":"` + long[:63] + `\u00e9"`), 0, []wantRej{{0, ReasonBadCamera}}},
		{"camera unicode", good(`"camera":"cámara-ñ-📷"`), 1, nil},
		{"camera escaped surrogate pair", good(`"camera":"\ud83d\udcf7"`), 1, nil},
		{"camera lone surrogate", good(`"camera":"\ud83d"`), 0, []wantRej{{0, ReasonBadCamera}}},
		{"camera escaped control", good(`"camera":"a\nb"`), 0, []wantRej{{0, ReasonBadCamera}}},
		{"camera escaped NUL", good(`"camera":"\u0000"`), 0, []wantRej{{0, ReasonBadCamera}}},
		{"camera DEL", good(`"camera":"a` + "\x7f" + `"`), 0, []wantRej{{0, ReasonBadCamera}}},
		{"camera C1 control", good(`"camera":"\u0085"`), 0, []wantRej{{0, ReasonBadCamera}}},
		{"camera invalid UTF-8", good(`"camera":"cam` + "\xff" + `"`), 0, []wantRej{{0, ReasonBadCamera}}},
		{"camera number", good(`"camera":1`), 0, []wantRej{{0, ReasonBadCamera}}},
		{"camera empty", good(`"camera":""`), 1, nil},
		{"camera duplicate", good(`"camera":"a"`, `"camera":"b"`), 0, []wantRej{{0, ReasonBadCamera}}},

		// unknown fields
		{"unknown fields tolerated", good(`"extra":{"nested":[1,2.5e3,{"x":null}],"s":"\u00e9\n"}`, `"ID":9`, `"extra":true`, `"junk":"`+"\xff\xfe"+`"`), 1, nil},
		{"unknown field malformed", good(`"extra":{"nested":[1,}`), 0, []wantRej{{-1, ReasonMalformed}}},
		{"empty object", "{}", 0, []wantRej{{0, ReasonBadID}}},

		// priority between several bad fields
		{"priority id over at", `{"at":"x","id":0,"area":0,"product":0}`, 0, []wantRej{{0, ReasonBadID}}},
		{"priority at over area", `{"area":0,"at":"x","id":1,"product":1}`, 0, []wantRej{{0, ReasonBadTime}}},
		{"priority missing over camera", `{"camera":1,"id":1,"at":"2026-03-01T11:59:00Z","area":1}`, 0, []wantRej{{0, ReasonBadProduct}}},
		{"bad field before range check", without(fat, `"at":"2030-01-01T00:00:00Z"`, `"conf":7`), 0, []wantRej{{0, ReasonBadConf}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.msg) <= MaxBytes {
				// Keep the table honest: whole-message malformed iff encoding/json says so.
				body := bytes.TrimPrefix([]byte(tt.msg), []byte("\xEF\xBB\xBF"))
				wantMalformed := len(tt.rej) == 1 && tt.rej[0].reason == ReasonMalformed
				if strings.TrimSpace(string(body)) != "" && json.Valid(body) == wantMalformed {
					t.Fatalf("json.Valid = %v, but test expects malformed = %v", !wantMalformed, wantMalformed)
				}
			}
			got, rej := decodeT(t, tt.msg)
			if len(got) != tt.valid {
				t.Errorf("got %d valid detections, want %d; rejected %+v", len(got), tt.valid, rej)
			}
			if len(rej) != len(tt.rej) {
				t.Fatalf("got %d rejections %+v, want %v", len(rej), rej, tt.rej)
			}
			for k, r := range rej {
				if r.Index != tt.rej[k].index || r.Reason != tt.rej[k].reason {
					t.Errorf("rejection %d = {%d %s %q}, want {%d %s}", k, r.Index, r.Reason, r.Detail, tt.rej[k].index, tt.rej[k].reason)
				}
				if r.Detail == "" {
					t.Errorf("rejection %d has no detail", k)
				}
				if len(r.Raw) > MaxRawBytes {
					t.Errorf("rejection %d raw is %d bytes", k, len(r.Raw))
				}
			}
			for _, d := range got {
				checkDetection(t, d, testWindow)
			}
		})
	}
}

func TestDecodeValues(t *testing.T) {
	t.Run("all fields", func(t *testing.T) {
		got, rej := decodeT(t, `{"id":18446744073709551615,"at":"2026-03-01T12:59:58.987654321+01:00","area":2147483647,"product":1,"ok":false,"conf":0.93,"camera":"cam-\u00e9"}`)
		if len(rej) != 0 || len(got) != 1 {
			t.Fatalf("got %v, %v", got, rej)
		}
		want := Detection{
			ID:      1<<64 - 1,
			At:      time.Date(2026, 3, 1, 11, 59, 58, 987_000_000, time.UTC),
			Area:    MaxRefID,
			Product: 1,
			OK:      false,
			Conf:    0.93,
			HasConf: true,
			Camera:  "cam-é",
		}
		if got[0] != want {
			t.Errorf("got  %+v\nwant %+v", got[0], want)
		}
	})
	t.Run("defaults", func(t *testing.T) {
		got, _ := decodeT(t, good())
		want := Detection{ID: 7, At: time.Date(2026, 3, 1, 11, 59, 0, 123_000_000, time.UTC), Area: 3, Product: 12, OK: true}
		if len(got) != 1 || got[0] != want {
			t.Errorf("got %+v, want %+v", got, want)
		}
	})
	t.Run("null optional fields are absent", func(t *testing.T) {
		got, _ := decodeT(t, good(`"ok":null`, `"conf":null`, `"camera":null`))
		if len(got) != 1 || !got[0].OK || got[0].HasConf || got[0].Conf != 0 || got[0].Camera != "" {
			t.Errorf("got %+v", got)
		}
	})
	t.Run("minus zero conf", func(t *testing.T) {
		got, _ := decodeT(t, good(`"conf":-0.0`))
		if len(got) != 1 || !got[0].HasConf || got[0].Conf != 0 || strconv.FormatFloat(float64(got[0].Conf), 'g', -1, 32) != "0" {
			t.Errorf("got %+v", got)
		}
	})
	t.Run("timestamps", func(t *testing.T) {
		for in, want := range map[string]time.Time{
			"2026-03-01T11:00:00Z":                time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC),
			"2026-03-01T11:00:00.5Z":              time.Date(2026, 3, 1, 11, 0, 0, 500_000_000, time.UTC),
			"2026-03-01T11:00:00.05Z":             time.Date(2026, 3, 1, 11, 0, 0, 50_000_000, time.UTC),
			"2026-03-01T11:00:00.9999Z":           time.Date(2026, 3, 1, 11, 0, 0, 999_000_000, time.UTC),
			"2026-03-01T11:00:00.123456789012Z":   time.Date(2026, 3, 1, 11, 0, 0, 123_000_000, time.UTC),
			"2026-03-01T06:30:00-04:30":           time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC),
			"2026-03-02T00:30:00+13:30":           time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC),
			"2026-02-28T23:59:59.999-00:00":       time.Date(2026, 2, 28, 23, 59, 59, 999_000_000, time.UTC),
			"2025-12-31T23:00:00.000-12:59":       time.Date(2026, 1, 1, 11, 59, 0, 0, time.UTC),
			"2024-02-29T00:00:00Z":                time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC),
			"2026-03-01t11:00:00.000z":            time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC),
			"2026-03-01T11:00:00.000000000+00:00": time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC),
		} {
			got, rej := Decode(nil, []byte(without(fat, `"at":"`+in+`"`)), WindowAt(testNow, 0))
			if len(got) != 1 {
				t.Errorf("%s: rejected %+v", in, rej)
				continue
			}
			if got[0].At != want {
				t.Errorf("%s: got %v, want %v", in, got[0].At, want)
			}
		}
	})
	t.Run("camera strings are copied and shared", func(t *testing.T) {
		msg := []byte("[" + good(`"camera":"cam-1"`) + "," + good(`"camera":"cam-1"`) + "," + good(`"camera":"cam-2"`) + "]")
		got, rej := Decode(nil, msg, testWindow)
		if len(got) != 3 || len(rej) != 0 {
			t.Fatalf("got %v %v", got, rej)
		}
		for i := range msg {
			msg[i] = 'X' // the caller may reuse its buffer
		}
		if got[0].Camera != "cam-1" || got[1].Camera != "cam-1" || got[2].Camera != "cam-2" {
			t.Errorf("cameras %q %q %q", got[0].Camera, got[1].Camera, got[2].Camera)
		}
	})
}

func TestDecodeRaw(t *testing.T) {
	bad := `{ "id" : 0 , "at":"x" }`
	msg := "[" + good() + " ,\n " + bad + " , 17 ]"
	_, rej := decodeT(t, msg)
	if len(rej) != 2 || rej[0].Raw != bad || rej[1].Raw != "17" {
		t.Fatalf("got %+v", rej)
	}

	_, rej = decodeT(t, "[1,")
	if len(rej) != 1 || rej[0].Index != -1 || rej[0].Raw != "[1," {
		t.Fatalf("got %+v", rej)
	}

	// A big element is truncated at a rune boundary.
	big := without(fid, `"pad":"`+strings.Repeat("é", 3000)+`"`)
	_, rej = decodeT(t, "["+big+"]")
	if len(rej) != 1 || len(rej[0].Raw) > MaxRawBytes || len(rej[0].Raw) < MaxRawBytes-3 || !strings.HasPrefix(big, rej[0].Raw) || !utf8.ValidString(rej[0].Raw) {
		t.Fatalf("raw of %d bytes: %.40q", len(rej[0].Raw), rej[0].Raw)
	}
}

func TestDecodeDst(t *testing.T) {
	sentinel := Detection{ID: 99}
	dst := make([]Detection, 1, 8)
	dst[0] = sentinel

	got, rej := Decode(dst, []byte("["+good()+","+good()+"]"), testWindow)
	if len(rej) != 0 || len(got) != 3 || got[0] != sentinel || &got[0] != &dst[0] {
		t.Fatalf("append: got %v %v", got, rej)
	}
	// A whole-message failure after valid elements leaves dst as it was.
	got, rej = Decode(dst, []byte("["+good()+","+good()+",{"), testWindow)
	if len(got) != 1 || got[0] != sentinel || len(rej) != 1 || rej[0].Reason != ReasonMalformed {
		t.Fatalf("malformed: got %v %v", got, rej)
	}
	got, rej = decode(dst, []byte("["+good()+","+good()+","+good()+"]"), testWindow, limits{maxElements: 2})
	if len(got) != 1 || len(rej) != 1 || rej[0].Reason != ReasonTooMany {
		t.Fatalf("too many: got %v %v", got, rej)
	}
}

func TestLimits(t *testing.T) {
	if got := (limits{}).withDefaults(); got != contractLimits {
		t.Errorf("zero limits = %+v, want the contract's %+v", got, contractLimits)
	}
	msg := []byte("[" + good() + "]")
	if _, rej := decode(nil, msg, testWindow, limits{maxBytes: len(msg) - 1}); len(rej) != 1 || rej[0].Reason != ReasonTooLarge {
		t.Errorf("MaxBytes: %+v", rej)
	}
	if got, rej := decode(nil, msg, testWindow, limits{maxBytes: len(msg)}); len(got) != 1 {
		t.Errorf("MaxBytes exact: %+v", rej)
	}
	future := []byte(without(fat, `"at":"2026-03-01T13:00:00Z"`))
	if got, rej := Decode(nil, future, Window{oldest: testOldest, latest: testNow.Add(time.Hour)}); len(got) != 1 {
		t.Errorf("window's latest: %+v", rej)
	}
	if got, _ := Decode(nil, []byte(without(fat, `"at":"1999-01-01T00:00:00Z"`)), WindowAt(testNow, 0)); len(got) != 1 {
		t.Errorf("zero oldest must disable the retention check")
	}
}

func TestReasons(t *testing.T) {
	seen := map[Reason]bool{}
	for _, r := range Reasons() {
		if seen[r] {
			t.Errorf("duplicate %q", r)
		}
		seen[r] = true
		for _, c := range r {
			if (c < 'a' || c > 'z') && c != '_' {
				t.Errorf("%q is not snake_case", r)
			}
		}
	}
	if len(seen) != 15 {
		t.Errorf("%d reasons", len(seen))
	}
}

func TestDeadLetterJSON(t *testing.T) {
	_, rej := decodeT(t, "["+without(fid, `"id":0`)+"]")
	at := time.Date(2026, 3, 1, 12, 0, 1, 0, time.UTC)
	b, err := json.Marshal(rej[0].DeadLetter("lp.acme.line.3.det", at))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"subject": "lp.acme.line.3.det", "reason": "bad_id", "detail": "id must be > 0",
		"index": 0.0, "raw": without(fid, `"id":0`), "received_at": "2026-03-01T12:00:01Z",
	}
	if len(m) != len(want) {
		t.Errorf("got %s", b)
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %v, want %v", k, m[k], v)
		}
	}
}

func TestAppendJSONRoundTrip(t *testing.T) {
	for _, d := range []Detection{
		{ID: 1, At: time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC), Area: 1, Product: 1, OK: true},
		{ID: 1<<64 - 1, At: time.Date(2026, 3, 1, 11, 59, 59, 999_000_000, time.UTC), Area: MaxRefID, Product: MaxRefID, OK: false, Conf: 0.1, HasConf: true, Camera: `c"\/é📷`},
		{ID: 5, At: time.Date(2026, 1, 1, 0, 0, 0, 1_000_000, time.UTC), Area: 2, Product: 3, OK: true, Conf: 1e-7, HasConf: true},
	} {
		b := AppendJSON(nil, d)
		if !json.Valid(b) {
			t.Fatalf("invalid JSON %s", b)
		}
		got, rej := decodeT(t, string(b))
		if len(got) != 1 || got[0] != d {
			t.Errorf("%s: got %+v %+v, want %+v", b, got, rej, d)
		}
	}
}

func TestParseTimeMatchesTimeParse(t *testing.T) {
	for _, s := range []string{
		"2026-03-01T11:00:00Z", "2026-03-01T11:00:00.1Z", "2026-03-01T11:00:00.123456789Z",
		"2026-03-01T11:00:00+05:45", "2026-03-01T11:00:00-23:59", "0001-01-01T00:00:00Z",
		"9999-12-31T23:59:59.999999999Z", "2000-02-29T12:00:00Z", "1900-02-28T00:00:00Z",
		"1970-01-01T00:00:00Z", "1969-12-31T23:59:59.999Z", "0400-03-01T00:00:00Z",
	} {
		want, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		ms, ok := parseTime([]byte(s))
		if got := time.UnixMilli(ms).UTC(); !ok || !got.Equal(want.Truncate(time.Millisecond)) {
			t.Errorf("%s: got %d %v, want %d", s, ms, ok, want.UnixMilli())
		}
	}
	for _, s := range []string{"2026-03-01T11:00:00", "2026-13-01T11:00:00Z", "2026-00-01T11:00:00Z", "2026-04-31T11:00:00Z",
		"1900-02-29T00:00:00Z", "2026-03-01T11:60:00Z", "2026-03-01T11:00:00+01", "2026-03-01T11:00:00+01:60", "-026-03-01T11:00:00Z", ""} {
		if _, ok := parseTime([]byte(s)); ok {
			t.Errorf("%q accepted", s)
		}
	}
}

func TestExampleFile(t *testing.T) {
	msg, err := os.ReadFile("testdata/detections.json")
	if err != nil {
		t.Fatal(err)
	}
	got, rej := Decode(nil, msg, WindowAt(time.Date(2026, 3, 1, 8, 0, 5, 0, time.UTC), 0))
	if len(got) != 3 || len(rej) != 1 || rej[0].Index != 3 || rej[0].Reason != ReasonBadID {
		t.Errorf("got %+v\nrejected %+v", got, rej)
	}
}

// checkDetection asserts the contract on a decoded detection.
func checkDetection(t *testing.T, d Detection, w Window) {
	t.Helper()
	switch {
	case d.ID == 0:
		t.Errorf("ID 0 in %+v", d)
	case d.Area < 1 || d.Area > MaxRefID:
		t.Errorf("bad Area in %+v", d)
	case d.Product < 1 || d.Product > MaxRefID:
		t.Errorf("bad Product in %+v", d)
	case d.At.Location() != time.UTC || d.At.Nanosecond()%int(time.Millisecond) != 0:
		t.Errorf("At not UTC ms in %+v", d)
	case d.At.Before(w.oldest) || d.At.After(w.latest):
		t.Errorf("At out of range in %+v", d)
	case d.At.Year() < 1 || d.At.Year() > 9999:
		t.Errorf("At year out of range in %+v", d)
	case d.HasConf && !(d.Conf >= 0 && d.Conf <= 1):
		t.Errorf("bad Conf in %+v", d)
	case !d.HasConf && d.Conf != 0:
		t.Errorf("Conf without HasConf in %+v", d)
	case checkCamera([]byte(d.Camera)) != "":
		t.Errorf("bad Camera in %+v", d)
	}
}

// benchMessage returns a realistic message of n detections.
func benchMessage(n int) []byte {
	var b []byte
	b = append(b, '[')
	at := time.Date(2026, 3, 1, 11, 58, 0, 0, time.UTC)
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		d := Detection{
			ID: 1_000_000_000 + uint64(i), At: at.Add(time.Duration(i) * 137 * time.Millisecond),
			Area: int64(1 + i%4), Product: int64(10 + i%7), OK: i%23 != 0,
			Conf: float32(800+i) / 1000, HasConf: true, Camera: "cam-0" + strconv.Itoa(1+i%2),
		}
		b = AppendJSON(b, d)
	}
	return append(b, ']')
}

func BenchmarkDecode50(b *testing.B) {
	msg := benchMessage(50)
	dst := make([]Detection, 0, 50)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		var rej []Rejected
		dst, rej = Decode(dst[:0], msg, testWindow)
		if len(dst) != 50 || rej != nil {
			b.Fatalf("%d valid, %v", len(dst), rej)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*50), "ns/detection")
}

// BenchmarkAdmit50 is the edge's judgement of the message BenchmarkDecode50 decodes.
func BenchmarkAdmit50(b *testing.B) {
	msg := benchMessage(50)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := Admit(msg, testWindow); !ok {
			b.Fatal("refused")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*50), "ns/detection")
}

func BenchmarkDecodeSingle(b *testing.B) {
	msg := []byte(`{"id":123456789,"at":"2026-03-01T12:59:58.987+01:00","area":3,"product":12,"conf":0.93}`)
	dst := make([]Detection, 0, 1)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		dst, _ = Decode(dst[:0], msg, testWindow)
	}
}

// BenchmarkEncodingJSON50 is the reference point: encoding/json into a plain
// struct, without any validation.
func BenchmarkEncodingJSON50(b *testing.B) {
	msg := benchMessage(50)
	type wire struct {
		ID      uint64    `json:"id"`
		At      time.Time `json:"at"`
		Area    int64     `json:"area"`
		Product int64     `json:"product"`
		OK      *bool     `json:"ok"`
		Conf    *float32  `json:"conf"`
		Camera  string    `json:"camera"`
	}
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		var v []wire
		if err := json.Unmarshal(msg, &v); err != nil {
			b.Fatal(err)
		}
	}
}

// The decoder allocates nothing for a valid message but one string per distinct camera.
func TestDecodeAllocs(t *testing.T) {
	msg := benchMessage(50) // two cameras
	dst := make([]Detection, 0, 50)
	allocs := testing.AllocsPerRun(20, func() {
		dst, _ = Decode(dst[:0], msg, testWindow)
	})
	if allocs > 2 {
		t.Errorf("%v allocations per message, want at most 2 (the camera strings)", allocs)
	}
}

func TestAdmit(t *testing.T) {
	tooOld := without(fat, `"at":"2025-01-01T00:00:00Z"`)
	for _, c := range []struct {
		name, msg string
		ok        bool
		want      Reason // the first rejection when refused
		index     int
	}{
		{"one good object", good(), true, "", 0},
		{"good array", "[" + good() + "," + good() + "]", true, "", 0},
		{"a bad element before a good one", "[" + tooOld + "," + good() + "]", true, "", 0},
		{"every element too old", "[" + tooOld + "," + tooOld + "]", false, ReasonTooOld, 0},
		{"not objects", "[1,2]", false, ReasonNotObject, 0},
		{"malformed after a good element", "[" + good() + ",{", false, ReasonMalformed, -1},
		{"bad number after a good element", "[" + good() + `,{"id":01}]`, false, ReasonMalformed, -1},
		{"garbage after the array", "[" + good() + "] x", false, ReasonMalformed, -1},
		{"too many after a good element", "[" + strings.Repeat(good()+",", MaxElements) + good() + "]", false, ReasonTooMany, -1},
		{"empty", " ", false, ReasonEmpty, -1},
	} {
		t.Run(c.name, func(t *testing.T) {
			first, ok := Admit([]byte(c.msg), testWindow)
			if ok != c.ok || first.Reason != c.want || !ok && first.Index != c.index {
				t.Fatalf("Admit = %v %+v, want %v %s at %d", ok, first, c.ok, c.want, c.index)
			}
			_, rej := Decode(nil, []byte(c.msg), testWindow)
			if !ok && first != rej[0] {
				t.Fatalf("Admit's rejection %+v, Decode's first %+v", first, rej[0])
			}
		})
	}
}

// Admitting a good message allocates nothing but its first element's camera string.
func TestAdmitAllocs(t *testing.T) {
	msg := benchMessage(50)
	allocs := testing.AllocsPerRun(20, func() {
		if _, ok := Admit(msg, testWindow); !ok {
			t.Fatal("refused")
		}
	})
	if allocs > 1 {
		t.Errorf("%v allocations per message, want at most 1", allocs)
	}
}

func TestFieldSpec(t *testing.T) {
	for _, name := range []string{"id", "at", "area", "product", "ok", "conf", "camera"} {
		rank, reason, got := fieldSpec(fieldOf([]byte(name)))
		if got != name || rank < rankID || rank > rankCamera || reason == "" {
			t.Errorf("fieldSpec(%s) = %d %s %s", name, rank, reason, got)
		}
	}
}

// BenchmarkAppendTime compares the wire format's time writer with time's AppendFormat,
// which it replaced.
func BenchmarkAppendTime(b *testing.B) {
	at := time.Date(2026, 3, 1, 11, 59, 59, 987_654_321, time.UTC)
	buf := make([]byte, 0, 64)
	b.Run("AppendTime", func(b *testing.B) {
		for b.Loop() {
			buf = AppendTime(buf[:0], at)
		}
	})
	b.Run("AppendFormat", func(b *testing.B) {
		for b.Loop() {
			buf = at.UTC().AppendFormat(buf[:0], timeLayout)
		}
	})
}
