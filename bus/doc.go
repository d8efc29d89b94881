// Package bus owns LinePulse's message bus: the NATS subject names of the binding
// contract, the embedded NATS server with JetStream (or the connection to an external
// NATS cluster), the LP_DET detection stream and its ingest edge (group commit), the
// LP_DLQ dead letters, and the authentication, accounts and permissions of edge
// devices. ingest, stream and hub get their connections from it (Bus.Connect).
//
// # Subjects
//
//	lp.<tenant>.line.<line>.det           detections, published by edges (stream LP_DET)
//	lp.<tenant>.node.<node>.telemetry     vision-node health, published by edges
//	lp.<tenant>.line.<line>.kpi           live KPI updates, published by LinePulse
//	lp.<tenant>.line.<line>.downtime      downtime events, published by LinePulse
//	lp.<tenant>.dlq                       rejected device messages with the reason
//	lp._sys.auth.revoked                  ended sessions and revoked kiosk tokens, between
//	                                      LinePulse instances (AuthRevokedSubject; internal)
//	lp._sys.downtime.coded                a line's downtime event was coded: the KPI engine
//	                                      reads its coded events again (DowntimeCodedSubject;
//	                                      internal)
//
// <tenant> is the tenant slug ([a-z0-9-]{1,32}), <line> the numeric line id.
// Build them with DetSubject, KPISubject, DowntimeSubject, TelemetrySubject and
// DLQSubject; parse per-line subjects with ParseLineSubject.
//
// # Lifecycle
//
//	b, err := bus.New(cfg)          // cfg from bus.DefaultConfig()
//	err = b.Start(ctx)              // synchronous: ready when it returns nil
//	nc, err := b.Connect("ingest")  // in-process, fully privileged
//	...
//	b.Close()                       // after the components closed their connections
//
// Run(ctx) wraps Start, <-ctx.Done() and Close for the errgroup lifecycle.
//
// # Durability and the ingest edge
//
// Devices never talk to JetStream. A device's request on lp.<tenant>.line.<line>.det
// reaches the ingest edge (edge.go, queue group EdgeQueue, one per process) in
// LinePulse's account as lp._edge.<tenant>.<device>.<line>; tenant and device are
// written by the device's account import, never by the device. The edge gathers what
// waits (up to Config.EdgeMaxBatch messages or 1 MiB, on two writers with the lines
// sharded over them, so each line keeps its order), packs the messages of each line
// into as few stream messages as the server's max_payload allows (pack.go: header
// PartsHeader lists the parts' lengths; consumers decode them with DecodeParts) and
// stores the group in LP_DET with one JetStream atomic batch publish: with Config.SyncAlways (the
// DefaultConfig choice) one fsync covers the whole group (group commit), and
// nats-server's work is per pack, not per device message. Only then does it answer each
// device with a JetStream-style acknowledgement, {"stream":"LP_DET","seq":N} (the parts
// of a pack share N), with "duplicate":true for a re-send. SyncAlways false fsyncs every Config.SyncInterval
// (2 min): a power cut may lose the acknowledged messages of the last interval.
//
// De-duplication: a device's Nats-Msg-Id is stored as ScopedMsgID(tenant, line, id),
// so two tenants or two lines never collide. A pack keeps its parts' ids in header
// IDHeader, not as its Nats-Msg-Id, so the edge de-duplicates (edgememory.go): a re-send
// within Config.DuplicateWindow is answered from one memory per process, fed by what it
// stored and by a headers-only reader of LP_DET that starts one window back (read to
// its end before the edge takes requests), so a re-send is recognised after a restart
// and by every process. A lone message keeps its Nats-Msg-Id, so the stream
// de-duplicates it too (a refused group is then stored message by message). Admit (Config.Admit)
// may refuse a whole message first: the device gets an error reply
// ({"error":{"code":400,"description":"too_old: ..."}}) and the refusal is a dead
// letter on lp.<tenant>.dlq, kept in stream LP_DLQ (DeadLetters).
// Config.Registerer exposes linepulse_edge_writes_total, linepulse_edge_messages_total
// (messages per write = the group size) and linepulse_edge_refused_total.
//
// # Edge devices: credentials, accounts and permissions
//
// A device connects to the embedded server over TCP (Config.Listen, default :4222)
// with user/password authentication:
//
//	user:     <tenant>.<device>   e.g. "acme.cam-01" (tenant slug, a dot, the device name
//	                              [A-Za-z0-9_-]{1,64}); see DeviceUser
//	password: the device secret printed by `linepulse device create`
//
// Config.Devices (DeviceAuth) checks them. Every device is placed in an account of its
// own ("device:<tenant>.<device>", accounts.go), created at its first connection, with
// no JetStream and two service imports from LinePulse's account (the server's global
// account): its tenant's detection subjects, mapped to the edge, and its own telemetry
// subject. A service import rewrites each request's reply subject, so whatever reply a
// device sets, the answer comes back into its own account: a reply of $KV.LP_LEASE.…,
// $JS.API.…, lp._sys.…, another tenant's subject or another device's inbox reaches
// nothing. Within its account a device may only:
//
//	publish   lp.<tenant>.line.<line>.det        for each line it is assigned to
//	                                             (lp.<tenant>.line.*.det if it has none)
//	publish   lp.<tenant>.node.<device>.telemetry
//	subscribe _INBOX.<tenant>.<device>.>         its own reply inbox
//
// The acknowledgement comes back on the reply inbox, so a device MUST set the custom
// inbox prefix _INBOX.<tenant>.<device> (DeviceInboxPrefix):
//
//	nc, err := nats.Connect("nats://linepulse.local:4222",
//		nats.UserInfo("acme.cam-01", secret),
//		nats.CustomInboxPrefix("_INBOX.acme.cam-01"),
//		nats.Name("cam-01"))
//	js, err := jetstream.New(nc)
//	ack, err := js.Publish(ctx, "lp.acme.line.3.det", body, jetstream.WithMsgID("3-1001"))
//	// ack != nil: the detections are stored in stream LP_DET (fsynced by default)
//
// With the nats CLI (a request, so the acknowledgement is printed):
//
//	nats req --server nats://linepulse.local:4222 --user acme.cam-01 --password "$SECRET" \
//	    --inbox-prefix _INBOX.acme.cam-01 lp.acme.line.3.det '{"id":1,...}'
//
// Only jetstream.Publish/PublishAsync (a request with a reply inbox) and plain
// requests work for a device: there is no JetStream API in its account. A publication
// to a denied subject is dropped by the server, which reports a "Permissions
// Violation" to the client asynchronously (nats.ErrorHandler).
//
// Bus.Disconnect(tenant, device) closes the live connections of a revoked device.
//
// The internal user is random per process and accepted only on in-process
// connections (never over TCP); unknown users, tokens and nkeys are refused.
// Refusals are logged at Info without the password.
//
// With an external NATS (Config.URL) the bus connects as LinePulse's user, manages the
// streams and runs the edge; accounts, device users and their imports are configured
// on that cluster: WriteAccountsConfig (`linepulse nats config`) prints them.
package bus
