package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/linepulse/linepulse/store"
)

// Report is the result of Verify.
type Report struct {
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

// Verify checks the chain of one tenant (0 = platform) page by page: it starts at seq 1,
// every entry links to the previous one and hashes right, and the chain reaches the
// anchor (so deleting the newest entries is caught too). It stops at the first broken
// entry. err is for failures to read, not for a broken chain.
func Verify(ctx context.Context, st *store.Store, tenantID int64, pageSize int) (Report, error) {
	if pageSize <= 0 {
		pageSize = 1000
	}
	rep := Report{TenantID: tenantID}
	anchor, err := st.GetAuditAnchor(ctx, tenantID)
	switch {
	case err == nil:
		rep.AnchorSeq = anchor.Seq
	case !errors.Is(err, store.ErrNotFound):
		return rep, err
	}
	var prev *Entry
	after := int64(0)
	broken := func(e *store.AuditEntry, why string) (Report, error) {
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
		chain := make([]Entry, 0, len(batch)+1)
		offset := 0
		if prev != nil {
			chain, offset = append(chain, *prev), 1
		} else if batch[0].Seq != 1 {
			return broken(&batch[0], fmt.Sprintf("the chain starts at seq %d: entries before it were deleted", batch[0].Seq))
		}
		for i := range batch {
			chain = append(chain, Entry{Fields: FieldsOf(&batch[i]), PrevHash: batch[i].PrevHash, Hash: batch[i].Hash})
		}
		if bad, err := VerifyChain(chain); bad >= 0 {
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
