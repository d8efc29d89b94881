package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/linepulse/linepulse/bus"
	"github.com/linepulse/linepulse/bus/bustest"
)

func TestSimCommandPublishes(t *testing.T) {
	b := bustest.Run(t, func(c *bus.Config) {
		c.Devices = bustest.Devices(map[string]bustest.Cred{"acme.edge-1": {Password: "edge-secret", Lines: []int64{1, 2}}})
	})
	var out, errOut bytes.Buffer
	env := func(k string) string {
		if k == "LINEPULSE_PASSWORD" {
			return "edge-secret" // the recommended way to pass the secret
		}
		return ""
	}
	code := run(context.Background(), []string{"sim", "--url", b.ClientURL(), "--user", "acme.edge-1", "--lines", "1,2",
		"--rate", "200", "--batch", "10", "--products", "1:3,2:1", "--areas", "1=1,2;2=3", "--duration", "1500ms",
		"--log-every", "0", "--format", "json"}, strings.NewReader(""), &out, &errOut, env)
	if code != 0 {
		t.Fatalf("sim exited %d: %s", code, errOut.String())
	}
	var sum struct{ Published, Acked, Unacked int64 }
	if err := json.Unmarshal(out.Bytes(), &sum); err != nil {
		t.Fatalf("summary %q: %v", out.String(), err)
	}
	if sum.Published == 0 || sum.Acked != sum.Published || sum.Unacked != 0 {
		t.Fatalf("summary %+v: want everything published acknowledged", sum)
	}
}

func TestSimCommandRejects(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"sim", "--lines", "1"}, "--user and --password are required"},
		{[]string{"sim", "--user", "nodot", "--password", "x", "--lines", "1"}, "is not <tenant>.<device>"},
		{[]string{"sim", "--user", "acme.e", "--password", "x", "--tenant", "other", "--lines", "1"}, "does not match"},
		{[]string{"sim", "--user", "acme.e", "--password", "x", "--lines", "0"}, "--lines"},
		{[]string{"sim", "--user", "acme.e", "--password", "x", "--lines", "1", "--products", "1:-2"}, "bad weight"},
		{[]string{"sim", "--user", "acme.e", "--password", "x", "--lines", "1,2", "--areas", "1=3"}, "no areas given for line 2"},
		{[]string{"sim", "--user", "acme.e", "--password", "x", "--lines", "1", "--url", "nats://127.0.0.1:1"}, "cannot connect"},
	}
	for _, tt := range tests {
		code, _, errOut := runCLI(t, "", tt.args...)
		if code != 1 || !strings.Contains(errOut, tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want 1 and %q", tt.args, code, errOut, tt.want)
		}
	}
}
