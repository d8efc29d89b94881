package bus

import (
	"testing"
	"time"
)

// TestRecentIDs: an id is remembered with its sequence for the window, forgotten after
// it, the oldest is dropped beyond max, and a second put keeps the first sequence.
func TestRecentIDs(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)
	r := newRecentIDs(time.Minute, 3)
	a, b, c, d := keyOf("acme/1/a"), keyOf("acme/1/b"), keyOf("acme/1/c"), keyOf("acme/1/d")
	r.put(a, 1, t0)
	r.put(a, 9, t0) // a re-send read back from the stream keeps the first sequence
	r.put(b, 2, t0.Add(30*time.Second))
	if seq, ok := r.get(a, t0.Add(59*time.Second)); !ok || seq != 1 {
		t.Fatalf("a within the window: %d %v", seq, ok)
	}
	if _, ok := r.get(a, t0.Add(time.Minute)); ok {
		t.Fatal("a remembered after the window")
	}
	if seq, ok := r.get(b, t0.Add(time.Minute)); !ok || seq != 2 {
		t.Fatalf("b within its window: %d %v", seq, ok)
	}
	now := t0.Add(time.Minute)
	r.put(c, 3, now)
	r.put(d, 4, now)
	r.put(keyOf("acme/1/e"), 5, now) // four held: b, the oldest, goes
	if _, ok := r.get(b, now); ok || r.len() != 3 {
		t.Fatalf("b kept beyond max 3 (%d held)", r.len())
	}
	if keyOf("acme/1/a") == keyOf("globex/1/a") {
		t.Fatal("ids of two tenants share a key")
	}
}
