package wsload

import (
	"encoding/json"
	"math/bits"
	"time"
)

// Hist is a log-linear latency histogram in microseconds: exact below 128 µs, then 64
// sub-buckets per power of two (≤ 1.6 % error). The zero value is ready to use.
type Hist struct {
	counts [histBuckets]uint64
	n      uint64
	max    int64 // µs
}

const histBuckets = 128 + 40*64

func bucketOf(us int64) int {
	if us < 128 {
		if us < 0 {
			return 0
		}
		return int(us)
	}
	e := bits.Len64(uint64(us)) - 7 // us >> e is in [64, 127]
	i := 128 + (e-1)*64 + int(us>>e-64)
	return min(i, histBuckets-1)
}

// upper returns the largest value (µs) that falls in bucket i.
func upper(i int) int64 {
	if i < 128 {
		return int64(i)
	}
	e := (i-128)/64 + 1
	m := int64((i-128)%64 + 64)
	return (m+1)<<e - 1
}

// Record adds one latency.
func (h *Hist) Record(d time.Duration) {
	us := d.Microseconds()
	h.counts[bucketOf(us)]++
	h.n++
	if us > h.max {
		h.max = us
	}
}

// Merge adds o into h.
func (h *Hist) Merge(o *Hist) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// Count is the number of recorded values.
func (h *Hist) Count() uint64 { return h.n }

// Max is the largest recorded value.
func (h *Hist) Max() time.Duration { return time.Duration(h.max) * time.Microsecond }

// Quantile returns the q-quantile (0 < q ≤ 1) as the upper bound of its bucket.
func (h *Hist) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n) + 0.5)
	rank = max(rank, 1)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return time.Duration(min(upper(i), h.max)) * time.Microsecond
		}
	}
	return h.Max()
}

type histJSON struct {
	N   uint64      `json:"n"`
	Max int64       `json:"max_us"`
	B   [][2]uint64 `json:"buckets"` // [index, count] of the non-empty buckets
}

// MarshalJSON writes the non-empty buckets (to pass a histogram between processes).
func (h *Hist) MarshalJSON() ([]byte, error) {
	j := histJSON{N: h.n, Max: h.max, B: [][2]uint64{}}
	for i, c := range h.counts {
		if c > 0 {
			j.B = append(j.B, [2]uint64{uint64(i), c})
		}
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (h *Hist) UnmarshalJSON(b []byte) error {
	var j histJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*h = Hist{n: j.N, max: j.Max}
	for _, bc := range j.B {
		if bc[0] < histBuckets {
			h.counts[bc[0]] = bc[1]
		}
	}
	return nil
}
