// Package gossip owns cluster membership: which nodes exist, whether each is
// reachable (liveness), and which of them are ring members (own data).
//
// Liveness comes from hashicorp/memberlist (SWIM): alive, suspect, dead.
// Ring membership is separate and explicit: a node is a ring member from its
// join until it leaves (Leave) or an operator removes it (Remove). A node that
// is down or partitioned away stays a ring member. Ring membership is a
// state-based CRDT (one versioned entry per node id, the higher version wins)
// that every node persists in its data folder (MEMBERS), exchanges in
// memberlist push/pull and broadcasts on change, so it survives memberlist
// forgetting dead nodes and whole-cluster restarts.
//
// Nodes gossip a small metadata record (id, HTTP and RPC addresses, protocol
// version, cluster settings); a node whose cluster name, N or partition count
// differ is refused at join, on both sides.
//
// The package never routes requests, never computes placement (see ring/)
// and never touches stored data. Its consumers poll its views (RingMembers,
// Alive, Members, Node) and Subscribe to learn when they changed.
//
// Typical wiring in a node:
//
//	g, err := gossip.Start(cfg)
//	changes, cancel := g.Subscribe()
//	defer cancel()
//	r, _ := ring.New(g.RingMembers(), ring.Config{N: cfg.N, Partitions: cfg.Partitions})
//	for range changes { // closed by g.Close
//		if members := g.RingMembers(); !slices.Equal(members, r.Members()) {
//			r, _ = ring.New(members, ring.Config{N: cfg.N, Partitions: cfg.Partitions})
//		}
//	}
package gossip
