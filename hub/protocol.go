package hub

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// Client operations (client → server), the binding WebSocket contract.
const (
	OpSubscribe   = "subscribe"
	OpUnsubscribe = "unsubscribe"
	OpResume      = "resume"
)

// Error codes of {"type":"error","code":...} frames.
const (
	CodeForbidden            = "forbidden"              // the line does not exist in the tenant or is not visible to the principal
	CodeBadRequest           = "bad_request"            // malformed JSON, missing or invalid fields, a frame too large
	CodeTooManySubscriptions = "too_many_subscriptions" // Config.MaxSubscriptions reached
	CodeUnknownOp            = "unknown_op"             // "op" is not subscribe, unsubscribe or resume
	CodeUnavailable          = "unavailable"            // the hub could not subscribe to the bus; retry later
)

// Close codes the hub uses (RFC 6455 §7.4; 4000-4999 are application codes).
const (
	// CloseTooSlow: the client could not take a downtime event within
	// Config.DowntimeDeadline, its queue overflowed, or a write timed out. Reconnect and resume.
	CloseTooSlow = 4008
	// CloseIdle: nothing (no message, no pong) was received for Config.IdleTimeout.
	CloseIdle = 4000
	// CloseRevoked: the credentials the connection was opened with were revoked (the
	// session ended: logout, refresh-token reuse, user change; or the kiosk token was
	// revoked). Do not resume with them: a new upgrade is refused with 401.
	CloseRevoked = 4001
	// ClosePolicy (1008): the client sent messages faster than Config.MessageRate
	// or sent a binary frame.
	ClosePolicy = 1008
	// CloseGoingAway (1001): the server is shutting down. Reconnect (to another instance) and resume.
	CloseGoingAway = 1001
)

// Decoder limits for client messages.
const (
	// MaxClientMessageBytes is the largest client message the decoder accepts.
	MaxClientMessageBytes = 4096
	// MaxLinesPerMessage is the longest "lines" array the decoder accepts.
	MaxLinesPerMessage = 256
)

// ClientMessage is one decoded client → server message.
type ClientMessage struct {
	Op    string  // OpSubscribe, OpUnsubscribe or OpResume
	Lines []int64 // subscribe, unsubscribe: line ids, each > 0, duplicates removed, order kept
	Line  int64   // resume: the line id (> 0)
	Seq   uint64  // resume: the last sequence number the client holds
}

// ProtocolError is a refused client message: Code is one of the Code* constants and
// Message says what is wrong, both sent back in an error frame.
type ProtocolError struct {
	Code    string
	Message string
}

func (e *ProtocolError) Error() string { return e.Code + ": " + e.Message }

func badRequest(format string, args ...any) *ProtocolError {
	return &ProtocolError{Code: CodeBadRequest, Message: fmt.Sprintf(format, args...)}
}

// DecodeClientMessage parses one client message: a JSON object of at most
// MaxClientMessageBytes with "op" and the fields of that op, nothing else.
// It never panics; every refusal is a *ProtocolError.
func DecodeClientMessage(b []byte) (ClientMessage, *ProtocolError) {
	if len(b) > MaxClientMessageBytes {
		return ClientMessage{}, badRequest("message of %d bytes exceeds %d", len(b), MaxClientMessageBytes)
	}
	var head struct {
		Op *string `json:"op"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return ClientMessage{}, badRequest("not a JSON object: %s", jsonErr(err))
	}
	if head.Op == nil {
		return ClientMessage{}, badRequest(`missing "op"`)
	}
	op := *head.Op
	switch op {
	case OpSubscribe, OpUnsubscribe, OpResume:
	default:
		if len(op) > 32 {
			op = op[:32] + "…"
		}
		return ClientMessage{}, &ProtocolError{Code: CodeUnknownOp, Message: fmt.Sprintf("unknown op %q: use subscribe, unsubscribe or resume", op)}
	}
	var body struct {
		Op    string          `json:"op"`
		Lines json.RawMessage `json:"lines"`
		Line  json.RawMessage `json:"line"`
		Seq   json.RawMessage `json:"seq"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		return ClientMessage{}, badRequest("%s: %s", op, jsonErr(err))
	}
	if dec.More() {
		return ClientMessage{}, badRequest("trailing data after the JSON object")
	}
	m := ClientMessage{Op: op}
	switch op {
	case OpSubscribe, OpUnsubscribe:
		if body.Line != nil || body.Seq != nil {
			return ClientMessage{}, badRequest(`%s takes only "lines"`, op)
		}
		lines, perr := decodeLines(op, body.Lines)
		if perr != nil {
			return ClientMessage{}, perr
		}
		m.Lines = lines
	case OpResume:
		if body.Lines != nil {
			return ClientMessage{}, badRequest(`resume takes "line" and "seq", not "lines"`)
		}
		line, ok := parseID(body.Line)
		if !ok {
			return ClientMessage{}, badRequest(`resume: "line" must be a positive integer`)
		}
		seq, ok := parseSeq(body.Seq)
		if !ok {
			return ClientMessage{}, badRequest(`resume: "seq" must be an integer ≥ 0`)
		}
		m.Line, m.Seq = line, seq
	}
	return m, nil
}

func decodeLines(op string, raw json.RawMessage) ([]int64, *ProtocolError) {
	if raw == nil {
		return nil, badRequest(`%s: missing "lines"`, op)
	}
	var nums []json.RawMessage
	if err := json.Unmarshal(raw, &nums); err != nil || nums == nil {
		return nil, badRequest(`%s: "lines" must be an array of line ids`, op)
	}
	if len(nums) == 0 {
		return nil, badRequest(`%s: "lines" is empty`, op)
	}
	if len(nums) > MaxLinesPerMessage {
		return nil, badRequest(`%s: %d lines exceed %d per message`, op, len(nums), MaxLinesPerMessage)
	}
	lines := make([]int64, 0, len(nums))
	seen := make(map[int64]bool, len(nums))
	for _, n := range nums {
		id, ok := parseID(n)
		if !ok {
			return nil, badRequest(`%s: line id %.24q is not a positive integer`, op, n)
		}
		if !seen[id] {
			seen[id] = true
			lines = append(lines, id)
		}
	}
	return lines, nil
}

func parseID(raw json.RawMessage) (int64, bool) {
	id, err := strconv.ParseInt(string(bytes.TrimSpace(raw)), 10, 64)
	return id, err == nil && id > 0
}

func parseSeq(raw json.RawMessage) (uint64, bool) {
	s, err := strconv.ParseUint(string(bytes.TrimSpace(raw)), 10, 64)
	return s, err == nil
}

// jsonErr shortens encoding/json errors to what a client can act on.
func jsonErr(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("invalid JSON at offset %d", se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field != "" {
			return fmt.Sprintf("field %q has the wrong type", te.Field)
		}
		return "expected a JSON object"
	}
	s := err.Error()
	if len(s) > 120 {
		s = s[:120]
	}
	return s
}

// errorPayload is the JSON of a server → client error frame.
type errorPayload struct {
	Type    string `json:"type"`
	Code    string `json:"code"`
	Op      string `json:"op,omitempty"`
	Line    int64  `json:"line,omitempty"`
	Message string `json:"message"`
}

// errorFrame returns a WebSocket text frame carrying {"type":"error",...}.
func errorFrame(code, op string, line int64, msg string) *frame {
	p, _ := json.Marshal(errorPayload{Type: "error", Code: code, Op: op, Line: line, Message: msg})
	return &frame{kind: kindError, data: textFrame(p)}
}

// appendFrameHeader appends the header of an unmasked, final WebSocket frame with
// opcode op and a payload of n bytes (RFC 6455 §5.2): what a server sends.
func appendFrameHeader(b []byte, op byte, n int) []byte {
	b = append(b, 0x80|op)
	switch {
	case n <= 125:
		return append(b, byte(n))
	case n <= 0xFFFF:
		return binary.BigEndian.AppendUint16(append(b, 126), uint16(n))
	default:
		return binary.BigEndian.AppendUint64(append(b, 127), uint64(n))
	}
}

const (
	opText = 0x1
	opPing = 0x9
)

// textFrame returns header + payload of one text frame, built once and shared by every
// connection it is written to.
func textFrame(payload []byte) []byte {
	b := appendFrameHeader(make([]byte, 0, len(payload)+10), opText, len(payload))
	return append(b, payload...)
}

var (
	kpiPrefix      = []byte(`{"type":"kpi"`)
	snapshotPrefix = []byte(`{"type":"snapshot"`)
)

// snapshotFromKPI turns the bytes of a KPI update into a snapshot frame by replacing the
// leading {"type":"kpi" with {"type":"snapshot" (the contract's rule). ok is false when
// the payload does not start that way.
func snapshotFromKPI(kpi []byte) (*frame, bool) {
	if !bytes.HasPrefix(kpi, kpiPrefix) {
		return nil, false
	}
	p := make([]byte, 0, len(kpi)+len(snapshotPrefix)-len(kpiPrefix))
	p = append(append(p, snapshotPrefix...), kpi[len(kpiPrefix):]...)
	return &frame{kind: kindSnapshot, data: textFrame(p)}, true
}

// unknownSnapshot is sent when no KPI has ever been published for the line.
func unknownSnapshot(line int64) *frame {
	p := []byte(`{"type":"snapshot","line":` + strconv.FormatInt(line, 10) + `,"seq":0,"state":"unknown"}`)
	return &frame{kind: kindSnapshot, line: line, data: textFrame(p)}
}
