package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/linepulse/linepulse/store"
)

// MaxDetails bounds the details document of one entry; larger details are replaced by
// {"truncated":true}.
const MaxDetails = 64 << 10

// maxIP is the width of the audit_log ip_address column (an IPv6 address in text).
const maxIP = 45

// NewEntry builds the entry of one event for Append: details as canonical JSON (bounded
// by MaxDetails; {"truncated":true} when too large or not encodable) and the IP cut to
// the column width. userID 0 is the system (the CLI); tenantID 0 is the platform chain.
// A zero at takes the store's clock.
func NewEntry(tenantID, userID int64, action, ip string, details any, at time.Time) *store.AuditEntry {
	raw, err := json.Marshal(details)
	if err == nil {
		raw, err = CanonicalJSON(raw)
	}
	if err != nil || len(raw) > MaxDetails {
		raw = []byte(`{"truncated":true}`)
	}
	if len(ip) > maxIP {
		ip = ip[:maxIP]
	}
	return &store.AuditEntry{TenantID: tenantID, UserID: userID, Action: action, IP: ip, Details: store.JSON(raw), At: at}
}

// Append appends e to its tenant's chain and advances the chain's anchor.
func Append(ctx context.Context, st *store.Store, e *store.AuditEntry) error {
	return st.AppendAuditAnchored(ctx, e, Hash)
}

// CanonicalJSON re-encodes a JSON document in one canonical form (compact, object keys
// sorted, numbers as written). Details are hashed in this form.
func CanonicalJSON(b []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("audit: details are not JSON: %w", err)
	}
	return json.Marshal(v)
}

// FieldsOf converts a stored entry to the hashed fields of the chain.
func FieldsOf(e *store.AuditEntry) Fields {
	details, err := CanonicalJSON(e.Details)
	if err != nil {
		details = e.Details // not JSON: hash the bytes as they are (and fail verification)
	}
	return Fields{TenantID: e.TenantID, Seq: e.Seq, At: e.At, UserID: e.UserID, Action: e.Action, IP: e.IP, Details: details}
}

// Hash computes an entry's chained hash; it is the store.AuditHasher of every append.
func Hash(prev []byte, e *store.AuditEntry) []byte {
	return ChainHash(prev, FieldsOf(e))
}
