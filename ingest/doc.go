// Package ingest owns the way in for detections: the batch writer that stores every
// acknowledged detection exactly once (Writer). The message format, its decoder and the
// validity rule are package detection's; edge devices' credentials and their
// authentication are identity's (identity.Devices, identity.DeviceAuth).
//
// # Admission
//
// Admission (bus.Config.Admit) is the ingest edge's verdict on a whole device message
// before it is stored: detection.Admit (Decode's verdict, which decodes only up to the
// first valid element and checks the rest's syntax) and detection.WindowAt, at the moment
// of receipt, with the tenant's retention (cached, looked up off the edge's path). A
// message none of which would be stored is refused: the device gets an error reply and
// the refusal is a dead letter. Everything else is stored and judged again, element by
// element, by the writer.
//
// # Batch writer
//
// Writer is a durable JetStream pull consumer ("lp-writer") on stream LP_DET. For each
// message it resolves the subject's tenant and line, decodes each device message it
// holds (one, or the parts of the edge's pack: bus.DecodeParts) with detection.Decode
// (timestamps judged against the message's stream time and the tenant's retention,
// detection.WindowAt, exactly as the KPI engine judges them), publishes every rejected
// element to lp.<tenant>.dlq (detection.DeadLetter JSON, with the reason) and queues the
// valid detections per (tenant, line). One goroutine per line writes its
// queue in batches with one transaction
// holding the multi-row INSERT IGNORE and the minute rollups, through the tenant's pool
// of PoolSize dedicated connections; a message is acknowledged after that COMMIT. A
// batch is written when it holds BatchSize detections, or as soon as the writer has
// taken every message the stream holds (a message's NumPending is 0: group commit, what
// arrives during the transaction forms the next batch), or, while a backlog is read,
// after FlushInterval at the latest (HoldPartial: always after FlushInterval). A
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
