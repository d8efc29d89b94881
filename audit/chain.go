package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// ErrChainBroken: a chain failed VerifyChain.
var ErrChainBroken = errors.New("audit: hash chain broken")

// Fields are the hashed fields of one entry of one tenant's chain.
type Fields struct {
	TenantID int64
	Seq      int64     // 1, 2, 3 … per tenant, no gaps
	At       time.Time // hashed at microsecond precision (what MySQL DATETIME(6) keeps)
	UserID   int64     // 0 = system
	Action   string
	IP       string
	Details  []byte // canonical JSON; the caller must produce identical bytes on re-read
}

// Entry is a stored entry with its chain links.
type Entry struct {
	Fields
	PrevHash []byte // Hash of entry Seq-1; empty for Seq 1
	Hash     []byte // ChainHash(PrevHash, Fields)
}

// auditDomain separates these hashes from any other SHA-256 use; bump the
// version if the encoding changes.
const auditDomain = "linepulse/audit/v1"

// ChainHash returns SHA-256 over this unambiguous encoding:
//
//	u32be(len(domain)) domain
//	u32be(len(prev)) prev
//	i64be(TenantID) i64be(Seq) i64be(At.UnixMicro()) i64be(UserID)
//	u32be(len(Action)) Action
//	u32be(len(IP)) IP
//	u32be(len(Details)) Details
//
// Integers are fixed width and every variable field is length-prefixed, so
// no two different entries encode to the same bytes.
func ChainHash(prev []byte, e Fields) []byte {
	h := sha256.New()
	var buf [8]byte
	putBytes := func(b []byte) {
		binary.BigEndian.PutUint32(buf[:4], uint32(len(b)))
		h.Write(buf[:4])
		h.Write(b)
	}
	putInt := func(v int64) {
		binary.BigEndian.PutUint64(buf[:], uint64(v))
		h.Write(buf[:])
	}
	putBytes([]byte(auditDomain))
	putBytes(prev)
	putInt(e.TenantID)
	putInt(e.Seq)
	putInt(e.At.UnixMicro())
	putInt(e.UserID)
	putBytes([]byte(e.Action))
	putBytes([]byte(e.IP))
	putBytes(e.Details)
	return h.Sum(nil)
}

// VerifyChain checks entries of one tenant ordered by Seq: same tenant,
// consecutive Seq (a gap means deletion, a step back means reordering or
// insertion), each PrevHash equal to the previous Hash, and each Hash
// recomputed. It returns (-1, nil) when intact, else the index of the first
// bad entry and an error wrapping ErrChainBroken.
//
// The first entry's PrevHash is trusted unless its Seq is 1 (then it must be
// empty), so a segment can be checked alone. Truncating the newest entries is
// invisible here: compare the last Hash with an anchor kept elsewhere.
func VerifyChain(entries []Entry) (firstBad int, err error) {
	bad := func(i int, why string) (int, error) {
		return i, fmt.Errorf("%w: entry %d (seq %d): %s", ErrChainBroken, i, entries[i].Seq, why)
	}
	for i := range entries {
		e := &entries[i]
		if i == 0 {
			if e.Seq < 1 {
				return bad(i, "seq below 1")
			}
			if e.Seq == 1 && len(e.PrevHash) != 0 {
				return bad(i, "first entry has a previous hash")
			}
		} else {
			p := &entries[i-1]
			switch {
			case e.TenantID != p.TenantID:
				return bad(i, "tenant changes")
			case e.Seq != p.Seq+1:
				return bad(i, fmt.Sprintf("seq follows %d", p.Seq))
			case !bytes.Equal(e.PrevHash, p.Hash):
				return bad(i, "previous hash mismatch")
			}
		}
		if !bytes.Equal(e.Hash, ChainHash(e.PrevHash, e.Fields)) {
			return bad(i, "hash mismatch")
		}
	}
	return -1, nil
}
