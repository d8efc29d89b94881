package main

import (
	"github.com/linepulse/linepulse/bus"
	"github.com/linepulse/linepulse/store"
)

// natsConfigCommand prints the accounts block an external NATS cluster (serve
// --nats-url) needs: the layout the embedded server builds at run time.
func natsConfigCommand() *command {
	c := &command{name: "nats config", short: "print the nats-server accounts for an external cluster (--nats-url): LinePulse's account and one per device", flags: newFlags("nats config")}
	sf := addStoreFlags(c.flags)
	c.run = sf.withStore(func(cc *cliContext, s *store.Store) error {
		tenants, err := s.AllTenants(cc.ctx)
		if err != nil {
			return err
		}
		var devs []bus.ConfigDevice
		for _, t := range tenants {
			list, err := s.AllDevices(cc.ctx, t.ID)
			if err != nil {
				return err
			}
			for _, d := range list {
				if d.Revoked() {
					continue
				}
				devs = append(devs, bus.ConfigDevice{Device: bus.Device{Tenant: t.Slug, Name: d.Name, Lines: d.Lines},
					PasswordVar: bus.DevicePasswordVar(t.ID, d.ID)})
			}
		}
		return bus.WriteAccountsConfig(cc.stdout, devs)
	})
	return c
}
