// Package merkle owns the hash trees of active anti-entropy (Riak AAE
// style): how a key's version is hashed (VersionHash), the tree a replica
// keeps over its keys' versions for one partition (Tree), and the messages
// and state machine with which two replicas find, top down, the buckets in
// which their trees differ (Request, Response, Exchange, Answer, Compare),
// and then the keys (Listing, Diff).
//
// # What merkle must never do
//
// It never reads storage, sends messages, keeps time or starts goroutines.
// It is a pure data structure in the etcd-raft style: the node feeds it
// writes and answers, and drains requests and results from it. Storage
// scans, the network, scheduling and locking are the node's.
//
// # Design
//
// A key's version is a 64-bit hash of its causal history (clock and
// sibling dots, see VersionHash), never of its value: equal histories hash
// equal on every replica, and hashing costs the same for any value size.
//
// A tree has a fixed Shape: 2^FanoutBits children per inner node and Depth
// levels, so 2^(FanoutBits·Depth) buckets. A key falls in the bucket given
// by the top bits of a mix of its hash (Shape.BucketOf). A node's hash is
// the sum mod 2^64 of item = xxhash64(keyhash ‖ version) over the keys
// below it, so a write adds one delta to the Depth+1 nodes on its path:
// O(Depth) per write, no dirty marks, no lazy recomputation, and reads
// never modify the tree (an RWMutex is enough). Sums commute and invert,
// so the tree depends only on the set of (key, version) pairs, never on the
// order writes arrived in.
//
// The price of a sum: it is a checksum against accidents, not a
// cryptographic commitment. For differences arising from failures the
// chance that a differing node sums equal is 2^-64 per node compared. An
// adversary who can choose many keys could, in principle, craft keys whose
// item hashes cancel (xxhash is not keyed); the damage is a difference
// anti-entropy misses, which read repair still fixes. XOR would do as well
// against accidents, but an item recorded twice by mistake would cancel
// instead of showing, and a hash over the children (a classic Merkle tree)
// would turn each write into Depth+1 rehashes of a whole fan-out, or into
// dirty marks and a recomputation on the next read.
//
// Shape is a cluster-wide choice: ShapeFor gives fan-out 16 and at most
// ~16 keys per bucket. A cluster of 1,024 partitions and 1M keys has ~1,000
// keys per partition: shape 16^2, 3 KB per tree, and a node keeps at most
// one tree per partition, 3.3 MB in all. A single partition of 1M keys:
// shape 16^4, 65,536 buckets, 820 KB. Comparing two such 1M-key trees that
// differ in 100 keys takes 5 round trips and 29 KB of requests and
// responses; the listings of the 100 differing buckets then carry ~3,200
// keys, 68 KB with 12-byte keys (BenchmarkCompare). When trees differ
// everywhere the walk reaches every node, about 9 bytes per node: a replica
// that starts empty is better filled by a transfer than by anti-entropy.
//
// # What the tree does not keep: the keys
//
// Once the differing buckets are known, each side must list the (key,
// version) pairs in them. The tree could keep a per-bucket key→version map
// to answer that from memory, but at 50-80 bytes per key (key bytes, map
// overhead) that is 50-80 MB per million keys, more than the data's own
// index in many deployments, and it would have to be rebuilt and kept
// consistent with storage just like the hashes. The tree keeps only hashes
// and counts (12 bytes per bucket), and the node lists a bucket by
// scanning the partition and keeping keys with a listed Shape.BucketOf
// (one scan for all differing buckets of an exchange, decoding only the
// values of matching keys). That scan reads the partition, but it runs only
// when an exchange found differences, and never crosses the network.
//
// # How a node uses it
//
// One Tree per partition the node replicates, guarded by the node's lock:
//
//	shape := merkle.ShapeFor(cfg.ExpectedKeysPerPartition) // the same on every node
//	t, _ := merkle.New(shape)
//
//	// Rebuild, at start and periodically (Riak rebuilds weekly) so that a
//	// tree drifted by a bug or a lost update heals:
//	store.ScanPartition(p, func(key, value []byte) error {
//		set, err := versioning.DecodeSet(value)
//		...
//		t.Insert(key, merkle.VersionHash(set))
//	})
//
//	// Every write or merge that changed a key, after storage committed it:
//	t.Update(key, merkle.VersionHash(oldSet), merkle.VersionHash(newSet))
//
//	// Anti-entropy with a peer holding the same partition:
//	ex := merkle.NewExchange(t)
//	for req, ok := ex.Request(); ok; req, ok = ex.Request() {
//		resp, err := send(peer, req) // the peer replies merkle.Answer(its tree, req)
//		if err != nil { ... }        // give up this round; anti-entropy runs again
//		if err := ex.Step(resp); err != nil { ... }
//	}
//	// Both sides list ex.Buckets() (a Listing built by one partition scan),
//	// swap listings, and merkle.Diff names the keys whose states to swap and
//	// merge with versioning.Merge on both sides.
//
// A snapshot (Tree.MarshalBinary, DecodeTree) lets a node skip the rebuild
// scan after a clean shutdown; it must only be trusted if written after
// the last write, so a node should delete it on start and rebuild after a
// crash. Everything the package encodes starts with a format version byte
// that also names the hash functions (see format.go).
package merkle
