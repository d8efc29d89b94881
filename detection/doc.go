// Package detection is the wire format of the detection message: what an edge device
// publishes on lp.<tenant>.line.<line>.det, how it is decoded, which timestamps are
// valid, and what a rejection looks like on lp.<tenant>.dlq. It imports nothing from
// LinePulse, so every consumer of the stream (the batch writer in ingest, the KPI engine
// in stream, the simulator) decodes and judges a message with the same code.
//
// # The message
//
// The "Detection message" of the contract (docs/CONTRACT.md):
//
//	UTF-8 JSON, one object or an array of up to MaxElements (1000) objects, at most
//	MaxBytes (64 KiB).
//
//	field    type                           required  meaning
//	id       unsigned 64-bit integer > 0     yes       chosen by the edge, unique per line
//	at       RFC 3339 timestamp with zone    yes       when the product was seen; truncated to ms
//	area     integer 1..2^31-1               yes       AREA id within the line
//	product  integer 1..2^31-1               yes       PRODUCT id
//	ok       boolean                         no (true) false = defective / rejected
//	conf     number 0..1                     no        detector confidence
//	camera   string, at most 64 bytes        no        camera id
//
// Decode turns a message into Detections and Rejected elements; AppendJSON writes a
// Detection in this format (what the simulator and the tests publish).
//
// # Validity: one rule, one clock
//
// A detection is valid only if its at lies within the message's Window, made by
// WindowAt(accepted, retentionDays):
//
//   - too_old: at is before accepted minus the tenant's retention_days (UTC calendar
//     days; no horizon when retention is 0);
//   - in_future: at is more than MaxFuture (5 min) after accepted.
//
// accepted is the message's stream time: the timestamp JetStream gave the message when
// LinePulse accepted it (jetstream.MsgMetadata.Timestamp). It is never the wall clock of
// the code handling the message. The batch writer and the KPI engine both pass the
// message's stream time and the tenant's retention, so a detection is stored exactly when
// it is counted in the live KPIs, however far behind either of them runs, and a replay
// decides exactly as the first pass did. The time check runs only on an element that is
// otherwise valid.
//
// # Dead letters
//
// Every rejected element, or the whole message (Index -1), is published by the writer on
// lp.<tenant>.dlq as DeadLetter JSON:
//
//	{"subject","reason","detail","index","raw","received_at"}
//
// raw is the element's text (at most MaxRawBytes, cut at a rune boundary), reason one of
// Reasons(): malformed_json, too_large, too_many_elements, empty, not_object, bad_id,
// bad_timestamp, too_old, in_future, bad_area, bad_product, bad_ok, bad_conf,
// bad_camera, unknown_line. The names are part of the contract (also as the label values
// of linepulse_ingest_rejected_total) and are never renamed. Decode produces all but
// unknown_line, which the writer sets when the subject names a line the tenant does not
// have (RejectMessage).
//
// # Decisions the contract leaves open, fixed here
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
package detection
