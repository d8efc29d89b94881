package alert_test

import (
	"testing"
	"time"

	"github.com/linepulse/linepulse/alert"
)

// FuzzLinkVerify: an acknowledge token is untrusted input from a URL.
func FuzzLinkVerify(f *testing.F) {
	l, err := alert.NewLinks([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		f.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	good := l.Token(1, 2, 3, now.Add(time.Hour))
	f.Add(good)
	f.Add("")
	f.Add("a.b")
	f.Add(good[:len(good)-1])
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := l.Verify(tok, now)
		if err == nil && tok != good {
			t.Fatalf("forged token %q accepted as %+v", tok, c)
		}
	})
}

func TestLinks(t *testing.T) {
	if _, err := alert.NewLinks([]byte("short")); err == nil {
		t.Fatal("short key accepted")
	}
	l, _ := alert.NewLinks([]byte("0123456789abcdef0123456789abcdef"))
	now := time.Now()
	c, err := l.Verify(l.Token(7, 8, 9, now.Add(time.Minute)), now)
	if err != nil || c != (alert.LinkClaim{TenantID: 7, AlertID: 8, ChannelID: 9}) {
		t.Fatalf("verify: %+v %v", c, err)
	}
	if _, err := l.Verify(l.Token(7, 8, 9, now.Add(-time.Minute)), now); err == nil {
		t.Fatal("expired token accepted")
	}
}
