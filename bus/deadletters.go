package bus

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/linepulse/linepulse/detection"
)

// Dead letters are kept, per tenant, in stream LP_DLQ (subjects lp.*.dlq): the last
// DeadLetterKeep of each tenant, for at most DeadLetterAge, so that a tenant admin can
// see why devices' messages were refused (GET /api/v1/dead-letters).
const (
	DLQStream      = "LP_DLQ"
	DeadLetterKeep = 1000
	DeadLetterAge  = 7 * 24 * time.Hour
)

// DLQStreamConfig is the configuration Start applies to the LP_DLQ stream.
func (b *Bus) DLQStreamConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:              DLQStream,
		Description:       "LinePulse dead letters: refused device messages, per tenant",
		Subjects:          []string{subjectRoot + ".*.dlq"},
		Retention:         jetstream.LimitsPolicy,
		Discard:           jetstream.DiscardOld,
		MaxAge:            DeadLetterAge,
		MaxMsgsPerSubject: DeadLetterKeep,
		MaxMsgSize:        b.cfg.MaxPayload,
		Storage:           jetstream.FileStorage,
		Replicas:          b.cfg.Replicas,
	}
}

// DeadLetters returns the tenant's most recent dead letters, newest first, at most limit.
func (b *Bus) DeadLetters(ctx context.Context, tenant string, limit int) ([]detection.DeadLetter, error) {
	b.mu.Lock()
	js := b.js
	b.mu.Unlock()
	if js == nil {
		return nil, ErrNotStarted
	}
	c, err := js.OrderedConsumer(ctx, DLQStream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{DLQSubject(tenant)}})
	if err != nil {
		return nil, fmt.Errorf("cannot read dead letters: %w", err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("cannot read dead letters: %w", err)
	}
	want := int(info.NumPending)
	all := make([]detection.DeadLetter, 0, want)
	for len(all) < want {
		batch, err := c.Fetch(want-len(all), jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			return nil, fmt.Errorf("cannot read dead letters: %w", err)
		}
		n := 0
		for m := range batch.Messages() {
			n++
			var dl detection.DeadLetter
			if json.Unmarshal(m.Data(), &dl) == nil {
				all = append(all, dl)
			} else {
				want-- // not a dead letter: someone else's publish
			}
		}
		if err := batch.Error(); err != nil {
			return nil, fmt.Errorf("cannot read dead letters: %w", err)
		}
		if n == 0 {
			break
		}
	}
	out := make([]detection.DeadLetter, 0, min(limit, len(all)))
	for i := len(all) - 1; i >= 0 && len(out) < limit; i-- {
		out = append(out, all[i])
	}
	return out, nil
}
