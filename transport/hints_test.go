package transport

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"

	"dynakv/replica"
	"dynakv/transport/internal/transporttest"
	"dynakv/transport/transportpb"
	"dynakv/versioning"
)

func TestHintCallsRoundTrip(t *testing.T) {
	c, h, _ := cluster(t)
	ctx := context.Background()
	key := []byte("k/é")
	s1, s2 := transporttest.State(t, "a", "b"), transporttest.State(t, "c")

	held, err := c.HeldHints(ctx, "n2", 7, key)
	if err != nil || held == nil || len(held) != 0 {
		t.Fatalf("HeldHints before any hint = %v, %v; want an empty map", held, err)
	}
	if err := c.StoreHint(ctx, "n2", "n3", 7, key, s1); err != nil {
		t.Fatalf("StoreHint: %v", err)
	}
	if err := c.StoreHint(ctx, "n2", "n4", 7, key, s2); err != nil {
		t.Fatalf("StoreHint: %v", err)
	}
	if err := c.StoreHint(ctx, "n2", "n3", 7, []byte("other"), s2); err != nil {
		t.Fatalf("StoreHint: %v", err)
	}
	if !h.Hint("n3", key).Equal(s1) || !h.Hint("n4", key).Equal(s2) {
		t.Fatalf("peer holds %+v and %+v, want %+v and %+v", h.Hint("n3", key), h.Hint("n4", key), s1, s2)
	}
	if h.State(key) != nil {
		t.Error("a hint was stored as the peer's own data")
	}

	held, err = c.HeldHints(ctx, "n2", 7, key)
	if err != nil {
		t.Fatalf("HeldHints: %v", err)
	}
	if len(held) != 2 || !held["n3"].Equal(s1) || !held["n4"].Equal(s2) {
		t.Errorf("HeldHints = %v, want n3: %+v, n4: %+v", held, s1, s2)
	}
}

// A handler's refusal arrives as an error with its message, never as
// unreachable: the fallback answered, it just did not store the hint.
func TestHintErrorsCrossTheHop(t *testing.T) {
	c, h, _ := cluster(t)
	h.Hook = func(_ context.Context, op string) error {
		return errors.New(op + ": hints: target's hint queue is full")
	}
	ctx := context.Background()

	err := c.StoreHint(ctx, "n2", "n3", 0, []byte("k"), transporttest.State(t, "v"))
	if err == nil || replica.IsUnreachable(err) {
		t.Fatalf("StoreHint: err = %v; want the peer's refusal, not unreachable", err)
	}
	if !strings.HasPrefix(err.Error(), `store hint of "k" for n3 on n2: `) || !strings.Contains(err.Error(), "store-hint: hints: target's hint queue is full") {
		t.Errorf("StoreHint: err %q should say what was done and keep the peer's message", err)
	}

	_, err = c.HeldHints(ctx, "n2", 0, []byte("k"))
	if err == nil || replica.IsUnreachable(err) {
		t.Fatalf("HeldHints: err = %v; want the peer's error, not unreachable", err)
	}
	if !strings.HasPrefix(err.Error(), `list hints of "k" held by n2: `) || !strings.Contains(err.Error(), "held-hints: hints: target's hint queue is full") {
		t.Errorf("HeldHints: err %q should say what was done and keep the peer's message", err)
	}
}

func TestHintCallsToUnreachablePeer(t *testing.T) {
	lis := listen(t, "127.0.0.1:0")
	closed := lis.Addr().String()
	lis.Close()
	c := newTestClient(t, newResolver("gone", closed))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, node := range []string{"gone", "unknown-id"} {
		if err := c.StoreHint(ctx, node, "n3", 0, []byte("k"), nil); !replica.IsUnreachable(err) || !strings.Contains(err.Error(), node) {
			t.Errorf("StoreHint on %s: err = %v, want unreachable naming the node", node, err)
		}
		if _, err := c.HeldHints(ctx, node, 0, []byte("k")); !replica.IsUnreachable(err) || !strings.Contains(err.Error(), node) {
			t.Errorf("HeldHints from %s: err = %v, want unreachable naming the node", node, err)
		}
	}
}

// oldNode serves the Node service as a release from before hinted handoff
// did: with only Read, Replicate and Coordinate.
type oldNode struct {
	transportpb.UnimplementedNodeServer
}

func (oldNode) Read(context.Context, *transportpb.ReadRequest) (*transportpb.ReadResponse, error) {
	return &transportpb.ReadResponse{}, nil
}

func (oldNode) Replicate(context.Context, *transportpb.ReplicateRequest) (*transportpb.ReplicateResponse, error) {
	return &transportpb.ReplicateResponse{}, nil
}

// olderNode serves, as node "old", the Node service of a release that had
// only the named methods, and returns a client of it.
func olderNode(t *testing.T, methods ...string) *Client {
	t.Helper()
	desc := transportpb.Node_ServiceDesc
	desc.Methods = nil
	for _, m := range transportpb.Node_ServiceDesc.Methods {
		if slices.Contains(methods, m.MethodName) {
			desc.Methods = append(desc.Methods, m)
		}
	}
	srv := grpc.NewServer()
	srv.RegisterService(&desc, oldNode{})
	lis := listen(t, "127.0.0.1:0")
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return newTestClient(t, newResolver("old", lis.Addr().String()))
}

func TestHintCallsToAnOlderNode(t *testing.T) {
	c := olderNode(t, "Read", "Replicate", "Coordinate")
	ctx := context.Background()

	if _, err := c.Read(ctx, "old", 0, []byte("k")); err != nil {
		t.Fatalf("Read from the older node: %v", err)
	}
	// ReplicateBatch falls back on one Replicate per entry.
	if err := c.ReplicateBatch(ctx, "old", []replica.KeyState{{Key: []byte("a")}, {Key: []byte("b")}}); err != nil {
		t.Fatalf("ReplicateBatch to the older node: %v", err)
	}
	for name, err := range map[string]error{
		"StoreHint": c.StoreHint(ctx, "old", "n3", 0, []byte("k"), nil),
		"HeldHints": func() error { _, err := c.HeldHints(ctx, "old", 0, []byte("k")); return err }(),
	} {
		t.Logf("%s: %v", name, err)
		if !errors.Is(err, ErrUnimplemented) || !errors.Is(err, errors.ErrUnsupported) || replica.IsUnreachable(err) {
			t.Errorf("%s: err = %v; want ErrUnimplemented, not unreachable", name, err)
		}
		if !strings.Contains(err.Error(), "older dynakv release") || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: err %q should explain the peer is older and name the method", name, err)
		}
	}
}

func TestHeldHintsResponseDecoding(t *testing.T) {
	s := transporttest.State(t, "v")
	resp := heldHintsResponse(map[string]*versioning.Set{"b": s, "a": nil})
	if len(resp.Hints) != 2 || resp.Hints[0].Target != "a" || resp.Hints[1].Target != "b" {
		t.Fatalf("response not sorted by target: %v", resp.Hints)
	}
	held, err := fromHeldHints(resp)
	if err != nil || len(held) != 2 || held["a"] != nil || !held["b"].Equal(s) {
		t.Fatalf("decoded %v, %v", held, err)
	}
	resp.Hints = append(resp.Hints, &transportpb.HeldHint{Target: "a"})
	if _, err := fromHeldHints(resp); err == nil {
		t.Error("a target listed twice was accepted")
	}
	resp.Hints = []*transportpb.HeldHint{{Target: "a", State: []byte{0xff}}}
	if _, err := fromHeldHints(resp); err == nil {
		t.Error("a corrupt state was accepted")
	}
}
