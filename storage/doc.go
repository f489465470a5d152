// Package storage is a dynakv node's durable local store, built on pebble.
//
// # What storage owns
//
//   - The key layout of the node's single pebble keyspace (below).
//   - Atomic read-modify-write of one key (Store.Update): concurrent updates
//     of the same key are serialised, so no update is ever lost; updates of
//     different keys proceed in parallel and their WAL syncs are group
//     committed by pebble's commit pipeline.
//   - The row cache (rowcache.go): recent values of data keys in memory, so
//     a hot key's read skips pebble. It always agrees with pebble: writers
//     update it under the key's update lock once pebble applied the write.
//   - Durability: with Options.Sync (the default) a write is fsynced before
//     Update returns, so an acknowledged write survives SIGKILL or power loss.
//   - Node identity: the data folder's IDENTITY file binds the folder to one
//     node id and to an incarnation drawn at random when the folder's data was
//     first created (see identity.go).
//   - The dot sequence (Store.NextSequence): numbers that are never handed
//     out twice in the life of a data folder, across crashes and restarts,
//     used to mint version-vector dots (see sequence.go).
//
// # What storage must never do
//
//   - Interpret values. Values are opaque bytes; package versioning owns
//     their encoding (siblings and clock, behind a leading version byte).
//     Storage never parses, merges or validates them.
//   - Decide placement. Callers pass the partition number; package ring
//     computes it. Storage only uses it as a key prefix.
//   - Talk to the network. Everything here is local to one node and one
//     data folder.
//
// # Key layout
//
// All state lives in one pebble keyspace. The first byte of every key is a
// namespace tag, so namespaces never interleave and each can be scanned with
// tight iterator bounds:
//
//	tag  namespace  rest of key                             value
//	'd'  data       4-byte big-endian partition + user key  opaque record bytes (versioning)
//	'h'  hints      uvarint length + target node id +       opaque hint record (package hints)
//	                8-byte big-endian sequence
//	'm'  meta       name (ASCII)                            per name, see below
//
// The partition is big-endian so that pebble's bytewise order sorts a
// partition's keys together and partitions in numeric order; a partition's
// keys are exactly the range ['d'+p, 'd'+(p+1)). User keys may be any bytes,
// including empty.
//
// Hints are queues, one per target node, of writes this node took as a
// fallback (see hints.go). The length prefix makes target prefixes
// prefix-free, so a target's hints are one contiguous range, in sequence
// order; sequence numbers come from NextSequence, so they increase across
// restarts. Targets are listed by seeking from one range to the next.
//
// Meta keys in use:
//
//	m seq.ceiling   8-byte big-endian: every number NextSequence ever returned is below it
//	m actor.epoch   8-byte big-endian: the node's actor epoch (see ActorEpoch)
//	m identity      the IDENTITY JSON of the folder the data was created in
//	m rec.<name>    Records: opaque values other packages keep (PutRecord)
//
// New namespaces must take a new tag byte and be added to this table; never
// reuse a retired tag, because old data folders may still hold its keys.
//
// # Data folder
//
// Options.Dir holds pebble's files plus IDENTITY. IDENTITY is written
// (atomically and durably) before pebble creates anything, and the folder is
// locked with pebble's LOCK file for the whole open, identity check included,
// so two processes can never race on one folder.
package storage
