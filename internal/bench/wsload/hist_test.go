package wsload

import (
	"encoding/json"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestHistQuantilesWithinBucketError(t *testing.T) {
	var h Hist
	rng := rand.New(rand.NewPCG(1, 2))
	var vals []time.Duration
	for range 20000 {
		d := time.Duration(rng.ExpFloat64() * float64(20*time.Millisecond))
		vals = append(vals, d)
		h.Record(d)
	}
	slices.Sort(vals)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		exact := vals[int(q*float64(len(vals)))-1]
		got := h.Quantile(q)
		if got < exact-time.Microsecond || float64(got) > float64(exact)*1.02+float64(time.Microsecond) {
			t.Errorf("q%.3f = %v, exact %v", q, got, exact)
		}
	}
	if h.Max() != vals[len(vals)-1].Truncate(time.Microsecond) || h.Count() != 20000 {
		t.Fatalf("max %v count %d", h.Max(), h.Count())
	}
	for i := range histBuckets - 1 {
		if bucketOf(upper(i)) != i || bucketOf(upper(i)+1) != i+1 {
			t.Fatalf("bucket %d: upper %d maps to %d", i, upper(i), bucketOf(upper(i)))
		}
	}
	// through JSON (parent and child processes) and Merge
	b, err := json.Marshal(&h)
	if err != nil {
		t.Fatal(err)
	}
	var back, sum Hist
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	sum.Merge(&back)
	sum.Merge(&h)
	if sum.Count() != 40000 || sum.Quantile(0.99) != h.Quantile(0.99) || sum.Max() != h.Max() {
		t.Fatalf("merged %d %v %v", sum.Count(), sum.Quantile(0.99), sum.Max())
	}
	var empty Hist
	if empty.Quantile(0.99) != 0 {
		t.Fatal("empty histogram")
	}
}
