package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

	"github.com/linepulse/linepulse/detection"
	"github.com/linepulse/linepulse/internal/clock"
)

// The ingest edge: devices never talk to JetStream. A device's request on
// lp.<tenant>.line.<line>.det in its own account reaches LinePulse's account, through
// a service import, as lp._edge.<tenant>.<device>.<line> (the tenant and device are
// written by the import, never by the device); the edge stores what waits with one
// atomic batch publish (one fsync) and answers every device with a JetStream-style
// acknowledgement.
const (
	edgeRoot = subjectRoot + "._edge"
	// EdgeQueue is the queue group of the edge: every LinePulse instance on the same
	// NATS system runs one, each request is handled by one of them.
	EdgeQueue = "lp-edge"
	// edgeWildcard is what the edge subscribes to in LinePulse's account.
	edgeWildcard = edgeRoot + ".*.*.*"

	// DefaultEdgeMaxBatch is the most messages stored with one atomic batch publish
	// (nats-server accepts at most 1000).
	DefaultEdgeMaxBatch = 500

	batchIDHeader     = "Nats-Batch-Id"
	batchSeqHeader    = "Nats-Batch-Sequence"
	batchCommitHeader = "Nats-Batch-Commit"

	edgeCommitTimeout = 10 * time.Second
)

// edgeImportSubject is the subject in LinePulse's account that a device's detection
// subjects map to: lp._edge.<tenant>.<device>.* (the wildcard is the line).
func edgeImportSubject(tenant, device string) string {
	return edgeRoot + "." + tenant + "." + device + ".*"
}

// tenantDetWildcard is lp.<tenant>.line.*.det, a tenant's detection subjects.
func tenantDetWildcard(tenant string) string {
	return subjectRoot + "." + tenant + ".line.*." + KindDet
}

// parseEdgeSubject splits lp._edge.<tenant>.<device>.<line>.
func parseEdgeSubject(s string) (tenant, device string, line int64, ok bool) {
	rest, found := strings.CutPrefix(s, edgeRoot+".")
	if !found {
		return "", "", 0, false
	}
	parts := strings.Split(rest, ".")
	if len(parts) != 3 || !ValidTenant(parts[0]) || !ValidDeviceName(parts[1]) {
		return "", "", 0, false
	}
	line, ok = parseLineID(parts[2])
	return parts[0], parts[1], line, ok
}

// ScopedMsgID is the Nats-Msg-Id the edge stores a device's message under: the
// device's own id scoped to its tenant and line, so that two tenants or two lines
// choosing the same id never collide in the stream's de-duplication.
func ScopedMsgID(tenant string, line int64, id string) string {
	return tenant + "/" + strconv.FormatInt(line, 10) + "/" + id
}

// Admit decides, before anything is stored, whether a device's whole message is
// refused (for example every detection in it too old, judged by detection.WindowAt at
// at, when the edge received it). A refusal is sent to the device as an error reply
// ({"error":{"code":400,"description":"<reason>: <detail>"}}), published as a dead
// letter on lp.<tenant>.dlq, and the message is not stored; nil stores it. It must be
// safe for concurrent use and quick: it runs on the edge's receiving goroutine.
type Admit func(tenant, device string, line int64, body []byte, at time.Time) *detection.Rejected

// edgeMsg is one device request waiting to be stored.
type edgeMsg struct {
	subject   string // lp.<tenant>.line.<line>.det, where it is stored
	reply     string // "" for a plain publish
	body      []byte
	id        string // scoped Nats-Msg-Id, "" when the device set none
	key       idKey  // keyOf(id), when id is set
	at        time.Time
	followers []*edgeMsg
}

type edge struct {
	log      *slog.Logger
	clock    clock.Clock
	nc       *nats.Conn
	js       jetstream.JetStream
	admit    Admit
	observe  func(string, time.Duration)
	maxBatch int
	writers  []*edgeWriter
	stop     chan struct{}
	wg       sync.WaitGroup
	sub      *nats.Subscription
	stopOnce sync.Once
	recent   *recentIDs // shared by the writers and the stream's follower
	// stopFollow ends followStream.
	stopFollow context.CancelFunc
	writes     atomic.Int64 // stream writes (atomic batches or single messages)
	stored     atomic.Int64 // messages stored by them
	refused    atomic.Int64 // messages Admit refused
}

// edgeSmallGroup is the largest group stored message by message: an atomic batch
// stages its messages in a store of its own first, a fixed cost of several fsyncs.
const edgeSmallGroup = 4

// edgeMaxGroupBytes bounds the payload of one group: the server stages an atomic batch
// before it commits it, so a group's cost (and its devices' wait) grows with its bytes.
const edgeMaxGroupBytes = 1 << 20

// edgePackHeadroom is what a pack leaves of the server's max_payload for the headers
// that are not the pack's own (atomic batch id, sequence, commit).
const edgePackHeadroom = 512

// edgeWriters is how many group commits may be in flight at once. A line's messages
// always go to the same writer, so they are stored in the order they arrived and a
// re-send in the same group meets its first delivery there. Two: one writer (with or
// without a second full group in flight) waited less per group at a steady rate but
// acknowledged and committed less flat out in most side-by-side runs of bench ingest
// (docs/PERFORMANCE.md, 2026-12-02).
const edgeWriters = 2

// edgeWriter gathers and stores the messages of its share of the lines.
type edgeWriter struct {
	e         *edge
	in        chan *edgeMsg
	inBatch   map[string]*edgeMsg
	leaders   []*edgeMsg
	packs     []*edgePack
	bySubject map[string]*edgePack
}

// EdgeStats counts what the ingest edge of this process stored: Writes durable
// writes (one atomic batch publish, or one message), holding Messages messages.
type EdgeStats struct {
	Writes   int64
	Messages int64
	Refused  int64
}

func startEdge(nc *nats.Conn, log *slog.Logger, clk clock.Clock, admit Admit, observe func(string, time.Duration), maxBatch int, dupWindow time.Duration) (*edge, error) {
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncTimeout(edgeCommitTimeout))
	if err != nil {
		return nil, fmt.Errorf("cannot open JetStream context for the edge: %w", err)
	}
	e := &edge{
		log: log, clock: clk, nc: nc, js: js, admit: admit, observe: observe, maxBatch: maxBatch,
		stop: make(chan struct{}), recent: newRecentIDs(dupWindow, recentIDsMax),
	}
	for range edgeWriters {
		e.writers = append(e.writers, &edgeWriter{e: e, in: make(chan *edgeMsg, 2*maxBatch),
			inBatch: make(map[string]*edgeMsg), bySubject: make(map[string]*edgePack)})
	}
	var ctx context.Context
	ctx, e.stopFollow = context.WithCancel(context.Background())
	if err := followStream(ctx, js, e.recent, time.Now(), clk.Now, log.Warn); err != nil {
		e.stopFollow()
		return nil, fmt.Errorf("cannot read the stream's recent ids for the edge: %w", err)
	}
	sub, err := nc.QueueSubscribe(edgeWildcard, EdgeQueue, e.receive)
	if err != nil {
		e.stopFollow()
		return nil, fmt.Errorf("cannot subscribe the edge to %s: %w", edgeWildcard, err)
	}
	// Backpressure is the in channel; what waits beyond it stays in the subscription.
	if err := sub.SetPendingLimits(1<<20, 1<<30); err != nil {
		e.stopFollow()
		return nil, fmt.Errorf("cannot set the edge's pending limits: %w", err)
	}
	if err := nc.Flush(); err != nil {
		e.stopFollow()
		return nil, fmt.Errorf("cannot subscribe the edge: %w", err)
	}
	e.sub = sub
	for _, w := range e.writers {
		e.wg.Add(1)
		go w.run()
	}
	return e, nil
}

// close stops taking requests; what was received and not stored gets no answer (the
// devices re-send it).
func (e *edge) close() {
	e.stopOnce.Do(func() {
		_ = e.sub.Unsubscribe()
		close(e.stop)
		e.wg.Wait()
		e.stopFollow()
	})
}

// receive runs on the subscription's goroutine, one request at a time.
func (e *edge) receive(m *nats.Msg) {
	tenant, device, line, ok := parseEdgeSubject(m.Subject)
	if !ok {
		return
	}
	now := e.clock.Now()
	em := &edgeMsg{subject: DetSubject(tenant, line), reply: m.Reply, body: m.Data, at: now}
	if e.admit != nil {
		if r := e.admit(tenant, device, line, m.Data, now); r != nil {
			e.refused.Add(1)
			if dl, err := json.Marshal(r.DeadLetter(em.subject, now)); err == nil {
				_ = e.nc.Publish(DLQSubject(tenant), dl)
			}
			e.replyError(m.Reply, 400, string(r.Reason)+": "+r.Detail)
			return
		}
	}
	if id := m.Header.Get(jetstream.MsgIDHeader); id != "" {
		em.id = ScopedMsgID(tenant, line, id)
		em.key = keyOf(em.id)
	}
	w := e.writers[(fnv32(tenant)+uint32(line))%uint32(len(e.writers))]
	select {
	case w.in <- em:
	case <-e.stop:
	}
}

// run is the group commit: it takes whatever waits (up to maxBatch) and stores it
// with one write, then starts over; while one write is in flight the next batch gathers.
func (w *edgeWriter) run() {
	e := w.e
	defer e.wg.Done()
	batch := make([]*edgeMsg, 0, e.maxBatch)
	for {
		select {
		case <-e.stop:
			return
		case m := <-w.in:
			batch = append(batch[:0], m)
		}
		size := len(batch[0].body)
	fill:
		for len(batch) < e.maxBatch && size < edgeMaxGroupBytes {
			select {
			case m := <-w.in:
				batch = append(batch, m)
				size += len(m.body)
			default:
				break fill
			}
		}
		w.commit(batch)
	}
}

// fnv32 is FNV-1a: spreads tenants over the writers.
func fnv32(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}

func (w *edgeWriter) commit(batch []*edgeMsg) {
	e := w.e
	now := e.clock.Now()
	if e.observe != nil {
		e.observe("edge.gather", now.Sub(batch[0].at))
		defer func() { e.observe("edge.store", e.clock.Now().Sub(now)) }()
	}
	w.leaders = w.leaders[:0]
	for _, m := range batch {
		if m.id != "" {
			if seq, ok := e.recent.get(m.key, now); ok {
				e.replyAck(m.reply, seq, true)
				continue
			}
			if l, ok := w.inBatch[m.id]; ok {
				l.followers = append(l.followers, m)
				continue
			}
			w.inBatch[m.id] = m
		}
		w.leaders = append(w.leaders, m)
	}
	clear(w.inBatch)
	packs := w.pack(w.leaders)
	switch {
	case len(packs) == 0:
	case len(packs) <= edgeSmallGroup:
		w.publishEach(packs)
	default:
		err := w.publishBatch(packs, now)
		var apiErr *jetstream.APIError
		if errors.As(err, &apiErr) {
			// The batch was refused as a whole, typically because one message re-sends
			// one stored earlier: store them one by one, each gets its own answer.
			e.log.Debug("bus: edge batch refused, storing one by one", "messages", len(packs), "err", err)
			w.publishEach(packs)
		} else if err != nil {
			e.log.Warn("bus: edge cannot store a batch, devices will re-send", "messages", len(w.leaders), "err", err)
			for _, p := range packs {
				p.replyErrorAll(e, 503, "cannot store: "+err.Error())
			}
		}
	}
	for i := range batch {
		batch[i] = nil
	}
}

// edgePack is one stream message the edge stores: one device message, or several of
// the same line (Pack).
type edgePack struct {
	subject string
	parts   []*edgeMsg
	cost    int // bytes of the stream message: bodies and the pack's headers
}

// packCost is what m adds to a pack: its body, its length in PartsHeader and its id
// in an IDHeader line.
func packCost(m *edgeMsg) int {
	c := len(m.body) + 8
	if m.id != "" {
		c += len(IDHeader) + len(m.id) + 4
	}
	return c
}

// streamMsg is the pack as a stream message; a lone device message keeps its
// Nats-Msg-Id, so the stream de-duplicates it across processes.
func (p *edgePack) streamMsg() *nats.Msg {
	if len(p.parts) == 1 {
		msg := &nats.Msg{Subject: p.subject, Data: p.parts[0].body, Header: nats.Header{}}
		if p.parts[0].id != "" {
			msg.Header.Set(jetstream.MsgIDHeader, p.parts[0].id)
		}
		return msg
	}
	bodies, ids := make([][]byte, len(p.parts)), make([]string, len(p.parts))
	for i, m := range p.parts {
		bodies[i], ids[i] = m.body, m.id
	}
	return Pack(p.subject, bodies, ids)
}

func (p *edgePack) replyErrorAll(e *edge, code int, desc string) {
	for _, m := range p.parts {
		e.replyErrorAll(m, code, desc)
	}
}

// pack groups ms by subject, in order, into packs of at most maxParts messages that
// fit the server's max_payload.
func (w *edgeWriter) pack(ms []*edgeMsg) []*edgePack {
	w.packs = w.packs[:0]
	clear(w.bySubject)
	limit := int(w.e.nc.MaxPayload()) - edgePackHeadroom
	for _, m := range ms {
		cost := packCost(m)
		p := w.bySubject[m.subject]
		if p == nil || len(p.parts) >= maxParts || p.cost+cost > limit {
			p = &edgePack{subject: m.subject}
			w.bySubject[m.subject] = p
			w.packs = append(w.packs, p)
		}
		p.parts = append(p.parts, m)
		p.cost += cost
	}
	return w.packs
}

// batchAck is the answer to the commit message of an atomic batch.
type batchAck struct {
	jetstream.PubAck
	Count int                 `json:"count"`
	Error *jetstream.APIError `json:"error"`
}

// publishBatch stores ps with one atomic batch publish (one fsync with SyncAlways) and
// acknowledges each. An *jetstream.APIError means nothing was stored.
func (w *edgeWriter) publishBatch(ps []*edgePack, now time.Time) error {
	e := w.e
	id := nuid.Next()
	var resp *nats.Msg
	for i, p := range ps {
		msg := p.streamMsg()
		msg.Header.Set(batchIDHeader, id)
		msg.Header.Set(batchSeqHeader, strconv.Itoa(i+1))
		if i < len(ps)-1 {
			if err := e.nc.PublishMsg(msg); err != nil {
				return fmt.Errorf("cannot publish batch message: %w", err)
			}
			continue
		}
		msg.Header.Set(batchCommitHeader, "1")
		var err error
		if resp, err = e.nc.RequestMsg(msg, edgeCommitTimeout); err != nil {
			return fmt.Errorf("cannot commit batch: %w", err)
		}
	}
	var ack batchAck
	if err := json.Unmarshal(resp.Data, &ack); err != nil {
		return fmt.Errorf("cannot read batch acknowledgement %q: %w", resp.Data, err)
	}
	if ack.Error != nil {
		return ack.Error
	}
	if ack.Count != len(ps) || ack.Sequence < uint64(len(ps)) {
		return fmt.Errorf("batch acknowledgement %q does not match %d messages", resp.Data, len(ps))
	}
	e.writes.Add(1)
	first := ack.Sequence - uint64(len(ps)) + 1
	for i, p := range ps {
		w.acked(p, first+uint64(i), false, now)
	}
	return nil
}

// publishEach stores ps one stream message at a time (pipelined), each with its own answer.
func (w *edgeWriter) publishEach(ps []*edgePack) {
	e := w.e
	futs := make([]jetstream.PubAckFuture, len(ps))
	for i, p := range ps {
		f, err := e.js.PublishMsgAsync(p.streamMsg())
		if err != nil {
			p.replyErrorAll(e, 503, "cannot store: "+err.Error())
			continue
		}
		futs[i] = f
	}
	for i, f := range futs {
		if f == nil {
			continue
		}
		select {
		case ack := <-f.Ok():
			if !ack.Duplicate {
				e.writes.Add(1)
			}
			w.acked(ps[i], ack.Sequence, ack.Duplicate, e.clock.Now())
		case err := <-f.Err():
			var apiErr *jetstream.APIError
			code := 503
			if errors.As(err, &apiErr) {
				code = apiErr.Code
			}
			ps[i].replyErrorAll(e, code, "cannot store: "+err.Error())
		}
	}
}

// acked answers every message of p, and the re-sends that waited on them, and
// remembers their ids.
func (w *edgeWriter) acked(p *edgePack, seq uint64, dup bool, now time.Time) {
	e := w.e
	if !dup {
		e.stored.Add(int64(len(p.parts)))
	}
	for _, m := range p.parts {
		e.replyAck(m.reply, seq, dup)
		for _, f := range m.followers {
			e.replyAck(f.reply, seq, true)
		}
		m.followers = nil
		if m.id != "" {
			e.recent.put(m.key, seq, now)
		}
	}
}

func (e *edge) replyAck(reply string, seq uint64, dup bool) {
	if reply == "" {
		return
	}
	b := make([]byte, 0, 64)
	b = append(b, `{"stream":"`+DetStream+`","seq":`...)
	b = strconv.AppendUint(b, seq, 10)
	if dup {
		b = append(b, `,"duplicate":true`...)
	}
	b = append(b, '}')
	_ = e.nc.Publish(reply, b)
}

func (e *edge) replyErrorAll(m *edgeMsg, code int, desc string) {
	e.replyError(m.reply, code, desc)
	for _, f := range m.followers {
		e.replyError(f.reply, code, desc)
	}
	m.followers = nil
}

// replyError answers in the JetStream API error shape, so that nats.go's publish
// returns a *jetstream.APIError with the description.
func (e *edge) replyError(reply string, code int, desc string) {
	if reply == "" {
		return
	}
	b, err := json.Marshal(map[string]any{"error": jetstream.APIError{Code: code, Description: desc}})
	if err != nil {
		return
	}
	_ = e.nc.Publish(reply, b)
}
