package testkit

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// fatalTB records Fatalf instead of ending the test.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Helper() {}
func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
}

func TestCheckFor(t *testing.T) {
	n := 0
	CheckFor(t, time.Minute, time.Millisecond, func() error {
		n++
		return Unless(n == 3, "n is %d", n)
	})
	if n != 3 {
		t.Fatalf("polled %d times, want 3", n)
	}
	ft := &fatalTB{TB: t}
	n = 0
	CheckFor(ft, 5*time.Millisecond, time.Millisecond, func() error { n++; return fmt.Errorf("attempt %d", n) })
	if want := fmt.Sprintf("attempt %d", n); !strings.HasSuffix(ft.msg, want) {
		t.Fatalf("timeout reported %q, want the last error %q", ft.msg, want)
	}
	if Unless(true, "x") != nil || Unless(false, "x").Error() != "x" || Unless(false, "n=%d", 2).Error() != "n=2" {
		t.Fatal("Unless")
	}
}

func TestProxyCutAndRestore(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	p := NewProxy(t, ln.Addr().String())
	addr := p.Addr()
	echo := func() (net.Conn, error) {
		c, err := net.Dial("tcp", p.Addr())
		if err != nil {
			return nil, err
		}
		if _, err := c.Write([]byte("ping\n")); err != nil {
			return c, err
		}
		c.SetReadDeadline(time.Now().Add(time.Minute))
		line, err := bufio.NewReader(c).ReadString('\n')
		if err == nil && line != "ping\n" {
			err = errors.New("wrong echo " + line)
		}
		return c, err
	}
	c, err := echo()
	if err != nil {
		t.Fatal(err)
	}
	p.Cut()
	p.Cut()
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("a connection survived the cut")
	}
	if _, err := net.Dial("tcp", addr); err == nil {
		t.Fatal("the cut proxy accepts connections")
	}
	p.Restore()
	p.Restore()
	if p.Addr() != addr {
		t.Fatalf("restored on %s, was %s", p.Addr(), addr)
	}
	c, err = echo()
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}
