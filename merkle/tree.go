package merkle

// Tree is the hash tree of one replica of one partition: every key the
// replica holds, with its version, summed into a bucket, and buckets summed
// up a fixed tree of inner nodes.
//
// A node's hash is the sum, mod 2^64, of itemHash(key, version) over every
// key in the buckets below it, so a write moves each hash on its path by the
// same delta and the tree is updated in place, eagerly, in O(Depth). The
// sum is order-independent (replicas that applied the same writes in any
// order agree) and invertible (a delete or an overwrite subtracts the old
// item). Its trade-off, documented in doc.go: it is a checksum against
// accidents, not against an adversary who picks keys to forge equal sums.
//
// A Tree is not safe for concurrent use. Reads (Root, Hash, Len, BucketLen,
// AppendBinary, and Answer or Exchange.Step over it) never modify it, so
// callers may guard it with a sync.RWMutex.
type Tree struct {
	shape Shape

	// levels[l] holds the hashes of the nodes of level l, all levels sharing
	// one backing array: levels[0] is the root, levels[Depth] the buckets.
	//
	// Invariant: for l < Depth, levels[l][i] is the sum (mod 2^64) of
	// levels[l+1][i<<FanoutBits : (i+1)<<FanoutBits].
	levels [][]uint64

	// counts[b] is the number of keys in bucket b, and n the number in the
	// tree. Both are exact as long as callers report true transitions; they
	// only inform (listing sizes, metrics) and take no part in comparisons.
	counts []uint32
	n      int
}

// New returns an empty tree of the given shape.
func New(shape Shape) (*Tree, error) {
	if err := shape.Validate(); err != nil {
		return nil, err
	}
	all := make([]uint64, shape.nodes())
	levels := make([][]uint64, shape.Depth+1)
	for l := range levels {
		size := shape.LevelSize(l)
		levels[l], all = all[:size:size], all[size:]
	}
	return &Tree{shape: shape, levels: levels, counts: make([]uint32, shape.Buckets())}, nil
}

// Update records that key's version went from one version to another.
// Absent as from means the key was just created, Absent as to that it was
// removed from storage; from == to changes nothing.
//
// The tree cannot check from: it keeps sums, not keys. A wrong from version
// leaves the bucket disagreeing with every replica until the tree is rebuilt
// from storage. Because updates only add deltas, they commute: the caller
// may apply them after the storage write commits, outside the key's lock,
// in any order, as long as each (from, to) pair is one real transition.
func (t *Tree) Update(key []byte, from, to uint64) {
	if from == to {
		return
	}
	kh := keyHash(key)
	b := t.shape.bucketOfHash(kh)
	var delta uint64
	if to != Absent {
		delta += itemHash(kh, to)
		t.counts[b]++
		t.n++
	}
	if from != Absent {
		delta -= itemHash(kh, from)
		t.counts[b]--
		t.n--
	}
	for l := int(t.shape.Depth); l >= 0; l-- {
		t.levels[l][b] += delta
		b >>= t.shape.FanoutBits
	}
}

// Insert records a key the tree does not hold yet, as a rebuild from a
// storage scan does: Update(key, Absent, version).
func (t *Tree) Insert(key []byte, version uint64) { t.Update(key, Absent, version) }

// Delete records that a key holding version was removed from storage:
// Update(key, version, Absent). A key with a tombstone is not removed: its
// tombstone is a version like any other.
func (t *Tree) Delete(key []byte, version uint64) { t.Update(key, version, Absent) }

// Shape returns the tree's shape, fixed at New.
func (t *Tree) Shape() Shape { return t.shape }

// Root returns the hash of the root: equal roots mean, but for a 2^-64
// chance, equal trees.
func (t *Tree) Root() uint64 { return t.levels[0][0] }

// Hash returns the hash of node of level l (0 = root, Depth = buckets). It
// panics when the node is out of range, as slice indexing does.
func (t *Tree) Hash(l, node int) uint64 { return t.levels[l][node] }

// Len returns the number of keys in the tree.
func (t *Tree) Len() int { return t.n }

// BucketLen returns the number of keys in bucket b: what listing the bucket
// will yield.
func (t *Tree) BucketLen(b int) int { return int(t.counts[b]) }

// TreeView is what the exchange reads of a tree. *Tree implements it; a
// caller may wrap a tree to take its lock.
type TreeView interface {
	Shape() Shape
	// Hash returns the hash of a node; l is in [0, Depth] and node in
	// [0, Shape().LevelSize(l)).
	Hash(l, node int) uint64
}

var _ TreeView = (*Tree)(nil)
