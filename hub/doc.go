// Package hub owns the live WebSocket side of LinePulse: GET /ws, the subscriptions of
// dashboards to lines, and the fan-out of the KPI updates and downtime events that the
// stream engine publishes on NATS (lp.<tenant>.line.<line>.kpi / .downtime).
//
// # Protocol (binding contract)
//
// Client → server, one JSON object per text frame (at most MaxClientMessageBytes):
//
//	{"op":"subscribe","lines":[1,2]}
//	{"op":"unsubscribe","lines":[1]}
//	{"op":"resume","line":1,"seq":1200}
//
// Server → client:
//
//	{"type":"snapshot","line":1,"seq":1200,...}   on subscribe: the latest KPI update (LP_KPI KV), or
//	{"type":"snapshot","line":1,"seq":0,"state":"unknown"} when the line never published one
//	{"type":"kpi","line":1,"seq":1201,...}        the stream engine's bytes, unchanged
//	{"type":"downtime","line":1,"seq":1202,"event":{...}}
//	{"type":"error","code":"forbidden|bad_request|too_many_subscriptions|unknown_op|unavailable","op":"subscribe","line":3,"message":"..."}
//
// seq is per line and shared by kpi and downtime messages. KPI updates are state: a
// client that reads slowly gets the latest per line and may see seq jump over KPI
// updates, never over a downtime event without noticing (the next seq it sees is
// higher than the last + 1). resume(line, seq) delivers every message after seq if
// this instance still holds them contiguously (Config.ResumeBuffer per line, kept
// TopicLinger after the last subscriber leaves), otherwise a fresh snapshot: never a
// silent gap. A seq lower than the last one seen means the engine restarted its
// sequence: take the message as a snapshot.
//
// Close codes: CloseTooSlow (4008) a client that cannot take a downtime event within
// DowntimeDeadline, overflows its queue or blocks a write for WriteTimeout;
// CloseIdle (4000) nothing received (not even a pong) for IdleTimeout; 1008 message
// flood or binary frame; 1009 frame larger than ReadLimit; 1001 server shutdown. On
// any of them: reconnect with backoff and resume each line from the last seq seen.
// CloseRevoked (4001): the session ended or the kiosk token was revoked, on any
// instance (see EndSession); sign in again instead of reconnecting.
//
// Upgrade refusals happen before the WebSocket handshake, as REST errors
// {"error":{"code","message"}}: 403 forbidden_origin (Origin neither the request's
// host nor in AllowedOrigins: cross-site WebSocket hijacking), 401 unauthorized
// (the Authenticator refused), 403 forbidden (no tenant), 429 too_many_connections.
//
// # How it works
//
// Per instance there is one pair of NATS subscriptions per (tenant, line) that has at
// least one local subscriber (ref-counted; dropped TopicLinger after the last leaves),
// all feeding one dispatcher goroutine, which keeps message order across the kpi and
// downtime subjects of a line. Each message becomes one WebSocket frame (header +
// the NATS payload bytes, no re-encoding), shared by every connection it goes to.
//
// A connection holds no writer goroutine while idle: the dispatcher records the frame
// in the connection's bounded state (latest KPI per line, ordered downtime events)
// and, if the connection was not already queued, queues it once for a small pool of
// writer goroutines, which write everything pending with one non-blocking write(2).
// A connection whose socket is full is handed to a goroutine of its own that writes
// with a deadline (slow mode) while its KPI updates coalesce; the pool never blocks on
// it. coder/websocket does the handshake, reads client frames and answers pings and
// close frames; its control frames go through the same single-owner write path.
//
// Who may write a connection's socket (nobody, a pool worker, the slow goroutine or
// coder/websocket) is one state per connection, changed only by named transitions that
// check where they start from (sockstate.go); a close waits for the holder to finish on
// that state, not on a timer. LOCKS.md lists the hub's locks and the order they nest in.
package hub
