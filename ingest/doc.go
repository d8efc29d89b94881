// Package ingest owns the way in for detections: the credentials and authentication of
// edge devices (CreateDevice, DeviceCredentials, DeviceAuth for bus.Config.Devices), and
// the batch writer that stores every acknowledged detection exactly once (Writer). The
// message format, its decoder and the validity rule are package detection's.
//
// # Edge devices
//
// `linepulse device create --tenant acme --name cam-01 [--lines 1,2]` (or POST
// /api/v1/devices) prints the credentials once: NATS user "acme.cam-01", a random 32-byte
// secret as password (only its SHA-256 is stored), the inbox prefix "_INBOX.acme.cam-01"
// the device must use to receive JetStream acknowledgements, and what it may publish:
// lp.acme.line.<line>.det for its lines (every line when none were given) and
// lp.acme.node.cam-01.telemetry. A device publishes with an ordinary NATS client:
//
//	nc, _ := nats.Connect("nats://linepulse.example:4222",
//		nats.UserInfo("acme.cam-01", secret),
//		nats.CustomInboxPrefix("_INBOX.acme.cam-01"))
//	js, _ := jetstream.New(nc)
//	_, err := js.Publish(ctx, "lp.acme.line.1.det",
//		[]byte(`[{"id":1001,"at":"2026-03-01T08:00:00.123Z","area":1,"product":2}]`),
//		jetstream.WithMsgID("cam-01-1001")) // a re-send with the same id is dropped
//
// DeviceAuth reads the device table on every connection attempt, so a revocation or a
// deactivated tenant refuses the next attempt. Revoking through the API also closes the
// device's live connections (bus.Disconnect); `linepulse device revoke` runs in another
// process and cannot, so a connected device keeps its connection until it reconnects.
// While the database is unreachable, a device that authenticated successfully within
// DeviceAuthConfig.OutageGrace (10 min) may reconnect with the same secret.
//
// # Batch writer
//
// Writer is a durable JetStream pull consumer ("lp-writer") on stream LP_DET. For each
// message it resolves the subject's tenant and line, decodes it with detection.Decode
// (timestamps judged against the message's stream time and the tenant's retention,
// detection.WindowAt, exactly as the KPI engine judges them), publishes every rejected
// element to lp.<tenant>.dlq (detection.DeadLetter JSON, with the reason) and queues the
// valid detections per (tenant, line). One goroutine per line writes its
// queue in batches (BatchSize detections, or after FlushInterval) with one transaction
// holding the multi-row INSERT IGNORE and the minute rollups, through the tenant's pool
// of PoolSize dedicated connections; a message is acknowledged after that COMMIT. A
// failed write is retried with backoff for as long as the database is away; pulling
// stops at MaxPendingBytes held in memory, and JetStream keeps the rest (24 h replay).
//
// # Metrics (WriterConfig.Registerer)
//
//	linepulse_ingest_messages_total                    messages taken from the stream
//	linepulse_ingest_received_total                    elements received (valid + rejected)
//	linepulse_ingest_stored_total                      detections stored for the first time
//	linepulse_ingest_duplicates_total                  re-delivered / re-published detections skipped
//	linepulse_ingest_rejected_total{reason}            dead-lettered elements by detection.Reason
//	linepulse_ingest_db_errors_total                   failed write attempts (retried)
//	linepulse_ingest_batch_size                        histogram: detections per committed batch
//	linepulse_ingest_flush_seconds                     histogram: duration of a successful batch write
//	linepulse_ingest_consumer_lag                      stream messages not yet stored (pending + ack pending)
//	linepulse_ingest_consumer_ack_pending              delivered, not yet acknowledged
//	linepulse_ingest_pending_bytes                     memory held for unacknowledged messages
//	linepulse_ingest_writer_pool_wait_seconds_total    time waiting for a writer connection
//	linepulse_ingest_writer_pool_empty_acquires_total  writes that had to wait for one
package ingest
