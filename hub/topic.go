package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/linepulse/linepulse/bus"
)

// KPIBucket is the NATS KV bucket holding the latest KPI update of every line under
// KPIKey(tenant, line), written by the stream engine, read by the hub for snapshots.
const KPIBucket = "LP_KPI"

// KPIKey returns the LP_KPI key of a line: "<tenant>.<line>".
func KPIKey(tenant string, line int64) string {
	return tenant + "." + strconv.FormatInt(line, 10)
}

// HeaderPublishedAt carries the publish time (unix nanoseconds) of kpi/downtime messages.
const HeaderPublishedAt = "Lp-Published-At"

type frameKind uint8

const (
	kindKPI frameKind = iota + 1
	kindDowntime
	kindSnapshot
	kindError
	kindPing
)

// frame is one WebSocket frame, header and payload, built once and shared read-only by
// every connection it goes to.
type frame struct {
	kind  frameKind
	line  int64
	seq   uint64
	reset bool  // the line's sequence restarted: subscribers forget the seq they hold
	pubAt int64 // Lp-Published-At, unix ns; 0 = unknown
	data  []byte
}

var pingFrame = &frame{kind: kindPing, data: appendFrameHeader(nil, opPing, 0)}

// ring keeps the last messages of a line with contiguous sequence numbers, for resume.
type ring struct {
	buf   []*frame
	start int
	n     int
}

func newRing(size int) *ring { return &ring{buf: make([]*frame, size)} }

func (r *ring) reset() {
	clear(r.buf)
	r.start, r.n = 0, 0
}

// push appends f; the caller guarantees f.seq == last().seq+1 or called reset first.
func (r *ring) push(f *frame) {
	if len(r.buf) == 0 {
		return
	}
	if r.n < len(r.buf) {
		r.buf[(r.start+r.n)%len(r.buf)] = f
		r.n++
		return
	}
	r.buf[r.start] = f
	r.start = (r.start + 1) % len(r.buf)
}

func (r *ring) at(i int) *frame { return r.buf[(r.start+i)%len(r.buf)] }

// after returns the frames with seq > seq when the ring holds every one of them
// (seq+1 is in the ring or seq is its last); ok is false otherwise.
func (r *ring) after(seq uint64, dst []*frame) ([]*frame, bool) {
	if r.n == 0 {
		return dst, false
	}
	first, last := r.at(0).seq, r.at(r.n-1).seq
	if seq+1 < first || seq > last {
		return dst, false
	}
	for i := int(seq + 1 - first); i < r.n; i++ {
		dst = append(dst, r.at(i))
	}
	return dst, true
}

type topicKey struct {
	tenant string
	line   int64
}

// topic is one (tenant, line) this instance has NATS subscriptions for, with the
// connections subscribed to it. Lock order: topic.mu before conn.mu (LOCKS.md).
type topic struct {
	key topicKey
	h   *Hub
	// written once under Hub.subMu before the topic is in Hub.bySub; read after a
	// bySub lookup or under subMu
	kpi  *nats.Subscription
	down *nats.Subscription

	ready chan struct{} // closed when the subscriptions are active and the KV read
	err   error         // set before ready closes when subscribing failed

	refs      int       // guarded by Hub.mu
	idleSince time.Time // guarded by Hub.mu

	mu      sync.Mutex
	subs    []*sub // guarded by mu
	lastSeq uint64 // guarded by mu
	ring    *ring  // guarded by mu
	latest  *frame // guarded by mu: latest live KPI frame
	snap    *frame // guarded by mu: snapshot frame for snapSeq (from the KV or built from latest)
	snapSeq uint64 // guarded by mu
}

// acquire returns the topic of (tenant, line), subscribing on first use, and takes a
// reference on it (release it with Hub.releaseTopic).
func (h *Hub) acquireTopic(ctx context.Context, tenant string, line int64) (*topic, error) {
	k := topicKey{tenant, line}
	h.mu.Lock()
	t := h.topics[k]
	created := t == nil
	if created {
		t = &topic{key: k, h: h, ready: make(chan struct{}), ring: newRing(h.cfg.ResumeBuffer)}
		h.topics[k] = t
	}
	t.refs++
	h.mu.Unlock()
	if created {
		t.err = h.subscribeTopic(ctx, t)
		if t.err != nil {
			h.mu.Lock()
			if h.topics[k] == t {
				delete(h.topics, k) // the next subscriber tries again
			}
			h.mu.Unlock()
		}
		close(t.ready)
	} else {
		select {
		case <-t.ready:
		case <-ctx.Done():
			h.releaseTopic(t)
			return nil, ctx.Err()
		}
	}
	if t.err != nil {
		h.releaseTopic(t)
		return nil, t.err
	}
	return t, nil
}

// subscribeTopic subscribes the topic's two subjects into the dispatcher's channel,
// waits until the server has them (so nothing published from now on is missed), then
// reads the KV snapshot.
func (h *Hub) subscribeTopic(ctx context.Context, t *topic) error {
	// subMu is held across both subscribe calls so that the dispatcher cannot see a
	// message of a subscription before it is mapped to its topic.
	h.subMu.Lock()
	kpi, err := h.nc.ChanSubscribe(bus.KPISubject(t.key.tenant, t.key.line), h.msgs)
	if err != nil {
		h.subMu.Unlock()
		return fmt.Errorf("hub: cannot subscribe to line %d: %w", t.key.line, err)
	}
	down, err := h.nc.ChanSubscribe(bus.DowntimeSubject(t.key.tenant, t.key.line), h.msgs)
	if err != nil {
		_ = kpi.Unsubscribe()
		h.subMu.Unlock()
		return fmt.Errorf("hub: cannot subscribe to line %d: %w", t.key.line, err)
	}
	t.kpi, t.down = kpi, down
	h.bySub[kpi], h.bySub[down] = t, t
	h.subMu.Unlock()
	fctx, cancel := context.WithTimeout(ctx, h.cfg.WriteTimeout)
	defer cancel()
	if err := h.nc.FlushWithContext(fctx); err != nil {
		h.unsubscribeTopic(t)
		return fmt.Errorf("hub: cannot subscribe to line %d: %w", t.key.line, err)
	}
	payload, err := h.kvGet(fctx, KPIKey(t.key.tenant, t.key.line))
	if err != nil {
		h.log.Warn("hub: no KPI snapshot from the KV; sending state unknown", "tenant", t.key.tenant, "line", t.key.line, "err", err)
	}
	if payload != nil {
		hd, perr := parseHead(payload)
		snap, ok := snapshotFromKPI(payload)
		if perr != nil || !ok || hd.Line != t.key.line {
			h.log.Warn("hub: malformed KPI snapshot in the KV; ignored", "key", KPIKey(t.key.tenant, t.key.line), "err", perr)
		} else {
			snap.line, snap.seq = t.key.line, hd.Seq
			t.mu.Lock()
			if hd.Seq > t.snapSeq && (t.latest == nil || hd.Seq > t.latest.seq) {
				t.snap, t.snapSeq = snap, hd.Seq
			}
			t.mu.Unlock()
		}
	}
	return nil
}

// kvGet reads a key of the LP_KPI bucket; nil, nil when the bucket or the key does not
// exist (yet).
func (h *Hub) kvGet(ctx context.Context, key string) ([]byte, error) {
	h.kvMu.Lock()
	kv := h.kv
	h.kvMu.Unlock()
	if kv == nil {
		var err error
		kv, err = h.js.KeyValue(ctx, KPIBucket)
		if errors.Is(err, jetstream.ErrBucketNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("cannot open KV bucket %s: %w", KPIBucket, err)
		}
		h.kvMu.Lock()
		h.kv = kv
		h.kvMu.Unlock()
	}
	e, err := kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read %s from KV bucket %s: %w", key, KPIBucket, err)
	}
	return e.Value(), nil
}

func (h *Hub) unsubscribeTopic(t *topic) {
	h.subMu.Lock()
	for _, s := range []*nats.Subscription{t.kpi, t.down} {
		if s != nil {
			delete(h.bySub, s)
			_ = s.Unsubscribe()
		}
	}
	h.subMu.Unlock()
}

// releaseTopic drops one reference; the last one starts the linger period (or
// unsubscribes at once when TopicLinger < 0).
func (h *Hub) releaseTopic(t *topic) {
	h.mu.Lock()
	t.refs--
	drop := false
	if t.refs == 0 && h.topics[t.key] == t {
		t.idleSince = h.cfg.Now()
		if h.cfg.TopicLinger < 0 {
			delete(h.topics, t.key)
			drop = true
		}
	}
	h.mu.Unlock()
	if drop {
		h.dropTopic(t)
	}
}

func (h *Hub) dropTopic(t *topic) {
	<-t.ready
	h.unsubscribeTopic(t)
}

// expireTopics unsubscribes topics without subscribers for longer than TopicLinger.
func (h *Hub) expireTopics(now time.Time) {
	var drop []*topic
	h.mu.Lock()
	for k, t := range h.topics {
		if t.refs == 0 && now.Sub(t.idleSince) >= h.cfg.TopicLinger {
			delete(h.topics, k)
			drop = append(drop, t)
		}
	}
	h.mu.Unlock()
	for _, t := range drop {
		h.dropTopic(t)
	}
}

// head is the part of a kpi/downtime message the hub reads: the rest goes out as is.
type head struct {
	Type string `json:"type"`
	Line int64  `json:"line"`
	Seq  uint64 `json:"seq"`
}

func parseHead(p []byte) (head, error) {
	var hd head
	if !utf8.Valid(p) {
		return hd, errors.New("payload is not UTF-8")
	}
	if err := json.Unmarshal(p, &hd); err != nil {
		return hd, err
	}
	return hd, nil
}

// dispatch runs in the dispatcher goroutine for every message of a subscribed subject:
// one frame is built and handed to every subscribed connection.
func (h *Hub) dispatch(m *nats.Msg, batch, urgent []*conn) ([]*conn, []*conn) {
	h.subMu.RLock()
	t := h.bySub[m.Sub]
	h.subMu.RUnlock()
	if t == nil {
		return batch, urgent // from a subscription dropped meanwhile
	}
	kind, want := kindKPI, "kpi"
	if m.Sub == t.down {
		kind, want = kindDowntime, "downtime"
	}
	hd, err := parseHead(m.Data)
	if err == nil && (hd.Type != want || hd.Line != t.key.line || hd.Seq == 0) {
		err = fmt.Errorf("type %q line %d seq %d on %s", hd.Type, hd.Line, hd.Seq, m.Subject)
	}
	if err != nil {
		h.stats.dropped.Add(1)
		h.log.Warn("hub: malformed message dropped", "subject", m.Subject, "err", err)
		return batch, urgent
	}
	f := &frame{kind: kind, line: hd.Line, seq: hd.Seq, data: textFrame(m.Data)}
	if v := m.Header.Get(HeaderPublishedAt); v != "" {
		f.pubAt, _ = strconv.ParseInt(v, 10, 64)
	}
	now := h.cfg.Now()

	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.lastSeq == 0 || f.seq == t.lastSeq+1:
	case f.seq <= t.lastSeq && t.lastSeq-f.seq < resetDistance:
		h.stats.dropped.Add(1) // a duplicate (e.g. the engine replaying after a restart)
		return batch, urgent
	case f.seq < t.lastSeq:
		f.reset = true // the sequence restarted far below: a new epoch
		t.ring.reset()
		t.snap, t.snapSeq, t.latest = nil, 0, nil
	default:
		t.ring.reset() // a gap: resume can only be served from after it
	}
	t.lastSeq = f.seq
	t.ring.push(f)
	if kind == kindKPI {
		t.latest = f
	}
	for _, s := range t.subs {
		switch s.c.deliver(s, f, now) {
		case schedNormal:
			batch = append(batch, s.c)
		case schedUrgent:
			urgent = append(urgent, s.c)
		}
	}
	return batch, urgent
}

// resetDistance: a seq this far below the last one is a restart of the sequence, not a duplicate.
const resetDistance = 1 << 16

// snapshotLocked returns the freshest snapshot frame of the topic (t.mu held).
func (t *topic) snapshotLocked() *frame {
	if t.latest != nil && t.latest.seq > t.snapSeq {
		if snap, ok := snapshotFromKPI(t.latest.data[frameHeaderLen(t.latest.data):]); ok {
			snap.line, snap.seq = t.key.line, t.latest.seq
			t.snap, t.snapSeq = snap, t.latest.seq
		}
	}
	if t.snap != nil {
		return t.snap
	}
	return unknownSnapshot(t.key.line)
}

// frameHeaderLen returns the header length of a frame built by appendFrameHeader.
func frameHeaderLen(b []byte) int {
	switch b[1] & 0x7F {
	case 126:
		return 4
	case 127:
		return 10
	}
	return 2
}

// attach subscribes c to the topic (t.mu, then c.mu). With resume it queues the frames
// after seq if the ring holds all of them, else (and without resume) the snapshot
// followed by the ring's frames after it. It reports whether c was attached (not
// closing) and whether it must be handed to the writer pool.
func (t *topic) attach(c *conn, resume bool, seq uint64) (attached bool, sc sched) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var frames []*frame
	ok := false
	last := seq
	if resume {
		if seq == t.lastSeq && seq > 0 {
			ok = true // nothing missed
		} else if frames, ok = t.ring.after(seq, nil); ok && len(frames) > 0 {
			last = frames[len(frames)-1].seq
		}
	}
	if !ok {
		snap := t.snapshotLocked()
		frames = append(frames[:0], snap)
		last = snap.seq
		if snap.seq > 0 || t.ring.n > 0 {
			if more, ok := t.ring.after(snap.seq, frames); ok {
				frames = more
				last = frames[len(frames)-1].seq
			}
		}
	}
	return c.attach(t, frames, last)
}

// detach removes s from the topic's subscribers (t.mu held by the caller).
func (t *topic) detachLocked(s *sub) {
	i := s.idx
	if i < 0 || i >= len(t.subs) || t.subs[i] != s {
		return
	}
	n := len(t.subs) - 1
	t.subs[i] = t.subs[n]
	t.subs[i].idx = i
	t.subs[n] = nil
	t.subs = t.subs[:n]
	s.idx = -1
}
