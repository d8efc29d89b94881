package identity_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/linepulse/linepulse/bus"
	"github.com/linepulse/linepulse/identity"
	"github.com/linepulse/linepulse/store"
	"github.com/linepulse/linepulse/store/storetest"
)

// TestDevicesCreateAndRevoke: the one create and revoke path of the API and the CLI.
// Create stores only the secret's hash and returns working credentials; Revoke with a bus
// (the server's door) closes the live connection at once, without one (the CLI's door)
// leaves it and refuses the next; neither reaches into another tenant.
func TestDevicesCreateAndRevoke(t *testing.T) {
	storetest.Run(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		st := e.Open(t)
		acme := newPlant(t, st, "acme", 2)
		globex := newPlant(t, st, "globex", 1)
		auth := identity.NewDeviceAuth(st, identity.DeviceAuthConfig{Logger: quiet()})
		b := newBus(t, func(c *bus.Config) { c.Devices = auth })
		server := identity.Devices{Store: st, Bus: b, Auth: auth}
		cli := identity.Devices{Store: st}

		dev, cred, err := server.Create(ctx, acme.tdb.ID(), identity.NewDevice{Name: "cam-1", Lines: []int64{acme.lines[1], acme.lines[0]}, NATSURL: "nats://plant:4222"})
		if err != nil {
			t.Fatal(err)
		}
		if dev.ID == 0 || dev.TenantID != acme.tdb.ID() || dev.Name != "cam-1" || len(dev.Lines) != 2 || dev.Lines[0] != acme.lines[0] || dev.RevokedAt != nil {
			t.Fatalf("device %+v", dev)
		}
		stored, err := st.GetDevice(ctx, acme.tdb.ID(), dev.ID)
		if err != nil || stored.SecretHash != identity.HashDeviceSecret(cred.Password) || strings.Contains(stored.SecretHash, cred.Password) {
			t.Fatalf("stored %+v %v: want the secret's hash only", stored, err)
		}
		want := identity.DeviceCredentials("acme", dev, cred.Password, "nats://plant:4222")
		if cred.User != "acme.cam-1" || len(cred.Password) != 43 || strings.Join(cred.Publish, " ") != strings.Join(want.Publish, " ") ||
			cred.InboxPrefix != want.InboxPrefix || cred.URL != want.URL || cred.NatsCLI != want.NatsCLI {
			t.Fatalf("credentials %+v, want %+v", cred, want)
		}
		cam2, cliSecret := createDevice(t, st, acme.tdb.ID(), "cam-2", nil)
		_, globexSecret := createDevice(t, st, globex.tdb.ID(), "cam-1", nil)

		// What the store refuses, whichever door asks.
		for _, bad := range []struct {
			tenant int64
			nd     identity.NewDevice
			want   error
		}{
			{acme.tdb.ID(), identity.NewDevice{Name: "cam-1"}, store.ErrConflict},
			{acme.tdb.ID(), identity.NewDevice{Name: "bad.name"}, store.ErrInvalid},
			{acme.tdb.ID(), identity.NewDevice{Name: "x", Lines: []int64{globex.lines[0] + 100}}, store.ErrInvalid},
			{9999, identity.NewDevice{Name: "x"}, store.ErrNotFound},
		} {
			if _, _, err := cli.Create(ctx, bad.tenant, bad.nd); !errors.Is(err, bad.want) {
				t.Errorf("Create(%d, %+v) = %v, want %v", bad.tenant, bad.nd, err, bad.want)
			}
		}

		live, err := dialEdge(t, b, "acme", "cam-1", cred.Password)
		if err != nil {
			t.Fatalf("issued credentials refused: %v", err)
		}
		other, err := dialEdge(t, b, "acme", "cam-2", cliSecret)
		if err != nil {
			t.Fatal(err)
		}
		g, err := dialEdge(t, b, "globex", "cam-1", globexSecret)
		if err != nil {
			t.Fatal(err)
		}

		// Another tenant's device id is not found and stays connected.
		gdev, err := st.DeviceByName(ctx, globex.tdb.ID(), "cam-1")
		if err != nil {
			t.Fatal(err)
		}
		if _, n, err := server.Revoke(ctx, acme.tdb.ID(), gdev.ID); !errors.Is(err, store.ErrNotFound) || n != 0 {
			t.Fatalf("revoke across tenants: %d %v", n, err)
		}

		// The server's door: refused and disconnected at once.
		got, n, err := server.Revoke(ctx, acme.tdb.ID(), dev.ID)
		if err != nil || n != 1 || got.RevokedAt == nil || got.ID != dev.ID {
			t.Fatalf("Revoke = %+v, %d, %v; want the revoked device and 1 connection closed", got, n, err)
		}
		select {
		case <-live.closed:
		case <-time.After(waitLong):
			t.Fatal("revoked device still connected")
		}
		refused(t, b, "acme", "cam-1", cred.Password)

		// The CLI's door: no bus, so the live connection stays until it reconnects.
		if got, n, err := cli.Revoke(ctx, acme.tdb.ID(), cam2.ID); err != nil || n != 0 || got.Name != "cam-2" || got.RevokedAt == nil {
			t.Fatalf("CLI revoke = %+v, %d, %v", got, n, err)
		}
		if !other.nc.IsConnected() {
			t.Fatal("the CLI's revoke closed a connection it cannot reach")
		}
		refused(t, b, "acme", "cam-2", cliSecret)

		// Revoking again changes nothing; globex never noticed.
		if again, _, err := server.Revoke(ctx, acme.tdb.ID(), dev.ID); err != nil || again.RevokedAt == nil || !again.RevokedAt.Equal(*got.RevokedAt) {
			t.Fatalf("second revoke: %+v %v", again, err)
		}
		if !g.nc.IsConnected() {
			t.Fatal("globex device disconnected")
		}
		if _, err := dialEdge(t, b, "globex", "cam-1", globexSecret); err != nil {
			t.Fatalf("globex device refused: %v", err)
		}
	})
}
