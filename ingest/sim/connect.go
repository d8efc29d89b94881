package sim

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/linepulse/linepulse/bus"
)

// DeviceOptions returns the nats.go options an edge device connects with: its
// credentials (NATS user "<tenant>.<device>"), the inbox prefix its permissions allow
// (bus.DeviceInboxPrefix, needed for the acknowledgements), reconnecting forever
// once connected (the first attempt fails fast, with a clear error) with a 16 MiB buffer for what is
// published while disconnected, and a log line on each disconnection, reconnection and
// refused operation.
func DeviceOptions(user, password string, log *slog.Logger) ([]nats.Option, error) {
	tenant, device, ok := bus.ParseDeviceUser(user)
	if !ok {
		return nil, fmt.Errorf("sim: device user %q is not <tenant>.<device>", user)
	}
	if log == nil {
		log = slog.Default()
	}
	return []nats.Option{
		nats.Name("linepulse-sim " + user),
		nats.UserInfo(user, password),
		nats.CustomInboxPrefix(bus.DeviceInboxPrefix(tenant, device)),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.ReconnectBufSize(16 << 20),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil { // nil: closed on purpose
				log.Warn("sim: disconnected from NATS, reconnecting", "err", err)
			}
		}),
		// A publish outside the device's permissions (a line it was not given) is refused
		// asynchronously: no acknowledgement comes, and the message is re-sent until then.
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			log.Error("sim: NATS server refused an operation (are these lines the device's?)", "err", err)
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("sim: reconnected to NATS", "url", nc.ConnectedUrlRedacted())
		}),
	}, nil
}
