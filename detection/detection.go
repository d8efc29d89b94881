package detection

import (
	"time"
	"unicode/utf8"
)

// Detection is one validated detection. It is also the store's row type (store.Detection
// is this type), so a decoded batch goes to the writer without copying.
type Detection struct {
	ID      uint64
	At      time.Time // UTC, millisecond precision
	Area    int64
	Product int64
	OK      bool
	Conf    float32
	HasConf bool
	Camera  string
}

// Limits of the detection message: part of the contract, the same for every caller.
const (
	MaxBytes    = 64 << 10        // largest message in bytes
	MaxElements = 1000            // largest array
	MaxFuture   = 5 * time.Minute // how far after its stream time a detection may be

	MaxRawBytes    = 4 << 10   // Rejected.Raw is truncated to this many bytes (at a rune boundary)
	MaxCameraBytes = 64        // longest camera id in bytes
	MaxRefID       = 1<<31 - 1 // largest area / product id

	maxNestingDepth = 10000 // same as encoding/json
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
	ReasonTooLarge    Reason = "too_large"         // larger than MaxBytes (whole message)
	ReasonTooMany     Reason = "too_many_elements" // array longer than MaxElements (whole message)
	ReasonEmpty       Reason = "empty"             // empty message or empty array (whole message)
	ReasonNotObject   Reason = "not_object"        // top-level value or array element is not an object
	ReasonBadID       Reason = "bad_id"            // id missing, duplicated, not an integer, 0, negative or > 2^64-1
	ReasonBadTime     Reason = "bad_timestamp"     // at missing, duplicated or not an RFC 3339 timestamp with zone
	ReasonTooOld      Reason = "too_old"           // at before the retention horizon of the message's Window
	ReasonInFuture    Reason = "in_future"         // at more than MaxFuture after the message's stream time
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

// Rejected describes one rejected element, or the whole message when Index is
// -1.
type Rejected struct {
	Index  int    // position in the array (0 for the single-object form); -1 = whole message
	Reason Reason // stable code
	Detail string // short human-readable explanation
	Raw    string // raw text of the element (or of the message), at most MaxRawBytes bytes
}

// RejectMessage rejects a whole message (Index -1), for reasons decided outside Decode
// (ReasonUnknownLine). Raw is a copy of at most MaxRawBytes of msg.
func RejectMessage(r Reason, detail string, msg []byte) Rejected {
	return Rejected{Index: -1, Reason: r, Detail: detail, Raw: rawText(msg)}
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
