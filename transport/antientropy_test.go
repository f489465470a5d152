package transport

import (
	"context"
	"errors"
	"strings"
	"testing"

	"google.golang.org/grpc"

	"dynakv/merkle"
	"dynakv/replica"
	"dynakv/transport/internal/transporttest"
	"dynakv/transport/transportpb"
)

// A whole tree comparison, the listings of the differing buckets, a key
// exchange and a reap, over gRPC.
func TestAntiEntropyCallsRoundTrip(t *testing.T) {
	c, h, _ := cluster(t)
	ctx := context.Background()
	shape := merkle.Shape{FanoutBits: 4, Depth: 2}
	mine, theirs := transporttest.State(t, "mine"), transporttest.State(t, "a", "b")
	if err := c.Replicate(ctx, "n2", 7, []byte("shared"), mine); err != nil {
		t.Fatal(err)
	}
	if err := c.Replicate(ctx, "n2", 7, []byte("theirs"), theirs); err != nil {
		t.Fatal(err)
	}

	local, err := merkle.New(shape)
	if err != nil {
		t.Fatal(err)
	}
	local.Insert([]byte("shared"), merkle.VersionHash(mine))
	local.Insert([]byte("mine-only"), merkle.VersionHash(mine))
	ex := merkle.NewExchange(local)
	rounds := 0
	for req, ok := ex.Request(); ok; req, ok = ex.Request() {
		resp, err := c.TreeHashes(ctx, "n2", 7, req)
		if err != nil {
			t.Fatalf("TreeHashes: %v", err)
		}
		if err := ex.Step(resp); err != nil {
			t.Fatalf("Step: %v", err)
		}
		rounds++
	}
	if rounds != int(shape.Depth)+1 || len(ex.Buckets()) == 0 {
		t.Fatalf("exchange took %d rounds and found buckets %v", rounds, ex.Buckets())
	}
	l, err := c.TreeListing(ctx, "n2", 7, shape, ex.Buckets())
	if err != nil {
		t.Fatalf("TreeListing: %v", err)
	}
	if l.Shape != shape || len(l.Entries) != 1 || string(l.Entries[0].Key) != "theirs" || l.Entries[0].Version != merkle.VersionHash(theirs) {
		t.Fatalf("TreeListing = %+v, want only the key the peer alone holds", l)
	}

	out, err := c.ExchangeStates(ctx, "n2", []replica.KeyState{
		{Partition: 7, Key: []byte("mine-only"), State: mine},
		{Partition: 7, Key: []byte("theirs")},
	})
	if err != nil {
		t.Fatalf("ExchangeStates: %v", err)
	}
	if len(out) != 2 || !out[0].State.Equal(mine) || !out[1].State.Equal(theirs) || string(out[1].Key) != "theirs" || out[1].Partition != 7 {
		t.Fatalf("ExchangeStates = %+v", out)
	}
	if !h.State([]byte("mine-only")).Equal(mine) {
		t.Error("the peer did not merge the sent state")
	}

	tomb := transporttest.Tombstone(t, mine)
	if _, err := c.ExchangeStates(ctx, "n2", []replica.KeyState{{Partition: 7, Key: []byte("shared"), State: tomb}}); err != nil {
		t.Fatal(err)
	}
	reaped, err := c.ReapTombstones(ctx, "n2", []replica.KeyState{
		{Partition: 7, Key: []byte("shared"), State: tomb},
		{Partition: 7, Key: []byte("theirs"), State: transporttest.Tombstone(t, theirs)},
	})
	if err != nil || len(reaped) != 2 || !reaped[0] || reaped[1] {
		t.Fatalf("ReapTombstones = %v, %v; want [true false]", reaped, err)
	}
	if h.State([]byte("shared")) != nil || h.State([]byte("theirs")) == nil {
		t.Error("the peer reaped the wrong keys")
	}
}

func TestAntiEntropyErrorsCrossTheHop(t *testing.T) {
	c, h, _ := cluster(t)
	h.Hook = func(_ context.Context, op string) error {
		return errors.New(op + ": tree of partition 7 not built yet")
	}
	ctx := context.Background()
	shape := merkle.Shape{FanoutBits: 4, Depth: 1}
	calls := map[string]error{}
	_, calls["tree hashes of partition 7 from n2"] = c.TreeHashes(ctx, "n2", 7, merkle.Request{Shape: shape, Nodes: []int{0}})
	_, calls["list 1 buckets of partition 7 on n2"] = c.TreeListing(ctx, "n2", 7, shape, []int{3})
	_, calls["exchange 0 states with n2"] = c.ExchangeStates(ctx, "n2", nil)
	_, calls["reap 0 tombstones on n2"] = c.ReapTombstones(ctx, "n2", nil)
	for what, err := range calls {
		if err == nil || replica.IsUnreachable(err) || !strings.HasPrefix(err.Error(), what+": ") || !strings.Contains(err.Error(), "not built yet") {
			t.Errorf("%s: err = %v; want the peer's message, prefixed, not unreachable", what, err)
		}
	}
}

// A request that breaks merkle's invariants never reaches the handler.
func TestAntiEntropyMalformedRequestsAreRefused(t *testing.T) {
	_, h, lis := cluster(t)
	cc, err := grpc.NewClient("passthrough:///"+lis.Addr().String(), dialOptions(DefaultMaxMessageBytes, "1")...)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	rpc := transportpb.NewNodeClient(cc)
	ctx := context.Background()
	if _, err := rpc.TreeHashes(ctx, &transportpb.TreeHashesRequest{Request: []byte{1, 'q', 4}}); err == nil {
		t.Error("a truncated tree request was accepted")
	}
	withEntries := (&merkle.Listing{Shape: merkle.Shape{FanoutBits: 4, Depth: 1}, Buckets: []int{merkle.Shape{FanoutBits: 4, Depth: 1}.BucketOf([]byte("k"))},
		Entries: []merkle.Entry{{Key: []byte("k"), Version: 9}}}).AppendBinary(nil)
	if _, err := rpc.TreeListing(ctx, &transportpb.TreeListingRequest{Buckets: withEntries}); err == nil {
		t.Error("a bucket request carrying entries was accepted")
	}
	if _, err := rpc.ExchangeStates(ctx, &transportpb.ExchangeStatesRequest{Entries: []*transportpb.KeyState{{Key: []byte("k"), State: []byte{0xff}}}}); err == nil {
		t.Error("a corrupt state was accepted")
	}
	for _, op := range []string{"tree-hashes", "tree-listing", "exchange-states"} {
		if n := h.Calls(op); n != 0 {
			t.Errorf("%d malformed %s calls reached the handler", n, op)
		}
	}
}

func TestAntiEntropyCallsToAnOlderNode(t *testing.T) {
	c := olderNode(t, "Read")
	ctx := context.Background()
	shape := merkle.Shape{FanoutBits: 4, Depth: 1}
	_, err := c.TreeHashes(ctx, "old", 0, merkle.Request{Shape: shape, Nodes: []int{0}})
	if !errors.Is(err, ErrUnimplemented) || replica.IsUnreachable(err) {
		t.Errorf("TreeHashes on an older node: err = %v; want ErrUnimplemented, not unreachable", err)
	}
	_, err = c.ExchangeStates(ctx, "old", nil)
	if !errors.Is(err, ErrUnimplemented) || replica.IsUnreachable(err) {
		t.Errorf("ExchangeStates on an older node: err = %v; want ErrUnimplemented", err)
	}
}
