package bus

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// The edge's memory of stored message ids. A pack (PartsHeader) carries no Nats-Msg-Id,
// so the stream cannot de-duplicate its parts: the edge does, for the duplicate window,
// from one memory per process fed by what it acknowledged and by the stream itself (a
// headers-only ordered consumer from one window back, read to its end before the edge
// takes requests). So a re-send is recognised after a restart, and by every process, not
// only by the one that stored the first. Each id of a pack is a value of header IDHeader.

// IDHeader carries the scoped Nats-Msg-Ids of a pack's parts (one value per part that
// has one).
const IDHeader = "Lp-Id"

// recentIDsMax bounds the memory (about 80 bytes an id): at the default 10 minutes it
// covers the window up to ~1,600 messages/s; beyond, a re-send older than what it holds
// is stored again in the stream and once in the database (the (id, at) key).
const recentIDsMax = 1_000_000

// idKey is a 128-bit digest of a scoped id: a fixed size in memory, and a device cannot
// choose an id that meets another tenant's (SHA-256, not a fast non-cryptographic hash).
type idKey [16]byte

func keyOf(id string) idKey {
	sum := sha256.Sum256([]byte(id))
	return idKey(sum[:16])
}

// recentIDs remembers the stream sequence of recently stored message ids for the
// duplicate window, oldest first, so a re-send is answered without a write. Safe for
// concurrent use.
type recentIDs struct {
	window time.Duration
	max    int

	mu    sync.Mutex // guards the fields below
	seqs  map[idKey]uint64
	order []recentID
	head  int
}

type recentID struct {
	key idKey
	at  time.Time
}

func newRecentIDs(window time.Duration, max int) *recentIDs {
	return &recentIDs{window: window, max: max, seqs: make(map[idKey]uint64)}
}

func (r *recentIDs) get(k idKey, now time.Time) (uint64, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.expire(now)
	seq, ok := r.seqs[k]
	return seq, ok
}

func (r *recentIDs) put(k idKey, seq uint64, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.seqs[k]; ok {
		return
	}
	r.seqs[k] = seq
	r.order = append(r.order, recentID{k, now})
	r.expire(now)
}

func (r *recentIDs) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.seqs)
}

// expire drops what is older than the window or beyond max. r.mu held.
func (r *recentIDs) expire(now time.Time) {
	for r.head < len(r.order) && (len(r.order)-r.head > r.max || now.Sub(r.order[r.head].at) >= r.window) {
		delete(r.seqs, r.order[r.head].key)
		r.order[r.head] = recentID{}
		r.head++
	}
	if r.head > 1024 && r.head*2 > len(r.order) {
		r.order = append(r.order[:0], r.order[r.head:]...)
		r.head = 0
	}
}

// edgeCatchUpMax bounds how long the edge reads the window's ids before it takes
// requests anyway (a re-send it has not read yet is then stored again in the stream, and
// once in the database).
const edgeCatchUpMax = 30 * time.Second

// followStream feeds r with the ids of every message stored in LP_DET from one window
// before now, and keeps doing so until ctx ends. It returns once what the stream held
// at the start has been read (or after edgeCatchUpMax, or on error).
func followStream(ctx context.Context, js jetstream.JetStream, r *recentIDs, wall time.Time, now func() time.Time, log func(msg string, args ...any)) error {
	s, err := js.Stream(ctx, DetStream)
	if err != nil {
		return fmt.Errorf("cannot open stream %s: %w", DetStream, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return fmt.Errorf("cannot read stream %s: %w", DetStream, err)
	}
	last := info.State.LastSeq
	start := wall.Add(-r.window) // the stream's timestamps are the server's wall clock
	c, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartTimePolicy, OptStartTime: &start, HeadersOnly: true,
	})
	if err != nil {
		return fmt.Errorf("cannot follow stream %s: %w", DetStream, err)
	}
	caughtUp := make(chan struct{})
	var once sync.Once
	done := func() { once.Do(func() { close(caughtUp) }) }
	cc, err := c.Consume(func(m jetstream.Msg) {
		md, err := m.Metadata()
		if err != nil {
			return
		}
		h := m.Headers()
		at := now()
		if id := h.Get(jetstream.MsgIDHeader); id != "" {
			r.put(keyOf(id), md.Sequence.Stream, at)
		}
		for _, id := range h.Values(IDHeader) {
			r.put(keyOf(id), md.Sequence.Stream, at)
		}
		if md.Sequence.Stream >= last || md.NumPending == 0 {
			done()
		}
	})
	if err != nil {
		return fmt.Errorf("cannot follow stream %s: %w", DetStream, err)
	}
	go func() {
		<-ctx.Done()
		cc.Stop()
	}()
	if ci, err := c.Info(ctx); err == nil && ci.NumPending == 0 {
		done() // nothing stored within the window
	}
	select {
	case <-caughtUp:
	case <-time.After(edgeCatchUpMax):
		log("bus: the edge takes requests before it has read every id of the duplicate window", "read", r.len(), "waited", edgeCatchUpMax)
	case <-ctx.Done():
	}
	return nil
}
