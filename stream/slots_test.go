package stream

import "testing"

func TestPublishSlots(t *testing.T) {
	for _, tc := range []struct {
		rate float64
		want int
	}{{4, 10}, {0.5, 10}, {20, 5}, {50, 2}, {100, 1}, {1000, 1}} {
		if got := PublishSlots(tc.rate); got != tc.want {
			t.Errorf("PublishSlots(%v) = %d, want %d", tc.rate, got, tc.want)
		}
	}
	// A tenant's consecutive line ids fill the slots evenly; every slot is in range.
	per := make([]int, 10)
	for line := int64(101); line <= 150; line++ {
		s := PublishSlot(3, line, 10)
		if s < 0 || s >= 10 {
			t.Fatalf("slot %d out of range", s)
		}
		per[s]++
	}
	for s, n := range per {
		if n != 5 {
			t.Fatalf("slot %d has %d of 50 lines: %v", s, n, per)
		}
	}
	if PublishSlot(1, 1, 1) != 0 {
		t.Fatal("one slot: every line in slot 0")
	}
}
