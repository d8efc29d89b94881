package audit

import (
	"bytes"
	"encoding/json"
	"testing"
)

func FuzzCanonicalJSON(f *testing.F) {
	for _, s := range []string{`{}`, `{"b":1,"a":[1,2,{"d":null,"c":"x"}]}`, `1.50`, `"<&>"`, `{"a":1e400}`, `[`, `{"a":"\u00e9"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c1, err := CanonicalJSON(data)
		if err != nil {
			return
		}
		c2, err := CanonicalJSON(c1)
		if err != nil || !bytes.Equal(c1, c2) {
			t.Fatalf("not idempotent: %q -> %q -> %q (%v)", data, c1, c2, err)
		}
		if !json.Valid(c1) {
			t.Fatalf("invalid output %q", c1)
		}
	})
}
