// Package antientropy is active anti-entropy (Riak AAE style): it keeps a
// hash tree per partition this node is a primary of, compares those trees
// with the other primaries' in the background and on demand, swaps the
// states of the keys that differ, and reaps tombstones once they can never
// come back.
//
// # What antientropy owns
//
//   - The trees (Trees): one merkle.Tree per partition this node is a
//     primary of, over each key's version hash (merkle.VersionHash), kept
//     current from replica.LocalConfig.OnChange (Trees.OnChange) and built
//     from a storage scan in the background when the node starts, when it
//     becomes a primary of a partition, and every Config.RebuildInterval
//     (a tree that drifted, see below, heals then). A partition whose tree
//     is not built yet is skipped by exchanges; the node serves meanwhile.
//   - Exchanges: every Config.Interval (jittered, so partitions spread
//     out) and on demand (Manager.Repair), for each such partition, a walk
//     down the trees with another live primary (merkle.Exchange over the
//     TreeHashes call), the listings of the differing buckets
//     (TreeListing), and then, in batches, the states of the keys that
//     differ both ways (ExchangeStates): each side MERGES what it receives
//     (replica.Local.Merge), so an exchange never overwrites or drops a
//     sibling, and both sides end with the same state.
//   - Tombstone reaping (reap.go): a key whose every sibling is a tombstone
//     is deleted from storage once every primary holds exactly that state
//     and the newest tombstone is older than Config.TombstoneGrace.
//   - Its limits: one exchange and one rebuild at a time, a token bucket on
//     the keys exchanged or reaped (Config.Rate) and another on the keys
//     scanned (Config.ScanRate), so that it yields to client traffic.
//   - Its metrics (dynakv_aae_*) and its progress (Manager.Status).
//
// # What antientropy must never do
//
//   - Coordinate client requests, count acks or levels: that is package
//     replica's coordinator.
//   - Decide placement: which nodes are a partition's primaries comes from
//     Placement (the ring), which node is alive from Liveness (gossip).
//   - Overwrite a replica's state: every state it moves is merged.
//   - Delete anything but a tombstone every primary holds unchanged.
//
// # Keeping a tree exact while it is built
//
// A rebuild scans a storage snapshot while writes go on. Changes reported
// for keys the scan has passed are applied to the new tree at once; changes
// to keys it has not reached wait, and when the scan reaches a key (or
// ends), only the transitions that start at the version the snapshot holds
// are applied: the others were already in the snapshot. The one case this
// cannot tell apart is a change committed before the snapshot but reported
// only after the scan passed its key (a writer descheduled between its
// commit and its report for as long as the scan took to get there). The
// tree is then off in one bucket. That costs little: listings come from
// storage, never from the tree, so a wrong bucket can only make exchanges
// list it for nothing, or, if the peer's copy happens to match the drifted
// sum, hide a difference, which read repair and the next scheduled rebuild
// still fix.
//
// # Why tombstones wait for a grace period, and for every primary
//
// A delete is a tombstone sibling; reads hide it and answer 404 with its
// context. Removing it too early lets the deleted value come back: a
// replica that missed the delete, or a hint of an older write still
// waiting on a fallback, would hand the value to a replica that no longer
// remembers the delete, and merging would keep it. So a tombstone is reaped
// only when
//
//   - every primary of the key is alive and holds exactly the same state
//     (so no primary can bring the old value back: each has seen the
//     delete), checked by reading them all, and
//   - its newest tombstone is older than Config.TombstoneGrace. The default,
//     24 hours, like Cassandra's gc_grace_seconds (10 days there), is far
//     above the hint window (3 hours by default, hints.DefaultWindow): a hint
//     is dropped, not delivered, once older than the window, so by the time
//     a tombstone is reaped every hint written before the delete has either
//     been delivered (and superseded by the delete) or dropped. The node
//     refuses a grace that does not exceed its hint window. The other
//     carriers of old states, a coordinator's replica calls and read
//     repairs, end at their request's deadline (seconds), so none can
//     still arrive either. The nemesis test in this package, whose clock
//     jumps, has to wait those deadlines out before a jump: without that
//     wait, a replicate of an older write delayed on its link reached a
//     primary just after the reap and brought the value back.
//
// A message read before a reap can still land after it: an exchange that
// read a replica's state just before that replica got the tombstone. Each
// replica therefore remembers the tombstones it reaped for two minutes
// (replica/reaped.go) and drops a merge, into the absent key, of a state
// with a value the reaped tombstone supersedes.
//
// Only the first primary of a partition reaps it, so reaps are not done
// twice; it reaps on every other primary first, then on itself, each with
// a conditional delete (replica.Local.ReapIfUnchanged) that does nothing if
// the key changed since it was read. A partial reap is safe: a primary that
// kept the tombstone hands it back to the others through the next exchange,
// and it is reaped again later. After a reap a key may be written again:
// dots come from the node's persisted sequence, never reused, so the new
// write is fresh everywhere.
//
// What the grace period cannot protect against: a node that was removed
// from the ring (dynakv remove) and comes back with its old data folder
// after the grace period. As with Cassandra, such a node must come back
// with an empty data folder.
//
// # Lifecycle
//
//	trees, _ := antientropy.NewTrees(partitions, shape)
//	local := replica.NewLocal(replica.LocalConfig{..., OnChange: trees.OnChange})
//	m, _ := antientropy.New(antientropy.Config{Trees: trees, Replica: local, ...})
//	// serve m to peers through replica.PeerService.AntiEntropy
//	m.Start()          // builds the trees, then exchanges on schedule
//	m.Repair()         // on demand: every partition this node replicates
//	m.Close()          // stops every goroutine; then close storage
package antientropy
