package gossip

import (
	"cmp"
	"fmt"
	"slices"
)

// RingStatus is a node's standing in ring membership.
type RingStatus string

// Ring statuses, in the order a node passes through them. Joined and Leaving
// nodes are ring members (they own data); Left and Removed ones are not.
const (
	Joined  RingStatus = "joined"  // owns data
	Leaving RingStatus = "leaving" // still owns data, handing it off before it leaves
	Left    RingStatus = "left"    // left on its own (Leave)
	Removed RingStatus = "removed" // taken out by an operator while dead (Remove)
)

// rank orders statuses for breaking version ties: the later status wins, so
// a concurrent leave or remove is never undone by a join of the same version.
func (s RingStatus) rank() int {
	switch s {
	case Joined:
		return 1
	case Leaving:
		return 2
	case Left:
		return 3
	case Removed:
		return 4
	}
	return 0
}

// inRing reports whether a node with this status is a ring member.
func (s RingStatus) inRing() bool { return s == Joined || s == Leaving }

// entry is one node's ring membership record. The entry with the higher
// Version wins; Version is a Lamport timestamp over the whole membership
// (each change takes the largest version known plus one), so a change made
// after seeing another always wins over it.
type entry struct {
	ID         string     `json:"id"`
	HTTPAddr   string     `json:"http_addr"`
	RPCAddr    string     `json:"rpc_addr"`
	GossipAddr string     `json:"gossip_addr"`
	Status     RingStatus `json:"status"`
	Version    uint64     `json:"version"`
}

// validate rejects entries no node writes (decoded from a peer or a file).
func (e entry) validate() error {
	if !validNodeID(e.ID) {
		return fmt.Errorf("member entry with id %.140q: want 1..%d bytes without NUL", e.ID, maxIDLen)
	}
	if e.Status.rank() == 0 {
		return fmt.Errorf("member entry %q: unknown status %q", e.ID, e.Status)
	}
	return nil
}

// compareEntries is a total order on entries of one id: version, then status
// rank, then addresses. Merge keeps the larger, so merging is commutative,
// associative and idempotent.
func compareEntries(a, b entry) int {
	return cmp.Or(
		cmp.Compare(a.Version, b.Version),
		cmp.Compare(a.Status.rank(), b.Status.rank()),
		cmp.Compare(a.GossipAddr, b.GossipAddr),
		cmp.Compare(a.HTTPAddr, b.HTTPAddr),
		cmp.Compare(a.RPCAddr, b.RPCAddr),
	)
}

// membership is ring membership: one entry per node id. Entries are never
// deleted (a Left or Removed entry is the tombstone that stops a stale copy
// from resurrecting the node).
type membership map[string]entry

// merge folds entries into m and returns those that replaced what m held.
func (m membership) merge(entries []entry) (changed []entry) {
	for _, e := range entries {
		if cur, ok := m[e.ID]; ok && compareEntries(e, cur) <= 0 {
			continue
		}
		m[e.ID] = e
		changed = append(changed, e)
	}
	return changed
}

// nextVersion returns the version a new change must carry to win over every
// entry m holds.
func (m membership) nextVersion() uint64 {
	var v uint64
	for _, e := range m {
		v = max(v, e.Version)
	}
	return v + 1
}

// entries returns m's entries sorted by id.
func (m membership) entries() []entry {
	out := make([]entry, 0, len(m))
	for _, e := range m {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b entry) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// ringIDs returns the sorted ids of ring members.
func (m membership) ringIDs() []string {
	var ids []string
	for id, e := range m {
		if e.Status.inRing() {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}
