// Package versioning owns the causal history of one key: dotted version
// vectors (a "DVV set" per key) that tell concurrent writes apart, keep them as
// siblings, and let a write that carries a read's context supersede exactly
// what that read saw.
//
// A key's state is a Set: a version vector (Clock) of every write the replica
// has seen for the key, and the siblings still standing. Each write is an
// Event tagged with a Dot (actor, counter); a sibling is a value (or a
// tombstone) with the events of the writes that produced it. Concurrent
// writes of identical content, such as a client's retry through another
// node, are one sibling with two events: a retried write never shows up
// twice, and each of its writes is still superseded only by a context that
// saw it. Two operations change a Set, and both are pure functions:
//
//   - Update: a coordinator applies a client write. Events the client's
//     context covers are superseded; the others stay; the new content gets a
//     fresh dot. Two writes with the same context through the same node
//     therefore both survive, which a plain per-node vector clock cannot do.
//   - Merge: two replicas' states of the key combine. An event survives unless
//     the other side has seen its dot and no longer holds it. Merge is
//     commutative, associative and idempotent (property-tested over states
//     that real executions reach), so replicas converge whatever order read
//     repair, hinted handoff and anti-entropy deliver states in.
//
// A delete is an Update with a tombstone: an ordinary sibling with Deleted
// set, which supersedes what the delete's context saw and which reads hide.
//
// Invariants, relied on by Merge and checked by the decoder:
//   - the clock covers every event's dot;
//   - a dot names exactly one write, so replicas holding the same dot hold the
//     same content, and no dot is held by two siblings;
//   - siblings have distinct content and are ordered by their first event;
//     a sibling's events are sorted, one per actor (an actor's newest: any
//     context covering it covers the older ones as well).
//
// Dots must never be reused. The actor of a dot is a node id plus the
// incarnation of its data folder (NewActor), and the coordinator draws
// counters from a sequence that never goes backwards (storage.NextSequence),
// at least one above anything the key's clock or the client's context already
// holds for that actor (NextCounterFloor). Because a node's counters run
// across all its keys, a context means something only for the key whose
// read produced it: the one a client gets (EncodeKeyContext) carries a
// checksum of that key, and DecodeKeyContext refuses it for another. The
// decoders also bound every counter (MaxCounter, MaxContextCounter), so a
// forged context cannot wrap the floor.
//
// The package never does I/O, never reads the wall clock (timestamps are
// passed in) and never decides placement or quorum.
package versioning
