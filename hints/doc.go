// Package hints is hinted handoff: the durable queue of hints a node holds
// as a fallback, one queue per target node, and their delivery once the
// target is back.
//
// When a key's primary is down, the coordinator sends the write to a
// fallback (sloppy quorum). The fallback calls Manager.Store, which writes a
// hint for that primary durably, apart from the node's own data, and only
// then may the fallback ack. Later the Manager hands each hint to its target
// with Replicator.Replicate and deletes it once the target acked: a hint is
// the key's state (a versioning.Set), and targets merge states, so a hint
// delivered twice, or after a newer write, changes nothing.
//
// # What hints owns
//
//   - The hint record's encoding (record.go) inside storage's 'h' namespace:
//     per target, records in sequence order, so they survive restarts and a
//     restarted Manager finds them again.
//   - Delivery: one worker goroutine per target with pending hints, started
//     on demand and stopped when the queue is empty. It waits while
//     Liveness reports the target down (woken by TargetAlive or Notify, and
//     re-checking every PollInterval so a missed event only delays it),
//     sends hints in sequence order (consecutive hints for one key merged
//     into one call), rate-limited by a token bucket, and backs off
//     exponentially with jitter while the target fails.
//   - Limits: hints older than Window are dropped instead of delivered
//     (anti-entropy repairs what they carried, as Cassandra's
//     max_hint_window), and a target's queue never grows past
//     MaxPendingBytes: Store refuses the hint with ErrOverCap, so the
//     fallback does not ack a write it does not hold.
//
// # What hints must never do
//
//   - Decide which node is a fallback or for whom: the coordinator chooses
//     the target and calls Store.
//   - Coordinate client requests or count acks.
//   - Interpret states beyond decoding and merging them (package versioning).
//
// # Lifecycle
//
//	m, err := hints.New(cfg)        // reads the queues' sizes from storage
//	m.Start()                       // delivery workers for every pending queue
//	m.Store(target, p, key, state)  // on the fallback, before acking
//	m.TargetAlive(id)               // from gossip, when a node comes back
//	m.Close()                       // stops every worker, then close the store
//
// Only the holder's Close stops delivery; the storage.Store must outlive the
// Manager.
package hints
