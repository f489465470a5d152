package node

import (
	"slices"
	"sync"
	"sync/atomic"

	"dynakv/ring"
)

// placement serves the current ring to the coordinator. Ring membership
// changes replace the ring as a whole, so a request always sees one
// consistent ring (replica.Placement).
//
// It also keeps the ring from before the changes whose data this node has
// not seen settle (replica.PreviousOwners), so reads ask the old owners of
// a partition until its new primaries hold it. It is cleared when this
// node's rebalancer completed a pass on the current ring, the anti-entropy
// round that ends it included: by then every partition this node is a
// primary of matches its other primaries.
type placement struct {
	self    string
	cfg     ring.Config
	joining bool // this node became a ring member in this start (gossip.Newcomer)
	current atomic.Pointer[ring.Ring]

	mu       sync.Mutex                // serialises change and settled
	previous atomic.Pointer[ring.Ring] // nil: settled; read on every request
}

// change installs r. A node that joins (its first ring, or its ring of
// itself alone, is followed by one with others) takes the ring without
// itself as the previous one: the cluster as it was before it came.
func (p *placement) change(r *ring.Ring) {
	p.mu.Lock()
	defer p.mu.Unlock()
	old := p.current.Swap(r)
	if p.previous.Load() != nil {
		return // the oldest unsettled ring stays the previous one
	}
	alone := old != nil && len(old.Members()) == 1 && old.Members()[0] == p.self
	if (old == nil && p.joining || alone) && len(r.Members()) > 1 {
		others := slices.DeleteFunc(slices.Clone(r.Members()), func(id string) bool { return id == p.self })
		if before, err := ring.New(others, p.cfg); err == nil {
			p.previous.Store(before)
		}
		return
	}
	if old != nil {
		p.previous.Store(old)
	}
}

// previousRing is the ring before the unsettled changes, nil when settled.
func (p *placement) previousRing() *ring.Ring { return p.previous.Load() }

// settled forgets the previous ring if r is still the current one.
func (p *placement) settled(r *ring.Ring) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.current.Load() == r {
		p.previous.Store(nil)
	}
}

func (p *placement) ring() *ring.Ring { return p.current.Load() }

func (p *placement) Locate(key []byte) (uint32, []string, []string) {
	return p.ring().Locate(key)
}

func (p *placement) Replicas() int { return p.ring().Replicas() }

// Partitions and PreferenceList serve the key listing
// (replica.PartitionPlacement).
func (p *placement) Partitions() int { return p.ring().Partitions() }

func (p *placement) PreferenceList(partition uint32) (primaries, fallbacks []string) {
	return p.ring().PreferenceList(partition)
}

// PreviousOwners returns the nodes that were primaries of partition under
// the previous ring and are not now (none once settled).
func (p *placement) PreviousOwners(partition uint32) []string {
	prev := p.previous.Load()
	if prev == nil {
		return nil
	}
	before, _ := prev.PreferenceList(partition)
	now, _ := p.ring().PreferenceList(partition)
	return slices.DeleteFunc(slices.Clone(before), func(id string) bool { return slices.Contains(now, id) })
}
