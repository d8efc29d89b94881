package fanout

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/linepulse/linepulse/bus"
	"github.com/linepulse/linepulse/detection"
	"github.com/linepulse/linepulse/hub"
	"github.com/linepulse/linepulse/internal/clock"
	"github.com/linepulse/linepulse/stream"
)

// kpiMessage appends a contract-shaped KPI update of about size bytes.
func kpiMessage(b []byte, line int64, seq uint64, pubNS int64, size int) []byte {
	start := len(b)
	n := int64(seq)
	b = append(b, `{"type":"kpi","line":`...)
	b = strconv.AppendInt(b, line, 10)
	b = append(b, `,"seq":`...)
	b = strconv.AppendUint(b, seq, 10)
	if pubNS > 0 {
		b = append(b, `,"pub_ns":`...) // the bench's own field: the clients compute latency from it
		b = strconv.AppendInt(b, pubNS, 10)
	}
	b = append(b, `,"at":"`...)
	b = detection.AppendTime(b, time.Now())
	b = append(b, `","shift":{"id":2,"name":"Turno B","start":"2025-01-01T14:00:00.000Z","end":"2025-01-01T22:00:00.000Z"},"state":"running","counts":{"total":`...)
	b = strconv.AppendInt(b, n*3, 10)
	b = append(b, `,"good":`...)
	b = strconv.AppendInt(b, n*3-n/20, 10)
	b = append(b, `,"reject":`...)
	b = strconv.AppendInt(b, n/20, 10)
	b = append(b, `},"rate_per_min":57.3,"availability":0.9412,"performance":0.8876,"quality":0.9833,"oee":0.8214,"performance_over_100":false,"planned_s":14400,"run_s":13553,"downtime_s":847,"micro_stops":12,"products":[{"id":1,"name":"Botella 500ml","color":"#1f77b4","count":`...)
	b = strconv.AppendInt(b, n, 10)
	b = append(b, `},{"id":2,"name":"Botella 1L","color":"#ff7f0e","count":`...)
	b = strconv.AppendInt(b, n, 10)
	b = append(b, `},{"id":3,"name":"Garrafa 5L","color":"#2ca02c","count":`...)
	b = strconv.AppendInt(b, n, 10)
	b = append(b, `}],"areas":[{"id":1,"name":"Llenado","count":`...)
	b = strconv.AppendInt(b, n*3, 10)
	b = append(b, `},{"id":2,"name":"Taponado","count":`...)
	b = strconv.AppendInt(b, n*3, 10)
	b = append(b, `},{"id":3,"name":"Etiquetado","count":`...)
	b = strconv.AppendInt(b, n*3, 10)
	b = append(b, `},{"id":4,"name":"Inspección","count":`...)
	b = strconv.AppendInt(b, n*3, 10)
	b = append(b, `}],"stream_seq":`...)
	b = strconv.AppendInt(b, n*41, 10)
	if pad := size - (len(b) - start) - 10; pad > 0 {
		b = append(b, `,"_":"`...)
		b = append(b, strings.Repeat(" ", pad)...)
		b = append(b, '"')
	}
	return append(b, '}')
}

func downtimeMessage(b []byte, line int64, seq uint64, pubNS int64, started bool) []byte {
	b = append(b, `{"type":"downtime","line":`...)
	b = strconv.AppendInt(b, line, 10)
	b = append(b, `,"seq":`...)
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, `,"pub_ns":`...)
	b = strconv.AppendInt(b, pubNS, 10)
	now := time.Now().UTC().Format("2006-01-02T15:04:05.000Z07:00")
	if started {
		return append(b, `,"event":{"id":0,"state":"started","start":"`+now+`","end":null,"duration_ms":0,"reason_code":""}}`...)
	}
	return append(b, `,"event":{"id":42,"state":"ended","start":"`+now+`","end":"`+now+`","duration_ms":31000,"reason_code":""}}`...)
}

// publish publishes lines × rate KPI updates per second and downtime-rate
// downtime events (on the lines in turn, taking seq numbers like KPI updates). The KPI
// updates of one period (1/rate s) go out in slots: with --pacing engine as stream.Engine
// publishes them (each line in its slot of stream.PublishSlots), with --pacing burst all
// in one slot, with --pacing even one line per slot. Downtime events come at
// downtime-rate, each at a random moment of its interval (the engine sends them when a
// line's timer fires, unrelated to its slots). Each message carries Lp-Published-At.
func publish(ctx context.Context, nc *nats.Conn, cfg Config) error {
	lines := cfg.Lines
	slots, slotOf := pacingSlots(cfg.Pacing, lines, cfg.Rate)
	bySlot := make([][]int64, slots)
	for l := 1; l <= lines; l++ {
		s := slotOf(int64(l))
		bySlot[s] = append(bySlot[s], int64(l))
	}
	kpiEvery := time.Duration(float64(time.Second) / cfg.Rate / float64(slots))
	downEvery := time.Duration(math.MaxInt64)
	if cfg.DowntimeRate > 0 {
		downEvery = time.Duration(float64(time.Second) / cfg.DowntimeRate)
	}
	seqs := make([]uint64, lines+1)
	for l := range seqs {
		seqs[l] = 1 // seq 1 is in the KV
	}
	started := make([]bool, lines+1)
	var buf []byte
	publish := func(line int64, downtime bool) error {
		seqs[line]++
		subj := bus.KPISubject(cfg.Tenant, line)
		now := time.Now().UnixNano()
		if downtime {
			subj = bus.DowntimeSubject(cfg.Tenant, line)
			started[line] = !started[line]
			buf = downtimeMessage(buf[:0], line, seqs[line], now, started[line])
		} else {
			buf = kpiMessage(buf[:0], line, seqs[line], now, cfg.Payload)
		}
		m := &nats.Msg{Subject: subj, Data: buf, Header: nats.Header{hub.HeaderPublishedAt: []string{strconv.FormatInt(now, 10)}}}
		if err := nc.PublishMsg(m); err != nil {
			return fmt.Errorf("publish: %w", err)
		}
		return nil
	}
	start := time.Now()
	kpiTick, downTick := int64(0), int64(0)
	downAt := func(i int64) time.Time {
		if downEvery == math.MaxInt64 {
			return time.Unix(1<<62, 0) // never
		}
		return start.Add(time.Duration(i)*downEvery + rand.N(downEvery))
	}
	downDue := downAt(0)
	for {
		kpiDue := start.Add(time.Duration(kpiTick) * kpiEvery)
		due := kpiDue
		if downDue.Before(due) {
			due = downDue
		}
		if d := time.Until(due); d > 0 {
			if !clock.Sleep(ctx, d) {
				return ctx.Err()
			}
		} else if ctx.Err() != nil {
			return ctx.Err()
		}
		if downDue.Before(kpiDue) {
			if err := publish(downTick%int64(lines)+1, true); err != nil {
				return err
			}
			downTick++
			downDue = downAt(downTick)
			continue
		}
		for _, line := range bySlot[kpiTick%int64(slots)] {
			if err := publish(line, false); err != nil {
				return err
			}
		}
		kpiTick++
	}
}

// pacingSlots cuts a publish period into slots for --pacing and says which slot a line
// publishes in.
func pacingSlots(pacing string, lines int, rate float64) (int, func(line int64) int) {
	switch pacing {
	case "burst":
		return 1, func(int64) int { return 0 }
	case "even":
		return lines, func(l int64) int { return int(l-1) % lines }
	default: // engine; the bench's lines belong to tenant 1
		slots := stream.PublishSlots(rate)
		return slots, func(l int64) int { return stream.PublishSlot(1, l, slots) }
	}
}
