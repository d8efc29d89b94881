package clock

import (
	"context"
	"testing"
	"time"
)

func TestSleep(t *testing.T) {
	if !Sleep(context.Background(), time.Millisecond) {
		t.Fatal("a full sleep reported as cut short")
	}
	if !Sleep(context.Background(), 0) {
		t.Fatal("a zero sleep with a live context reported as cut short")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if Sleep(ctx, time.Hour) {
		t.Fatal("a sleep on an ended context reported as full")
	}
	if Sleep(ctx, 0) {
		t.Fatal("a zero sleep on an ended context reported as full")
	}
}
