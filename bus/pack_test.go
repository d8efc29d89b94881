package bus

import (
	"bytes"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
)

func collectParts(h nats.Header, data []byte) []string {
	var out []string
	Parts(h, data, func(p []byte) { out = append(out, string(p)) })
	return out
}

func TestParts(t *testing.T) {
	body := []byte(`{"id":1}[{"id":2},{"id":3}]{"id":4}`)
	cases := []struct {
		name   string
		header string
		want   []string
	}{
		{"no header: the body is one device message", "", []string{string(body)}},
		{"a pack", "8,19,8", []string{`{"id":1}`, `[{"id":2},{"id":3}]`, `{"id":4}`}},
		{"lengths short of the body", "8,19", []string{string(body)}},
		{"lengths past the body", "8,19,9", []string{string(body)}},
		{"a zero length", "8,0,19,8", []string{string(body)}},
		{"a negative length", "-8,43", []string{string(body)}},
		{"not a number", "8,x,8", []string{string(body)}},
		{"too many parts", strings.Repeat("1,", maxParts) + "1", []string{string(body)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := nats.Header{}
			if c.header != "" {
				h.Set(PartsHeader, c.header)
			}
			got := collectParts(h, body)
			if strings.Join(got, "|") != strings.Join(c.want, "|") {
				t.Fatalf("parts %q, want %q", got, c.want)
			}
		})
	}
}

// TestPackRoundTrip: Parts gives back what Pack packed, and the ids are IDHeader's values
// in the parts' order.
func TestPackRoundTrip(t *testing.T) {
	m := Pack("lp.acme.line.1.det", [][]byte{[]byte(`{"id":1}`), []byte(`[{"id":2}]`), []byte(`{"id":3}`)}, []string{"acme/1/a", "", "acme/1/c"})
	if got := strings.Join(collectParts(m.Header, m.Data), "|"); got != `{"id":1}|[{"id":2}]|{"id":3}` {
		t.Fatalf("parts %q", got)
	}
	if ids := m.Header.Values(IDHeader); strings.Join(ids, "|") != "acme/1/a|acme/1/c" {
		t.Fatalf("ids %q", ids)
	}
}

// FuzzParts: whatever the header, the parts are the body, in order, without a byte
// lost or added.
func FuzzParts(f *testing.F) {
	f.Add("8,19,8", []byte(`{"id":1}[{"id":2},{"id":3}]{"id":4}`))
	f.Add("", []byte(`{}`))
	f.Add("1,1", []byte(`ab`))
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		h := nats.Header{}
		h.Set(PartsHeader, header)
		var joined []byte
		Parts(h, body, func(p []byte) { joined = append(joined, p...) })
		if !bytes.Equal(joined, body) {
			t.Fatalf("parts join to %q, body %q", joined, body)
		}
	})
}
