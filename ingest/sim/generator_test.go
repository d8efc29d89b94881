package sim

import (
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 2, 6, 0, 0, 0, time.UTC)

func realisticSpec() LineSpec {
	return LineSpec{
		Line:           3,
		Rate:           5,
		Jitter:         0.3,
		Areas:          []int64{11, 12, 13},
		Products:       []Product{{ID: 1, Weight: 3}, {ID: 2, Weight: 1}},
		RejectRatio:    0.05,
		Threshold:      30 * time.Second,
		StopEvery:      10 * time.Minute,
		StopFor:        2 * time.Minute,
		MicroStopEvery: 2 * time.Minute,
		MicroStopFor:   8 * time.Second,
		Camera:         "cam-3",
	}
}

func TestGeneratorTimeline(t *testing.T) {
	spec := realisticSpec()
	g, err := NewGenerator(spec, 42, t0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	maxRunning := time.Duration((1 + spec.Jitter) * float64(time.Second) / spec.Rate)
	var (
		stops, micros, n, rejects, prod1 int
		areas                            = map[int64]int{}
		prev                             = t0
		end                              = t0.Add(24 * time.Hour)
	)
	for ; ; n++ {
		d, gap := g.Next()
		if !d.At.Before(end) {
			break
		}
		if want := uint64(1000 + n); d.ID != want {
			t.Fatalf("detection %d: id %d, want %d", n, d.ID, want)
		}
		real := d.At.Sub(prev) // gap as seen in the data (millisecond precision)
		prev = d.At
		switch gap.Kind {
		case GapStop:
			stops++
			if real <= spec.Threshold {
				t.Fatalf("stop before detection %d lasts %s, not longer than the threshold %s", n, real, spec.Threshold)
			}
		case GapMicroStop:
			micros++
			if real >= spec.Threshold || real <= maxRunning {
				t.Fatalf("micro-stop before detection %d lasts %s: want between %s and %s", n, real, maxRunning, spec.Threshold)
			}
		default:
			if real > maxRunning+time.Millisecond || real < 0 {
				t.Fatalf("running gap before detection %d is %s, above the jittered interval %s", n, real, maxRunning)
			}
		}
		if !d.OK {
			rejects++
		}
		if d.Product == 1 {
			prod1++
		}
		areas[d.Area]++
		if !d.HasConf || d.Conf < 0.8 || d.Conf > 1 || d.Camera != "cam-3" {
			t.Fatalf("detection %d: conf %v (set %v), camera %q", n, d.Conf, d.HasConf, d.Camera)
		}
	}
	// One day: a stop every ~10 min of running time (mean cycle 12 min) and a micro-stop
	// every ~2 min. The timeline is deterministic, so these bounds only catch a broken
	// generator, never chance.
	if stops < 60 || stops > 200 {
		t.Errorf("%d stops in 24 h, want about 120", stops)
	}
	if micros < 300 || micros > 900 {
		t.Errorf("%d micro-stops in 24 h, want about 600", micros)
	}
	if r := float64(rejects) / float64(n); r < 0.04 || r > 0.06 {
		t.Errorf("reject ratio %.4f, want about 0.05", r)
	}
	if r := float64(prod1) / float64(n); r < 0.73 || r > 0.77 {
		t.Errorf("product 1 share %.4f, want about 0.75", r)
	}
	for _, a := range spec.Areas {
		if r := float64(areas[a]) / float64(n); r < 0.31 || r > 0.36 {
			t.Errorf("area %d share %.4f, want about 1/3", a, r)
		}
	}
	if len(areas) != 3 {
		t.Errorf("areas used: %v", areas)
	}
	t.Logf("24 h: %d detections, %d stops, %d micro-stops, %d rejects", n, stops, micros, rejects)
}

func TestGeneratorDeterministic(t *testing.T) {
	spec := realisticSpec()
	a, _ := NewGenerator(spec, 7, t0, 1)
	b, _ := NewGenerator(spec, 7, t0, 1)
	c, _ := NewGenerator(spec, 8, t0, 1)
	differ := false
	for i := range 5000 {
		da, ga := a.Next()
		db, gb := b.Next()
		dc, _ := c.Next()
		if da != db || ga != gb {
			t.Fatalf("detection %d differs with the same seed: %+v vs %+v", i, da, db)
		}
		differ = differ || da != dc
	}
	if !differ {
		t.Error("seeds 7 and 8 produced the same timeline")
	}
}

func TestGeneratorWithoutThreshold(t *testing.T) {
	spec := LineSpec{Line: 1, Rate: 10, StopEvery: time.Minute, StopFor: 20 * time.Second}
	g, err := NewGenerator(spec, 1, t0, 1)
	if err != nil {
		t.Fatal(err)
	}
	stops := 0
	for range 20000 {
		d, gap := g.Next()
		if d.Area != 1 || d.Product != 1 || !d.OK {
			t.Fatalf("defaults not applied: %+v", d)
		}
		if gap.Kind == GapStop {
			stops++
			if gap.Length < 10*time.Second || gap.Length > 30*time.Second {
				t.Fatalf("stop of %s, want StopFor ±50 %%", gap.Length)
			}
		} else if gap.Length != 100*time.Millisecond {
			t.Fatalf("without jitter every interval is 1/rate, got %s", gap.Length)
		}
	}
	if stops == 0 {
		t.Error("no stops generated")
	}
}

func TestMicroStopCappedBelowThreshold(t *testing.T) {
	spec := LineSpec{Line: 1, Rate: 10, Threshold: 10 * time.Second, MicroStopEvery: 10 * time.Second, MicroStopFor: 9 * time.Second}
	g, err := NewGenerator(spec, 1, t0, 1)
	if err != nil {
		t.Fatal(err)
	}
	micros := 0
	for range 20000 {
		if _, gap := g.Next(); gap.Kind == GapMicroStop {
			micros++
			if gap.Length >= spec.Threshold {
				t.Fatalf("micro-stop of %s reaches the threshold", gap.Length)
			}
		}
	}
	if micros == 0 {
		t.Error("no micro-stops generated")
	}
}

func TestLineSpecValidate(t *testing.T) {
	ok := LineSpec{Line: 1, Rate: 1}
	tests := []struct {
		name string
		mod  func(*LineSpec)
		want string
	}{
		{"line 0", func(s *LineSpec) { s.Line = 0 }, "line id must be at least 1"},
		{"no rate", func(s *LineSpec) { s.Rate = 0 }, "rate must be a positive"},
		{"jitter", func(s *LineSpec) { s.Jitter = 1 }, "jitter must be within"},
		{"area 0", func(s *LineSpec) { s.Areas = []int64{0} }, "area id 0 outside"},
		{"product weight", func(s *LineSpec) { s.Products = []Product{{ID: 1}} }, "weight must be positive"},
		{"product id", func(s *LineSpec) { s.Products = []Product{{ID: -1, Weight: 1}} }, "product id -1 outside"},
		{"reject", func(s *LineSpec) { s.RejectRatio = 1.5 }, "reject ratio"},
		{"stop not above threshold", func(s *LineSpec) {
			s.Threshold, s.StopEvery, s.StopFor = 30*time.Second, time.Minute, 30*time.Second
		}, "must exceed the downtime threshold"},
		{"stop without length", func(s *LineSpec) { s.StopEvery = time.Minute }, "must exceed"},
		{"micro-stop at threshold", func(s *LineSpec) {
			s.Threshold, s.MicroStopEvery, s.MicroStopFor = 30*time.Second, time.Minute, 30*time.Second
		}, "below the downtime threshold"},
		{"camera", func(s *LineSpec) { s.Camera = strings.Repeat("c", 65) }, "camera id longer"},
	}
	if err := ok.Validate(); err != nil {
		t.Fatalf("minimal spec rejected: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ok
			tt.mod(&s)
			err := s.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, tt.want)
			}
			if _, err := NewGenerator(s, 1, t0, 1); err == nil {
				t.Fatal("NewGenerator accepted an invalid spec")
			}
		})
	}
	if _, err := NewGenerator(ok, 1, t0, 0); err == nil {
		t.Error("first id 0 accepted")
	}
}

// TestGeneratorProductRuns: with RunEvery the product changes only at stops (the stop is
// the changeover), runs last about RunEvery, and every product of the mix gets runs.
func TestGeneratorProductRuns(t *testing.T) {
	spec := LineSpec{Line: 1, Rate: 10, Products: []Product{{ID: 1, Weight: 1}, {ID: 2, Weight: 1}, {ID: 3, Weight: 1}},
		Threshold: 10 * time.Second, StopEvery: 5 * time.Minute, StopFor: time.Minute, RunEvery: 30 * time.Minute}
	g, err := NewGenerator(spec, 7, t0, 1)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int64]bool{}
	var prev int64
	changes := 0
	for range 10 * 3600 * 10 { // about ten hours
		d, gap := g.Next()
		seen[d.Product] = true
		if prev != 0 && d.Product != prev {
			if gap.Kind != GapStop {
				t.Fatalf("product changed from %d to %d after a %s gap, want only after a stop", prev, d.Product, gap.Kind)
			}
			changes++
		}
		prev = d.Product
	}
	if len(seen) != 3 || changes < 5 || changes > 40 {
		t.Errorf("products %v, %d changes in ten hours, want all three and about 20 × (2/3)", seen, changes)
	}
	spec.RunEvery = -time.Second
	if spec.Validate() == nil {
		t.Error("a negative RunEvery was accepted")
	}
}
