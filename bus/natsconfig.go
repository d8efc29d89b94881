package bus

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// LinePulseAccount is the account LinePulse's own connections use on an external NATS
// cluster (the embedded server uses its global account): streams, KV buckets, lp._sys
// and every tenant's kpi/downtime/dlq subjects live there.
const LinePulseAccount = "LINEPULSE"

// ConfigDevice is a device in the printed account configuration.
type ConfigDevice struct {
	Device
	// PasswordVar names the environment variable nats-server reads the device's secret
	// from (LinePulse keeps only a hash of it).
	PasswordVar string
}

// DevicePasswordVar is the environment variable WriteAccountsConfig names for a device's
// secret: LP_DEVICE_<tenant id>_<device id>.
func DevicePasswordVar(tenantID, deviceID int64) string {
	return "LP_DEVICE_" + strconv.FormatInt(tenantID, 10) + "_" + strconv.FormatInt(deviceID, 10)
}

// WriteAccountsConfig writes the nats-server "accounts" block that gives an external
// cluster the embedded server's layout: LinePulse's account (user linepulsePassVar's
// password in $LINEPULSE_NATS_PASSWORD style) exporting the ingest edge and telemetry
// services, and one account per device importing them, with the device's permissions.
// Include it in every cluster node's configuration; reload the servers after a device
// is created or revoked.
func WriteAccountsConfig(w io.Writer, devices []ConfigDevice) error {
	var b strings.Builder
	b.WriteString("# LinePulse accounts (printed by `linepulse nats config`). Every device is an account of\n")
	b.WriteString("# its own that imports LinePulse's ingest edge: the reply subject of its requests can only\n")
	b.WriteString("# lead back into its own account. Secrets come from the environment of nats-server.\n")
	b.WriteString("accounts {\n")
	fmt.Fprintf(&b, "  %s: {\n    jetstream: enabled\n", LinePulseAccount)
	b.WriteString("    users: [ { user: linepulse, password: $LINEPULSE_NATS_PASSWORD } ]\n")
	fmt.Fprintf(&b, "    exports: [\n      { service: %q }\n      { service: %q }\n    ]\n  }\n",
		edgeRoot+".>", subjectRoot+".*.node.*.telemetry")
	for _, d := range devices {
		p := devicePermissions(d.Device)
		fmt.Fprintf(&b, "  %q: {\n", deviceAccountName(d.Tenant, d.Name))
		fmt.Fprintf(&b, "    users: [ { user: %q, password: $%s,\n", DeviceUser(d.Tenant, d.Name), d.PasswordVar)
		fmt.Fprintf(&b, "      permissions: { publish: { allow: %s }, subscribe: { allow: %s } } } ]\n",
			quoteList(p.Publish.Allow), quoteList(p.Subscribe.Allow))
		fmt.Fprintf(&b, "    imports: [\n      { service: { account: %s, subject: %q }, to: %q }\n      { service: { account: %s, subject: %q } }\n    ]\n  }\n",
			LinePulseAccount, edgeImportSubject(d.Tenant, d.Name), tenantDetWildcard(d.Tenant),
			LinePulseAccount, TelemetrySubject(d.Tenant, d.Name))
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func quoteList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}
