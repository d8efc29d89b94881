package bus

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go"

	"github.com/linepulse/linepulse/detection"
)

// A stream message of LP_DET holds one device message or, written by the edge, several
// device messages of the same line (a pack): header PartsHeader lists the byte length
// of each, in order, and the body is their concatenation. Each part is a whole device
// message and is decoded on its own (its element indices, limits and dead letters are
// the device's), judged at the pack's stream time. A pack is how the edge keeps
// nats-server's per-message work (headers, de-duplication, staging of the atomic batch)
// per line and group rather than per device message.
const (
	// PartsHeader is "<len>,<len>,…": the byte lengths of a pack's parts.
	PartsHeader = "Lp-Parts"
	// maxParts bounds the parts of a pack (and so the length of its PartsHeader) that
	// Parts accepts.
	maxParts = 1000
)

// Pack is the stream message of LP_DET that holds parts, device messages of subject's
// line, in order. ids are their scoped Nats-Msg-Ids, one IDHeader value each ("", or
// ids shorter than parts: that part has none).
func Pack(subject string, parts [][]byte, ids []string) *nats.Msg {
	size := 0
	for _, p := range parts {
		size += len(p)
	}
	body := make([]byte, 0, size)
	lens := make([]byte, 0, 6*len(parts))
	for i, p := range parts {
		body = append(body, p...)
		if i > 0 {
			lens = append(lens, ',')
		}
		lens = strconv.AppendInt(lens, int64(len(p)), 10)
	}
	msg := &nats.Msg{Subject: subject, Data: body, Header: nats.Header{}}
	msg.Header.Set(PartsHeader, string(lens))
	for _, id := range ids {
		if id != "" {
			msg.Header.Add(IDHeader, id)
		}
	}
	return msg
}

// Parts calls fn with each device message a stream message of LP_DET holds, in order:
// its body when it has no PartsHeader. A malformed header (no edge writes one) yields
// the whole body as one part, which the decoder then judges.
func Parts(h nats.Header, data []byte, fn func(part []byte)) {
	v := h.Get(PartsHeader)
	if v == "" {
		fn(data)
		return
	}
	lens, err := parseParts(v, len(data))
	if err != nil {
		fn(data)
		return
	}
	off := 0
	for _, n := range lens {
		fn(data[off : off+n])
		off += n
	}
}

// DecodeParts decodes each device message of a stream message of LP_DET (Parts) with
// detection.Decode at w: the valid detections appended to dst, and the rejections of
// every part, in order, each with its index in its own part.
func DecodeParts(dst []detection.Detection, h nats.Header, data []byte, w detection.Window) ([]detection.Detection, []detection.Rejected) {
	var rej []detection.Rejected
	Parts(h, data, func(part []byte) {
		var r []detection.Rejected
		dst, r = detection.Decode(dst, part, w)
		rej = append(rej, r...)
	})
	return dst, rej
}

func parseParts(v string, total int) ([]int, error) {
	fields := strings.Split(v, ",")
	if len(fields) > maxParts {
		return nil, fmt.Errorf("%d parts, at most %d", len(fields), maxParts)
	}
	lens := make([]int, len(fields))
	sum := 0
	for i, f := range fields {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 || n > total-sum {
			return nil, fmt.Errorf("bad part length %q", f)
		}
		lens[i] = n
		sum += n
	}
	if sum != total {
		return nil, fmt.Errorf("parts sum to %d of %d bytes", sum, total)
	}
	return lens, nil
}
