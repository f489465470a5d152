package merkle

import (
	"math/rand/v2"
	"testing"

	"dynakv/versioning"
)

const benchKeys = 1_000_000

// benchShapes are the shapes the benchmarks compare: ShapeFor(1M), one
// level deeper, and a shallow wide tree like Riak's (1024^2 there).
func benchShapes() []Shape { return []Shape{ShapeFor(benchKeys), {4, 5}, {8, 2}} }

// replicas is one partition's keys on two replicas that differ in diffs
// keys: a third with another version, a third missing from b, a third
// only in b.
type replicas struct {
	keys     [][]byte
	a, b     []uint64 // versions by key index; Absent where a side lacks the key
	differed []int    // indexes of the differing keys
}

func newReplicas(n, diffs int) *replicas {
	rng := rand.New(rand.NewPCG(11, 12))
	r := &replicas{keys: make([][]byte, n+diffs), a: make([]uint64, n+diffs), b: make([]uint64, n+diffs)}
	for i := range r.keys {
		r.keys[i] = testKey(i)
		if i < n {
			r.a[i] = rng.Uint64() | 1
			r.b[i] = r.a[i]
		}
	}
	for i := range diffs {
		k := rng.IntN(n)
		switch i % 3 {
		case 0:
			r.b[k] = rng.Uint64() | 1
		case 1:
			r.b[k] = Absent
		default:
			k = n + i
			r.b[k] = rng.Uint64() | 1
		}
		r.differed = append(r.differed, k)
	}
	return r
}

func (r *replicas) tree(b *testing.B, shape Shape, versions []uint64) *Tree {
	tr, err := New(shape)
	if err != nil {
		b.Fatal(err)
	}
	for i, v := range versions {
		if v != Absent {
			tr.Insert(r.keys[i], v)
		}
	}
	return tr
}

// treeBytes is the memory a tree of shape holds: a hash per node of every
// level and a count per bucket.
func treeBytes(s Shape) int { return 8*s.nodes() + 4*s.Buckets() }

// BenchmarkBuild builds a 1M-key tree, as a rebuild after a restart does
// once the scan has produced the versions.
func BenchmarkBuild(b *testing.B) {
	r := newReplicas(benchKeys, 0)
	for _, shape := range benchShapes() {
		b.Run(shape.String(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r.tree(b, shape, r.a)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchKeys), "ns/key")
			b.ReportMetric(float64(treeBytes(shape)), "tree-bytes")
		})
	}
}

// BenchmarkUpdate changes one key's version in a 1M-key tree, as every
// write does.
func BenchmarkUpdate(b *testing.B) {
	r := newReplicas(benchKeys, 0)
	for _, shape := range benchShapes() {
		b.Run(shape.String(), func(b *testing.B) {
			tr := r.tree(b, shape, r.a)
			cur := append([]uint64(nil), r.a...)
			i := 0
			for b.Loop() {
				k := i % benchKeys
				tr.Update(r.keys[k], cur[k], cur[k]+2) // odd stays odd: never Absent
				cur[k] += 2
				i++
			}
		})
	}
}

// BenchmarkVersionHash hashes a key with three writers' clock and two
// concurrent siblings.
func BenchmarkVersionHash(b *testing.B) {
	ev := func(a string, n uint64) versioning.Event {
		return versioning.Event{Dot: versioning.Dot{Actor: versioning.Actor(a), Counter: n}}
	}
	s := &versioning.Set{
		Clock: versioning.Clock{{Actor: "node-1.k3j2", Counter: 41}, {Actor: "node-2.a9f1", Counter: 7}, {Actor: "node-3.0b1c", Counter: 12}},
		Siblings: []versioning.Sibling{
			{Events: []versioning.Event{ev("node-1.k3j2", 41)}, Value: make([]byte, 4096)},
			{Events: []versioning.Event{ev("node-2.a9f1", 7), ev("node-3.0b1c", 12)}, Value: make([]byte, 4096)},
		},
	}
	b.ReportAllocs()
	for b.Loop() {
		VersionHash(s)
	}
}

// BenchmarkCompare runs a whole exchange, through encoded messages,
// between two 1M-key trees that differ in 100 keys. It reports the bytes
// both directions carried, the round trips, the differing buckets found,
// the keys the two sides must then list from those buckets and the bytes
// of those two listings.
func BenchmarkCompare(b *testing.B) {
	const diffs = 100
	r := newReplicas(benchKeys, diffs)
	for _, shape := range benchShapes() {
		b.Run(shape.String(), func(b *testing.B) {
			ta, tb := r.tree(b, shape, r.a), r.tree(b, shape, r.b)
			var buckets []int
			var bytes, trips int
			for b.Loop() {
				buckets, bytes, trips = wireCompare(b, ta, tb)
			}
			want := map[int]bool{}
			for _, k := range r.differed {
				want[shape.BucketOf(r.keys[k])] = true
			}
			if len(buckets) != len(want) {
				b.Fatalf("found %d differing buckets, want %d", len(buckets), len(want))
			}
			la, lb := r.listing(shape, r.a, buckets), r.listing(shape, r.b, buckets)
			if got := len(Diff(la.Entries, lb.Entries)); got != diffs {
				b.Fatalf("listings differ in %d keys, want %d", got, diffs)
			}
			b.ReportMetric(float64(bytes), "bytes/compare")
			b.ReportMetric(float64(trips), "round-trips")
			b.ReportMetric(float64(len(buckets)), "diff-buckets")
			b.ReportMetric(float64(len(la.Entries)+len(lb.Entries)), "keys-listed")
			b.ReportMetric(float64(la.Size()+lb.Size()), "listing-bytes")
		})
	}
}

// listing lists the keys of buckets holding a version in versions, in key
// order (testKey sorts by index), as a partition scan would.
func (r *replicas) listing(shape Shape, versions []uint64, buckets []int) *Listing {
	l := &Listing{Shape: shape, Buckets: buckets}
	for i, v := range versions {
		if v != Absent && listed(buckets, shape.BucketOf(r.keys[i])) {
			l.Entries = append(l.Entries, Entry{Key: r.keys[i], Version: v})
		}
	}
	return l
}
