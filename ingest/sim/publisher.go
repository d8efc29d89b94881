package sim

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// pending is one message published and not yet acknowledged.
type pending struct {
	msg      *nats.Msg
	line     int64
	first    uint64 // id of the first detection in the message
	n        int    // detections in the message
	fut      jetstream.PubAckFuture
	err      error // synchronous publish error (fut is nil)
	deadline time.Time
}

// counters are the Stats, updated atomically.
type counters struct {
	published, acked, messages, ackedMsgs, resent, duplicates, pending atomic.Int64
}

// publisher keeps at most window messages in flight on one JetStream context and
// re-sends, with the same Nats-Msg-Id, every message whose acknowledgement failed or
// timed out, until it is acknowledged (the stream's duplicate window makes re-sending a
// message that was in fact stored harmless). Acknowledgements are awaited in publish
// order by one goroutine: a JetStream stream acknowledges one connection's messages
// in order, so waiting on the oldest never delays the others.
type publisher struct {
	js         jetstream.JetStream
	slots      chan struct{} // one token per message in flight
	queue      chan *pending // messages in flight, oldest first
	ackTimeout time.Duration
	now        func() time.Time
	sleep      func(context.Context, time.Duration) error
	log        *slog.Logger
	c          *counters
}

func newPublisher(js jetstream.JetStream, window int, ackTimeout time.Duration, now func() time.Time,
	sleep func(context.Context, time.Duration) error, log *slog.Logger, c *counters) *publisher {
	return &publisher{
		js: js, slots: make(chan struct{}, window), queue: make(chan *pending, window),
		ackTimeout: ackTimeout, now: now, sleep: sleep, log: log, c: c,
	}
}

// publish sends p, waiting for a free slot in the window first. It returns only ctx's error.
func (p *publisher) publish(ctx context.Context, m *pending) error {
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	p.send(m)
	p.c.pending.Add(1)
	p.c.messages.Add(1)
	p.c.published.Add(int64(m.n))
	p.queue <- m // never blocks: the slots bound the queue
	return nil
}

func (p *publisher) send(m *pending) {
	m.deadline = p.now().Add(p.ackTimeout)
	m.fut, m.err = p.js.PublishMsgAsync(m.msg)
}

// run awaits acknowledgements until ctx ends. Messages still in flight then stay
// unacknowledged in Stats.
func (p *publisher) run(ctx context.Context) {
	failures := 0 // consecutive failed attempts, for the back-off
	for {
		var m *pending
		select {
		case m = <-p.queue:
		case <-ctx.Done():
			return
		}
		for {
			err := p.wait(ctx, m)
			if err == nil {
				failures = 0
				break
			}
			if ctx.Err() != nil {
				return
			}
			failures++
			if failures == 1 || failures%50 == 0 {
				p.log.Warn("sim: publish not acknowledged, re-sending", "line", m.line, "msg_id", m.msg.Header.Get(jetstream.MsgIDHeader), "attempts", failures, "err", err)
			}
			// Back off only when failures repeat: after an outage the whole window fails
			// at once, and those are re-sent back to back as soon as one gets through.
			if failures > 1 {
				if p.sleep(ctx, min(50*time.Millisecond<<min(failures-2, 6), 2*time.Second)) != nil {
					return
				}
			}
			p.c.resent.Add(1)
			p.send(m)
		}
		p.c.pending.Add(-1)
		p.c.ackedMsgs.Add(1)
		p.c.acked.Add(int64(m.n))
		<-p.slots
	}
}

var errAckTimeout = errors.New("no acknowledgement before the ack timeout")

// wait waits for m's acknowledgement; nil means the stream stored it (or already had it).
func (p *publisher) wait(ctx context.Context, m *pending) error {
	if m.err != nil {
		return m.err
	}
	// An answer that is already there wins over an expired deadline: the deadline may
	// have passed while earlier messages of the window were being re-sent.
	select {
	case ack := <-m.fut.Ok():
		return p.stored(ack)
	case err := <-m.fut.Err():
		return err
	default:
	}
	timer := time.NewTimer(max(m.deadline.Sub(p.now()), 0))
	defer timer.Stop()
	select {
	case ack := <-m.fut.Ok():
		return p.stored(ack)
	case err := <-m.fut.Err():
		return err
	case <-timer.C:
		return errAckTimeout
	case <-ctx.Done():
		return ctx.Err()
	}
}

// stored counts an acknowledgement; a duplicate one means the stream had the message.
func (p *publisher) stored(ack *jetstream.PubAck) error {
	if ack.Duplicate {
		p.c.duplicates.Add(1)
	}
	return nil
}

// idle waits until no message is in flight (by taking every slot of the window), or
// until ctx ends. It is called after the last publish.
func (p *publisher) idle(ctx context.Context) error {
	for range cap(p.slots) {
		select {
		case p.slots <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}
