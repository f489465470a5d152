package merkle

import (
	"encoding/binary"
	"maps"
	"math/rand/v2"
	"slices"
)

// tb is the part of testing.TB that helpers use, which *rapid.T has too.
type tb interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}

// state is a reference replica: key -> version, the truth a tree sums up.
type state map[string]uint64

// testKey returns the i-th key of the tests' key space.
func testKey(i int) []byte { return binary.BigEndian.AppendUint64([]byte("key-"), uint64(i)) }

// randomState returns n keys with random versions, from a seeded RNG.
func randomState(rng *rand.Rand, n int) state {
	s := make(state, n)
	for i := range n {
		s[string(testKey(i))] = rng.Uint64() | 1 // never Absent
	}
	return s
}

// build returns a tree of shape holding s, inserting keys in the given
// order (sorted when nil).
func build(t tb, shape Shape, s state, order []string) *Tree {
	t.Helper()
	tr, err := New(shape)
	if err != nil {
		t.Fatal(err)
	}
	if order == nil {
		order = slices.Sorted(maps.Keys(s))
	}
	for _, k := range order {
		tr.Insert([]byte(k), s[k])
	}
	return tr
}

// naiveLevels computes every node's hash and every bucket's count straight
// from the definition, with no incremental arithmetic: node i of level l
// sums the items of the keys whose bucket lies below it.
func naiveLevels(shape Shape, s state) ([][]uint64, []uint32) {
	levels := make([][]uint64, shape.Depth+1)
	for l := range levels {
		levels[l] = make([]uint64, shape.LevelSize(l))
	}
	counts := make([]uint32, shape.Buckets())
	for k, v := range s {
		kh := keyHash([]byte(k))
		b := shape.bucketOfHash(kh)
		counts[b]++
		for l := range levels {
			levels[l][b>>(int(shape.FanoutBits)*(int(shape.Depth)-l))] += itemHash(kh, v)
		}
	}
	return levels, counts
}

// checkMatches fails unless tr holds exactly the hashes and counts of s.
func checkMatches(t tb, tr *Tree, s state) {
	t.Helper()
	levels, counts := naiveLevels(tr.Shape(), s)
	for l := range levels {
		for i, want := range levels[l] {
			if got := tr.Hash(l, i); got != want {
				t.Fatalf("level %d node %d: hash %#x, want %#x", l, i, got, want)
			}
		}
	}
	for b, want := range counts {
		if got := tr.BucketLen(b); got != int(want) {
			t.Fatalf("bucket %d: %d keys, want %d", b, got, want)
		}
	}
	if tr.Len() != len(s) {
		t.Fatalf("Len %d, want %d", tr.Len(), len(s))
	}
}

// differingBuckets returns, ascending, the buckets holding a key whose
// version differs between a and b (Absent when a side lacks the key).
func differingBuckets(shape Shape, a, b state) []int {
	set := map[int]bool{}
	for k, v := range a {
		if b[k] != v {
			set[shape.BucketOf([]byte(k))] = true
		}
	}
	for k, v := range b {
		if a[k] != v {
			set[shape.BucketOf([]byte(k))] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// listing returns s's listing of buckets, as a node builds it from a scan.
func listing(shape Shape, s state, buckets []int) *Listing {
	l := &Listing{Shape: shape, Buckets: buckets}
	for _, k := range slices.Sorted(maps.Keys(s)) {
		if listed(buckets, shape.BucketOf([]byte(k))) {
			l.Entries = append(l.Entries, Entry{Key: []byte(k), Version: s[k]})
		}
	}
	return l
}

// wireCompare runs an exchange through encoded messages, as two nodes do,
// and returns the differing buckets, the bytes both directions carried and
// the number of round trips.
func wireCompare(t tb, local, remote TreeView) (buckets []int, bytes, trips int) {
	t.Helper()
	ex := NewExchange(local)
	for req, ok := ex.Request(); ok; req, ok = ex.Request() {
		wireReq := req.AppendBinary(nil)
		if len(wireReq) != req.Size() {
			t.Fatalf("request Size %d, encoding %d bytes", req.Size(), len(wireReq))
		}
		got, err := DecodeRequest(wireReq)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := Answer(remote, got)
		if err != nil {
			t.Fatal(err)
		}
		wireResp := resp.AppendBinary(nil)
		if len(wireResp) != resp.Size() {
			t.Fatalf("response Size %d, encoding %d bytes", resp.Size(), len(wireResp))
		}
		resp, err = DecodeResponse(wireResp)
		if err != nil {
			t.Fatal(err)
		}
		if err := ex.Step(resp); err != nil {
			t.Fatal(err)
		}
		bytes += len(wireReq) + len(wireResp)
		trips++
	}
	return ex.Buckets(), bytes, trips
}
