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
// Escalation: a firing alert nobody acknowledges within the rule's escalate_after (counted
// from when it fired) is sent to its escalate_channels (once; an acknowledged alert is not
// escalated).
//
// Restarts (restore.go): the delayed checks (line_down's and uncoded_downtime's `after`,
// escalation) are timers in memory, but what they wait for is stored, so they survive every
// instance restarting. On start, and for a rule that is new or changed (on the next rule
// reload; at once on the instance the API calls Invalidate on), an instance rebuilds them
// from the database: escalation of the firing, unacknowledged, unescalated alerts at
// fired_at + escalate_after; line_down for the lines' open stops at start + after;
// uncoded_downtime for the uncoded stops that ended within after + Config.Lookback (24 h)
// and not before the rule was created, and have no alert of the rule yet, at end + after.
// Whatever fell due while nobody ran is done at once. A rebuilt check ends in the same
// exactly-once operations as the live one, so several instances rebuilding it act once.
package alert
