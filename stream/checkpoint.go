package stream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/stream/oee"
)

// The checkpoint lives in the KV bucket LP_ENGINE:
//
//	seq                  the LP_DET sequence G every stored line state reflects at least
//	line.<tenant>.<line> one line's state (lineCP) and the sequence it reflects (>= G)
//	meta.<tenant>        the tenant's plant model, so a restart with the database down
//	                     still knows time zones, shifts, thresholds and names
//
// A checkpoint writes the changed lines first and "seq" last, only when all of them were
// stored. On start the engine reads everything, resumes the stream after G and skips, per
// line, messages at or below that line's own sequence: no detection is folded twice, none
// is lost. One key per line keeps each value far below the NATS payload limit.

const (
	cpVersion  = 1
	cpSeqKey   = "seq"
	cpLinePfx  = "line."
	cpMetaPfx  = "meta."
	maxCPValue = 60 << 10 // stay under the bus's 64 KiB payload limit
)

// lineCP is the stored state of one line.
type lineCP struct {
	V         int         `json:"v"`
	Tenant    string      `json:"tenant"`
	Line      int64       `json:"line"`
	StreamSeq uint64      `json:"stream_seq"`
	Seq       uint64      `json:"seq"` // last published message sequence
	Last      *time.Time  `json:"last,omitempty"`
	Arrival   time.Time   `json:"arrival"`
	Periods   []periodCP  `json:"periods"`
	Rate      [][2]int64  `json:"rate,omitempty"` // (unix second, count)
	Open      *liveStop   `json:"open,omitempty"`
	Finalized []time.Time `json:"finalized,omitempty"`
	Pending   []persistCP `json:"pending,omitempty"`
	Late      *rebookCP   `json:"late,omitempty"` // late detections whose re-booking is not queued yet
	// Micro is the micro-stops of the newest micro-stop's minute (microstops.go).
	Micro store.MicroStopRow `json:"micro"`
}

type periodCP struct {
	Start    time.Time  `json:"start"`
	End      time.Time  `json:"end"`
	Shift    bool       `json:"shift,omitempty"`
	ShiftID  int64      `json:"shift_id,omitempty"`
	Name     string     `json:"name,omitempty"`
	Total    int64      `json:"total"`
	Good     int64      `json:"good"`
	Products [][2]int64 `json:"products,omitempty"`
	Rejects  [][2]int64 `json:"rejects,omitempty"` // by product
	Areas    [][2]int64 `json:"areas,omitempty"`
	Downtime int64      `json:"downtime_ns"`
	Micro    int64      `json:"micro,omitempty"`
	MicroDur int64      `json:"micro_ns,omitempty"`
	Events   int64      `json:"events,omitempty"`
	First    *time.Time `json:"first,omitempty"`
	Lead     int64      `json:"lead_ns,omitempty"`
	Covered  bool       `json:"covered,omitempty"`
}

type persistCP struct {
	Start      time.Time  `json:"start"`
	End        *time.Time `json:"end,omitempty"`
	DurationMS int64      `json:"duration_ms"`
	Delete     bool       `json:"delete,omitempty"`
	Rebook     *rebookCP  `json:"rebook,omitempty"` // a queued re-booking (late.go)
	// Micro is a queued micro-stop row (microstops.go).
	Micro *store.MicroStopRow `json:"micro,omitempty"`
}

// rebookCP is a line's re-booking after late detections.
type rebookCP struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to,omitempty"` // zero until queued
	Seq  uint64    `json:"seq"`
}

func lineKeyCP(tenant string, line int64) string {
	return cpLinePfx + tenant + "." + strconv.FormatInt(line, 10)
}

// snapshot serialises a line's fold.
func (f *lineFold) snapshot() lineCP {
	cp := lineCP{V: cpVersion, Line: f.conf.id, Arrival: f.arrival, Open: f.open, Finalized: f.finalized}
	if last, seen := f.tr.Last(); seen {
		cp.Last = &last
	}
	cp.Micro = f.micro
	for _, p := range f.periods {
		pc := periodCP{
			Start: p.Start, End: p.End, Shift: p.Shift, ShiftID: p.ShiftID, Name: p.Name,
			Total: p.Counts.Total, Good: p.Counts.Good,
			Products: sortedCounts(p.Products, 0), Rejects: sortedCounts(p.Rejects, 0), Areas: sortedCounts(p.Areas, 0),
			Downtime: int64(p.Downtime), Micro: p.Micro, MicroDur: int64(p.MicroDur), Events: p.Events,
			Lead: int64(p.Lead), Covered: p.Covered,
		}
		if !p.First.IsZero() {
			first := p.First
			pc.First = &first
		}
		cp.Periods = append(cp.Periods, pc)
	}
	for i := range f.rate.sec {
		if f.rate.n[i] > 0 {
			cp.Rate = append(cp.Rate, [2]int64{f.rate.sec[i], f.rate.n[i]})
		}
	}
	return cp
}

// restore loads a snapshot into a fresh fold (built with the current configuration).
func (f *lineFold) restore(cp lineCP) {
	f.tr = oee.NewTracker(f.conf.threshold, f.conf.minMicro, f.planned)
	if cp.Last != nil {
		f.tr.Observe(*cp.Last)
	}
	f.arrival, f.open, f.finalized = cp.Arrival, cp.Open, cp.Finalized
	f.micro, f.microDirty = cp.Micro, false
	f.periods = f.periods[:0]
	for _, p := range cp.Periods {
		if !p.End.After(p.Start) || p.End.Sub(p.Start) > maxPeriodLen || p.Total < 0 || p.Good < 0 || p.Good > p.Total {
			continue // not something this engine wrote
		}
		np := &period{Start: p.Start, End: p.End, Shift: p.Shift, ShiftID: p.ShiftID, Name: p.Name,
			Counts:   oee.Counts{Total: p.Total, Good: p.Good, Reject: p.Total - p.Good},
			Products: map[int64]int64{}, Rejects: map[int64]int64{}, Areas: map[int64]int64{},
			Downtime: time.Duration(p.Downtime), Micro: p.Micro, MicroDur: time.Duration(p.MicroDur), Events: p.Events,
			Lead: time.Duration(p.Lead), Covered: p.Covered}
		if p.First != nil {
			np.First = *p.First
		}
		for _, kv := range p.Products {
			np.Products[kv[0]] = kv[1]
		}
		for _, kv := range p.Rejects {
			np.Rejects[kv[0]] = kv[1]
		}
		for _, kv := range p.Areas {
			np.Areas[kv[0]] = kv[1]
		}
		f.periods = append(f.periods, np)
	}
	f.rate = rateWindow{}
	for _, r := range cp.Rate {
		i := int(((r[0] % 60) + 60) % 60)
		f.rate.sec[i], f.rate.n[i] = r[0], r[1]
	}
}

// checkpointState is what Run reads back on start.
type checkpointState struct {
	seq   uint64
	lines map[lineKey]lineCP
	metas []*store.Meta
}

// readCheckpoint loads the whole LP_ENGINE bucket. A missing or empty bucket is a fresh
// start; an unreadable value is logged by the caller and skipped (its line restarts empty
// from the checkpointed sequence, which loses only that line's counts, never blocks).
func readCheckpoint(ctx context.Context, kv jetstream.KeyValue) (checkpointState, []error) {
	st := checkpointState{lines: map[lineKey]lineCP{}}
	keys, err := kv.Keys(ctx)
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return st, nil
	}
	if err != nil {
		return st, []error{fmt.Errorf("stream: cannot list checkpoint keys: %w", err)}
	}
	var errs []error
	for _, k := range keys {
		e, err := kv.Get(ctx, k)
		if err != nil {
			errs = append(errs, fmt.Errorf("stream: checkpoint key %s: %w", k, err))
			continue
		}
		switch {
		case k == cpSeqKey:
			st.seq, err = strconv.ParseUint(string(e.Value()), 10, 64)
		case strings.HasPrefix(k, cpLinePfx):
			var cp lineCP
			if err = json.Unmarshal(e.Value(), &cp); err == nil && cp.V != cpVersion {
				err = fmt.Errorf("version %d, want %d", cp.V, cpVersion)
			}
			if err == nil {
				st.lines[lineKey{cp.Tenant, cp.Line}] = cp
			}
		case strings.HasPrefix(k, cpMetaPfx):
			var m store.Meta
			if err = json.Unmarshal(e.Value(), &m); err == nil {
				st.metas = append(st.metas, &m)
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("stream: checkpoint key %s: %w", k, err))
		}
	}
	return st, errs
}

// cpWrite is one key to store.
type cpWrite struct {
	key  string
	data []byte
}

// writeCheckpoint stores the writes (in parallel), then "seq" once all succeeded.
func writeCheckpoint(ctx context.Context, js jetstream.JetStream, writes []cpWrite, seq uint64) error {
	futures := make([]jetstream.PubAckFuture, 0, len(writes))
	for _, w := range writes {
		f, err := js.PublishAsync("$KV."+CheckpointBucket+"."+w.key, w.data)
		if err != nil {
			return fmt.Errorf("stream: cannot write checkpoint key %s: %w", w.key, err)
		}
		futures = append(futures, f)
	}
	for i, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return fmt.Errorf("stream: cannot write checkpoint key %s: %w", writes[i].key, err)
		case <-ctx.Done():
			return fmt.Errorf("stream: checkpoint interrupted: %w", ctx.Err())
		}
	}
	if _, err := js.Publish(ctx, "$KV."+CheckpointBucket+"."+cpSeqKey, []byte(strconv.FormatUint(seq, 10))); err != nil {
		return fmt.Errorf("stream: cannot write checkpoint sequence: %w", err)
	}
	return nil
}
