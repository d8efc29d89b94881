package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/web/auth"
)

// maxAuditDetails bounds the details document of one audit entry.
const maxAuditDetails = 64 << 10

// audit appends a security event to the chain of tenantID (0 = platform). It runs even
// when the client has gone away. A failure is logged and counted, never hidden: the
// change it records has already happened and the operator must look.
func (a *API) audit(ctx context.Context, tenantID, userID int64, action, ip string, details any) {
	raw, err := json.Marshal(details)
	if err == nil {
		raw, err = CanonicalJSON(raw)
	}
	if err != nil || len(raw) > maxAuditDetails {
		raw = []byte(`{"truncated":true}`)
	}
	if len(ip) > 45 {
		ip = ip[:45]
	}
	e := &store.AuditEntry{TenantID: tenantID, UserID: userID, Action: action, IP: ip, Details: store.JSON(raw), At: a.now()}
	if err := a.st.AppendAuditAnchored(context.WithoutCancel(ctx), e, AuditHasher); err != nil {
		a.metrics.auditErr.Inc()
		a.log.Error("api: AUDIT ENTRY NOT WRITTEN", "tenant", tenantID, "user", userID, "action", action, "ip", ip, "details", string(raw), "err", err)
	}
}

// auditChange records a change by the caller, with the object before and after.
func (c *call) auditChange(action string, id int64, before, after any) {
	d := map[string]any{"id": id}
	if before != nil {
		d["before"] = before
	}
	if after != nil {
		d["after"] = after
	}
	c.a.audit(c.r.Context(), c.p.TenantID, c.p.UserID, action, c.ip, d)
}

// CanonicalJSON re-encodes a JSON document in one canonical form (compact, object keys
// sorted, numbers as written). Audit details are hashed in this form, so an engine that
// normalises stored JSON (MySQL's JSON type) does not break the chain, while any change
// of content does.
func CanonicalJSON(b []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("web: audit details are not JSON: %w", err)
	}
	return json.Marshal(v)
}

// AuditFields converts a stored entry to the hashed fields of the chain.
func AuditFields(e *store.AuditEntry) auth.AuditFields {
	details, err := CanonicalJSON(e.Details)
	if err != nil {
		details = e.Details // not JSON: hash the bytes as they are (and fail verification)
	}
	return auth.AuditFields{TenantID: e.TenantID, Seq: e.Seq, At: e.At, UserID: e.UserID, Action: e.Action, IP: e.IP, Details: details}
}

// AuditHasher computes an entry's chained hash; pass it to store.AppendAudit.
func AuditHasher(prev []byte, e *store.AuditEntry) []byte {
	return auth.ChainHash(prev, AuditFields(e))
}

// AuditReport is the result of VerifyAudit.
type AuditReport struct {
	TenantID int64  `json:"tenant_id"`
	Entries  int64  `json:"entries"`  // entries checked
	LastSeq  int64  `json:"last_seq"` // newest seq found
	LastHash []byte `json:"last_hash"`
	// AnchorSeq is the newest seq recorded apart from the chain (0 = no anchor).
	AnchorSeq int64 `json:"anchor_seq"`
	OK        bool  `json:"ok"`
	// BrokenSeq and Broken name the first bad entry (Broken is nil when entries are missing
	// at the end of the chain: BrokenSeq is then the first missing seq).
	BrokenSeq int64             `json:"broken_seq,omitempty"`
	Broken    *store.AuditEntry `json:"broken,omitempty"`
	Reason    string            `json:"reason,omitempty"`
}

// VerifyAudit checks the audit chain of one tenant (0 = platform) page by page: it starts
// at seq 1, every entry links to the previous one and hashes right, and the chain reaches
// the anchor (so deleting the newest entries is caught too). It stops at the first
// broken entry. err is for failures to read, not for a broken chain.
func VerifyAudit(ctx context.Context, st *store.Store, tenantID int64, pageSize int) (AuditReport, error) {
	if pageSize <= 0 {
		pageSize = 1000
	}
	rep := AuditReport{TenantID: tenantID}
	anchor, err := st.GetAuditAnchor(ctx, tenantID)
	switch {
	case err == nil:
		rep.AnchorSeq = anchor.Seq
	case !errors.Is(err, store.ErrNotFound):
		return rep, err
	}
	var prev *auth.AuditEntry
	after := int64(0)
	broken := func(e *store.AuditEntry, why string) (AuditReport, error) {
		rep.Broken, rep.BrokenSeq, rep.Reason = e, e.Seq, why
		return rep, nil
	}
	for {
		batch, err := st.AuditEntries(ctx, tenantID, after, pageSize)
		if err != nil {
			return rep, err
		}
		if len(batch) == 0 {
			break
		}
		chain := make([]auth.AuditEntry, 0, len(batch)+1)
		offset := 0
		if prev != nil {
			chain, offset = append(chain, *prev), 1
		} else if batch[0].Seq != 1 {
			return broken(&batch[0], fmt.Sprintf("the chain starts at seq %d: entries before it were deleted", batch[0].Seq))
		}
		for i := range batch {
			chain = append(chain, auth.AuditEntry{AuditFields: AuditFields(&batch[i]), PrevHash: batch[i].PrevHash, Hash: batch[i].Hash})
		}
		if bad, err := auth.VerifyChain(chain); bad >= 0 {
			return broken(&batch[bad-offset], err.Error())
		}
		for i := range batch {
			if batch[i].Seq == rep.AnchorSeq && !bytes.Equal(batch[i].Hash, anchor.Hash) {
				return broken(&batch[i], "the entry differs from the anchored one (the chain was rewritten from here on)")
			}
		}
		rep.Entries += int64(len(batch))
		last := chain[len(chain)-1]
		prev = &last
		after = last.Seq
		rep.LastSeq, rep.LastHash = last.Seq, last.Hash
		if len(batch) < pageSize {
			break
		}
	}
	if rep.AnchorSeq > rep.LastSeq {
		rep.BrokenSeq = rep.LastSeq + 1
		rep.Reason = fmt.Sprintf("entries %d to %d are missing: the anchor records seq %d", rep.LastSeq+1, rep.AnchorSeq, rep.AnchorSeq)
		return rep, nil
	}
	rep.OK = true
	return rep, nil
}

// ---- audit endpoints ----

func (a *API) auditRoutes() []*Route {
	return []*Route{
		{Method: "GET", Path: "/api/v1/audit", Summary: "Read your scope's audit log in sequence order", Tag: "audit",
			Scope: ScopeAny, Action: ActAudit, Query: pageParams, Resp: Page[store.AuditEntry]{}, List: true, handle: a.handleAuditList},
		{Method: "GET", Path: "/api/v1/audit/verify", Summary: "Verify your scope's audit hash chain", Tag: "audit",
			Scope: ScopeAny, Action: ActAudit, Resp: AuditReport{}, handle: a.handleAuditVerify},
		{Method: "GET", Path: "/api/v1/logins", Summary: "Sign-ins and sign-outs of your scope's users (USER_LOGIN)", Tag: "audit",
			Scope: ScopeAny, Action: ActUsers, Query: pageParams, Resp: Page[store.UserLogin]{}, List: true, handle: a.handleLogins},
	}
}

// handleAuditList pages by seq (?after is a seq here).
func (a *API) handleAuditList(c *call) error {
	p, err := c.q.page()
	if err != nil {
		return err
	}
	limit := p.Limit
	if limit == 0 {
		limit = store.DefaultPageSize
	}
	list, err := a.st.AuditEntries(c.r.Context(), c.p.TenantID, p.AfterID, limit)
	return replyList(c, p, list, err, func(e *store.AuditEntry) int64 { return e.Seq })
}

func (a *API) handleAuditVerify(c *call) error {
	ctx, cancel := context.WithTimeout(c.r.Context(), time.Minute)
	defer cancel()
	rep, err := VerifyAudit(ctx, a.st, c.p.TenantID, 1000)
	if err != nil {
		return err
	}
	return c.reply(rep)
}

func (a *API) handleLogins(c *call) error {
	p, err := c.q.page()
	if err != nil {
		return err
	}
	list, err := a.st.ListLogins(c.r.Context(), c.p.TenantID, p)
	return replyList(c, p, list, err, func(l *store.UserLogin) int64 { return l.ID })
}
