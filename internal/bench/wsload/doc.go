// Package wsload is the load generator of `linepulse bench fanout` (package
// internal/bench/fanout): thousands of WebSocket clients over loopback, driven by a few
// epoll loops (Linux) instead of a goroutine per client, so that on a shared machine most
// of the CPU stays with the server under test and the client side adds almost no Go heap
// per connection.
//
// # What a client does
//
// Each client dials Config.Addr over IPv4, upgrades with "Authorization: Bearer
// Config.Token(i)", subscribes to MinLines..MaxLines of the lines 1..Lines (chosen from
// Seed) and then only reads. It answers pings, takes the contract's frames
// ({"type":"kpi"|"snapshot"|"downtime"|"error","line":L,"seq":S,...}, type, line and seq
// first) and never sends anything else.
//
// # What it measures
//
// Gen.Window returns what the clients saw since the previous call and resets it:
// frames by type, seq gaps on a line (a KPI update coalesced by the hub: expected under
// load), disorder (a seq not above the last one seen on the line: must stay 0), close
// frames by code, and two latency histograms (Hist: log-linear, ≤ 1.6 % error), publish
// → receive of kpi and of downtime frames. The publish time is the frame's "pub_ns"
// field right after "seq" (the bench publisher adds it), else Config.PublishedAt.
// Windows of several generators or processes add up with Window.Merge; Hist marshals to
// JSON so a window can cross a process boundary.
//
// Gen.MakeSlow stops a fraction of the clients from reading for good, so that their
// sockets fill up: how the server treats slow consumers, and whether the others notice.
//
// Outside Linux New fails: the generator needs epoll.
package wsload
