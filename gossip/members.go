package gossip

import (
	"cmp"
	"slices"

	"github.com/hashicorp/memberlist"
)

// Member statuses (Member.Status).
const (
	StatusAlive   = "alive"   // reachable (memberlist v0.7.0 reports no "suspect": a suspect node stays alive until declared dead)
	StatusDead    = "dead"    // unreachable (or not seen since this node started)
	StatusLeaving = "leaving" // reachable ring member handing off its data before leaving
	StatusLeft    = "left"    // out of the ring: left or removed
)

// Member is one node as this node sees it.
type Member struct {
	ID         string `json:"id"`
	HTTPAddr   string `json:"http_addr"`
	RPCAddr    string `json:"rpc_addr"`
	GossipAddr string `json:"gossip_addr"`
	// Status combines liveness and ring status: alive, dead, leaving or
	// left (see the Status constants).
	Status string `json:"status"`
	// RingStatus is the node's ring membership entry: joined, leaving,
	// left or removed; empty for a node gossip sees that never joined.
	RingStatus RingStatus `json:"ring_status,omitempty"`
	// InRing tells whether the node is a ring member (joined or leaving):
	// true for a dead member until it is removed.
	InRing bool `json:"in_ring"`
	// ProtocolVersion is the gossip protocol the node announced; 0 when
	// it has not been seen since this node started.
	ProtocolVersion int `json:"protocol_version,omitempty"`
}

// Members returns every node this node knows of, sorted by id: ring members
// (alive or not), former ring members (Status left) and nodes seen in gossip.
func (g *Gossip) Members() []Member {
	g.mu.RLock()
	defer g.mu.RUnlock()
	ids := make(map[string]bool, len(g.members)+len(g.peers))
	for id := range g.members {
		ids[id] = true
	}
	for id := range g.peers {
		ids[id] = true
	}
	out := make([]Member, 0, len(ids))
	for id := range ids {
		out = append(out, g.memberLocked(id))
	}
	slices.SortFunc(out, func(a, b Member) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// Node returns what this node knows of node id, including ring members that
// are dead and that memberlist has forgotten, so an id always resolves to
// its last known addresses.
func (g *Gossip) Node(id string) (Member, bool) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	_, inMembers := g.members[id]
	_, seen := g.peers[id]
	if !inMembers && !seen {
		return Member{}, false
	}
	return g.memberLocked(id), true
}

// RingMembers returns the sorted ids of the ring members (joined or
// leaving), alive or not: the input of ring.New.
func (g *Gossip) RingMembers() []string {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.members.ringIDs()
}

// Alive reports whether gossip believes node id reachable: memberlist has
// not declared it dead (a suspect node is still alive). This node is always
// alive. It satisfies replica.Liveness.
func (g *Gossip) Alive(id string) bool {
	if id == g.cfg.NodeID {
		return true
	}
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.aliveLocked(id)
}

// aliveLocked reports whether memberlist's last event about id said alive.
// g.mu must be held.
func (g *Gossip) aliveLocked(id string) bool {
	p, seen := g.peers[id]
	return seen && p.state == memberlist.StateAlive
}

// memberLocked builds the Member for id. g.mu must be held.
func (g *Gossip) memberLocked(id string) Member {
	e, inMembers := g.members[id]
	p, seen := g.peers[id]
	m := Member{
		ID:         id,
		HTTPAddr:   e.HTTPAddr,
		RPCAddr:    e.RPCAddr,
		GossipAddr: e.GossipAddr,
		RingStatus: e.Status,
		InRing:     e.Status.inRing(),
	}
	if seen {
		m.ProtocolVersion = p.meta.Protocol
		if !inMembers || p.state == memberlist.StateAlive {
			// Live metadata is the freshest; the entry is what survives.
			m.HTTPAddr = cmp.Or(p.meta.HTTPAddr, m.HTTPAddr)
			m.RPCAddr = cmp.Or(p.meta.RPCAddr, m.RPCAddr)
			m.GossipAddr = cmp.Or(p.addr, m.GossipAddr)
		}
	}
	live := StatusDead
	if id == g.cfg.NodeID || g.aliveLocked(id) {
		live = StatusAlive
	}
	switch {
	case e.Status == Left || e.Status == Removed:
		m.Status = StatusLeft
	case e.Status == Leaving && live != StatusDead:
		m.Status = StatusLeaving
	default:
		m.Status = live
	}
	return m
}
