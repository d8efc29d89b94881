package bus

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go"
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
	// maxParts bounds a pack: nats-server refuses headers beyond its max_control_line
	// of 4 KiB only for the protocol line, but a short header keeps every pack cheap.
	maxParts = 1000
)

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
