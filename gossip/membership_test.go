package gossip

import (
	"maps"
	"testing"

	"pgregory.net/rapid"
)

func genEntry() *rapid.Generator[entry] {
	return rapid.Custom(func(t *rapid.T) entry {
		return entry{
			ID:         rapid.SampledFrom([]string{"a", "b", "c"}).Draw(t, "id"),
			GossipAddr: rapid.SampledFrom([]string{"10.0.0.1:7946", "10.0.0.2:7946"}).Draw(t, "gossip"),
			HTTPAddr:   rapid.SampledFrom([]string{"h1", "h2"}).Draw(t, "http"),
			RPCAddr:    rapid.SampledFrom([]string{"r1", "r2"}).Draw(t, "rpc"),
			Status:     rapid.SampledFrom([]RingStatus{Joined, Leaving, Left, Removed}).Draw(t, "status"),
			Version:    rapid.Uint64Range(0, 4).Draw(t, "version"),
		}
	})
}

// mergeAll folds entries, in order, into an empty membership.
func mergeAll(entries ...[]entry) membership {
	m := make(membership)
	for _, es := range entries {
		m.merge(es)
	}
	return m
}

func TestMergeIsCommutativeAssociativeIdempotent(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a := rapid.SliceOf(genEntry()).Draw(t, "a")
		b := rapid.SliceOf(genEntry()).Draw(t, "b")
		c := rapid.SliceOf(genEntry()).Draw(t, "c")

		ab, ba := mergeAll(a, b), mergeAll(b, a)
		if !maps.Equal(ab, ba) {
			t.Fatalf("merge is not commutative:\n a,b: %v\n b,a: %v", ab, ba)
		}
		// (a∪b)∪c against a∪(b∪c), merging whole states as push/pull does.
		left := mergeAll(ab.entries(), c)
		right := mergeAll(a, mergeAll(b, c).entries())
		if !maps.Equal(left, right) {
			t.Fatalf("merge is not associative:\n (a,b),c: %v\n a,(b,c): %v", left, right)
		}
		again := maps.Clone(ab)
		if changed := again.merge(ab.entries()); len(changed) != 0 || !maps.Equal(again, ab) {
			t.Fatalf("merging a state into itself changed %v", changed)
		}
		if changed := again.merge(a); len(changed) != 0 {
			t.Fatalf("merging already merged entries changed %v", changed)
		}
		// Each id ends with the largest of its entries.
		for _, e := range append(a, b...) {
			if compareEntries(ab[e.ID], e) < 0 {
				t.Fatalf("merge kept %+v over the larger %+v", ab[e.ID], e)
			}
		}
	})
}

func TestVersionTieGoesToTheLaterStatus(t *testing.T) {
	joined := entry{ID: "a", Status: Joined, Version: 3}
	removed := entry{ID: "a", Status: Removed, Version: 3}
	for _, order := range [][]entry{{joined, removed}, {removed, joined}} {
		if got := mergeAll(order)["a"].Status; got != Removed {
			t.Fatalf("merge %v kept %s, want removed", order, got)
		}
	}
	rejoined := entry{ID: "a", Status: Joined, Version: mergeAll([]entry{removed}).nextVersion()}
	if got := mergeAll([]entry{removed, rejoined})["a"].Status; got != Joined {
		t.Fatalf("a join with a newer version lost to an older removal: %s", got)
	}
}

func TestRingIDsAreJoinedAndLeavingMembers(t *testing.T) {
	m := mergeAll([]entry{
		{ID: "d", Status: Removed, Version: 1},
		{ID: "b", Status: Leaving, Version: 1},
		{ID: "c", Status: Left, Version: 1},
		{ID: "a", Status: Joined, Version: 7},
	})
	if got := m.ringIDs(); len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Fatalf("ringIDs = %v, want [a b]", got)
	}
	if v := m.nextVersion(); v != 8 {
		t.Fatalf("nextVersion = %d, want 8", v)
	}
}
