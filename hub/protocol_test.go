package hub

import (
	"bytes"
	"encoding/binary"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestDecodeClientMessage(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want ClientMessage
		code string
	}{
		{in: `{"op":"subscribe","lines":[1,2]}`, want: ClientMessage{Op: OpSubscribe, Lines: []int64{1, 2}}},
		{in: ` {"lines":[3,3,1],"op":"unsubscribe"} `, want: ClientMessage{Op: OpUnsubscribe, Lines: []int64{3, 1}}},
		{in: `{"op":"resume","line":1,"seq":1200}`, want: ClientMessage{Op: OpResume, Line: 1, Seq: 1200}},
		{in: `{"op":"resume","line":1,"seq":0}`, want: ClientMessage{Op: OpResume, Line: 1}},
		{in: `{"op":"resume","line":9223372036854775807,"seq":18446744073709551615}`, want: ClientMessage{Op: OpResume, Line: 1<<63 - 1, Seq: 1<<64 - 1}},
		{in: `{"op":"dance"}`, code: CodeUnknownOp},
		{in: `{"op":""}`, code: CodeUnknownOp},
		{in: `{"op":"` + strings.Repeat("x", 100) + `"}`, code: CodeUnknownOp},
		{in: `{}`, code: CodeBadRequest},
		{in: `null`, code: CodeBadRequest},
		{in: `[]`, code: CodeBadRequest},
		{in: `"subscribe"`, code: CodeBadRequest},
		{in: ``, code: CodeBadRequest},
		{in: `{"op":1}`, code: CodeBadRequest},
		{in: `{"op":"subscribe"}`, code: CodeBadRequest},
		{in: `{"op":"subscribe","lines":null}`, code: CodeBadRequest},
		{in: `{"op":"subscribe","lines":[]}`, code: CodeBadRequest},
		{in: `{"op":"subscribe","lines":[0]}`, code: CodeBadRequest},
		{in: `{"op":"subscribe","lines":[-3]}`, code: CodeBadRequest},
		{in: `{"op":"subscribe","lines":[1.5]}`, code: CodeBadRequest},
		{in: `{"op":"subscribe","lines":[1e3]}`, code: CodeBadRequest},
		{in: `{"op":"subscribe","lines":["1"]}`, code: CodeBadRequest},
		{in: `{"op":"subscribe","lines":[9223372036854775808]}`, code: CodeBadRequest},
		{in: `{"op":"subscribe","lines":{"a":1}}`, code: CodeBadRequest},
		{in: `{"op":"subscribe","lines":[1],"line":1}`, code: CodeBadRequest},
		{in: `{"op":"subscribe","lines":[1],"extra":true}`, code: CodeBadRequest},
		{in: `{"op":"subscribe","lines":[1]} {}`, code: CodeBadRequest},
		{in: `{"op":"subscribe","lines":[1]`, code: CodeBadRequest},
		{in: `{"op":"subscribe","lines":[` + strings.Repeat("1,", MaxLinesPerMessage) + `1]}`, code: CodeBadRequest},
		{in: `{"op":"resume","line":0,"seq":1}`, code: CodeBadRequest},
		{in: `{"op":"resume","line":1,"seq":-1}`, code: CodeBadRequest},
		{in: `{"op":"resume","line":1}`, code: CodeBadRequest},
		{in: `{"op":"resume","seq":1}`, code: CodeBadRequest},
		{in: `{"op":"resume","line":"1","seq":1}`, code: CodeBadRequest},
		{in: `{"op":"resume","line":1,"seq":1,"lines":[1]}`, code: CodeBadRequest},
		{in: `{"op":"subscribe","lines":[1]}` + strings.Repeat(" ", MaxClientMessageBytes), code: CodeBadRequest},
	} {
		got, perr := DecodeClientMessage([]byte(tc.in))
		if tc.code != "" {
			if perr == nil || perr.Code != tc.code || perr.Message == "" {
				t.Errorf("%.60s: got %+v, %v; want error %s", tc.in, got, perr, tc.code)
			}
			continue
		}
		if perr != nil || got.Op != tc.want.Op || !slices.Equal(got.Lines, tc.want.Lines) || got.Line != tc.want.Line || got.Seq != tc.want.Seq {
			t.Errorf("%s: got %+v, %v; want %+v", tc.in, got, perr, tc.want)
		}
	}
}

// FuzzDecodeClientMessage: any input is either refused with a client-readable error or
// yields a message whose fields respect the documented limits.
func FuzzDecodeClientMessage(f *testing.F) {
	for _, s := range []string{
		`{"op":"subscribe","lines":[1,2]}`, `{"op":"unsubscribe","lines":[1]}`,
		`{"op":"resume","line":1,"seq":1200}`, `{"op":"x"}`, `{"op":"subscribe","lines":[1,1,1e2]}`,
		`{"op":"resume","line":1,"seq":1,"seq":2}`, "\xff", `{"OP":"resume","LINE":2,"SEQ":3}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, perr := DecodeClientMessage(b)
		if perr != nil {
			switch perr.Code {
			case CodeBadRequest, CodeUnknownOp:
			default:
				t.Fatalf("unexpected code %q", perr.Code)
			}
			if perr.Message == "" || len(perr.Message) > 300 || !utf8.ValidString(perr.Message) {
				t.Fatalf("bad error message %q", perr.Message)
			}
			// the error frame built from it is valid
			if f := errorFrame(perr.Code, "", 0, perr.Message); !utf8.Valid(f.data[frameHeaderLen(f.data):]) {
				t.Fatal("error frame is not UTF-8")
			}
			return
		}
		if len(b) > MaxClientMessageBytes {
			t.Fatalf("accepted %d bytes", len(b))
		}
		switch m.Op {
		case OpSubscribe, OpUnsubscribe:
			if len(m.Lines) == 0 || len(m.Lines) > MaxLinesPerMessage {
				t.Fatalf("lines %v", m.Lines)
			}
			seen := map[int64]bool{}
			for _, l := range m.Lines {
				if l <= 0 || seen[l] {
					t.Fatalf("lines %v", m.Lines)
				}
				seen[l] = true
			}
		case OpResume:
			if m.Line <= 0 || m.Lines != nil {
				t.Fatalf("resume %+v", m)
			}
		default:
			t.Fatalf("op %q accepted", m.Op)
		}
	})
}

func TestFrameHeader(t *testing.T) {
	for _, n := range []int{0, 1, 125, 126, 127, 65535, 65536, 70000} {
		f := textFrame(bytes.Repeat([]byte("a"), n))
		if f[0] != 0x81 {
			t.Fatalf("%d: first byte %x", n, f[0])
		}
		hl := frameHeaderLen(f)
		var got int
		switch l := int(f[1]); {
		case l <= 125:
			got = l
		case l == 126:
			got = int(binary.BigEndian.Uint16(f[2:4]))
		default:
			got = int(binary.BigEndian.Uint64(f[2:10]))
		}
		if got != n || len(f) != hl+n {
			t.Fatalf("%d: header says %d, frame %d bytes with a %d-byte header", n, got, len(f), hl)
		}
	}
	if !bytes.Equal(pingFrame.data, []byte{0x89, 0}) {
		t.Fatalf("ping frame %x", pingFrame.data)
	}
}

func TestSnapshotFromKPI(t *testing.T) {
	f, ok := snapshotFromKPI([]byte(`{"type":"kpi","line":3,"seq":9,"oee":0.5}`))
	if !ok || string(f.data[2:]) != `{"type":"snapshot","line":3,"seq":9,"oee":0.5}` {
		t.Fatalf("%q %v", f.data, ok)
	}
	if _, ok := snapshotFromKPI([]byte(`{"line":3,"type":"kpi"}`)); ok {
		t.Fatal("accepted a payload that does not start with the type")
	}
	if u := unknownSnapshot(4); string(u.data[2:]) != `{"type":"snapshot","line":4,"seq":0,"state":"unknown"}` {
		t.Fatalf("%q", u.data)
	}
}

func TestRing(t *testing.T) {
	r := newRing(4)
	if _, ok := r.after(0, nil); ok {
		t.Fatal("empty ring served a resume")
	}
	for s := uint64(10); s <= 15; s++ {
		r.push(&frame{seq: s})
	}
	seqs := func(fs []*frame) (out []uint64) {
		for _, f := range fs {
			out = append(out, f.seq)
		}
		return out
	}
	for _, tc := range []struct {
		after uint64
		want  []uint64
		ok    bool
	}{
		{11, []uint64{12, 13, 14, 15}, true},
		{13, []uint64{14, 15}, true},
		{15, nil, true},
		{10, nil, false}, // 11 is gone
		{16, nil, false}, // ahead of the ring
		{0, nil, false},
	} {
		got, ok := r.after(tc.after, nil)
		if ok != tc.ok || !slices.Equal(seqs(got), tc.want) {
			t.Errorf("after(%d) = %v %v, want %v %v", tc.after, seqs(got), ok, tc.want, tc.ok)
		}
	}
	r.reset()
	if _, ok := r.after(15, nil); ok {
		t.Fatal("reset ring served a resume")
	}
	newRing(0).push(&frame{seq: 1}) // no buffer: no panic
}
