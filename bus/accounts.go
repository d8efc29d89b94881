package bus

import (
	"fmt"
	"sync"

	"github.com/nats-io/nats-server/v2/server"
)

// Accounts on the embedded server. LinePulse's own connections, its streams and KV
// buckets, lp._sys and every tenant's kpi/downtime/dlq subjects live in the server's
// global account. Every device gets an account of its own, created when it first
// connects, which holds nothing but its connections and two service imports from
// LinePulse's account:
//
//	lp.<tenant>.line.*.det               -> lp._edge.<tenant>.<device>.*   (the ingest edge)
//	lp.<tenant>.node.<device>.telemetry  -> lp.<tenant>.node.<device>.telemetry
//
// A service import rewrites the reply subject of every request into a one-off
// subject that leads back into the device's account, so whatever reply subject a
// device sets, the answer lands in its own account: never on $JS, $KV or lp._sys
// subjects, another tenant's subjects or another device's inbox. Device accounts have
// no JetStream.

// deviceAccountName is the account of device <tenant>.<device>.
func deviceAccountName(tenant, device string) string { return "device:" + DeviceUser(tenant, device) }

// exportEdge declares, on LinePulse's account, the services devices import.
func exportEdge(lp *server.Account) error {
	for _, subj := range []string{edgeRoot + ".>", subjectRoot + ".*.node.*.telemetry"} {
		if err := lp.AddServiceExport(subj, nil); err != nil {
			return fmt.Errorf("bus: cannot export %s: %w", subj, err)
		}
	}
	return nil
}

// deviceAccounts creates the device accounts on first use.
type deviceAccounts struct {
	mu   sync.Mutex
	srv  *server.Server
	accs map[string]*server.Account
}

func (d *deviceAccounts) account(tenant, device string) (*server.Account, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	name := deviceAccountName(tenant, device)
	if acc := d.accs[name]; acc != nil {
		return acc, nil
	}
	if d.srv == nil {
		return nil, fmt.Errorf("bus: no server for account %s", name)
	}
	acc, _ := d.srv.LookupOrRegisterAccount(name)
	lp := d.srv.GlobalAccount()
	if err := acc.AddServiceImport(lp, tenantDetWildcard(tenant), edgeImportSubject(tenant, device)); err != nil {
		return nil, fmt.Errorf("bus: cannot import the edge into %s: %w", name, err)
	}
	tel := TelemetrySubject(tenant, device)
	if err := acc.AddServiceImport(lp, tel, tel); err != nil {
		return nil, fmt.Errorf("bus: cannot import telemetry into %s: %w", name, err)
	}
	if d.accs == nil {
		d.accs = make(map[string]*server.Account)
	}
	d.accs[name] = acc
	return acc, nil
}
