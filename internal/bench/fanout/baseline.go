package fanout

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/linepulse/linepulse/bus"
	"github.com/linepulse/linepulse/hub"
)

// naiveHub is the design the hub is measured against (--baseline): per connection a
// writer goroutine fed by a 16-slot channel, one coder/websocket Write per message;
// a full channel drops the message. Snapshots come from the same KV bucket.
type naiveHub struct {
	sub    *nats.Subscription
	kv     jetstream.KeyValue
	tenant string
	mu     sync.RWMutex
	lines  map[int64]map[*naiveConn]struct{}
}

type naiveConn struct{ ch chan []byte }

func newNaiveHub(ctx context.Context, nc *nats.Conn, tenant string) (*naiveHub, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	kv, err := js.KeyValue(ctx, hub.KPIBucket)
	if err != nil {
		return nil, err
	}
	h := &naiveHub{kv: kv, tenant: tenant, lines: map[int64]map[*naiveConn]struct{}{}}
	h.sub, err = nc.Subscribe("lp."+tenant+".line.*.*", func(m *nats.Msg) {
		_, line, kind, err := bus.ParseLineSubject(m.Subject)
		if err != nil || kind == bus.KindDet {
			return
		}
		h.mu.RLock()
		for c := range h.lines[line] {
			select {
			case c.ch <- m.Data:
			default: // full: dropped
			}
		}
		h.mu.RUnlock()
	})
	return h, err
}

func (h *naiveHub) close() { _ = h.sub.Unsubscribe() }

func (h *naiveHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+benchToken {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	ws, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	c := &naiveConn{ch: make(chan []byte, 16)}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		defer cancel()
		for {
			select {
			case m := <-c.ch:
				wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
				err := ws.Write(wctx, websocket.MessageText, m)
				wcancel()
				if err != nil {
					ws.CloseNow()
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	var mine []int64
	defer func() {
		cancel()
		h.mu.Lock()
		for _, l := range mine {
			delete(h.lines[l], c)
		}
		h.mu.Unlock()
		ws.CloseNow()
	}()
	for {
		_, data, err := ws.Read(ctx)
		if err != nil {
			return
		}
		m, perr := hub.DecodeClientMessage(data)
		if perr != nil || m.Op != hub.OpSubscribe {
			continue
		}
		for _, l := range m.Lines {
			h.mu.Lock()
			if h.lines[l] == nil {
				h.lines[l] = map[*naiveConn]struct{}{}
			}
			h.lines[l][c] = struct{}{}
			h.mu.Unlock()
			mine = append(mine, l)
			snap := []byte(`{"type":"snapshot","line":` + strconv.FormatInt(l, 10) + `,"seq":0,"state":"unknown"}`)
			if e, err := h.kv.Get(ctx, hub.KPIKey(h.tenant, l)); err == nil {
				snap = append([]byte(`{"type":"snapshot"`), bytes.TrimPrefix(e.Value(), []byte(`{"type":"kpi"`))...)
			}
			c.ch <- snap
		}
	}
}
