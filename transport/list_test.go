package transport

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"dynakv/replica"
	"dynakv/transport/internal/transporttest"
	"dynakv/transport/transportpb"
)

func TestListKeysRoundTrip(t *testing.T) {
	c, _, _ := cluster(t)
	ctx := context.Background()
	for _, k := range []string{"a/1", "a/2", "a/3", "b/1"} {
		if err := c.Replicate(ctx, "n2", 7, []byte(k), transporttest.State(t, "v")); err != nil {
			t.Fatal(err)
		}
	}
	page, err := c.ListKeys(ctx, "n2", 7, replica.ListQuery{After: []byte("a/1"), Prefix: []byte("a/"), Limit: 1, MaxScan: 10})
	if err != nil {
		t.Fatal(err)
	}
	if got := keyStrings(page.Keys); !slices.Equal(got, []string{"a/2"}) || page.Done || string(page.Last) != "a/2" {
		t.Fatalf("page = keys %q, done %v, last %q; want [a/2], not done, last a/2", got, page.Done, page.Last)
	}
	page, err = c.ListKeys(ctx, "n2", 7, replica.ListQuery{After: page.Last, Prefix: []byte("a/"), Limit: 10, MaxScan: 10})
	if err != nil {
		t.Fatal(err)
	}
	if got := keyStrings(page.Keys); !slices.Equal(got, []string{"a/3"}) || !page.Done || page.Last != nil {
		t.Fatalf("next page = keys %q, done %v, last %q; want [a/3], done", got, page.Done, page.Last)
	}
}

func keyStrings(keys [][]byte) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = string(k)
	}
	return out
}

// A query outside the bounds never reaches the handler, from this client
// or from any other.
func TestListKeysOutOfBoundsIsRefused(t *testing.T) {
	c, h, lis := cluster(t)
	ctx := context.Background()
	if _, err := c.ListKeys(ctx, "n2", 7, replica.ListQuery{Limit: replica.MaxListLimit + 1, MaxScan: 1}); err == nil {
		t.Error("the client sent a limit over the bound")
	}
	cc, err := grpc.NewClient("passthrough:///"+lis.Addr().String(), dialOptions(DefaultMaxMessageBytes, "1")...)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	rpc := transportpb.NewNodeClient(cc)
	for _, req := range []*transportpb.ListKeysRequest{
		{Limit: 0, MaxScan: 10},
		{Limit: 10, MaxScan: 0},
		{Limit: replica.MaxListLimit + 1, MaxScan: 10},
		{Limit: 10, MaxScan: replica.MaxListScan + 1},
		{Limit: 10, MaxScan: ^uint32(0)},
	} {
		if _, err := rpc.ListKeys(ctx, req); status.Code(err) != codes.InvalidArgument {
			t.Errorf("limit %d, scan budget %d: %v, want InvalidArgument", req.Limit, req.MaxScan, err)
		}
	}
	if n := h.Calls("list-keys"); n != 0 {
		t.Errorf("%d out-of-bounds queries reached the handler", n)
	}
}

func TestListKeysErrorsCrossTheHop(t *testing.T) {
	c, h, _ := cluster(t)
	h.Hook = func(_ context.Context, op string) error { return errors.New(op + ": disk on fire") }
	_, err := c.ListKeys(context.Background(), "n2", 7, replica.ListQuery{Limit: 1, MaxScan: 1})
	if err == nil || replica.IsUnreachable(err) || !strings.HasPrefix(err.Error(), "list keys of partition 7 on n2: ") || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("err = %v; want the peer's message, prefixed, not unreachable", err)
	}
}

func TestListKeysOnAnOlderNode(t *testing.T) {
	c := olderNode(t, "Read")
	_, err := c.ListKeys(context.Background(), "old", 0, replica.ListQuery{Limit: 1, MaxScan: 1})
	if !errors.Is(err, ErrUnimplemented) || replica.IsUnreachable(err) {
		t.Fatalf("ListKeys on an older node: err = %v; want ErrUnimplemented, not unreachable", err)
	}
}
