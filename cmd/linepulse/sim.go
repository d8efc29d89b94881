package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/linepulse/linepulse/bus"
	"github.com/linepulse/linepulse/ingest/sim"
)

func simCommand() *command {
	c := &command{name: "sim", short: "reference edge publisher: simulate production lines and publish their detections over NATS", flags: newFlags("sim")}
	f := c.flags
	url := f.String("url", "nats://127.0.0.1:4222", "NATS URL(s) of LinePulse, comma-separated")
	user := f.String("user", "", "device NATS user <tenant>.<device> (from `linepulse device create`; required)")
	password := f.String("password", "", "device secret (prefer the LINEPULSE_PASSWORD environment variable; required)")
	tenant := f.String("tenant", "", "tenant slug (default: the part of --user before the dot)")
	lines := f.String("lines", "", "line ids to simulate, e.g. 1,2,3 (required)")
	rate := f.Float64("rate", 10, "mean detections per second per line while running")
	jitter := f.Float64("jitter", sim.DefaultJitter, "relative spread of the interval between detections (0..0.9)")
	batch := f.Int("batch", 1, "detections per message (1 = single JSON objects, up to 1000 = arrays)")
	maxDelay := f.Duration("max-delay", sim.DefaultMaxDelay, "longest a detection waits for its batch to fill")
	reject := f.Float64("reject", 0.02, "fraction of detections rejected (ok=false)")
	areas := f.String("areas", "1", "area ids: 1,2,3 for every line, or per line 1=1,2;2=3,4")
	products := f.String("products", "1", "product mix id[:weight],...: e.g. 1:5,2:3,3:1")
	threshold := f.Duration("threshold", 0, "the lines' downtime threshold, to check stops exceed it and micro-stops do not (0 = unchecked)")
	stopEvery := f.Duration("stop-every", 0, "mean running time between stops (random intervals); 0 = no stops")
	stopFor := f.Duration("stop-for", 2*time.Minute, "mean stop length (must exceed the line's downtime threshold)")
	microEvery := f.Duration("micro-every", 0, "mean running time between micro-stops; 0 = none")
	microFor := f.Duration("micro-for", 5*time.Second, "mean micro-stop length (below the downtime threshold)")
	camera := f.String("camera", "", "camera id put in every detection")
	telemetryEvery := f.Duration("telemetry-every", 10*time.Second, "publish the device's vision-node telemetry this often (node = the device name; 0 = none)")
	duration := f.Duration("duration", 0, "stop after this long (0 = until interrupted)")
	window := f.Int("window", sim.DefaultWindow, "messages in flight without acknowledgement")
	ackTimeout := f.Duration("ack-timeout", sim.DefaultAckTimeout, "re-send a message not acknowledged within this")
	seed := f.Int64("seed", 0, "random seed of the timelines (0 = pick one and log it)")
	logEvery := f.Duration("log-every", 5*time.Second, "progress log period")
	format := f.String("format", "text", "final summary format: text or json")
	c.run = func(cc *cliContext) error {
		if *user == "" || *password == "" {
			return errors.New("--user and --password are required (a device's credentials: `linepulse device create`)")
		}
		dev, node, ok := bus.ParseDeviceUser(*user)
		if !ok {
			return fmt.Errorf("--user %q is not <tenant>.<device>", *user)
		}
		if *tenant == "" {
			*tenant = dev
		}
		if dev != *tenant {
			return fmt.Errorf("--tenant %q does not match the device user %q", *tenant, *user)
		}
		ids, err := parseIDs(*lines)
		if err != nil || len(ids) == 0 {
			return fmt.Errorf("--lines: want line ids such as 1,2,3 (%v)", err)
		}
		areaOf, err := parseAreas(*areas, ids)
		if err != nil {
			return fmt.Errorf("--areas: %w", err)
		}
		mix, err := parseMix(*products)
		if err != nil {
			return fmt.Errorf("--products: %w", err)
		}
		if *seed == 0 {
			*seed = rand.Int64N(1<<31) + 1
		}
		var specs []sim.LineSpec
		for _, id := range ids {
			spec := sim.LineSpec{Line: id, Rate: *rate, Jitter: *jitter, Areas: areaOf[id], Products: mix, RejectRatio: *reject,
				Threshold: *threshold, Camera: *camera}
			if *stopEvery > 0 {
				spec.StopEvery, spec.StopFor = *stopEvery, *stopFor
			}
			if *microEvery > 0 {
				spec.MicroStopEvery, spec.MicroStopFor = *microEvery, *microFor
			}
			specs = append(specs, spec)
		}

		opts, err := sim.DeviceOptions(*user, *password, cc.log)
		if err != nil {
			return err
		}
		nc, err := nats.Connect(*url, opts...)
		if err != nil {
			return fmt.Errorf("cannot connect to %s as %s: %w", *url, *user, err)
		}
		defer nc.Close()
		js, err := jetstream.New(nc, jetstream.WithPublishAsyncTimeout(*ackTimeout))
		if err != nil {
			return err
		}
		s, err := sim.New(sim.Config{Tenant: *tenant, Lines: specs, Batch: *batch, MaxDelay: *maxDelay, Window: *window,
			AckTimeout: *ackTimeout, Seed: *seed, Logger: cc.log}, js)
		if err != nil {
			return err
		}
		ctx := cc.ctx
		if *duration > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, *duration)
			defer cancel()
		}
		cc.log.Info("sim: publishing", "url", nc.ConnectedUrlRedacted(), "tenant", *tenant, "lines", ids, "rate_per_line", *rate,
			"batch", *batch, "seed", *seed, "subject", bus.DetSubject(*tenant, ids[0]))
		start := time.Now()
		stopLog := logProgress(cc, s, *logEvery)
		if *telemetryEvery > 0 {
			var cams []string
			if *camera != "" {
				cams = []string{*camera}
			}
			tctx, stopTelemetry := context.WithCancel(ctx)
			defer stopTelemetry()
			go func() {
				if err := sim.PublishTelemetry(tctx, nc, sim.TelemetryConfig{Tenant: *tenant, Node: node, Cameras: cams, Every: *telemetryEvery, Seed: *seed}); err != nil {
					cc.log.Warn("sim: telemetry stopped", "err", err)
				}
			}()
		}
		err = s.Run(ctx)
		stopLog()
		st := s.Stats()
		elapsed := time.Since(start)
		if outErr := output(cc.stdout, *format, map[string]any{
			"published": st.Published, "acked": st.Acked, "messages": st.Messages, "resent": st.Resent,
			"duplicates": st.Duplicates, "unacked": st.Published - st.Acked, "stops": st.Stops, "micro_stops": st.MicroStops,
			"seconds": elapsed.Seconds(), "rate_per_s": float64(st.Acked) / elapsed.Seconds(),
		}, "published", "acked", "unacked", "messages", "resent", "duplicates", "stops", "micro_stops", "seconds", "rate_per_s"); outErr != nil {
			return outErr
		}
		return err
	}
	return c
}

// logProgress logs the simulator's counters every period until the returned stop is called.
func logProgress(cc *cliContext, s *sim.Simulator, every time.Duration) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		if every <= 0 {
			<-done
			return
		}
		tick := time.NewTicker(every)
		defer tick.Stop()
		last, lastAt := s.Stats(), time.Now()
		for {
			select {
			case <-done:
				return
			case now := <-tick.C:
				st := s.Stats()
				rate := float64(st.Acked-last.Acked) / now.Sub(lastAt).Seconds()
				cc.log.Info("sim: progress", "published", st.Published, "acked", st.Acked, "acked_per_s", int(rate),
					"pending_msgs", st.Pending, "resent", st.Resent, "stops", st.Stops, "micro_stops", st.MicroStops)
				last, lastAt = st, now
			}
		}
	}()
	return func() { close(done); <-finished }
}

// parseIDs parses "1,2,3" into positive ids.
func parseIDs(s string) ([]int64, error) {
	var out []int64
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		id, err := strconv.ParseInt(f, 10, 64)
		if err != nil || id < 1 {
			return nil, fmt.Errorf("%q is not a positive id", f)
		}
		out = append(out, id)
	}
	return out, nil
}

// parseAreas parses "1,2" (the same areas on every line) or "1=1,2;2=3,4" (per line).
func parseAreas(s string, lines []int64) (map[int64][]int64, error) {
	out := map[int64][]int64{}
	if !strings.Contains(s, "=") {
		ids, err := parseIDs(s)
		if err != nil {
			return nil, err
		}
		for _, l := range lines {
			out[l] = ids
		}
		return out, nil
	}
	for _, group := range strings.Split(s, ";") {
		line, list, ok := strings.Cut(group, "=")
		if !ok {
			return nil, fmt.Errorf("%q: want line=area,area", group)
		}
		l, err := strconv.ParseInt(strings.TrimSpace(line), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q: bad line id", group)
		}
		if out[l], err = parseIDs(list); err != nil {
			return nil, err
		}
	}
	for _, l := range lines {
		if len(out[l]) == 0 {
			return nil, fmt.Errorf("no areas given for line %d", l)
		}
	}
	return out, nil
}

// parseMix parses "1:5,2:3,3" (weight 1 when omitted).
func parseMix(s string) ([]sim.Product, error) {
	var out []sim.Product
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		idStr, wStr, hasW := strings.Cut(f, ":")
		id, err := strconv.ParseInt(idStr, 10, 64)
		if err != nil || id < 1 {
			return nil, fmt.Errorf("%q: bad product id", f)
		}
		w := 1.0
		if hasW {
			if w, err = strconv.ParseFloat(wStr, 64); err != nil || !(w > 0) {
				return nil, fmt.Errorf("%q: bad weight", f)
			}
		}
		out = append(out, sim.Product{ID: id, Weight: w})
	}
	if len(out) == 0 {
		return nil, errors.New("no products")
	}
	return out, nil
}
