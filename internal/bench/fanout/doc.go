// Package fanout is `linepulse bench fanout`: how fast and at what cost the hub
// delivers KPI updates and downtime events to many WebSocket clients, and what clients
// that stop reading do to the others.
//
// # Setup
//
// With Config.URL empty, Run serves an in-process bus and hub (or, with Baseline, the
// naive design of baseline.go: a goroutine and a 16-slot channel per connection, one
// write per message, the design the hub is measured against) on 127.0.0.1, stores seq 1
// of every line in the KPI bucket as the stream engine would, and connects
// Config.Clients clients of package internal/bench/wsload, each on 1-5 random lines. The
// clients run in a child process (Config.Child, a program that calls RunChild: the
// linepulse binary as `bench fanout --load-child`), configured and asked for every
// window over its stdin and stdout; with LocalClients in this process. With URL set it
// measures that server instead, publishing on NATSURL.
//
// A publisher sends Lines × Rate KPI updates per second of about Payload bytes and
// DowntimeRate downtime events per second; Pacing places the updates of one period:
// "engine" in the KPI engine's slots (stream.PublishSlot), "burst" every line at once,
// "even" one line at a time. Each message carries its publish time, from which the
// clients measure latency.
//
// # Phases and output
//
// After Warmup, phase 1 (every client reading) and, with Slow > 0, phase 2 (that
// fraction of the clients stops reading) each last Duration. The report, line by line:
// the setup; the subscriptions, connect time and server memory per idle connection
// (in-process server only); per phase one line per Window (msgs/s, KPI latency p50, p99,
// max, downtime p99) and a total (plus seq gaps, i.e. KPI updates coalesced by the hub,
// out-of-order frames, which must stay 0, errors and close codes); the server's and the
// load generator's CPU and the hub's frames per socket write; for phase 2 the slow
// clients the hub disconnected and the effect on the others. The last line's shape is a
// contract:
//
//	fanout: <clients> clients, <n> msgs/s, p99 <x.x> ms, <x.x|n/a> KiB/conn
//
// (phase 1's delivery rate and KPI p99; memory per connection is n/a for an external
// server). CPUProfile and Trace record the server process during phase 1.
package fanout
