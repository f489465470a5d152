package node

import (
	"slices"
)

// hintRoutes tells the hint workers where the hints of a target that will
// not come back go (hints.Rerouter): to the key's owners now.
type hintRoutes Node

// Departed: the target left the ring (a leave or a remove), or this node is
// leaving and no longer takes writes, so it cannot wait for any target.
// A target this node has not heard of yet (a join it has not seen) also
// counts: its hint then lands on the owners this node knows, and the
// rebalancer moves it on to the newcomer.
func (h *hintRoutes) Departed(target string) bool {
	n := (*Node)(h)
	return n.writes.refusing() || !slices.Contains(n.placement.ring().Members(), target)
}

// Owners are the partition's primaries under the ring this node will leave
// behind, while it leaves, else under the current ring; never this node.
func (h *hintRoutes) Owners(partition uint32) []string {
	n := (*Node)(h)
	r := n.placement.ring()
	if next := n.leaveRing.Load(); next != nil {
		r = next
	}
	primaries, _ := r.PreferenceList(partition)
	return slices.DeleteFunc(slices.Clone(primaries), func(id string) bool { return id == n.cfg.ID })
}
