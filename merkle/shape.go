package merkle

import "fmt"

// Limits of a shape. maxBucketBits bounds a tree at 16M buckets (about
// 200 MB): a partition big enough to want more should be split instead.
const (
	maxFanoutBits = 8
	maxDepth      = 8
	maxBucketBits = 24
)

// Shape is the fixed geometry of a tree: every inner node has
// 1<<FanoutBits children and the buckets sit Depth levels below the root,
// so a tree has 1<<(FanoutBits*Depth) buckets. Level 0 holds the root,
// level Depth the buckets; node i of level l has children
// [i<<FanoutBits, (i+1)<<FanoutBits) on level l+1.
//
// Two trees can only be compared when their shapes are equal, so every
// replica of a partition must derive the shape from cluster-wide settings
// (ShapeFor of a configured key count), never from its own data.
type Shape struct {
	FanoutBits uint8 // 1..8: each inner node has 2..256 children
	Depth      uint8 // 1..8 levels below the root; FanoutBits*Depth <= 24
}

// Shape choice for ShapeFor: fan-out 16 and at most about 16 keys per
// bucket.
const (
	defaultFanoutBits = 4
	keysPerBucket     = 16
)

// ShapeFor returns the shape for a partition expected to hold about
// expectedKeys keys: fan-out 16, and the smallest depth that leaves at most
// 16 keys per bucket on average (a shallower tree for the same keys would
// make the exchange list more keys per differing bucket; a deeper one costs
// memory and a round trip per level).
//
// The result must be the same on every replica: pass a cluster-wide setting,
// not a local count.
//
//	expected keys   depth   buckets   tree memory
//	      1,000       2          256       3 KB
//	     65,536       3        4,096      51 KB
//	  1,000,000       4       65,536     820 KB
//	 16,000,000       5    1,048,576      13 MB
func ShapeFor(expectedKeys int) Shape {
	s := Shape{FanoutBits: defaultFanoutBits, Depth: 1}
	for s.Buckets()*keysPerBucket < expectedKeys && int(s.FanoutBits)*int(s.Depth+1) <= maxBucketBits {
		s.Depth++
	}
	return s
}

// Validate reports whether the shape is within the limits.
func (s Shape) Validate() error {
	switch {
	case s.FanoutBits < 1 || s.FanoutBits > maxFanoutBits:
		return fmt.Errorf("merkle: shape %s: fan-out bits must be 1..%d", s, maxFanoutBits)
	case s.Depth < 1 || s.Depth > maxDepth:
		return fmt.Errorf("merkle: shape %s: depth must be 1..%d", s, maxDepth)
	case s.bucketBits() > maxBucketBits:
		return fmt.Errorf("merkle: shape %s: more than 2^%d buckets", s, maxBucketBits)
	}
	return nil
}

// Fanout returns the number of children of an inner node.
func (s Shape) Fanout() int { return 1 << s.FanoutBits }

// Buckets returns the number of buckets (nodes of the deepest level).
func (s Shape) Buckets() int { return s.LevelSize(int(s.Depth)) }

// LevelSize returns the number of nodes on level l (0 <= l <= Depth).
func (s Shape) LevelSize(l int) int { return 1 << (int(s.FanoutBits) * l) }

// BucketOf returns the bucket of key. A caller listing the keys of some
// buckets filters a partition scan with it, before decoding any value.
func (s Shape) BucketOf(key []byte) int { return s.bucketOfHash(keyHash(key)) }

// bucketOfHash returns the bucket of a key hash: the top bits of its mix.
func (s Shape) bucketOfHash(kh uint64) int {
	return int(mix(kh) >> (64 - s.bucketBits()))
}

func (s Shape) bucketBits() int { return int(s.FanoutBits) * int(s.Depth) }

// nodes returns the number of nodes of all levels together.
func (s Shape) nodes() int {
	n := 0
	for l := 0; l <= int(s.Depth); l++ {
		n += s.LevelSize(l)
	}
	return n
}

// String returns "fanout^depth", such as "16^4" (65,536 buckets).
func (s Shape) String() string {
	if s.FanoutBits > maxFanoutBits {
		return fmt.Sprintf("(2^%d)^%d", s.FanoutBits, s.Depth)
	}
	return fmt.Sprintf("%d^%d", s.Fanout(), s.Depth)
}

// validNodes reports whether nodes are strictly ascending node ids of level
// l of the shape.
func (s Shape) validNodes(l int, nodes []int) bool {
	if l < 0 || l > int(s.Depth) {
		return false
	}
	size := s.LevelSize(l)
	for i, n := range nodes {
		if n < 0 || n >= size || (i > 0 && n <= nodes[i-1]) {
			return false
		}
	}
	return true
}
