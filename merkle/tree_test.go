package merkle

import (
	"encoding/binary"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cespare/xxhash/v2"
)

func TestRootIndependentOfInsertionOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	shape := Shape{FanoutBits: 4, Depth: 3}
	s := randomState(rng, 5000)
	sorted := build(t, shape, s, nil)
	checkMatches(t, sorted, s)

	order := slices.Sorted(maps.Keys(s))
	for range 3 {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		shuffled := build(t, shape, s, order)
		if shuffled.Root() != sorted.Root() {
			t.Fatalf("root %#x after a shuffled insertion, %#x after a sorted one", shuffled.Root(), sorted.Root())
		}
		if !slices.Equal(shuffled.AppendBinary(nil), sorted.AppendBinary(nil)) {
			t.Fatal("trees of one state in two orders encode differently")
		}
	}
}

func TestEmptyTree(t *testing.T) {
	shape := Shape{FanoutBits: 2, Depth: 3}
	empty := build(t, shape, nil, nil)
	if empty.Root() != 0 || empty.Len() != 0 {
		t.Fatalf("empty tree: root %#x, %d keys", empty.Root(), empty.Len())
	}
	if got, err := Compare(empty, build(t, shape, nil, nil)); err != nil || got != nil {
		t.Fatalf("empty vs empty: %v, %v", got, err)
	}

	full := randomState(rand.New(rand.NewPCG(3, 4)), 1000)
	fullTree := build(t, shape, full, nil)
	want := differingBuckets(shape, nil, full)
	if len(want) != shape.Buckets() {
		t.Fatalf("test data fills %d of %d buckets; want all", len(want), shape.Buckets())
	}
	for _, pair := range [][2]*Tree{{empty, fullTree}, {fullTree, empty}} {
		got, err := Compare(pair[0], pair[1])
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("empty vs full: %v (%v), want every bucket", got, err)
		}
	}
}

func TestUpdateTransitions(t *testing.T) {
	shape := Shape{FanoutBits: 3, Depth: 2}
	tr := build(t, shape, nil, nil)
	k := []byte("k")

	tr.Insert(k, 7)
	checkMatches(t, tr, state{"k": 7})
	tr.Update(k, 7, 7) // no change
	checkMatches(t, tr, state{"k": 7})
	tr.Update(k, 7, 9)
	checkMatches(t, tr, state{"k": 9})
	tr.Delete(k, 9)
	checkMatches(t, tr, nil)
	if tr.Root() != 0 {
		t.Fatalf("root %#x after deleting the only key", tr.Root())
	}
}

func TestSwappedVersionsDiffer(t *testing.T) {
	// The item hash binds a version to its key: two keys trading versions
	// must change their buckets' hashes.
	shape := Shape{FanoutBits: 1, Depth: 1}
	a := build(t, shape, state{"x": 1, "y": 2}, nil)
	b := build(t, shape, state{"x": 2, "y": 1}, nil)
	if a.Root() == b.Root() {
		t.Fatal("trading versions between keys left the root unchanged")
	}
}

// TestPartitionKeysSpreadOverBuckets guards the choice of bucket bits: the
// ring puts a key in partition xxhash64(key) mod partitions (ring.PartitionOf),
// and one partition's keys must still fill all of its tree's buckets evenly.
func TestPartitionKeysSpreadOverBuckets(t *testing.T) {
	const partitions, partition = 1024, 7
	shape := ShapeFor(4096) // 16^2: 256 buckets, 16 keys each on average
	counts := make([]int, shape.Buckets())
	var key [8]byte
	for i, found := uint64(0), 0; found < 16*shape.Buckets(); i++ {
		binary.BigEndian.PutUint64(key[:], i)
		if xxhash.Sum64(key[:])%partitions != partition {
			continue
		}
		counts[shape.BucketOf(key[:])]++
		found++
	}
	lo, hi := slices.Min(counts), slices.Max(counts)
	if lo < 2 || hi > 40 { // Poisson(16): both are < 1e-4 events over 256 buckets
		t.Fatalf("one partition's keys fill buckets with %d to %d keys; want about 16 each", lo, hi)
	}
}

func TestShapeFor(t *testing.T) {
	for _, tc := range []struct {
		keys int
		want Shape
	}{
		{0, Shape{4, 1}},
		{256, Shape{4, 1}},
		{257, Shape{4, 2}},
		{3000, Shape{4, 2}},
		{1_000_000, Shape{4, 4}},
		{16_000_000, Shape{4, 5}},
		{1 << 40, Shape{4, 6}}, // capped at 2^24 buckets
	} {
		got := ShapeFor(tc.keys)
		if got != tc.want {
			t.Errorf("ShapeFor(%d) = %s, want %s", tc.keys, got, tc.want)
		}
		if err := got.Validate(); err != nil {
			t.Errorf("ShapeFor(%d): %v", tc.keys, err)
		}
	}
}

func TestNewRejectsInvalidShapes(t *testing.T) {
	for _, s := range []Shape{{0, 1}, {1, 0}, {9, 1}, {1, 9}, {8, 4}, {5, 5}} {
		if _, err := New(s); err == nil {
			t.Errorf("New(%s) accepted an invalid shape", s)
		}
	}
	for _, s := range []Shape{{8, 3}, {4, 6}, {1, 8}} { // the largest ones
		if err := s.Validate(); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
}
