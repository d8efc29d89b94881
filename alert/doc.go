// Package alert turns the live downtime and KPI messages of the stream engine, and the
// vision nodes' telemetry, into alerts and delivers them to people, losing none.
//
// Evaluation (evaluate.go) is driven by the messages themselves, not by polling: every
// instance subscribes to lp.*.line.*.downtime, lp.*.line.*.kpi and lp.*.node.*.telemetry
// and evaluates the tenant's rules (store.AlertRule) on them. A rule fires once per occurrence of its
// condition and resolves by itself when the condition ends:
//
//   - line_down: a stop (a downtime "started" message) still open `after` later; the
//     occurrence is the stop's start, so every instance names it the same; it resolves on
//     the stop's end, or on a KPI message saying the line is no longer down (an end this
//     instance missed while it was not running);
//   - uncoded_downtime: a stop that ended `after` ago and still has no reason code;
//     resolved when it is coded (Engine.DowntimeCoded, called by the API);
//   - oee_below: the current shift's OEE (or A, P, Q) below the threshold for `after`,
//     judged on the KPI messages' own timestamps;
//   - node_offline (nodes.go): a vision node of a covered line (camera.node -> camera_area
//     -> area) sent no telemetry (lp.<tenant>.node.<node>.telemetry) for `after`; each
//     message re-arms a timer per rule and node; on start the timers are armed from the
//     LP_NODES bucket, and a rule created later is armed for every node heard so far. The occurrence is the node and the time (the node's own) of its
//     last message, alike on every instance; it resolves on the node's next message.
//
// Exactly once across instances: an alert row is unique by (rule, occurrence) and is
// opened together with its notifications in one transaction, so of several instances
// seeing the same condition one opens it and the others find it open. Transitions
// (resolve, escalate, acknowledge) are conditional updates: the first wins.
//
// Delivery (send.go) goes through the outbox (store.Notification): a notification is stored
// before anything is sent, claimed by one instance (a row claim with a lease time), sent
// with retries and exponential backoff up to MaxAge, and every attempt is logged
// (store.Delivery). A notification that gives up flags its channel as failing. Webhooks
// carry X-LinePulse-Signature: sha256=<hex HMAC-SHA256 of the body with the channel's
// secret> and Idempotency-Key (the same on every retry of a notification); e-mail goes
// through notify/email.
//
// Escalation: a firing alert nobody acknowledges within the rule's escalate_after is sent
// to its escalate_channels (once; an acknowledged alert is not escalated).
package alert
