// Package audit is LinePulse's tamper-evident audit log: one hash chain per tenant
// (tenant 0 is the platform's chain) in store's audit_log table, anchored apart from the
// chain (audit_anchor) so that deleting its newest entries is detected too.
//
// Every writer of the log goes through Append with an entry made by NewEntry: the REST
// API for every change and security event, and the CLI for the changes it makes
// (`linepulse user create`, `device create`, `device revoke`), under the API's action
// names with user 0 (the system), no IP and "via":"cli" in the details. Details are
// stored and hashed as canonical JSON (CanonicalJSON), so an engine that normalises
// stored JSON does not break the chain, while any change of content does.
//
// Each entry's hash is ChainHash(previous hash, Fields): SHA-256 over a length-prefixed,
// domain-separated encoding of tenant, seq, time (microseconds), user, action, IP and
// details. VerifyChain checks a run of entries; Verify walks a tenant's whole chain in
// the store up to its anchor (`linepulse audit verify`, GET /api/v1/audit/verify).
package audit
