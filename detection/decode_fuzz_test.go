package detection

import (
	"bytes"
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		good(),
		"[" + good() + "," + good(`"ok":false`, `"conf":0.5`, `"camera":"cam-01"`) + "]",
		`{"id":18446744073709551615,"at":"2026-03-01T12:59:58.987654321+01:00","area":2147483647,"product":1,"ok":false,"conf":0.93,"camera":"cam-\u00e9"}`,
		"\xEF\xBB\xBF \n[ " + good() + " ]\t",
		"", " ", "[]", "{}", "[{}]", "null", "42", `"x"`, "[1,\"a\",null,[],{}]",
		"{", "[", "[{", `{"id":}`, `{"id":1,}`, "[" + good() + ",]", good() + good(),
		`{"id":07}`, `{"id":-0}`, `{"id":1.5}`, `{"id":1e3}`, `{"id":"7"}`, `{"id":18446744073709551616}`,
		without(fat, `"at":"2026-03-01T11:59:00"`), without(fat, `"at":"2026-03-01t11:59:00.5z"`),
		without(fat, `"at":"2026-03-01T06:30:00.123456-04:30"`), without(fat, `"at":"2030-01-01T00:00:00Z"`),
		without(fat, `"at":"2025-01-01T00:00:00Z"`), without(fat, `"at":"0001-01-01T00:00:00+01:00"`),
		without(fat, `"at":"2026-02-29T00:00:00Z"`), without(fat, `"at":"\u0032026-03-01T11:59:00Z"`),
		without(farea, `"area":0`), without(farea, `"area":2147483648`), without(fproduct, `"product":-1`),
		good(`"ok":"true"`), good(`"ok":null`), good(`"conf":-0`), good(`"conf":1.0000001`), good(`"conf":1e400`),
		good(`"camera":"` + strings.Repeat("x", 65) + `"`), good(`"camera":"\ud83d\udcf7"`), good(`"camera":"\ud83d"`),
		good(`"camera":"a\u0000"`), good(`"camera":"` + "\xff" + `"`), good(`"camera":"` + "\u0085" + `"`),
		good(`"x":{"y":[1,{"z":null}],"s":"\"\\\/\b\f\n\r\t"}`), good(`"id":8`), good(`"\u0069d":7`),
		`{"ID":7,"at":"2026-03-01T11:59:00Z","area":1,"product":1}`,
		"[" + strings.Repeat("[", 50) + strings.Repeat("]", 50) + "]",
		"[" + strings.Repeat(good()+",", 20) + good() + "]",
		string(benchMessage(3)),
		"[" + good() + ",{", "[" + good() + `,{"id":01}]`, "[" + good() + `,{"a":"\x"}]`, "[" + good() + ",7 8]",
		"[" + good() + "," + strings.Repeat("[", 70) + strings.Repeat("]", 70) + "]",
		`[{"id":0},` + good() + `,{"id":1,}]`, `[1,{},` + good() + "]",
	} {
		f.Add([]byte(s))
	}
	w := testWindow
	// A small maxElements lets the fuzzer reach too_many_elements.
	fuzzLimits := limits{maxBytes: MaxBytes, maxElements: 20}
	f.Fuzz(func(t *testing.T, msg []byte) {
		orig := bytes.Clone(msg)
		sentinel := Detection{ID: 42}
		out, rej := decode([]Detection{sentinel}, msg, w, fuzzLimits)
		if !bytes.Equal(msg, orig) {
			t.Fatal("Decode modified its input")
		}
		if len(out) == 0 || out[0] != sentinel {
			t.Fatal("Decode clobbered dst")
		}
		valid := slices.Clone(out[1:])

		// Admit keeps the message exactly when Decode stores some of it, and otherwise
		// reports Decode's first rejection.
		first, ok := admit(msg, w, fuzzLimits)
		if ok != (len(valid) > 0) || !ok && first != rej[0] {
			t.Fatalf("Admit says %v %+v, Decode %d valid and %+v", ok, first, len(valid), rej)
		}

		// Determinism, and reuse of dst.
		again, rej2 := decode(out[:0], msg, w, fuzzLimits)
		if !slices.Equal(again, valid) || !slices.Equal(rej, rej2) {
			t.Fatal("Decode is not deterministic")
		}

		for _, r := range rej {
			if !slices.Contains(Reasons(), r.Reason) || r.Reason == ReasonUnknownLine {
				t.Fatalf("unexpected reason %q", r.Reason)
			}
			if r.Detail == "" || len(r.Raw) > MaxRawBytes {
				t.Fatalf("bad rejection %+v", r)
			}
		}
		for _, d := range valid {
			checkDetection(t, d, w)
			// Re-encoding a valid detection and decoding it yields the same value.
			b := AppendJSON(nil, d)
			if !json.Valid(b) {
				t.Fatalf("AppendJSON produced invalid JSON %q", b)
			}
			rt, rrej := decode(nil, b, w, fuzzLimits)
			if len(rt) != 1 || len(rrej) != 0 || rt[0] != d {
				t.Fatalf("round trip of %+v via %s: %+v %+v", d, b, rt, rrej)
			}
		}

		// Whole-message failures.
		if len(rej) > 0 && rej[0].Index == -1 {
			if len(rej) != 1 || len(valid) != 0 {
				t.Fatalf("whole-message rejection mixed with others: %d valid, %+v", len(valid), rej)
			}
		}
		wholeReason := Reason("")
		if len(rej) == 1 && rej[0].Index == -1 {
			wholeReason = rej[0].Reason
		}

		// Compare with encoding/json as the reference parser.
		body := bytes.TrimPrefix(msg, []byte("\xEF\xBB\xBF"))
		trimmed := bytes.TrimLeft(body, " \t\r\n")
		switch {
		case len(msg) > fuzzLimits.maxBytes:
			if wholeReason != ReasonTooLarge {
				t.Fatalf("oversized message: %+v", rej)
			}
			return
		case len(trimmed) == 0:
			if wholeReason != ReasonEmpty {
				t.Fatalf("empty message: %+v", rej)
			}
			return
		case !json.Valid(body):
			// The decoder stops counting at MaxElements+1 without looking further.
			if wholeReason != ReasonMalformed && wholeReason != ReasonTooMany {
				t.Fatalf("encoding/json rejects the message, Decode gave %d valid and %+v", len(valid), rej)
			}
			return
		case wholeReason == ReasonMalformed:
			t.Fatalf("encoding/json accepts the message, Decode says %+v", rej[0])
		}

		var elems []json.RawMessage
		switch trimmed[0] {
		case '{':
			elems = []json.RawMessage{bytes.TrimRight(trimmed, " \t\r\n")}
		case '[':
			if err := json.Unmarshal(body, &elems); err != nil {
				t.Fatal(err)
			}
			if len(elems) == 0 {
				if wholeReason != ReasonEmpty {
					t.Fatalf("empty array: %+v", rej)
				}
				return
			}
			if len(elems) > fuzzLimits.maxElements {
				if wholeReason != ReasonTooMany {
					t.Fatalf("%d elements: %+v", len(elems), rej)
				}
				return
			}
		default:
			if wholeReason != ReasonNotObject {
				t.Fatalf("scalar message: %+v", rej)
			}
			return
		}
		if wholeReason != "" {
			t.Fatalf("valid message of %d elements rejected whole: %+v", len(elems), rej)
		}
		// len(valid) + len(rejected elements) == element count, rejections in
		// index order, each with the exact raw text of its element.
		if len(valid)+len(rej) != len(elems) {
			t.Fatalf("%d elements, %d valid, %d rejected", len(elems), len(valid), len(rej))
		}
		rejected := map[int]bool{}
		for k, r := range rej {
			if r.Index < 0 || r.Index >= len(elems) || (k > 0 && r.Index <= rej[k-1].Index) {
				t.Fatalf("bad index in %+v", rej)
			}
			rejected[r.Index] = true
			if r.Raw != rawText(elems[r.Index]) {
				t.Fatalf("raw %q, element %q", r.Raw, elems[r.Index])
			}
			if (r.Reason == ReasonNotObject) != (elems[r.Index][0] != '{') {
				t.Fatalf("element %q rejected with %s", elems[r.Index], r.Reason)
			}
		}
		k := 0
		for i, e := range elems {
			if rejected[i] {
				continue
			}
			checkAgainstReference(t, valid[k], e)
			k++
		}
	})
}

// checkAgainstReference checks a decoded detection against its element as
// encoding/json sees it.
func checkAgainstReference(t *testing.T, d Detection, elem []byte) {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(elem, &m); err != nil {
		t.Fatalf("valid detection from %q, which encoding/json cannot decode into a map: %v", elem, err)
	}
	num := func(key string) string {
		v, ok := m[key]
		if !ok {
			t.Fatalf("valid detection from %q without %q", elem, key)
		}
		return string(v)
	}
	if id, err := strconv.ParseUint(num("id"), 10, 64); err != nil || id != d.ID {
		t.Fatalf("id %d from %q", d.ID, elem)
	}
	if a, err := strconv.ParseInt(num("area"), 10, 64); err != nil || a != d.Area {
		t.Fatalf("area %d from %q", d.Area, elem)
	}
	if p, err := strconv.ParseInt(num("product"), 10, 64); err != nil || p != d.Product {
		t.Fatalf("product %d from %q", d.Product, elem)
	}
	var at string
	if err := json.Unmarshal(m["at"], &at); err != nil {
		t.Fatalf("at from %q: %v", elem, err)
	}
	if ref, err := time.Parse(time.RFC3339Nano, at); err == nil && !ref.Truncate(time.Millisecond).Equal(d.At) {
		t.Fatalf("at %v, time.Parse gives %v, from %q", d.At, ref, elem)
	}
	var ok *bool
	if err := json.Unmarshal(m["ok"], &ok); m["ok"] != nil && err != nil || ok != nil && *ok != d.OK || ok == nil && !d.OK {
		t.Fatalf("ok %v from %q", d.OK, elem)
	}
	var conf *float32
	if err := json.Unmarshal(m["conf"], &conf); m["conf"] != nil && err != nil || (conf != nil) != d.HasConf || conf != nil && *conf != d.Conf {
		t.Fatalf("conf %v/%v from %q", d.Conf, d.HasConf, elem)
	}
	var camera *string
	if err := json.Unmarshal(m["camera"], &camera); m["camera"] != nil && err != nil || camera != nil && *camera != d.Camera || camera == nil && d.Camera != "" {
		t.Fatalf("camera %q from %q", d.Camera, elem)
	}
}

var strictRFC3339 = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$`)

// FuzzParseTime compares the RFC 3339 parser with time.Parse.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{
		"2026-03-01T11:00:00Z", "2026-03-01T11:00:00.123456789+05:45", "2026-03-01t11:00:00z",
		"0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999Z", "2024-02-29T00:00:00-12:00", "2026-03-01T11:00:00",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ms, ok := parseTime([]byte(s))
		ref, err := time.Parse(time.RFC3339Nano, s)
		if ok {
			if err == nil && !ref.Truncate(time.Millisecond).Equal(time.UnixMilli(ms)) {
				t.Fatalf("%q: %v, time.Parse %v", s, time.UnixMilli(ms).UTC(), ref)
			}
			if err != nil && !strings.ContainsAny(s, "tz") {
				t.Fatalf("%q accepted, time.Parse: %v", s, err)
			}
		} else if err == nil && strictRFC3339.MatchString(s) {
			// time.Parse is laxer than RFC 3339 (one-digit fields, ',' before
			// the fraction); compare only on well-formed input.
			if y := ref.UTC().Year(); y >= 1 && y <= 9999 {
				t.Fatalf("%q rejected, time.Parse gives %v", s, ref)
			}
		}
	})
}

// FuzzAppendTime: the wire format's time writer gives what time's AppendFormat gives,
// for any instant and zone (years outside 0000–9999 included).
func FuzzAppendTime(f *testing.F) {
	for _, c := range [][2]int64{{0, 0}, {1772362800, 999_999_999}, {-62135596800, 0}, {253402300799, 999_000_000},
		{253402300800, 0}, {-62167219201, 0}, {951825600, 1_000_000}, {1 << 40, 5}} {
		f.Add(c[0], c[1], int32(0))
	}
	f.Add(int64(1772362800), int64(123_456_789), int32(5*3600+45*60))
	f.Fuzz(func(t *testing.T, sec, nsec int64, offset int32) {
		at := time.Unix(sec, nsec%1e9).In(time.FixedZone("z", int(offset%(24*3600))))
		got, want := AppendTime([]byte("x"), at), at.UTC().AppendFormat([]byte("x"), timeLayout)
		if string(got) != string(want) {
			t.Fatalf("%v: %s, want %s", at, got, want)
		}
	})
}
