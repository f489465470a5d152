package merkle

import (
	"fmt"
	"maps"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

// genShape draws a small shape, so that rapid's small key spaces still
// spread over several buckets and levels.
func genShape(t *rapid.T) Shape {
	return Shape{
		FanoutBits: uint8(rapid.IntRange(1, 4).Draw(t, "fanoutBits")),
		Depth:      uint8(rapid.IntRange(1, 3).Draw(t, "depth")),
	}
}

// applyOps runs random writes and deletes over a small key space on both a
// tree and the reference state, as a replica's read-merge-write reports
// them: each with the key's true current version.
func applyOps(t *rapid.T, label string, tr *Tree, s state) {
	n := rapid.IntRange(0, 60).Draw(t, label+"Ops")
	for range n {
		k := fmt.Sprint("k", rapid.IntRange(0, 40).Draw(t, label+"Key"))
		from := s[k]
		to := Absent
		if rapid.IntRange(0, 3).Draw(t, label+"Delete") != 0 {
			to = uint64(rapid.IntRange(1, 6).Draw(t, label+"Version"))
		}
		tr.Update([]byte(k), from, to)
		if to == Absent {
			delete(s, k)
		} else {
			s[k] = to
		}
	}
}

// TestIncrementalEqualsRebuilt checks the tree against a dumb alternative:
// after any sequence of updates it must hold exactly what summing the final
// state from scratch gives, on every node of every level, and so must a
// tree rebuilt by inserting the final state and one decoded from a
// snapshot.
func TestIncrementalEqualsRebuilt(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		shape := genShape(t)
		tr, err := New(shape)
		if err != nil {
			t.Fatal(err)
		}
		s := state{}
		applyOps(t, "", tr, s)

		checkMatches(t, tr, s)
		rebuilt := build(t, shape, s, nil)
		if !slices.Equal(tr.AppendBinary(nil), rebuilt.AppendBinary(nil)) {
			t.Fatal("incremental and rebuilt trees encode differently")
		}
		decoded, err := DecodeTree(tr.AppendBinary(nil))
		if err != nil {
			t.Fatal(err)
		}
		checkMatches(t, decoded, s)
	})
}

// TestCompareFindsExactlyTheDifferingBuckets diverges two replicas from a
// common state and checks that an exchange finds the buckets holding a
// differing key, no more and no fewer, from either side, and that the
// listings of those buckets then name exactly the differing keys. With
// 64-bit sums a collision hiding a difference has probability 2^-64 per
// node: the test data has none, so any mismatch is a bug.
func TestCompareFindsExactlyTheDifferingBuckets(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		shape := genShape(t)
		base := state{}
		a, _ := New(shape)
		applyOps(t, "base", a, base)
		sa, sb := maps.Clone(base), maps.Clone(base)
		b := build(t, shape, sb, nil)
		applyOps(t, "a", a, sa)
		applyOps(t, "b", b, sb)

		want := differingBuckets(shape, sa, sb)
		for _, dir := range [][2]*Tree{{a, b}, {b, a}} {
			got, err := Compare(dir[0], dir[1])
			if err != nil {
				t.Fatal(err)
			}
			if len(want) == 0 {
				want = nil
			}
			if !slices.Equal(got, want) {
				t.Fatalf("Compare found buckets %v, want %v", got, want)
			}
		}

		var wantKeys []string
		for k := range sa {
			if sa[k] != sb[k] {
				wantKeys = append(wantKeys, k)
			}
		}
		for k := range sb {
			if _, ok := sa[k]; !ok {
				wantKeys = append(wantKeys, k)
			}
		}
		slices.Sort(wantKeys)
		var gotKeys []string
		for _, k := range Diff(listing(shape, sa, want).Entries, listing(shape, sb, want).Entries) {
			gotKeys = append(gotKeys, string(k))
		}
		if !slices.Equal(gotKeys, wantKeys) {
			t.Fatalf("Diff of the listings named %q, want %q", gotKeys, wantKeys)
		}
	})
}
