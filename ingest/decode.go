package ingest

import (
	"github.com/linepulse/linepulse/store"

	"strconv"
	"time"
	"unicode/utf8"
)

// Reason is a stable snake_case code for why a message or an element was
// rejected. The values are used as Prometheus label values and in the
// dead-letter payload, so they are part of the public contract: never rename
// one.
type Reason string

// Rejection reasons. Decode produces all of them except ReasonUnknownLine,
// which the consumer uses when the subject names a line the tenant does not
// have (the line is not part of the message body).
const (
	ReasonMalformed   Reason = "malformed_json"    // not valid JSON (whole message)
	ReasonTooLarge    Reason = "too_large"         // larger than Limits.MaxBytes (whole message)
	ReasonTooMany     Reason = "too_many_elements" // array longer than Limits.MaxElements (whole message)
	ReasonEmpty       Reason = "empty"             // empty message or empty array (whole message)
	ReasonNotObject   Reason = "not_object"        // top-level value or array element is not an object
	ReasonBadID       Reason = "bad_id"            // id missing, duplicated, not an integer, 0, negative or > 2^64-1
	ReasonBadTime     Reason = "bad_timestamp"     // at missing, duplicated or not an RFC 3339 timestamp with zone
	ReasonTooOld      Reason = "too_old"           // at before the retention horizon
	ReasonInFuture    Reason = "in_future"         // at more than Limits.Future after now
	ReasonBadArea     Reason = "bad_area"          // area missing, duplicated, not an integer in 1..2^31-1
	ReasonBadProduct  Reason = "bad_product"       // product missing, duplicated, not an integer in 1..2^31-1
	ReasonBadOK       Reason = "bad_ok"            // ok duplicated or not a boolean
	ReasonBadConf     Reason = "bad_conf"          // conf duplicated, not a number or outside 0..1
	ReasonBadCamera   Reason = "bad_camera"        // camera duplicated, not a string, too long, bad UTF-8 or control characters
	ReasonUnknownLine Reason = "unknown_line"      // subject names a line that does not exist (set by the consumer)
)

// Reasons returns every Reason, for instance to pre-register metric label
// values.
func Reasons() []Reason {
	return []Reason{
		ReasonMalformed, ReasonTooLarge, ReasonTooMany, ReasonEmpty, ReasonNotObject,
		ReasonBadID, ReasonBadTime, ReasonTooOld, ReasonInFuture, ReasonBadArea,
		ReasonBadProduct, ReasonBadOK, ReasonBadConf, ReasonBadCamera, ReasonUnknownLine,
	}
}

// Detection is one validated detection: the store's row type, so a decoded batch goes
// to the writer without copying.
type Detection = store.Detection

// Rejected describes one rejected element, or the whole message when Index is
// -1.
type Rejected struct {
	Index  int    // position in the array (0 for the single-object form); -1 = whole message
	Reason Reason // stable code
	Detail string // short human-readable explanation
	Raw    string // raw text of the element (or of the message), at most MaxRawBytes bytes
}

// Limits bounds what Decode accepts. A zero field takes its default.
type Limits struct {
	MaxBytes    int           // largest message in bytes; default 64 KiB
	MaxElements int           // largest array; default 1000
	Future      time.Duration // how far after now a detection may be; default 5m
}

// Defaults and fixed bounds of the detection message.
const (
	DefaultMaxBytes    = 64 << 10
	DefaultMaxElements = 1000
	DefaultFuture      = 5 * time.Minute

	MaxRawBytes    = 4 << 10   // Rejected.Raw is truncated to this many bytes (at a rune boundary)
	MaxCameraBytes = 64        // longest camera id in bytes
	MaxRefID       = 1<<31 - 1 // largest area / product id

	maxNestingDepth = 10000 // same as encoding/json
)

// DefaultLimits returns the limits of the binding contract: 64 KiB, 1000
// elements, 5 minutes into the future.
func DefaultLimits() Limits {
	return Limits{MaxBytes: DefaultMaxBytes, MaxElements: DefaultMaxElements, Future: DefaultFuture}
}

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxElements <= 0 {
		l.MaxElements = DefaultMaxElements
	}
	if l.Future <= 0 {
		l.Future = DefaultFuture
	}
	return l
}

// DeadLetter is the JSON payload published to lp.<tenant>.dlq for every
// rejected element or message.
type DeadLetter struct {
	Subject string    `json:"subject"`     // subject the message arrived on
	Reason  Reason    `json:"reason"`      // stable code
	Detail  string    `json:"detail"`      // human-readable explanation
	Index   int       `json:"index"`       // element index, -1 = whole message
	Raw     string    `json:"raw"`         // raw text, at most MaxRawBytes bytes
	At      time.Time `json:"received_at"` // when LinePulse received the message
}

// DeadLetter builds the dead-letter payload for r, received on subject at
// receivedAt.
func (r Rejected) DeadLetter(subject string, receivedAt time.Time) DeadLetter {
	return DeadLetter{Subject: subject, Reason: r.Reason, Detail: r.Detail, Index: r.Index, Raw: r.Raw, At: receivedAt}
}

// Decode parses one device message.
//
// now is the current time (injected so tests are deterministic); oldest is the
// retention horizon: a detection whose At is before it is rejected with
// ReasonTooOld (the zero time disables the check). A detection more than
// lim.Future after now is rejected with ReasonInFuture.
//
// Valid elements are appended to dst (pass dst[:0] to reuse its storage; with
// enough capacity Decode allocates nothing for a valid message except camera
// strings, which are copied once per distinct value in the message) and the
// extended slice is returned. Invalid elements are reported individually, in
// index order, while the rest of the message is still accepted. A
// whole-message failure (too large, malformed JSON, too many elements, empty
// message or array, top-level value not an object or array) returns dst
// unchanged and exactly one Rejected with Index -1.
//
// Decode never panics and never retains msg: the returned values share no
// memory with it.
//
// The message format is the "Detection message" of the binding contract:
//
//	UTF-8 JSON, one object or an array of up to 1000 objects, at most 64 KiB.
//
//	field    type                           required  meaning
//	id       unsigned 64-bit integer > 0     yes
//	at       RFC 3339 timestamp              yes       truncated to milliseconds
//	area     integer 1..2^31-1               yes
//	product  integer 1..2^31-1               yes
//	ok       boolean                         no (true)
//	conf     number 0..1                     no
//	camera   string, at most 64 bytes        no
//
// Decisions the contract leaves open, fixed here:
//
//   - The decoder is a hand-written scanner (no allocation but camera strings,
//     copied once per distinct value per message); it accepts exactly
//     the JSON that encoding/json's Valid accepts (same grammar, same nesting
//     limit of 10000), plus an optional leading UTF-8 byte-order mark.
//   - Keys match exactly (case-sensitive, unlike encoding/json): "ID" is an
//     unknown field. Escaped keys ("\u0069d") are unescaped before matching.
//   - Unknown fields are skipped (their syntax is still checked).
//   - A known field given twice rejects the element with that field's reason
//     ("duplicate key"); a duplicate unknown field is ignored.
//   - null for a known field means "absent": fine for ok, conf and camera,
//     a rejection (missing field) for id, at, area and product.
//   - id, area and product must be JSON integers: 1.0, 1e3, "1" and -1 are
//     rejected. area and product are at most 2^31-1.
//   - at is RFC 3339 (upper- or lower-case T and Z, any number of fraction
//     digits, mandatory zone "Z" or ±hh:mm). The fraction is truncated (not
//     rounded) to milliseconds and the result is converted to UTC. Seconds = 60
//     (leap second) is rejected, as time.Parse does. After conversion the year
//     must lie in 0001..9999.
//   - conf is parsed as float32; -0 becomes 0.
//   - camera must be valid UTF-8 after unescaping, at most 64 bytes, without
//     control characters (C0, DEL, C1). "" is the same as absent.
//   - Strings are not otherwise checked for valid UTF-8: a bad byte inside an
//     ignored field does not reject anything. Rejected.Raw is the original text
//     and may therefore hold invalid UTF-8 (encoding/json turns it into U+FFFD
//     when a DeadLetter is marshalled).
//   - When several fields of one element are bad, the reported reason is the
//     first in the order id, at, area, product, ok, conf, camera, whatever the
//     key order in the document; too_old / in_future are only checked for an
//     element that is otherwise valid.
//   - The single-object form counts as a one-element message: its rejection has
//     Index 0. Index -1 is reserved for whole-message failures.
//   - A top-level value that is valid JSON but neither object nor array (42,
//     "x", null) is rejected whole with ReasonNotObject; an array element that
//     is not an object is rejected individually with ReasonNotObject.
//   - Only whitespace may follow the top-level value: concatenated objects and
//     NDJSON are malformed.
func Decode(dst []Detection, msg []byte, now, oldest time.Time, lim Limits) ([]Detection, []Rejected) {
	lim = lim.withDefaults()
	if len(msg) > lim.MaxBytes {
		return dst, whole(ReasonTooLarge, "message is "+strconv.Itoa(len(msg))+" bytes, limit is "+strconv.Itoa(lim.MaxBytes), msg)
	}
	d := decoder{msg: msg, oldest: oldest, latest: now.Add(lim.Future)}
	i := 0
	if len(msg) >= 3 && msg[0] == 0xEF && msg[1] == 0xBB && msg[2] == 0xBF {
		i = 3 // UTF-8 byte-order mark
	}
	i = d.ws(i)
	if i == len(msg) {
		return dst, whole(ReasonEmpty, "message is empty", msg)
	}
	switch msg[i] {
	case '{':
		var det Detection
		end, r, detail := d.object(i, &det)
		if end < 0 || !d.trailer(end) {
			return dst, d.malformed()
		}
		if r != "" {
			return dst, []Rejected{{Index: 0, Reason: r, Detail: detail, Raw: rawText(msg[i:end])}}
		}
		return append(dst, det), nil
	case '[':
		return d.array(dst, i, lim.MaxElements)
	default:
		end := d.value(i)
		if end < 0 || !d.trailer(end) {
			return dst, d.malformed()
		}
		return dst, whole(ReasonNotObject, "message is neither an object nor an array of objects", msg)
	}
}

func whole(r Reason, detail string, msg []byte) []Rejected {
	return []Rejected{{Index: -1, Reason: r, Detail: detail, Raw: rawText(msg)}}
}

// rawText copies b into a string of at most MaxRawBytes bytes, cut at a rune
// boundary when b is valid UTF-8 there.
func rawText(b []byte) string {
	if len(b) > MaxRawBytes {
		n := MaxRawBytes
		for k := 0; k < utf8.UTFMax-1 && n > 0 && !utf8.RuneStart(b[n]); k++ {
			n--
		}
		b = b[:n]
	}
	return string(b)
}

// decoder holds the state of one Decode call. Scanning methods take a position
// in msg and return the position after what they scanned, or -1 after a
// syntax error, which is then recorded in errOff / errMsg.
type decoder struct {
	msg    []byte
	depth  int
	errOff int
	errMsg string
	oldest time.Time
	latest time.Time
	cams   [4]string // camera strings already copied in this message
	ncam   int
}

func (d *decoder) fail(i int, what string) int {
	if d.errMsg == "" {
		d.errOff, d.errMsg = i, what
	}
	return -1
}

func (d *decoder) malformed() []Rejected {
	detail := d.errMsg
	if detail == "" {
		detail = "invalid JSON"
	}
	detail += " at offset " + strconv.Itoa(d.errOff)
	if d.errOff < len(d.msg) {
		detail += " (" + strconv.QuoteRuneToASCII(rune(d.msg[d.errOff])) + ")"
	}
	return whole(ReasonMalformed, detail, d.msg)
}

// trailer reports whether only whitespace follows position i.
func (d *decoder) trailer(i int) bool {
	if j := d.ws(i); j != len(d.msg) {
		d.fail(j, "data after the top-level value")
		return false
	}
	return true
}

func (d *decoder) ws(i int) int {
	for i < len(d.msg) {
		switch d.msg[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

func (d *decoder) array(dst []Detection, i, maxElements int) ([]Detection, []Rejected) {
	msg := d.msg
	base := len(dst)
	d.depth = 1
	j := d.ws(i + 1)
	if j < len(msg) && msg[j] == ']' {
		if !d.trailer(j + 1) {
			return dst, d.malformed()
		}
		return dst, whole(ReasonEmpty, "array is empty", msg)
	}
	var rej []Rejected
	for idx := 0; ; idx++ {
		if j >= len(msg) {
			d.fail(j, "unexpected end of input")
			return dst[:base], d.malformed()
		}
		if idx == maxElements {
			return dst[:base], whole(ReasonTooMany, "array has more than "+strconv.Itoa(maxElements)+" elements", msg)
		}
		var (
			end    int
			r      Reason
			detail string
		)
		if msg[j] == '{' {
			dst = append(dst, Detection{})
			end, r, detail = d.object(j, &dst[len(dst)-1])
			if r != "" {
				dst = dst[:len(dst)-1]
			}
		} else {
			end = d.value(j)
			r, detail = ReasonNotObject, "element is not an object"
		}
		if end < 0 {
			return dst[:base], d.malformed()
		}
		if r != "" {
			rej = append(rej, Rejected{Index: idx, Reason: r, Detail: detail, Raw: rawText(msg[j:end])})
		}
		j = d.ws(end)
		if j < len(msg) && msg[j] == ',' {
			j = d.ws(j + 1)
			continue
		}
		if j < len(msg) && msg[j] == ']' {
			if !d.trailer(j + 1) {
				return dst[:base], d.malformed()
			}
			return dst, rej
		}
		d.fail(j, "expected ',' or ']' after array element")
		return dst[:base], d.malformed()
	}
}

// Field bits and ranks: the rank orders reasons when an element has several
// bad fields (lower wins).
const (
	fID = 1 << iota
	fAt
	fArea
	fProduct
	fOK
	fConf
	fCamera
	fUnknown = 0
)

const (
	rankID = iota + 1
	rankAt
	rankArea
	rankProduct
	rankOK
	rankConf
	rankCamera
	rankTime
)

// verdict collects the highest-priority problem of one element.
type verdict struct {
	rank   int
	reason Reason
	detail string
}

func (v *verdict) set(rank int, r Reason, detail string) {
	if v.rank == 0 || rank < v.rank {
		v.rank, v.reason, v.detail = rank, r, detail
	}
}

func fieldOf(key []byte) int {
	switch string(key) {
	case "id":
		return fID
	case "at":
		return fAt
	case "area":
		return fArea
	case "product":
		return fProduct
	case "ok":
		return fOK
	case "conf":
		return fConf
	case "camera":
		return fCamera
	}
	return fUnknown
}

// object decodes the object starting at msg[i] == '{' into det. It returns the
// position after the object (-1 on a syntax error) and, when the element is
// invalid, a reason and a detail.
func (d *decoder) object(i int, det *Detection) (int, Reason, string) {
	msg := d.msg
	d.depth++
	if d.depth > maxNestingDepth {
		return d.fail(i, "nesting too deep"), "", ""
	}
	var (
		seen, have uint
		v          verdict
	)
	*det = Detection{OK: true}
	i = d.ws(i + 1)
	if i < len(msg) && msg[i] == '}' {
		i++
		goto done
	}
	for {
		// key
		if i >= len(msg) || msg[i] != '"' {
			return d.fail(i, "expected string key"), "", ""
		}
		ks := i
		ke, esc := d.str(i)
		if ke < 0 {
			return -1, "", ""
		}
		key := msg[ks+1 : ke-1]
		var kbuf [64]byte
		if esc {
			key = nil
			if ke-ks-2 <= len(kbuf) {
				if k, ok := unescape(kbuf[:0], msg[ks+1:ke-1]); ok {
					key = k
				}
			}
		}
		f := fieldOf(key)
		i = d.ws(ke)
		if i >= len(msg) || msg[i] != ':' {
			return d.fail(i, "expected ':' after object key"), "", ""
		}
		i = d.ws(i + 1)
		if i >= len(msg) {
			return d.fail(i, "unexpected end of input"), "", ""
		}
		dup := seen&uint(f) != 0
		seen |= uint(f)
		c := msg[i]
		var end int
		switch f {
		case fUnknown:
			end = d.value(i)
		case fID:
			switch {
			case c == '-' || c >= '0' && c <= '9':
				var isInt bool
				end, isInt = d.number(i)
				if end < 0 {
					break
				}
				switch {
				case dup:
					v.set(rankID, ReasonBadID, "duplicate key id")
				case !isInt:
					v.set(rankID, ReasonBadID, "id must be an integer")
				case c == '-':
					v.set(rankID, ReasonBadID, "id must be > 0")
				default:
					n, ok := parseUint(msg[i:end])
					switch {
					case !ok:
						v.set(rankID, ReasonBadID, "id exceeds 2^64-1")
					case n == 0:
						v.set(rankID, ReasonBadID, "id must be > 0")
					default:
						det.ID = n
						have |= fID
					}
				}
			case c == 'n':
				end = d.lit(i, "null")
				if dup {
					v.set(rankID, ReasonBadID, "duplicate key id")
				}
			default:
				end = d.value(i)
				v.set(rankID, ReasonBadID, "id must be an integer")
			}
		case fArea, fProduct:
			rank, reason, name := rankArea, ReasonBadArea, "area"
			if f == fProduct {
				rank, reason, name = rankProduct, ReasonBadProduct, "product"
			}
			switch {
			case c == '-' || c >= '0' && c <= '9':
				var isInt bool
				end, isInt = d.number(i)
				if end < 0 {
					break
				}
				switch {
				case dup:
					v.set(rank, reason, "duplicate key "+name)
				case !isInt:
					v.set(rank, reason, name+" must be an integer")
				case c == '-':
					v.set(rank, reason, name+" must be >= 1")
				default:
					n, ok := parseUint(msg[i:end])
					switch {
					case !ok || n > MaxRefID:
						v.set(rank, reason, name+" exceeds 2^31-1")
					case n == 0:
						v.set(rank, reason, name+" must be >= 1")
					default:
						if f == fArea {
							det.Area = int64(n)
						} else {
							det.Product = int64(n)
						}
						have |= uint(f)
					}
				}
			case c == 'n':
				end = d.lit(i, "null")
				if dup {
					v.set(rank, reason, "duplicate key "+name)
				}
			default:
				end = d.value(i)
				v.set(rank, reason, name+" must be an integer")
			}
		case fAt:
			switch c {
			case '"':
				var sesc bool
				end, sesc = d.str(i)
				if end < 0 {
					break
				}
				if dup {
					v.set(rankAt, ReasonBadTime, "duplicate key at")
					break
				}
				s := msg[i+1 : end-1]
				var tbuf [64]byte
				if sesc {
					s = nil
					if end-i-2 <= len(tbuf) {
						if u, ok := unescape(tbuf[:0], msg[i+1:end-1]); ok {
							s = u
						}
					}
				}
				ms, ok := parseTime(s)
				if !ok {
					v.set(rankAt, ReasonBadTime, "at must be an RFC 3339 timestamp with zone, years 0001..9999")
					break
				}
				det.At = time.UnixMilli(ms).UTC()
				have |= fAt
			case 'n':
				end = d.lit(i, "null")
				if dup {
					v.set(rankAt, ReasonBadTime, "duplicate key at")
				}
			default:
				end = d.value(i)
				v.set(rankAt, ReasonBadTime, "at must be an RFC 3339 timestamp string")
			}
		case fOK:
			switch c {
			case 't':
				end = d.lit(i, "true")
				det.OK = true
			case 'f':
				end = d.lit(i, "false")
				det.OK = false
			case 'n':
				end = d.lit(i, "null")
				det.OK = true
			default:
				end = d.value(i)
				v.set(rankOK, ReasonBadOK, "ok must be a boolean")
			}
			if dup {
				v.set(rankOK, ReasonBadOK, "duplicate key ok")
			}
		case fConf:
			switch {
			case c == '-' || c >= '0' && c <= '9':
				end, _ = d.number(i)
				if end < 0 {
					break
				}
				f, err := strconv.ParseFloat(string(msg[i:end]), 32)
				if err != nil || !(f >= 0 && f <= 1) {
					v.set(rankConf, ReasonBadConf, "conf must be a number from 0 to 1")
					break
				}
				if f == 0 {
					f = 0 // -0 becomes 0
				}
				det.Conf = float32(f)
				det.HasConf = true
			case c == 'n':
				end = d.lit(i, "null")
				det.Conf, det.HasConf = 0, false
			default:
				end = d.value(i)
				v.set(rankConf, ReasonBadConf, "conf must be a number from 0 to 1")
			}
			if dup {
				v.set(rankConf, ReasonBadConf, "duplicate key conf")
			}
		case fCamera:
			switch c {
			case '"':
				var sesc bool
				end, sesc = d.str(i)
				if end < 0 {
					break
				}
				s := msg[i+1 : end-1]
				var cbuf [MaxCameraBytes]byte
				if sesc {
					u, ok := unescape(cbuf[:0], s)
					if !ok {
						v.set(rankCamera, ReasonBadCamera, "camera has an invalid \\u escape")
						break
					}
					s = u
				}
				if detail := checkCamera(s); detail != "" {
					v.set(rankCamera, ReasonBadCamera, detail)
					break
				}
				det.Camera = d.camera(s)
			case 'n':
				end = d.lit(i, "null")
				det.Camera = ""
			default:
				end = d.value(i)
				v.set(rankCamera, ReasonBadCamera, "camera must be a string")
			}
			if dup {
				v.set(rankCamera, ReasonBadCamera, "duplicate key camera")
			}
		}
		if end < 0 {
			return -1, "", ""
		}
		i = d.ws(end)
		if i < len(msg) && msg[i] == ',' {
			i = d.ws(i + 1)
			continue
		}
		if i < len(msg) && msg[i] == '}' {
			i++
			break
		}
		return d.fail(i, "expected ',' or '}' after object value"), "", ""
	}
done:
	d.depth--
	// A missing (or null) required field outranks any lower-ranked problem.
	if have&fID == 0 {
		v.set(rankID, ReasonBadID, "id is required")
	}
	if have&fAt == 0 {
		v.set(rankAt, ReasonBadTime, "at is required")
	}
	if have&fArea == 0 {
		v.set(rankArea, ReasonBadArea, "area is required")
	}
	if have&fProduct == 0 {
		v.set(rankProduct, ReasonBadProduct, "product is required")
	}
	if v.rank == 0 {
		switch {
		case det.At.Before(d.oldest):
			v.set(rankTime, ReasonTooOld, "at is older than the retention horizon")
		case det.At.After(d.latest):
			v.set(rankTime, ReasonInFuture, "at is more than the allowed margin in the future")
		}
	}
	return i, v.reason, v.detail
}

// camera returns b as a string, reusing a copy made earlier in the same
// message: edges usually repeat one camera id in every element.
func (d *decoder) camera(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	for k := 0; k < d.ncam; k++ {
		if d.cams[k] == string(b) {
			return d.cams[k]
		}
	}
	s := string(b)
	if d.ncam < len(d.cams) {
		d.cams[d.ncam] = s
		d.ncam++
	}
	return s
}

// checkCamera returns why b is not an acceptable camera id, or "".
func checkCamera(b []byte) string {
	if len(b) > MaxCameraBytes {
		return "camera is longer than 64 bytes"
	}
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f {
				return "camera contains a control character"
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return "camera is not valid UTF-8"
		}
		if r >= 0x80 && r <= 0x9f {
			return "camera contains a control character"
		}
		i += size
	}
	return ""
}

// value skips any JSON value starting at msg[i], checking its syntax.
func (d *decoder) value(i int) int {
	msg := d.msg
	if i >= len(msg) {
		return d.fail(i, "unexpected end of input")
	}
	switch c := msg[i]; {
	case c == '"':
		end, _ := d.str(i)
		return end
	case c == '-' || c >= '0' && c <= '9':
		end, _ := d.number(i)
		return end
	case c == 't':
		return d.lit(i, "true")
	case c == 'f':
		return d.lit(i, "false")
	case c == 'n':
		return d.lit(i, "null")
	case c == '{':
		return d.skipContainer(i, '}')
	case c == '[':
		return d.skipContainer(i, ']')
	}
	return d.fail(i, "invalid character looking for a value")
}

// skipContainer skips an object (close == '}') or array (close == ']').
func (d *decoder) skipContainer(i int, close byte) int {
	msg := d.msg
	d.depth++
	if d.depth > maxNestingDepth {
		return d.fail(i, "nesting too deep")
	}
	i = d.ws(i + 1)
	if i < len(msg) && msg[i] == close {
		d.depth--
		return i + 1
	}
	for {
		if close == '}' {
			if i >= len(msg) || msg[i] != '"' {
				return d.fail(i, "expected string key")
			}
			if i, _ = d.str(i); i < 0 {
				return -1
			}
			i = d.ws(i)
			if i >= len(msg) || msg[i] != ':' {
				return d.fail(i, "expected ':' after object key")
			}
			i = d.ws(i + 1)
		}
		if i = d.value(i); i < 0 {
			return -1
		}
		i = d.ws(i)
		if i < len(msg) && msg[i] == ',' {
			i = d.ws(i + 1)
			continue
		}
		if i < len(msg) && msg[i] == close {
			d.depth--
			return i + 1
		}
		return d.fail(i, "expected ',' or '"+string(close)+"'")
	}
}

// plain marks the bytes that may appear unescaped in a JSON string and need
// no further attention: everything but control characters, '"' and '\\'.
var plain = func() (t [256]bool) {
	for c := range t {
		t[c] = c >= 0x20 && c != '"' && c != '\\'
	}
	return t
}()

// str scans the string starting at msg[i] == '"'. It reports whether the string
// contains escapes.
func (d *decoder) str(i int) (int, bool) {
	msg := d.msg
	esc := false
	i++
	for {
		for i < len(msg) && plain[msg[i]] {
			i++
		}
		if i >= len(msg) {
			return d.fail(i, "unterminated string"), false
		}
		switch c := msg[i]; {
		case c == '"':
			return i + 1, esc
		case c < 0x20:
			return d.fail(i, "control character in string"), false
		}
		// backslash
		esc = true
		if i+1 >= len(msg) {
			return d.fail(i+1, "unterminated string"), false
		}
		switch msg[i+1] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			i += 2
		case 'u':
			for k := i + 2; k < i+6; k++ {
				if k >= len(msg) || unhex(msg[k]) < 0 {
					return d.fail(k, "invalid \\u escape"), false
				}
			}
			i += 6
		default:
			return d.fail(i+1, "invalid escape"), false
		}
	}
}

// number scans a JSON number starting at msg[i]; isInt reports that it has no
// fraction and no exponent.
func (d *decoder) number(i int) (end int, isInt bool) {
	msg := d.msg
	if msg[i] == '-' {
		i++
	}
	switch {
	case i < len(msg) && msg[i] == '0':
		i++
	case i < len(msg) && msg[i] >= '1' && msg[i] <= '9':
		for i++; i < len(msg) && msg[i] >= '0' && msg[i] <= '9'; i++ {
		}
	default:
		return d.fail(i, "invalid number"), false
	}
	isInt = true
	if i < len(msg) && msg[i] == '.' {
		isInt = false
		i++
		s := i
		for i < len(msg) && msg[i] >= '0' && msg[i] <= '9' {
			i++
		}
		if i == s {
			return d.fail(i, "invalid number: no digit after '.'"), false
		}
	}
	if i < len(msg) && (msg[i] == 'e' || msg[i] == 'E') {
		isInt = false
		i++
		if i < len(msg) && (msg[i] == '+' || msg[i] == '-') {
			i++
		}
		s := i
		for i < len(msg) && msg[i] >= '0' && msg[i] <= '9' {
			i++
		}
		if i == s {
			return d.fail(i, "invalid number: no digit in exponent"), false
		}
	}
	return i, isInt
}

func (d *decoder) lit(i int, lit string) int {
	if len(d.msg)-i >= len(lit) && string(d.msg[i:i+len(lit)]) == lit {
		return i + len(lit)
	}
	return d.fail(i, "invalid literal")
}

// parseUint parses decimal digits; ok is false on overflow.
func parseUint(b []byte) (n uint64, ok bool) {
	if len(b) > 20 {
		return 0, false
	}
	for _, c := range b {
		d := uint64(c - '0')
		if n > (1<<64-1-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

func unhex(c byte) rune {
	switch {
	case c >= '0' && c <= '9':
		return rune(c - '0')
	case c >= 'a' && c <= 'f':
		return rune(c - 'a' + 10)
	case c >= 'A' && c <= 'F':
		return rune(c - 'A' + 10)
	}
	return -1
}

func hex4(b []byte) rune {
	return unhex(b[0])<<12 | unhex(b[1])<<8 | unhex(b[2])<<4 | unhex(b[3])
}

// unescape appends the decoded content of a JSON string (without quotes,
// already syntax-checked by str) to dst. ok is false for a lone UTF-16
// surrogate.
func unescape(dst, s []byte) ([]byte, bool) {
	for i := 0; i < len(s); {
		c := s[i]
		if c != '\\' {
			dst = append(dst, c)
			i++
			continue
		}
		switch s[i+1] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r := hex4(s[i+2:])
			i += 6
			if r >= 0xD800 && r < 0xDC00 {
				if i+6 > len(s) || s[i] != '\\' || s[i+1] != 'u' {
					return dst, false
				}
				r2 := hex4(s[i+2:])
				if r2 < 0xDC00 || r2 > 0xDFFF {
					return dst, false
				}
				r = 0x10000 + (r-0xD800)<<10 + (r2 - 0xDC00)
				i += 6
			} else if r >= 0xDC00 && r <= 0xDFFF {
				return dst, false
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default: // '"', '\\', '/'
			dst = append(dst, s[i+1])
		}
		i += 2
	}
	return dst, true
}

// Unix milliseconds of 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z.
const (
	minMilli = -62135596800000
	maxMilli = 253402300799999
)

// parseTime parses an RFC 3339 date-time (YYYY-MM-DDTHH:MM:SS[.frac]ZONE,
// ZONE = Z | ±hh:mm, T and Z in either case) and returns Unix milliseconds,
// with the fraction truncated to milliseconds.
func parseTime(b []byte) (int64, bool) {
	if len(b) < 20 || b[4] != '-' || b[7] != '-' || (b[10] != 'T' && b[10] != 't') || b[13] != ':' || b[16] != ':' {
		return 0, false
	}
	year, ok1 := digits(b[0:4])
	month, ok2 := digits(b[5:7])
	day, ok3 := digits(b[8:10])
	hour, ok4 := digits(b[11:13])
	minute, ok5 := digits(b[14:16])
	sec, ok6 := digits(b[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) {
		return 0, false
	}
	if month < 1 || month > 12 || day < 1 || day > daysIn(month, year) || hour > 23 || minute > 59 || sec > 59 {
		return 0, false
	}
	i := 19
	var milli int64
	if b[i] == '.' {
		i++
		s := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			if i-s < 3 {
				milli = milli*10 + int64(b[i]-'0')
			}
			i++
		}
		switch i - s {
		case 0:
			return 0, false
		case 1:
			milli *= 100
		case 2:
			milli *= 10
		}
	}
	if i >= len(b) {
		return 0, false
	}
	var off int64
	switch b[i] {
	case 'Z', 'z':
		i++
	case '+', '-':
		if len(b)-i < 6 || b[i+3] != ':' {
			return 0, false
		}
		oh, ok1 := digits(b[i+1 : i+3])
		om, ok2 := digits(b[i+4 : i+6])
		if !ok1 || !ok2 || oh > 23 || om > 59 {
			return 0, false
		}
		off = oh*3600 + om*60
		if b[i] == '-' {
			off = -off
		}
		i += 6
	default:
		return 0, false
	}
	if i != len(b) {
		return 0, false
	}
	secs := daysFromCivil(year, month, day)*86400 + hour*3600 + minute*60 + sec - off
	ms := secs*1000 + milli
	if ms < minMilli || ms > maxMilli {
		return 0, false
	}
	return ms, true
}

func digits(b []byte) (int64, bool) {
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

func daysIn(month, year int64) int64 {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil returns the number of days from 1970-01-01 to y-m-d in the
// proleptic Gregorian calendar (H. Hinnant's algorithm).
func daysFromCivil(y, m, d int64) int64 {
	if m <= 2 {
		y--
	}
	era := y
	if era < 0 {
		era -= 399
	}
	era /= 400
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// AppendJSON appends d in the wire format of the detection message (ok and
// conf and camera only when they differ from their defaults). Decode of the
// result yields d again when d is valid.
func AppendJSON(b []byte, d Detection) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendUint(b, d.ID, 10)
	b = append(b, `,"at":"`...)
	b = d.At.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
	b = append(b, `","area":`...)
	b = strconv.AppendInt(b, d.Area, 10)
	b = append(b, `,"product":`...)
	b = strconv.AppendInt(b, d.Product, 10)
	if !d.OK {
		b = append(b, `,"ok":false`...)
	}
	if d.HasConf {
		b = append(b, `,"conf":`...)
		b = strconv.AppendFloat(b, float64(d.Conf), 'g', -1, 32)
	}
	if d.Camera != "" {
		b = append(b, `,"camera":`...)
		b = appendString(b, d.Camera)
	}
	return append(b, '}')
}

// appendString appends s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
