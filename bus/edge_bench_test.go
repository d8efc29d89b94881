package bus_test

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/linepulse/linepulse/bus"
	"github.com/linepulse/linepulse/bus/bustest"
)

// BenchmarkEdgeSync: one device, 1000 messages in flight on 8 lines, through the edge into the
// stream with the default durability (go test -bench EdgeSync -benchtime 20000x ./bus).
func BenchmarkEdgeSync(b *testing.B) { benchEdge(b, true) }

// BenchmarkEdgeNoSync: the same with the fsync relaxed.
func BenchmarkEdgeNoSync(b *testing.B) { benchEdge(b, false) }

func benchEdge(b *testing.B, sync bool) {
	devs := bustest.Devices(map[string]bustest.Cred{"acme.cam1": {Password: "pw"}})
	bs := bustest.Run(b, func(c *bus.Config) { c.Devices = devs; c.SyncAlways = sync; c.EdgeMaxBatch = edgeBatch })
	nc, err := nats.Connect(bs.ClientURL(), nats.UserInfo("acme.cam1", "pw"), nats.CustomInboxPrefix(bus.DeviceInboxPrefix("acme", "cam1")))
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(1000))
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(`{"id":1,"at":"2026-12-01T10:00:00.000Z","area":1,"product":1}`)
	b.ResetTimer()
	for i := range b.N {
		if _, err := js.PublishAsync(bus.DetSubject("acme", int64(i%8+1)), body, jetstream.WithStallWait(10*time.Second)); err != nil {
			b.Fatal(err)
		}
	}
	<-js.PublishAsyncComplete()
	b.StopTimer()
	st := bs.EdgeStats()
	b.ReportMetric(float64(st.Messages)/float64(max(st.Writes, 1)), "msgs/write")
}

var edgeBatch = bus.DefaultEdgeMaxBatch
