package memnet_test

import (
	"context"
	"fmt"
	"testing"

	"dynakv/merkle"
	"dynakv/replica"
	"dynakv/transport/internal/transporttest"
	"dynakv/transport/memnet"
)

// Anti-entropy's calls share no memory, go through every fault but
// DropReplicate, and name themselves to Intercept hooks.
func TestAntiEntropyCalls(t *testing.T) {
	n, hs := network(t)
	a := n.Transport("a")
	ctx := context.Background()
	shape := merkle.Shape{FanoutBits: 4, Depth: 1}
	state := transporttest.State(t, "v")
	n.DropReplicate("a", "b", true) // what anti-entropy repairs; never drops it

	key := []byte("k")
	out, err := a.ExchangeStates(ctx, "b", []replica.KeyState{{Partition: 1, Key: key, State: state}})
	if err != nil || len(out) != 1 || !out[0].State.Equal(state) {
		t.Fatalf("ExchangeStates = %+v, %v", out, err)
	}
	key[0] = 'X'
	state.Siblings[0].Value[0] = 'X'
	if got := hs["b"].State([]byte("k")); got == nil || string(got.Siblings[0].Value) != "v" {
		t.Fatalf("peer's copy changed with the sender's memory: %+v", got)
	}
	out[0].State.Siblings[0].Value[0] = 'Y'
	if string(hs["b"].State([]byte("k")).Siblings[0].Value) != "v" {
		t.Fatal("peer's copy changed with the receiver's memory")
	}

	resp, err := a.TreeHashes(ctx, "b", 1, merkle.Request{Shape: shape, Nodes: []int{0}})
	if err != nil || len(resp.Hashes) != 1 || resp.Hashes[0] == 0 {
		t.Fatalf("TreeHashes = %+v, %v", resp, err)
	}
	buckets := []int{shape.BucketOf([]byte("k"))}
	l, err := a.TreeListing(ctx, "b", 1, shape, buckets)
	if err != nil || len(l.Entries) != 1 || string(l.Entries[0].Key) != "k" {
		t.Fatalf("TreeListing = %+v, %v", l, err)
	}
	tomb := transporttest.Tombstone(t, hs["b"].State([]byte("k")))
	if _, err := a.ExchangeStates(ctx, "b", []replica.KeyState{{Partition: 1, Key: []byte("k"), State: tomb}}); err != nil {
		t.Fatal(err)
	}
	reaped, err := a.ReapTombstones(ctx, "b", []replica.KeyState{{Partition: 1, Key: []byte("k"), State: tomb}})
	if err != nil || len(reaped) != 1 || !reaped[0] || hs["b"].State([]byte("k")) != nil {
		t.Fatalf("ReapTombstones = %v, %v; peer holds %+v", reaped, err, hs["b"].State([]byte("k")))
	}

	var seen []string
	n.Intercept(func(_, _, op string) error { seen = append(seen, op); return nil })
	n.Isolate("b")
	if _, err := a.TreeHashes(ctx, "b", 1, merkle.Request{Shape: shape, Nodes: []int{0}}); !replica.IsUnreachable(err) {
		t.Errorf("TreeHashes to an isolated node: err = %v, want unreachable", err)
	}
	if _, err := a.ExchangeStates(ctx, "b", nil); !replica.IsUnreachable(err) {
		t.Errorf("ExchangeStates to an isolated node: err = %v, want unreachable", err)
	}
	n.Heal()
	_, _ = a.TreeHashes(ctx, "b", 1, merkle.Request{Shape: shape, Nodes: []int{0}})
	_, _ = a.TreeListing(ctx, "b", 1, shape, buckets)
	_, _ = a.ExchangeStates(ctx, "b", nil)
	_, _ = a.ReapTombstones(ctx, "b", nil)
	want := []string{memnet.OpTreeHashes, memnet.OpTreeListing, memnet.OpExchangeStates, memnet.OpReapTombstones}
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Errorf("hook saw %v, want %v", seen, want)
	}
}
