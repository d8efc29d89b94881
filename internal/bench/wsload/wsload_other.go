//go:build !linux

package wsload

import (
	"context"
	"errors"
)

// Gen needs epoll: on other systems New fails.
type Gen struct{}

var errUnsupported = errors.New("wsload: the load generator needs Linux (epoll)")

// New fails outside Linux.
func New(Config) (*Gen, error)               { return nil, errUnsupported }
func (g *Gen) Subscriptions() int            { return 0 }
func (g *Gen) Connect(context.Context) error { return errUnsupported }
func (g *Gen) Window() Window                { return Window{} }
func (g *Gen) MakeSlow(float64, uint64) int  { return 0 }
func (g *Gen) IsSlow(int) bool               { return false }
func (g *Gen) Close()                        {}

// ProcessCPU is not measured outside Linux.
func ProcessCPU() float64 { return 0 }
