// Package telemetry is the wire format of a vision node's health message (leaf package),
// published by an edge node on lp.<tenant>.node.<node>.telemetry:
//
//	{"node":"edge-01","at":"2026-11-28T10:00:00.000Z","cpu_pct":41.5,"ram_pct":63.2,
//	 "gpu_temp_c":67,"gpu_mem_used_bytes":2147483648,
//	 "cameras":[{"id":"cam-01","fps":29.8,"status":"ok"}]}
//
// Decode is strict: at most MaxBytes, one JSON object, no unknown or repeated fields,
// node a valid name equal to the subject's, percentages in [0, 100], gpu_temp_c in
// [-50, 150], gpu_mem_used_bytes >= 0, at most MaxCameras cameras with unique ids, fps in
// [0, 1000], status one of CameraStatuses. Every field but node and at is optional
// (absent: 0, no cameras). Nothing of a refused message is used.
package telemetry

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"
)

// Limits of the contract.
const (
	MaxBytes   = 8 << 10
	MaxCameras = 64
	maxName    = 64
)

// CameraStatuses are the states a camera reports.
var CameraStatuses = []string{"ok", "degraded", "offline", "disabled"}

// Message is one telemetry message.
type Message struct {
	Node            string    `json:"node"`
	At              time.Time `json:"at"`
	CPUPct          float64   `json:"cpu_pct"`
	RAMPct          float64   `json:"ram_pct"`
	GPUTempC        float64   `json:"gpu_temp_c"`
	GPUMemUsedBytes int64     `json:"gpu_mem_used_bytes"`
	Cameras         []Camera  `json:"cameras"`
}

// Camera is one camera's state on its node.
type Camera struct {
	ID     string  `json:"id"`
	FPS    float64 `json:"fps"`
	Status string  `json:"status"`
}

// ErrInvalid is wrapped by every refusal.
var ErrInvalid = errors.New("invalid telemetry")

// Decode parses and checks one message published by node (the subject's node token).
func Decode(msg []byte, node string) (Message, error) {
	if len(msg) > MaxBytes {
		return Message{}, fmt.Errorf("%w: message is %d bytes, limit is %d", ErrInvalid, len(msg), MaxBytes)
	}
	if err := noRepeatedKeys(msg); err != nil {
		return Message{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	dec := json.NewDecoder(bytes.NewReader(msg))
	dec.DisallowUnknownFields()
	var m Message
	if err := dec.Decode(&m); err != nil {
		return Message{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Message{}, fmt.Errorf("%w: data after the object", ErrInvalid)
	}
	if err := m.check(node); err != nil {
		return Message{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	m.At = m.At.UTC()
	return m, nil
}

func (m *Message) check(node string) error {
	switch {
	case !ValidName(m.Node):
		return errors.New("node: required, 1-64 characters of [A-Za-z0-9_-]")
	case m.Node != node:
		return fmt.Errorf("node: %q does not match the subject's %q", m.Node, node)
	case m.At.IsZero():
		return errors.New("at: required (RFC 3339)")
	case !in(m.CPUPct, 0, 100):
		return errors.New("cpu_pct: must be 0-100")
	case !in(m.RAMPct, 0, 100):
		return errors.New("ram_pct: must be 0-100")
	case !in(m.GPUTempC, -50, 150):
		return errors.New("gpu_temp_c: must be -50-150")
	case m.GPUMemUsedBytes < 0:
		return errors.New("gpu_mem_used_bytes: must be >= 0")
	case len(m.Cameras) > MaxCameras:
		return fmt.Errorf("cameras: at most %d", MaxCameras)
	}
	seen := make(map[string]bool, len(m.Cameras))
	for i, c := range m.Cameras {
		switch {
		case !ValidName(c.ID):
			return fmt.Errorf("cameras[%d].id: required, 1-64 characters of [A-Za-z0-9_-]", i)
		case seen[c.ID]:
			return fmt.Errorf("cameras[%d].id: %q repeated", i, c.ID)
		case !in(c.FPS, 0, 1000):
			return fmt.Errorf("cameras[%d].fps: must be 0-1000", i)
		case !slices.Contains(CameraStatuses, c.Status):
			return fmt.Errorf("cameras[%d].status: must be one of %v", i, CameraStatuses)
		}
		seen[c.ID] = true
	}
	return nil
}

func in(v, lo, hi float64) bool { return !math.IsNaN(v) && v >= lo && v <= hi }

// ValidName says whether s can be a node or camera id (one NATS subject token).
func ValidName(s string) bool {
	if len(s) == 0 || len(s) > maxName {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// noRepeatedKeys refuses an object that names a field twice (encoding/json would keep the
// last silently), at any depth.
func noRepeatedKeys(msg []byte) error {
	dec := json.NewDecoder(bytes.NewReader(msg))
	type frame struct {
		obj  bool
		keys map[string]bool
		key  bool // the next string token is a key
	}
	var stack []frame
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		top := len(stack) - 1
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{':
				stack = append(stack, frame{obj: true, keys: map[string]bool{}, key: true})
			case '[':
				stack = append(stack, frame{})
			default:
				stack = stack[:top]
				if top > 0 && stack[top-1].obj {
					stack[top-1].key = true
				}
			}
			continue
		case string:
			if top >= 0 && stack[top].obj && stack[top].key {
				if stack[top].keys[v] {
					return fmt.Errorf("field %q repeated", v)
				}
				stack[top].keys[v] = true
				stack[top].key = false
				continue
			}
		}
		if top >= 0 && stack[top].obj {
			stack[top].key = true
		}
	}
}

// ParseSubject splits a telemetry subject, lp.<tenant>.node.<node>.telemetry.
func ParseSubject(subj string) (tenant, node string, ok bool) {
	p := strings.Split(subj, ".")
	if len(p) != 5 || p[0] != "lp" || p[2] != "node" || p[4] != "telemetry" || !ValidName(p[3]) {
		return "", "", false
	}
	return p[1], p[3], true
}
