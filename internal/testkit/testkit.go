// Package testkit holds the helpers LinePulse's tests share: CheckFor, the one polling
// wait (for an outcome, never a timing), and Proxy, a TCP proxy that cuts and restores
// the connections to a server (a database outage). Only tests import it.
package testkit

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// CheckFor calls f every interval until it returns nil. If total passes first it fails
// the test with f's last error. total bounds a wait for an outcome (be generous: machines
// are noisy); it never times one.
func CheckFor(t testing.TB, total, interval time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(total)
	var err error
	for {
		if err = f(); err == nil {
			return
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(interval)
	}
	t.Fatalf("not within %v: %v", total, err)
}

// Unless is nil when ok, else an error formatted from format and args: the body of a
// CheckFor condition that says what it is still waiting for.
func Unless(ok bool, format string, args ...any) error {
	if ok {
		return nil
	}
	if len(args) == 0 {
		return errors.New(format)
	}
	return fmt.Errorf(format, args...)
}
