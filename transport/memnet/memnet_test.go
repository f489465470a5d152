package memnet_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"dynakv/replica"
	"dynakv/transport/internal/transporttest"
	"dynakv/transport/memnet"
)

// network returns a network of nodes a, b and c with fake handlers.
func network(t *testing.T) (*memnet.Network, map[string]*transporttest.Handler) {
	t.Helper()
	n := memnet.New()
	hs := make(map[string]*transporttest.Handler)
	for _, id := range []string{"a", "b", "c"} {
		hs[id] = transporttest.NewHandler()
		n.Register(id, hs[id])
	}
	return n, hs
}

// reach reports whether from's Read of to gets through, failing the test on
// errors other than unreachable.
func reach(t *testing.T, n *memnet.Network, from, to string) bool {
	t.Helper()
	_, err := n.Transport(from).Read(context.Background(), to, 0, []byte("k"))
	if err != nil && !replica.IsUnreachable(err) {
		t.Fatalf("%s→%s: %v", from, to, err)
	}
	return err == nil
}

func TestCallsShareNoMemory(t *testing.T) {
	n, hs := network(t)
	tr := n.Transport("a")
	ctx := context.Background()
	key := []byte("k")
	state := transporttest.State(t, "v1", "v2")

	if err := tr.Replicate(ctx, "b", 3, key, state); err != nil {
		t.Fatal(err)
	}
	state.Siblings[0].Value[0] = 'X' // the sender reuses its buffers
	key[0] = 'X'
	stored := hs["b"].State([]byte("k"))
	if stored == nil || string(stored.Siblings[0].Value) != "v1" {
		t.Fatalf("peer's copy changed with the sender's memory: %+v", stored)
	}

	got, err := tr.Read(ctx, "b", 3, []byte("k"))
	if err != nil || !got.Equal(stored) {
		t.Fatalf("Read = %+v, %v; want %+v", got, err, stored)
	}
	got.Siblings[0].Value[0] = 'Y'
	if string(hs["b"].State([]byte("k")).Siblings[0].Value) != "v1" {
		t.Fatal("peer's copy changed with the reader's memory")
	}

	w := replica.Write{Context: stored.Context(), Value: []byte("new"), ContentType: "text/plain"}
	res, err := tr.Coordinate(ctx, "b", []byte("k"), w, replica.WriteOptions{W: 2, PW: 1, Timeout: time.Second})
	if err != nil || !res.Equal(hs["b"].State([]byte("k"))) {
		t.Fatalf("Coordinate = %+v, %v", res, err)
	}
	if gotW, opts := hs["b"].LastWrite(); string(gotW.Value) != "new" || !gotW.Context.Equal(w.Context) || opts.W != 2 || opts.PW != 1 || opts.Timeout != time.Second {
		t.Errorf("peer got %+v %+v", gotW, opts)
	}
}

func TestPartitionAndHeal(t *testing.T) {
	n, _ := network(t)
	n.Partition([]string{"a"}, []string{"b"})
	for _, tc := range []struct {
		from, to string
		want     bool
	}{
		{"a", "b", false}, {"b", "a", false},
		{"a", "c", false}, {"b", "c", false}, // c is in the group of the unnamed
		{"a", "a", true},
	} {
		if got := reach(t, n, tc.from, tc.to); got != tc.want {
			t.Errorf("partitioned: %s→%s reachable = %v, want %v", tc.from, tc.to, got, tc.want)
		}
	}
	n.Partition([]string{"a", "b"}, []string{"c"})
	if !reach(t, n, "a", "b") || reach(t, n, "b", "c") {
		t.Error("a new partition does not replace the old one")
	}
	n.Heal()
	if !reach(t, n, "a", "b") || !reach(t, n, "b", "c") || !reach(t, n, "c", "a") {
		t.Error("Heal did not mend the partition")
	}
}

func TestIsolate(t *testing.T) {
	n, _ := network(t)
	n.Isolate("b")
	if reach(t, n, "a", "b") || reach(t, n, "b", "c") || !reach(t, n, "a", "c") {
		t.Error("Isolate(b) should cut b, and only b, off")
	}
	n.Heal()
	if !reach(t, n, "a", "b") || !reach(t, n, "b", "c") {
		t.Error("Heal did not end the isolation")
	}
}

func TestDownAndUp(t *testing.T) {
	n, hs := network(t)
	n.Down("b")
	if reach(t, n, "a", "b") || reach(t, n, "b", "a") {
		t.Error("a down node is reachable or calls out")
	}
	n.Heal()
	if reach(t, n, "a", "b") {
		t.Error("Heal revived a down node")
	}
	n.Up("b")
	if !reach(t, n, "a", "b") {
		t.Error("Up did not revive the node")
	}
	if reach(t, n, "a", "nobody") {
		t.Error("an unregistered node is reachable")
	}
	n.Register("b", nil)
	if reach(t, n, "a", "b") || hs["b"].Calls("read") != 1 {
		t.Error("a node removed from the network is reachable")
	}
}

func TestDelayHonoursTheDeadline(t *testing.T) {
	n, hs := network(t)
	n.SetDelay("a", "b", time.Hour)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := n.Transport("a").Read(ctx, "b", 0, []byte("k"))
	if !errors.Is(err, context.DeadlineExceeded) || replica.IsUnreachable(err) {
		t.Fatalf("delayed past the deadline: err = %v, want DeadlineExceeded", err)
	}
	if hs["b"].Calls("read") != 0 {
		t.Error("a call that timed out in flight reached the handler")
	}
	if !reach(t, n, "b", "a") {
		t.Error("the delay slowed the other direction")
	}

	n.SetDelay("a", "b", 5*time.Millisecond)
	start := time.Now()
	if !reach(t, n, "a", "b") {
		t.Fatal("a short delay made the peer unreachable")
	}
	if d := time.Since(start); d < 5*time.Millisecond {
		t.Errorf("call took %v, want at least the 5ms delay", d)
	}
	n.SetDelay("a", "b", 0)
	start = time.Now()
	if !reach(t, n, "a", "b") || time.Since(start) > time.Second {
		t.Error("SetDelay 0 did not remove the delay")
	}
}

func TestDropReplicate(t *testing.T) {
	n, hs := network(t)
	n.DropReplicate("a", "b", true)
	a, b := n.Transport("a"), n.Transport("b")
	ctx := context.Background()
	state := transporttest.State(t, "v")

	if err := a.Replicate(ctx, "b", 0, []byte("k"), state); err != nil {
		t.Fatalf("a dropped replicate must look acked: %v", err)
	}
	if hs["b"].Calls("replicate") != 0 || hs["b"].State([]byte("k")) != nil {
		t.Error("a dropped replicate reached the peer")
	}
	if _, err := a.Read(ctx, "b", 0, []byte("k")); err != nil || hs["b"].Calls("read") != 1 {
		t.Errorf("reads must still go through: %v", err)
	}
	if err := b.Replicate(ctx, "a", 0, []byte("k"), state); err != nil || hs["a"].Calls("replicate") != 1 {
		t.Errorf("the other direction must still deliver: %v", err)
	}
	n.DropReplicate("a", "b", false)
	if err := a.Replicate(ctx, "b", 0, []byte("k"), state); err != nil || !hs["b"].State([]byte("k")).Equal(state) {
		t.Errorf("replicate after the drop ended: %v", err)
	}
}

func TestIntercept(t *testing.T) {
	n, hs := network(t)
	var seen []string
	n.Intercept(func(from, to, op string) error {
		seen = append(seen, from+">"+to+":"+op)
		if op == memnet.OpCoordinate {
			return fmt.Errorf("injected: %w", replica.ErrUnreachable)
		}
		return nil
	})
	ctx := context.Background()
	_, err := n.Transport("a").Coordinate(ctx, "c", []byte("k"), replica.Write{}, replica.WriteOptions{})
	if !replica.IsUnreachable(err) || hs["c"].Calls("coordinate") != 0 {
		t.Errorf("intercepted call: err = %v, handler calls %d", err, hs["c"].Calls("coordinate"))
	}
	if err := n.Transport("b").Replicate(ctx, "c", 0, []byte("k"), nil); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(seen) != "[a>c:coordinate b>c:replicate]" {
		t.Errorf("hook saw %v", seen)
	}
	n.Intercept(nil)
	if _, err := n.Transport("a").Coordinate(ctx, "c", []byte("k"), replica.Write{}, replica.WriteOptions{}); err != nil {
		t.Errorf("after removing the hook: %v", err)
	}
}

type ctxKey struct{}

func TestHandlerSeesDeadlineButNoValues(t *testing.T) {
	n, hs := network(t)
	var deadline time.Time
	var value any
	hs["b"].Hook = func(ctx context.Context, _ string) error {
		deadline, _ = ctx.Deadline()
		value = ctx.Value(ctxKey{})
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithValue(context.Background(), ctxKey{}, "secret"), time.Minute)
	defer cancel()
	if _, err := n.Transport("a").Read(ctx, "b", 0, []byte("k")); err != nil {
		t.Fatal(err)
	}
	if want, _ := ctx.Deadline(); !deadline.Equal(want) {
		t.Errorf("handler deadline %v, want %v", deadline, want)
	}
	if value != nil {
		t.Errorf("handler saw the caller's context value %v", value)
	}
}

func TestErrorsCrossLikeTheWire(t *testing.T) {
	n, hs := network(t)
	unavailable := &replica.UnavailableError{Op: "write", Needed: 2, Alive: 1}
	errs := map[string]error{
		"coordinate": unavailable,
		"replicate":  fmt.Errorf("forward: %w", replica.ErrUnreachable),
	}
	hs["b"].Hook = func(_ context.Context, op string) error { return errs[op] }
	tr := n.Transport("a")

	_, err := tr.Coordinate(context.Background(), "b", []byte("k"), replica.Write{}, replica.WriteOptions{})
	var ue *replica.UnavailableError
	if !errors.As(err, &ue) || *ue != *unavailable || replica.IsUnreachable(err) {
		t.Errorf("Coordinate: err = %v, want the peer's UnavailableError", err)
	}
	err = tr.Replicate(context.Background(), "b", 0, []byte("k"), nil)
	if err == nil || replica.IsUnreachable(err) {
		t.Errorf("Replicate: err = %v; the peer answered, so not unreachable", err)
	}
}

func TestHintCalls(t *testing.T) {
	n, hs := network(t)
	tr := n.Transport("a")
	ctx := context.Background()
	key := []byte("k")
	state := transporttest.State(t, "v1", "v2")

	if err := tr.StoreHint(ctx, "b", "c", 3, key, state); err != nil {
		t.Fatal(err)
	}
	state.Siblings[0].Value[0] = 'X' // the sender reuses its buffers
	key[0] = 'X'
	stored := hs["b"].Hint("c", []byte("k"))
	if stored == nil || string(stored.Siblings[0].Value) != "v1" {
		t.Fatalf("peer's hint changed with the sender's memory: %+v", stored)
	}

	held, err := tr.HeldHints(ctx, "b", 3, []byte("k"))
	if err != nil || len(held) != 1 || !held["c"].Equal(stored) {
		t.Fatalf("HeldHints = %v, %v; want c: %+v", held, err, stored)
	}
	held["c"].Siblings[0].Value[0] = 'Y'
	if string(hs["b"].Hint("c", []byte("k")).Siblings[0].Value) != "v1" {
		t.Fatal("peer's hint changed with the reader's memory")
	}
	if held, err := tr.HeldHints(ctx, "b", 3, []byte("none")); err != nil || len(held) != 0 {
		t.Errorf("HeldHints of a key without hints = %v, %v", held, err)
	}
}

func TestHintCallsFaults(t *testing.T) {
	n, hs := network(t)
	a := n.Transport("a")
	ctx := context.Background()
	state := transporttest.State(t, "v")

	// DropReplicate drops replication only: a hint is acked once stored.
	n.DropReplicate("a", "b", true)
	if err := a.StoreHint(ctx, "b", "c", 0, []byte("k"), state); err != nil || !hs["b"].Hint("c", []byte("k")).Equal(state) {
		t.Errorf("StoreHint under DropReplicate: err = %v, peer holds %+v", err, hs["b"].Hint("c", []byte("k")))
	}

	n.Down("b")
	if err := a.StoreHint(ctx, "b", "c", 0, []byte("k"), state); !replica.IsUnreachable(err) {
		t.Errorf("StoreHint on a down node: err = %v, want unreachable", err)
	}
	if _, err := a.HeldHints(ctx, "b", 0, []byte("k")); !replica.IsUnreachable(err) {
		t.Errorf("HeldHints from a down node: err = %v, want unreachable", err)
	}
	n.Up("b")
	n.Isolate("b")
	if err := a.StoreHint(ctx, "b", "c", 0, []byte("k"), state); !replica.IsUnreachable(err) {
		t.Errorf("StoreHint on an isolated node: err = %v, want unreachable", err)
	}
	n.Heal()

	n.SetDelay("a", "b", time.Hour)
	dctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := a.StoreHint(dctx, "b", "c", 0, []byte("k"), state); !errors.Is(err, context.DeadlineExceeded) || replica.IsUnreachable(err) {
		t.Errorf("StoreHint delayed past the deadline: err = %v, want DeadlineExceeded", err)
	}
	n.SetDelay("a", "b", 0)

	var seen []string
	n.Intercept(func(from, to, op string) error {
		seen = append(seen, op)
		return fmt.Errorf("injected: %w", replica.ErrUnreachable)
	})
	if err := a.StoreHint(ctx, "b", "c", 0, []byte("k"), state); !replica.IsUnreachable(err) {
		t.Errorf("intercepted StoreHint: err = %v", err)
	}
	if _, err := a.HeldHints(ctx, "b", 0, []byte("k")); !replica.IsUnreachable(err) {
		t.Errorf("intercepted HeldHints: err = %v", err)
	}
	if fmt.Sprint(seen) != fmt.Sprint([]string{memnet.OpStoreHint, memnet.OpHeldHints}) {
		t.Errorf("hook saw %v", seen)
	}
	if n := hs["b"].Calls("store-hint"); n != 1 {
		t.Errorf("%d StoreHint calls reached the handler, want the 1 that got through", n)
	}
}

func TestHintErrorsCrossLikeTheWire(t *testing.T) {
	n, hs := network(t)
	hs["b"].Hook = func(_ context.Context, op string) error {
		return errors.New(op + ": hints: target's hint queue is full")
	}
	tr := n.Transport("a")
	err := tr.StoreHint(context.Background(), "b", "c", 0, []byte("k"), nil)
	if err == nil || replica.IsUnreachable(err) || err.Error() != `store hint of "k" for c on b: store-hint: hints: target's hint queue is full` {
		t.Errorf("StoreHint: err = %v; want the peer's refusal, not unreachable", err)
	}
	_, err = tr.HeldHints(context.Background(), "b", 0, []byte("k"))
	if err == nil || replica.IsUnreachable(err) || err.Error() != `list hints of "k" held by b: held-hints: hints: target's hint queue is full` {
		t.Errorf("HeldHints: err = %v; want the peer's error, not unreachable", err)
	}
}
