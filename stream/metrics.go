package stream

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the engine's Prometheus series (namespace linepulse, subsystem stream).
type metrics struct {
	messages       prometheus.Counter
	detections     prometheus.Counter
	rejected       prometheus.Counter
	skipped        *prometheus.CounterVec // messages not folded, by reason
	kpiPublished   prometheus.Counter
	downtime       *prometheus.CounterVec // downtime messages by state
	persistQueue   prometheus.Gauge
	persistErrors  prometheus.Counter
	lateRecomputes prometheus.Counter
	checkpoints    *prometheus.CounterVec // by result
	checkpointDur  prometheus.Histogram
	lag            prometheus.Gauge
	streamSeq      prometheus.Gauge
	alertDelay     prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	const ns, sub = "linepulse", "stream"
	m := &metrics{
		messages:       prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "messages_total", Help: "Detection messages folded."}),
		detections:     prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "detections_total", Help: "Valid detections folded."}),
		rejected:       prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "rejected_total", Help: "Detections the decoder rejected (not counted, as the writer does not store them)."}),
		skipped:        prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "skipped_messages_total", Help: "Messages not folded, by reason."}, []string{"reason"}),
		kpiPublished:   prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "kpi_published_total", Help: "KPI updates published."}),
		downtime:       prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "downtime_messages_total", Help: "Downtime messages published, by state."}, []string{"state"}),
		persistQueue:   prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "persist_queue", Help: "Downtime events waiting to be stored (grows while the database is down)."}),
		lateRecomputes: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "late_rebookings_total", Help: "Re-bookings of a line's downtime queued after late detections."}),
		persistErrors:  prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "persist_errors_total", Help: "Failed attempts to store a downtime event."}),
		checkpoints:    prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "checkpoints_total", Help: "Checkpoints written, by result."}, []string{"result"}),
		checkpointDur:  prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub, Name: "checkpoint_seconds", Help: "Time to write a checkpoint.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)}),
		lag:            prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "lag_messages", Help: "Stream messages not folded yet."}),
		streamSeq:      prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "stream_sequence", Help: "Last LP_DET sequence folded."}),
		alertDelay:     prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub, Name: "stop_alert_delay_seconds", Help: "Wall-clock time from last detection + threshold to the published stop alert.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}),
	}
	if reg == nil {
		return m, nil
	}
	// An engine made again on the same registry (each term as leader) keeps counting
	// in the series of the first.
	var err error
	for _, c := range []any{&m.messages, &m.detections, &m.rejected, &m.skipped, &m.kpiPublished, &m.downtime,
		&m.persistQueue, &m.persistErrors, &m.lateRecomputes, &m.checkpoints, &m.checkpointDur, &m.lag, &m.streamSeq, &m.alertDelay} {
		switch c := c.(type) {
		case *prometheus.Counter:
			*c, err = register(reg, *c)
		case *prometheus.Gauge:
			*c, err = register(reg, *c)
		case *prometheus.Histogram:
			*c, err = register(reg, *c)
		case **prometheus.CounterVec:
			*c, err = register(reg, *c)
		}
		if err != nil {
			return nil, fmt.Errorf("stream: cannot register metrics: %w", err)
		}
	}
	return m, nil
}

// register registers c, or returns the collector already registered under its name.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	if are, ok := err.(prometheus.AlreadyRegisteredError); ok {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	return c, err
}
