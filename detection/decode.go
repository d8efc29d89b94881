package detection

import (
	"math/bits"
	"strconv"
	"time"
	"unicode/utf8"
)

// Decode parses one device message within the limits of the contract (MaxBytes,
// MaxElements) and judges the timestamp of every element against w, the message's
// validity window (WindowAt: its stream time and the tenant's retention).
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
// Decode is a pure function of its arguments: it never reads a clock, never
// panics and never retains msg (the returned values share no memory with it).
// The accepted grammar and the decisions the contract leaves open are listed in
// the package documentation.
func Decode(dst []Detection, msg []byte, w Window) ([]Detection, []Rejected) {
	return decode(dst, msg, w, contractLimits)
}

// limits bounds what decode accepts; the contract's are contractLimits, smaller ones
// let tests and the fuzzer reach the bounds. A zero field takes the contract's value.
type limits struct {
	maxBytes    int
	maxElements int
}

var contractLimits = limits{maxBytes: MaxBytes, maxElements: MaxElements}

// Admit reports whether Decode would keep at least one detection of msg at w (ok),
// and when it would keep none, Decode's first rejection (a whole-message one, or the
// first element's). It decodes elements only until the first valid one and then only
// checks the syntax and the count of the rest, so admitting a good message costs a
// fraction of Decode and allocates nothing but its first camera string; a message it
// refuses is decoded in full, so its rejection is exactly Decode's.
func Admit(msg []byte, w Window) (first Rejected, ok bool) {
	return admit(msg, w, contractLimits)
}

func admit(msg []byte, w Window, lim limits) (Rejected, bool) {
	var one [1]Detection
	if dets, _ := decodeMode(one[:0], msg, w, lim, true); len(dets) > 0 {
		return Rejected{}, true
	}
	// Refused (rare): Decode's own verdict, with its exact detail.
	dets, rej := decode(nil, msg, w, lim)
	if len(dets) > 0 || len(rej) == 0 {
		return Rejected{}, true
	}
	return rej[0], false
}

func (l limits) withDefaults() limits {
	if l.maxBytes <= 0 {
		l.maxBytes = MaxBytes
	}
	if l.maxElements <= 0 {
		l.maxElements = MaxElements
	}
	return l
}

func decode(dst []Detection, msg []byte, w Window, lim limits) ([]Detection, []Rejected) {
	return decodeMode(dst, msg, w, lim, false)
}

// decodeMode is decode; with firstOnly it stops decoding an array's elements after
// the first valid one and only checks the syntax of the rest (Admit).
func decodeMode(dst []Detection, msg []byte, w Window, lim limits, firstOnly bool) ([]Detection, []Rejected) {
	lim = lim.withDefaults()
	if len(msg) > lim.maxBytes {
		return dst, whole(ReasonTooLarge, "message is "+strconv.Itoa(len(msg))+" bytes, limit is "+strconv.Itoa(lim.maxBytes), msg)
	}
	d := decoder{msg: msg, window: w, firstOnly: firstOnly}
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
		return d.array(dst, i, lim.maxElements)
	default:
		end := d.value(i)
		if end < 0 || !d.trailer(end) {
			return dst, d.malformed()
		}
		return dst, whole(ReasonNotObject, "message is neither an object nor an array of objects", msg)
	}
}

func whole(r Reason, detail string, msg []byte) []Rejected {
	return []Rejected{RejectMessage(r, detail, msg)}
}

// decoder holds the state of one Decode call. Scanning methods take a position
// in msg and return the position after what they scanned, or -1 after a
// syntax error, which is then recorded in errOff / errMsg.
type decoder struct {
	msg    []byte
	depth  int
	errOff int
	errMsg string
	window Window
	cams   [4]string // camera strings already copied in this message
	ncam   int
	// firstOnly: after the first valid element, array only checks the syntax of the rest.
	firstOnly bool
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
		switch {
		case d.firstOnly && len(dst) > base:
			end = d.value(j)
		case msg[j] == '{':
			dst = append(dst, Detection{})
			end, r, detail = d.object(j, &dst[len(dst)-1])
			if r != "" {
				dst = dst[:len(dst)-1]
			}
		default:
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
		var kbuf [64]byte
		ke, key := d.shortString(kbuf[:], i)
		if ke < 0 {
			return -1, "", ""
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
		switch {
		case f == fUnknown:
			end = d.value(i)
		case c == 'n': // null: the field is absent
			end = d.lit(i, "null")
			switch f {
			case fOK:
				det.OK = true
			case fConf:
				det.Conf, det.HasConf = 0, false
			case fCamera:
				det.Camera = ""
			}
		case f == fID || f == fArea || f == fProduct:
			var n uint64
			end, n = d.integer(i, f, dup, &v)
			if n != 0 {
				switch f {
				case fID:
					det.ID = n
				case fArea:
					det.Area = int64(n)
				default:
					det.Product = int64(n)
				}
				have |= uint(f)
			}
		case f == fAt:
			switch c {
			case '"':
				var (
					tbuf [64]byte
					s    []byte
				)
				end, s = d.shortString(tbuf[:], i)
				switch {
				case end < 0:
				case dup:
					v.set(rankAt, ReasonBadTime, "duplicate key at")
				default:
					ms, ok := parseTime(s)
					if !ok {
						v.set(rankAt, ReasonBadTime, "at must be an RFC 3339 timestamp with zone, years 0001..9999")
						break
					}
					det.At = time.UnixMilli(ms).UTC()
					have |= fAt
				}
			default:
				end = d.value(i)
				v.set(rankAt, ReasonBadTime, "at must be an RFC 3339 timestamp string")
			}
		case f == fOK:
			switch c {
			case 't':
				end = d.lit(i, "true")
				det.OK = true
			case 'f':
				end = d.lit(i, "false")
				det.OK = false
			default:
				end = d.value(i)
				v.set(rankOK, ReasonBadOK, "ok must be a boolean")
			}
		case f == fConf:
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
			default:
				end = d.value(i)
				v.set(rankConf, ReasonBadConf, "conf must be a number from 0 to 1")
			}
		default: // camera
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
			default:
				end = d.value(i)
				v.set(rankCamera, ReasonBadCamera, "camera must be a string")
			}
		}
		if end < 0 {
			return -1, "", ""
		}
		if dup { // after the value's own problem, which it does not replace (same rank)
			rank, reason, name := fieldSpec(f)
			v.set(rank, reason, "duplicate key "+name)
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
		if r, detail := d.window.check(det.At); r != "" {
			v.set(rankTime, r, detail)
		}
	}
	return i, v.reason, v.detail
}

// shortString scans the string starting at msg[i] == '"' and returns the position after
// it (-1 on a syntax error) and its content, unescaped into buf when needed. The content
// is nil when the escaped text is longer than buf or holds a lone surrogate: a key or a
// timestamp that long matches nothing anyway.
func (d *decoder) shortString(buf []byte, i int) (int, []byte) {
	end, esc := d.str(i)
	if end < 0 {
		return end, nil
	}
	s := d.msg[i+1 : end-1]
	if !esc {
		return end, s
	}
	if len(s) > len(buf) {
		return end, nil
	}
	u, ok := unescape(buf[:0], s)
	if !ok {
		return end, nil
	}
	return end, u
}

// fieldSpecs holds the rank, reason and key of each known field, in bit order.
var fieldSpecs = [...]struct {
	rank   int
	reason Reason
	name   string
}{
	{rankID, ReasonBadID, "id"}, {rankAt, ReasonBadTime, "at"}, {rankArea, ReasonBadArea, "area"},
	{rankProduct, ReasonBadProduct, "product"}, {rankOK, ReasonBadOK, "ok"}, {rankConf, ReasonBadConf, "conf"},
	{rankCamera, ReasonBadCamera, "camera"},
}

// fieldSpec returns the rank, reason and key of a known field.
func fieldSpec(f int) (int, Reason, string) {
	fs := fieldSpecs[bits.TrailingZeros(uint(f))]
	return fs.rank, fs.reason, fs.name
}

// integer scans the value of field f (id, area or product: a JSON integer from 1) at
// msg[i], which is not null. It returns the position after the value (-1 on a syntax
// error) and the number, or 0 when the value is not acceptable, which it records in v.
func (d *decoder) integer(i, f int, dup bool, v *verdict) (int, uint64) {
	rank, reason, name := fieldSpec(f)
	limit := uint64(MaxRefID)
	if f == fID {
		limit = 1<<64 - 1
	}
	msg := d.msg
	switch c := msg[i]; {
	case c == '-' || c >= '0' && c <= '9':
		end, isInt := d.number(i)
		if end < 0 {
			return end, 0
		}
		switch {
		case dup:
			v.set(rank, reason, "duplicate key "+name)
		case !isInt:
			v.set(rank, reason, name+" must be an integer")
		case c == '-':
			v.set(rank, reason, outOfRange(f, name, true))
		default:
			n, ok := parseUint(msg[i:end])
			switch {
			case !ok || n > limit:
				v.set(rank, reason, outOfRange(f, name, false))
			case n == 0:
				v.set(rank, reason, outOfRange(f, name, true))
			default:
				return end, n
			}
		}
		return end, 0
	default:
		v.set(rank, reason, name+" must be an integer")
		return d.value(i), 0
	}
}

// outOfRange is the detail for an integer field below 1 (small) or above its limit.
func outOfRange(f int, name string, small bool) string {
	switch {
	case f == fID && small:
		return "id must be > 0"
	case f == fID:
		return "id exceeds 2^64-1"
	case small:
		return name + " must be >= 1"
	}
	return name + " exceeds 2^31-1"
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
		i = d.digits(i + 1)
	default:
		return d.fail(i, "invalid number"), false
	}
	isInt = true
	if i < len(msg) && msg[i] == '.' {
		isInt = false
		s := i + 1
		if i = d.digits(s); i == s {
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
		if i = d.digits(s); i == s {
			return d.fail(i, "invalid number: no digit in exponent"), false
		}
	}
	return i, isInt
}

// digits returns the position after the decimal digits starting at msg[i].
func (d *decoder) digits(i int) int {
	for i < len(d.msg) && d.msg[i] >= '0' && d.msg[i] <= '9' {
		i++
	}
	return i
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
