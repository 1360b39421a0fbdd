//go:build !linux

package loadgen

import "sync/atomic"

// epollEngine exists on Linux only; elsewhere closed loops use a goroutine
// per user.
type epollEngine struct{}

func newEpollEngine(*runner) *epollEngine     { return nil }
func (*epollEngine) start()                   {}
func (*epollEngine) close()                   {}
func (*epollEngine) wake()                    {}
func (*epollEngine) addUser(int) *atomic.Bool { return nil }
