package node

import (
	"sync/atomic"

	"dynakv/ring"
)

// placement serves the current ring to the coordinator. Ring membership
// changes replace the ring as a whole, so a request always sees one
// consistent ring (replica.Placement).
type placement struct {
	current atomic.Pointer[ring.Ring]
}

func (p *placement) set(r *ring.Ring) { p.current.Store(r) }

func (p *placement) ring() *ring.Ring { return p.current.Load() }

func (p *placement) Locate(key []byte) (uint32, []string, []string) {
	return p.ring().Locate(key)
}

func (p *placement) Replicas() int { return p.ring().Replicas() }
