package ingest

import (
	"fmt"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/linepulse/linepulse/detection"
)

// WriterStats are the writer's cumulative counters since NewWriter.
type WriterStats struct {
	Messages   uint64 // device messages taken from the stream (re-deliveries included)
	Received   uint64 // elements in those messages: valid detections plus rejected elements
	Stored     uint64 // detections inserted (committed) for the first time
	Duplicates uint64 // detections already stored (re-delivery, re-publication) or repeated in a batch
	Rejected   uint64 // rejected elements sent to the DLQ (a whole-message rejection counts 1)
	DBErrors   uint64 // failed write attempts (each one was retried)
	Batches    uint64 // committed batches
}

// counters backs Stats and the Prometheus counters of the same names.
type counters struct {
	messages, received, stored, duplicates, rejected, dbErrors, batches atomic.Uint64
}

// writerMetrics are the Prometheus series of the writer (prefix linepulse_ingest_).
type writerMetrics struct {
	rejected  *prometheus.CounterVec
	batchSize prometheus.Histogram
	flush     prometheus.Histogram
	lag       prometheus.Gauge
	ackPend   prometheus.Gauge
}

func newWriterMetrics(w *Writer, reg prometheus.Registerer) (*writerMetrics, error) {
	m := &writerMetrics{
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "linepulse_ingest_rejected_total",
			Help: "Rejected device message elements sent to the dead-letter subject, by reason (a whole-message rejection counts once).",
		}, []string{"reason"}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "linepulse_ingest_batch_size",
			Help:    "Detections per committed batch (one line, one transaction).",
			Buckets: []float64{1, 10, 50, 100, 250, 500, 1000, 2000, 4000, 8000},
		}),
		flush: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "linepulse_ingest_flush_seconds",
			Help:    "Duration of a successful batch write: connection wait, INSERT, rollup upsert and COMMIT.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14), // 1 ms .. 8 s
		}),
		lag: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "linepulse_ingest_consumer_lag",
			Help: "Messages in the detection stream not yet stored: the durable consumer's num_pending plus num_ack_pending (polled).",
		}),
		ackPend: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "linepulse_ingest_consumer_ack_pending",
			Help: "Messages delivered to the writer and not yet acknowledged (polled).",
		}),
	}
	for _, r := range detection.Reasons() {
		m.rejected.WithLabelValues(string(r))
	}
	if reg == nil {
		return m, nil
	}
	c := &w.count
	counter := func(name, help string, v *atomic.Uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(v.Load()) })
	}
	cs := []prometheus.Collector{
		m.rejected, m.batchSize, m.flush, m.lag, m.ackPend,
		counter("linepulse_ingest_messages_total", "Device messages taken from the detection stream (re-deliveries included).", &c.messages),
		counter("linepulse_ingest_received_total", "Elements received in device messages (valid and rejected).", &c.received),
		counter("linepulse_ingest_stored_total", "Detections stored for the first time.", &c.stored),
		counter("linepulse_ingest_duplicates_total", "Detections already stored (re-delivered or re-published), skipped.", &c.duplicates),
		counter("linepulse_ingest_db_errors_total", "Failed batch write attempts (retried with backoff).", &c.dbErrors),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "linepulse_ingest_pending_bytes",
			Help: "Bytes of received, not yet acknowledged messages held by the writer (bounded by MaxPendingBytes).",
		}, func() float64 { return float64(w.pendingBytes.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "linepulse_ingest_writer_pool_wait_seconds_total",
			Help: "Time batch writes waited for a dedicated writer connection (all tenants).",
		}, func() float64 { return w.poolStats().wait.Seconds() }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "linepulse_ingest_writer_pool_empty_acquires_total",
			Help: "Batch writes that found every dedicated writer connection busy and had to wait.",
		}, func() float64 { return float64(w.poolStats().empty) }),
	}
	for i, col := range cs {
		if err := reg.Register(col); err != nil {
			for _, done := range cs[:i] {
				reg.Unregister(done)
			}
			return nil, fmt.Errorf("ingest: cannot register metrics: %w", err)
		}
	}
	return m, nil
}
