package merkle

import (
	"errors"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
)

// diverge returns a copy of s in which k keys differ: a third get a new
// version, a third are deleted, a third are new keys.
func diverge(rng *rand.Rand, s state, k int) state {
	out := maps.Clone(s)
	keys := slices.Sorted(maps.Keys(s))
	for i := range k {
		switch i % 3 {
		case 0:
			out[keys[rng.IntN(len(keys))]] = rng.Uint64() | 1
		case 1:
			delete(out, keys[rng.IntN(len(keys))])
		default:
			out[string(testKey(len(s)+i))] = rng.Uint64() | 1
		}
	}
	return out
}

func TestExchangeOverTheWire(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	shape := Shape{FanoutBits: 4, Depth: 3}
	base := randomState(rng, 20_000)
	local := build(t, shape, base, nil)
	for _, k := range []int{0, 1, 10, 100} {
		other := diverge(rng, base, k)
		remote := build(t, shape, other, nil)
		want := differingBuckets(shape, base, other)
		if len(want) == 0 {
			want = nil
		}

		got, bytes, trips := wireCompare(t, local, remote)
		if !slices.Equal(got, want) {
			t.Fatalf("%d differing keys: buckets %v, want %v", k, got, want)
		}
		wantTrips := int(shape.Depth) + 1
		if k == 0 {
			wantTrips = 1 // equal roots end the exchange
		}
		if trips != wantTrips {
			t.Errorf("%d differing keys: %d round trips, want %d", k, trips, wantTrips)
		}
		// Bound: the root, then at most Fanout hashes per differing node of
		// each level above the buckets, 9 bytes each (request + response).
		if limit := 64 + 9*shape.Fanout()*(1+k*(int(shape.Depth)-1)); bytes > limit {
			t.Errorf("%d differing keys: %d bytes exchanged, want at most %d", k, bytes, limit)
		}
	}
}

func TestAnswerRefusesBadRequests(t *testing.T) {
	shape := Shape{FanoutBits: 2, Depth: 2}
	tr := build(t, shape, state{"a": 1}, nil)
	for name, tc := range map[string]struct {
		req  Request
		want error
	}{
		"other shape":     {Request{Shape: Shape{2, 3}, Level: 0, Nodes: []int{0}}, ErrIncompatible},
		"level too deep":  {Request{Shape: shape, Level: 3, Nodes: []int{0}}, ErrMalformed},
		"negative level":  {Request{Shape: shape, Level: -1, Nodes: []int{0}}, ErrMalformed},
		"node too big":    {Request{Shape: shape, Level: 1, Nodes: []int{4}}, ErrMalformed},
		"negative node":   {Request{Shape: shape, Level: 1, Nodes: []int{-1}}, ErrMalformed},
		"nodes unordered": {Request{Shape: shape, Level: 2, Nodes: []int{3, 2}}, ErrMalformed},
		"nodes repeated":  {Request{Shape: shape, Level: 2, Nodes: []int{2, 2}}, ErrMalformed},
	} {
		if _, err := Answer(tr, tc.req); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
	if _, err := Compare(tr, build(t, Shape{2, 3}, nil, nil)); !errors.Is(err, ErrIncompatible) {
		t.Errorf("Compare of two shapes: %v, want ErrIncompatible", err)
	}
}

func TestStepRefusesBadResponses(t *testing.T) {
	tr := build(t, Shape{FanoutBits: 2, Depth: 2}, state{"a": 1}, nil)
	ex := NewExchange(tr)
	if err := ex.Step(Response{Hashes: []uint64{1, 2}}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("two hashes for the root: %v, want ErrMalformed", err)
	}
	if err := ex.Step(Response{Hashes: []uint64{tr.Root()}}); err != nil {
		t.Fatal(err)
	}
	if !ex.Done() || ex.Buckets() != nil {
		t.Fatalf("equal roots: done %v, buckets %v", ex.Done(), ex.Buckets())
	}
	if _, ok := ex.Request(); ok {
		t.Fatal("a finished exchange still requests")
	}
	if err := ex.Step(Response{Hashes: []uint64{0}}); err == nil {
		t.Fatal("Step after the end succeeded")
	}
}

func TestRequestIsACopy(t *testing.T) {
	tr := build(t, Shape{FanoutBits: 2, Depth: 2}, state{"a": 1}, nil)
	ex := NewExchange(tr)
	req, _ := ex.Request()
	req.Nodes[0] = 3
	if again, _ := ex.Request(); again.Nodes[0] != 0 {
		t.Fatal("changing a request changed the exchange's state")
	}
}

func TestDiff(t *testing.T) {
	e := func(k string, v uint64) Entry { return Entry{Key: []byte(k), Version: v} }
	a := []Entry{e("a", 1), e("b", 2), e("d", 4), e("e", 5)}
	b := []Entry{e("b", 2), e("c", 3), e("d", 5), e("f", 6)}
	var got []string
	for _, k := range Diff(a, b) {
		got = append(got, string(k))
	}
	if want := []string{"a", "c", "d", "e", "f"}; !slices.Equal(got, want) {
		t.Fatalf("Diff = %q, want %q", got, want)
	}
	if Diff(a, a) != nil || Diff(nil, nil) != nil {
		t.Fatal("equal listings differ")
	}
}
