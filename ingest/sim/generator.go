package sim

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/linepulse/linepulse/detection"
)

// DefaultJitter is the interval spread the CLI and the demo use (±30 %).
const DefaultJitter = 0.3

// Product is one entry of a line's product mix.
type Product struct {
	ID     int64   // PRODUCT id, >= 1
	Weight float64 // relative share of the mix, > 0
}

// LineSpec describes one simulated line. The timeline it produces is a sequence of
// detections whose event times are spaced 1/Rate apart (± Jitter) while the line runs,
// interrupted by stops (gaps longer than the line's downtime threshold) and micro-stops
// (gaps shorter than it).
//
// Areas: a detection is one product seen at one area. Each detection is placed at one
// of Areas, chosen uniformly, so a line's total count equals its number of detections
// (a real line would see each product at every station; the simulator keeps the simple
// model so counts are easy to check).
type LineSpec struct {
	// Line is the PRODUCTION_LINE id (required, >= 1).
	Line int64
	// Rate is the mean number of detections per second while the line runs (required, > 0).
	Rate float64
	// Jitter is the relative spread of the interval between two detections: each
	// interval is uniform in [1-Jitter, 1+Jitter] / Rate. 0..0.9; 0 = none (see DefaultJitter).
	Jitter float64
	// Areas are the AREA ids detections are seen at. Default [1].
	Areas []int64
	// Products is the product mix. Default one product, id 1.
	Products []Product
	// RejectRatio is the fraction of detections with ok=false, 0..1. Default 0.
	RejectRatio float64
	// Threshold is the line's downtime threshold. When set, every stop is longer than it
	// and every micro-stop shorter; 0 = unknown (stops are StopFor ±50 %, unchecked).
	Threshold time.Duration
	// StopEvery is the mean running time between two stops (exponentially distributed,
	// so stops come at random intervals). 0 = no stops.
	StopEvery time.Duration
	// StopFor is the mean length of a stop (the gap between the last detection before
	// it and the first after it). A stop lasts Threshold + (StopFor-Threshold) × U(0.5, 1.5).
	// Required when StopEvery > 0, and above Threshold.
	StopFor time.Duration
	// MicroStopEvery is the mean running time between two micro-stops. 0 = none.
	MicroStopEvery time.Duration
	// MicroStopFor is the mean length of a micro-stop: MicroStopFor × U(0.5, 1.5), capped
	// just below Threshold. Required when MicroStopEvery > 0, and below Threshold.
	MicroStopFor time.Duration
	// RunEvery is the mean running time of a product run: the product then changes at the
	// next stop (the stop is the changeover), to one picked from the mix by weight. 0 = no
	// runs: every detection's product is picked from the mix.
	RunEvery time.Duration
	// Camera is put in every detection's camera field; "" = omitted.
	Camera string
}

func (s LineSpec) withDefaults() LineSpec {
	if len(s.Areas) == 0 {
		s.Areas = []int64{1}
	}
	if len(s.Products) == 0 {
		s.Products = []Product{{ID: 1, Weight: 1}}
	}
	return s
}

// Validate reports the first problem of the spec, or nil.
func (s LineSpec) Validate() error {
	s = s.withDefaults()
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if s.Line < 1 {
		bad("line id must be at least 1, not %d", s.Line)
	}
	if !(s.Rate > 0) || math.IsInf(s.Rate, 0) {
		bad("rate must be a positive number of detections per second, not %v", s.Rate)
	}
	if !(s.Jitter >= 0 && s.Jitter <= 0.9) {
		bad("jitter must be within 0..0.9, not %v", s.Jitter)
	}
	for _, a := range s.Areas {
		if a < 1 || a > detection.MaxRefID {
			bad("area id %d outside 1..%d", a, detection.MaxRefID)
		}
	}
	for _, p := range s.Products {
		if p.ID < 1 || p.ID > detection.MaxRefID {
			bad("product id %d outside 1..%d", p.ID, detection.MaxRefID)
		}
		if !(p.Weight > 0) || math.IsInf(p.Weight, 0) {
			bad("product %d: weight must be positive, not %v", p.ID, p.Weight)
		}
	}
	if !(s.RejectRatio >= 0 && s.RejectRatio <= 1) {
		bad("reject ratio must be within 0..1, not %v", s.RejectRatio)
	}
	if s.Threshold < 0 {
		bad("threshold must not be negative")
	}
	if s.StopEvery < 0 || s.MicroStopEvery < 0 || s.RunEvery < 0 {
		bad("stop, micro-stop and run intervals must not be negative")
	}
	if s.StopEvery > 0 && s.StopFor <= s.Threshold {
		bad("stop length %s must exceed the downtime threshold %s (and be > 0)", s.StopFor, s.Threshold)
	}
	if s.MicroStopEvery > 0 && (s.MicroStopFor <= 0 || (s.Threshold > 0 && s.MicroStopFor >= s.Threshold)) {
		bad("micro-stop length %s must be > 0 and below the downtime threshold %s", s.MicroStopFor, s.Threshold)
	}
	if len(s.Camera) > detection.MaxCameraBytes {
		bad("camera id longer than %d bytes", detection.MaxCameraBytes)
	}
	if len(errs) > 0 {
		return fmt.Errorf("sim: line %d: %w", s.Line, errors.Join(errs...))
	}
	return nil
}

// GapKind says what preceded a detection.
type GapKind int

// Kinds of gap before a detection.
const (
	GapRunning   GapKind = iota // normal interval
	GapMicroStop                // a micro-stop (shorter than the threshold)
	GapStop                     // a stop (longer than the threshold)
)

func (k GapKind) String() string {
	switch k {
	case GapMicroStop:
		return "micro-stop"
	case GapStop:
		return "stop"
	}
	return "running"
}

// Gap is the time between a detection and the previous one, and why.
type Gap struct {
	Kind   GapKind
	Length time.Duration
}

// Generator produces one line's timeline. It is pure: the same spec, seed, start and
// first id always give the same detections. Not safe for concurrent use.
type Generator struct {
	spec      LineSpec
	rng       *rand.Rand
	t         time.Time // event time of the last detection (full precision)
	nextID    uint64
	nextStop  time.Time // zero = never
	nextMicro time.Time
	nextRun   time.Time // when the current product run may end (at the next stop); zero = no runs
	product   int64     // the current run's product
	cum       []float64 // cumulative product weights
}

// NewGenerator validates spec and returns a generator whose first detection comes one
// interval after start and has id firstID (>= 1); ids then increase by one.
func NewGenerator(spec LineSpec, seed uint64, start time.Time, firstID uint64) (*Generator, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if firstID == 0 {
		return nil, errors.New("sim: the first detection id must be at least 1")
	}
	spec = spec.withDefaults()
	g := &Generator{
		spec:   spec,
		rng:    rand.New(rand.NewPCG(seed, uint64(spec.Line))),
		t:      start,
		nextID: firstID,
	}
	sum := 0.0
	for _, p := range spec.Products {
		sum += p.Weight
		g.cum = append(g.cum, sum)
	}
	g.nextStop = g.schedule(spec.StopEvery)
	g.nextMicro = g.schedule(spec.MicroStopEvery)
	if spec.RunEvery > 0 {
		g.product, g.nextRun = g.pickProduct(), g.schedule(spec.RunEvery)
	}
	return g, nil
}

// schedule returns when the next event of mean period every starts (exponential
// inter-arrival), or the zero time when every is 0.
func (g *Generator) schedule(every time.Duration) time.Time {
	if every <= 0 {
		return time.Time{}
	}
	return g.t.Add(time.Duration(g.rng.ExpFloat64() * float64(every)))
}

// uniform returns a value in [lo, hi).
func (g *Generator) uniform(lo, hi float64) float64 { return lo + (hi-lo)*g.rng.Float64() }

// Next returns the next detection and the gap before it.
func (g *Generator) Next() (detection.Detection, Gap) {
	s := g.spec
	var gap Gap
	switch {
	case !g.nextStop.IsZero() && !g.t.Before(g.nextStop):
		gap = Gap{Kind: GapStop, Length: s.Threshold + time.Duration(float64(s.StopFor-s.Threshold)*g.uniform(0.5, 1.5))}
	case !g.nextMicro.IsZero() && !g.t.Before(g.nextMicro):
		l := time.Duration(float64(s.MicroStopFor) * g.uniform(0.5, 1.5))
		if s.Threshold > 0 {
			l = min(l, s.Threshold*19/20)
		}
		gap = Gap{Kind: GapMicroStop, Length: l}
	default:
		f := 1.0
		if s.Jitter > 0 {
			f = g.uniform(1-s.Jitter, 1+s.Jitter)
		}
		gap = Gap{Kind: GapRunning, Length: max(time.Duration(f*float64(time.Second)/s.Rate), time.Nanosecond)}
	}
	g.t = g.t.Add(gap.Length)
	switch gap.Kind {
	case GapStop:
		g.nextStop = g.schedule(s.StopEvery)
		if !g.nextRun.IsZero() && !g.t.Before(g.nextRun) { // a changeover
			g.product, g.nextRun = g.pickProduct(), g.schedule(s.RunEvery)
		}
	case GapMicroStop:
		g.nextMicro = g.schedule(s.MicroStopEvery)
	}
	d := detection.Detection{
		ID:      g.nextID,
		At:      g.t.UTC().Truncate(time.Millisecond),
		Area:    s.Areas[g.rng.IntN(len(s.Areas))],
		Product: g.productOf(),
		OK:      g.rng.Float64() >= s.RejectRatio,
		Conf:    float32(math.Round(g.uniform(0.80, 0.995)*1000) / 1000),
		HasConf: true,
		Camera:  s.Camera,
	}
	g.nextID++
	return d, gap
}

// productOf is the product of the next detection: the run's, or one from the mix.
func (g *Generator) productOf() int64 {
	if !g.nextRun.IsZero() {
		return g.product
	}
	return g.pickProduct()
}

func (g *Generator) pickProduct() int64 {
	x := g.rng.Float64() * g.cum[len(g.cum)-1]
	for i, c := range g.cum {
		if x < c {
			return g.spec.Products[i].ID
		}
	}
	return g.spec.Products[len(g.spec.Products)-1].ID
}
