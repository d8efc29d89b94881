// Package bus owns LinePulse's message bus: the NATS subject names of the binding
// contract, the embedded NATS server with JetStream (or the connection to an external
// NATS cluster), the LP_DET detection stream, and the authentication and permissions
// of edge devices. ingest, stream and hub get their connections from it (Bus.Connect).
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
// # Durability
//
// With Config.SyncAlways (the DefaultConfig choice) the server fsyncs every message
// before it sends the PubAck: an acknowledged detection survives a power cut. With
// SyncAlways false the store is fsynced every Config.SyncInterval (2 min): faster,
// but a power cut may lose the acknowledged messages of the last interval.
// Publishers should set a Nats-Msg-Id header (e.g. "<line>-<first detection id>"):
// the stream drops re-publications of the same id within Config.DuplicateWindow.
//
// # Edge devices: credentials and permissions
//
// A device connects to the embedded server over TCP (Config.Listen, default :4222)
// with user/password authentication:
//
//	user:     <tenant>.<device>   e.g. "acme.cam-01" (tenant slug, a dot, the device name
//	                              [A-Za-z0-9_-]{1,64}); see DeviceUser
//	password: the device secret printed by `linepulse device create`
//
// Config.Devices (DeviceAuth) checks them. An authenticated device may only:
//
//	publish   lp.<tenant>.line.<line>.det        for each line it is assigned to
//	                                             (lp.<tenant>.line.*.det if it has none)
//	publish   lp.<tenant>.node.<device>.telemetry
//	subscribe _INBOX.<tenant>.<device>.>         its own reply inbox
//
// Nothing else: not other tenants, not kpi/downtime/dlq subjects, not the JetStream API
// ($JS.API.>). The JetStream PubAck of a detection comes back on the reply inbox, so a
// device MUST set the custom inbox prefix _INBOX.<tenant>.<device> (DeviceInboxPrefix),
// otherwise its inbox subscription is refused and it never sees an acknowledgement:
//
//	nc, err := nats.Connect("nats://linepulse.local:4222",
//		nats.UserInfo("acme.cam-01", secret),
//		nats.CustomInboxPrefix("_INBOX.acme.cam-01"),
//		nats.Name("cam-01"))
//	js, err := jetstream.New(nc)
//	ack, err := js.Publish(ctx, "lp.acme.line.3.det", body, jetstream.WithMsgID("3-1001"))
//	// ack != nil: the detections are stored in stream LP_DET (fsynced by default)
//
// With the nats CLI (a request, so the PubAck is printed):
//
//	nats req --server nats://linepulse.local:4222 --user acme.cam-01 --password "$SECRET" \
//	    --inbox-prefix _INBOX.acme.cam-01 lp.acme.line.3.det '{"id":1,...}'
//
// Only jetstream.Publish/PublishAsync (plain publish with a reply inbox) work for a
// device: APIs that call $JS.API (stream or consumer management, info) are denied.
// A publication to a denied subject is dropped by the server, which reports a
// "Permissions Violation" to the client asynchronously (nats.ErrorHandler).
//
// Bus.Disconnect(tenant, device) closes the live connections of a revoked device.
//
// The internal user is random per process and accepted only on in-process
// connections (never over TCP); unknown users, tokens and nkeys are refused.
// Refusals are logged at Info without the password.
//
// With an external NATS (Config.URL) the bus only connects and manages the stream:
// device accounts and permissions are then configured on that cluster.
package bus
