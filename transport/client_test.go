package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"dynakv/replica"
	"dynakv/transport/internal/transporttest"
	"dynakv/transport/transportpb"
	"dynakv/versioning"
)

// cluster is one Client and one Server with a fake handler, as node "n2".
func cluster(t *testing.T) (*Client, *transporttest.Handler, net.Listener) {
	t.Helper()
	h := transporttest.NewHandler()
	lis := listen(t, "127.0.0.1:0")
	serve(t, ServerConfig{Handler: h}, lis)
	return newTestClient(t, newResolver("n2", lis.Addr().String())), h, lis
}

func TestCallsRoundTrip(t *testing.T) {
	c, h, _ := cluster(t)
	ctx := context.Background()
	key := []byte("k/é")
	state := transporttest.State(t, "a", "b")

	if got, err := c.Read(ctx, "n2", 7, key); err != nil || got != nil {
		t.Fatalf("Read of a missing key = %v, %v; want nil, nil", got, err)
	}
	if err := c.Replicate(ctx, "n2", 7, key, state); err != nil {
		t.Fatalf("Replicate: %v", err)
	}
	if !h.State(key).Equal(state) {
		t.Fatalf("peer stored %+v, want %+v", h.State(key), state)
	}
	got, err := c.Read(ctx, "n2", 7, key)
	if err != nil || !got.Equal(state) {
		t.Fatalf("Read = %+v, %v; want %+v", got, err, state)
	}

	w := replica.Write{Context: state.Context(), Value: []byte("v"), ContentType: "application/json"}
	opts := replica.WriteOptions{W: 2, PW: 1, Timeout: 750 * time.Millisecond}
	newState, err := c.Coordinate(ctx, "n2", key, w, opts)
	if err != nil {
		t.Fatalf("Coordinate: %v", err)
	}
	if !newState.Equal(h.State(key)) {
		t.Fatalf("Coordinate returned %+v, peer holds %+v", newState, h.State(key))
	}
	gotW, gotOpts := h.LastWrite()
	if !gotW.Context.Equal(w.Context) || string(gotW.Value) != "v" || gotW.ContentType != w.ContentType || gotW.Delete {
		t.Errorf("peer got write %+v, want %+v", gotW, w)
	}
	if gotOpts != opts {
		t.Errorf("peer got options %+v, want %+v", gotOpts, opts)
	}

	del := replica.Write{Context: newState.Context(), Delete: true}
	if _, err := c.Coordinate(ctx, "n2", key, del, replica.WriteOptions{W: 1}); err != nil {
		t.Fatalf("Coordinate delete: %v", err)
	}
	if gotW, _ := h.LastWrite(); !gotW.Delete || len(gotW.Value) != 0 {
		t.Errorf("peer got delete %+v", gotW)
	}
}

func TestReplicateBatchRoundTrip(t *testing.T) {
	c, h, _ := cluster(t)
	a, b := transporttest.State(t, "a"), transporttest.State(t, "b1", "b2")
	err := c.ReplicateBatch(context.Background(), "n2", []replica.KeyState{
		{Partition: 1, Key: []byte("ka"), State: a},
		{Partition: 2, Key: []byte("kb"), State: b},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !h.State([]byte("ka")).Equal(a) || !h.State([]byte("kb")).Equal(b) {
		t.Fatalf("peer holds %+v and %+v, want %+v and %+v", h.State([]byte("ka")), h.State([]byte("kb")), a, b)
	}
}

func TestServerSeesClientDeadline(t *testing.T) {
	c, h, _ := cluster(t)
	var seen time.Time
	var had bool
	h.Hook = func(ctx context.Context, _ string) error {
		seen, had = ctx.Deadline()
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	want, _ := ctx.Deadline()
	if _, err := c.Read(ctx, "n2", 0, []byte("k")); err != nil {
		t.Fatal(err)
	}
	if !had {
		t.Fatal("handler saw no deadline")
	}
	// gRPC sends the time left, so the peer's deadline differs from the
	// client's by the time the request took to arrive.
	if d := seen.Sub(want).Abs(); d > 500*time.Millisecond {
		t.Errorf("handler deadline %v, client deadline %v: %v apart", seen, want, d)
	}
}

func TestDeadlineExceeded(t *testing.T) {
	c, h, _ := cluster(t)
	h.Hook = func(ctx context.Context, _ string) error {
		<-ctx.Done()
		return ctx.Err()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := c.Replicate(ctx, "n2", 0, []byte("k"), transporttest.State(t, "a"))
	if !errors.Is(err, context.DeadlineExceeded) || replica.IsUnreachable(err) {
		t.Fatalf("err = %v; want DeadlineExceeded, not unreachable", err)
	}
}

func TestUnreachablePeerFailsFast(t *testing.T) {
	lis := listen(t, "127.0.0.1:0")
	closed := lis.Addr().String()
	lis.Close()
	c := newTestClient(t, newResolver("gone", closed))

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, node := range []string{"gone", "unknown-id"} {
		start := time.Now()
		_, err := c.Read(ctx, node, 0, []byte("k"))
		if !replica.IsUnreachable(err) {
			t.Errorf("Read from %s: err = %v, want unreachable", node, err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("Read from %s took %v, want a fast failure", node, d)
		}
		if !strings.Contains(err.Error(), node) {
			t.Errorf("error %q does not name the node", err)
		}
	}
}

func TestTypedErrorsSurviveTheHop(t *testing.T) {
	unavailable := &replica.UnavailableError{Op: "write", Needed: 3, Alive: 1, NeededPrimaries: 2, AlivePrimaries: 1}
	timeout := &replica.TimeoutError{Op: "write", Needed: 2, Acked: 1, AckedBy: []string{"n1", "n,3"}}
	tooMany := fmt.Errorf("%w: %w", replica.ErrTooManySiblings, fmt.Errorf("%w: the key has 100 siblings, the limit is 100", versioning.ErrTooManySiblings))
	for _, tc := range []struct {
		name  string
		sent  error
		check func(t *testing.T, got error)
	}{
		{"unavailable", unavailable, func(t *testing.T, got error) {
			var e *replica.UnavailableError
			if !errors.As(got, &e) || *e != *unavailable {
				t.Errorf("got %#v, want %#v", e, unavailable)
			}
		}},
		{"timeout", timeout, func(t *testing.T, got error) {
			var e *replica.TimeoutError
			if !errors.As(got, &e) || e.Op != "write" || e.Needed != 2 || e.Acked != 1 || strings.Join(e.AckedBy, "|") != "n1|n,3" {
				t.Errorf("got %#v, want %#v", e, timeout)
			}
		}},
		{"timeout with cause", fmt.Errorf("%w: %w", timeout, errors.New("disk full")), func(t *testing.T, got error) {
			var e *replica.TimeoutError
			if !errors.As(got, &e) || e.Acked != 1 || !strings.Contains(got.Error(), "disk full") {
				t.Errorf("got %v, want a TimeoutError keeping the cause's message", got)
			}
		}},
		{"too many siblings", tooMany, func(t *testing.T, got error) {
			if !errors.Is(got, replica.ErrTooManySiblings) || !errors.Is(got, versioning.ErrTooManySiblings) || !strings.Contains(got.Error(), "limit is 100") {
				t.Errorf("got %v, want ErrTooManySiblings with the peer's message", got)
			}
		}},
		{"object too large", fmt.Errorf("write %q: %w", "k", &replica.ObjectTooLargeError{Bytes: 60 << 20, Limit: 50 << 20}), func(t *testing.T, got error) {
			e, ok := errors.AsType[*replica.ObjectTooLargeError](got)
			if !ok || e.Bytes != 60<<20 || e.Limit != 50<<20 {
				t.Errorf("got %v, want ObjectTooLargeError{60 MiB, 50 MiB}", got)
			}
		}},
		{"other", errors.New("disk on fire"), func(t *testing.T, got error) {
			if !strings.Contains(got.Error(), "disk on fire") {
				t.Errorf("got %v, want the peer's message", got)
			}
		}},
		{"peer's own unreachable", fmt.Errorf("forward: %w", replica.ErrUnreachable), func(t *testing.T, got error) {
			if !strings.Contains(got.Error(), "forward") {
				t.Errorf("got %v, want the peer's message", got)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, h, _ := cluster(t)
			h.Hook = func(context.Context, string) error { return tc.sent }
			_, err := c.Coordinate(context.Background(), "n2", []byte("k"), replica.Write{Value: []byte("v")}, replica.WriteOptions{W: 2})
			if err == nil {
				t.Fatal("Coordinate succeeded, want an error")
			}
			if replica.IsUnreachable(err) {
				t.Errorf("err %v counts as unreachable, but the peer answered", err)
			}
			if !strings.HasPrefix(err.Error(), `coordinate "k" on n2: `) || !strings.Contains(err.Error(), tc.sent.Error()) {
				t.Errorf("err %q should say what was done and keep %q", err, tc.sent)
			}
			tc.check(t, err)
		})
	}
}

func TestProtocolVersionMismatchIsRefused(t *testing.T) {
	c, h, lis := cluster(t)
	c.version = ProtocolVersion + 98
	_, err := c.Read(context.Background(), "n2", 0, []byte("k"))
	if !errors.Is(err, ErrProtocolMismatch) || !replica.IsUnreachable(err) {
		t.Fatalf("err = %v; want ErrProtocolMismatch and unreachable", err)
	}
	for _, want := range []string{fmt.Sprintf("version %d", ProtocolVersion), fmt.Sprintf("version %d", ProtocolVersion+98)} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	if n := h.Calls("read"); n != 0 {
		t.Errorf("handler ran %d times for refused calls", n)
	}

	// A caller that sends no version at all (another program) is refused too.
	cc, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	_, err = transportpb.NewNodeClient(cc).Read(context.Background(), &transportpb.ReadRequest{Key: []byte("k")})
	if err == nil || !strings.Contains(err.Error(), "sent no version") {
		t.Errorf("versionless call: err = %v, want a refusal", err)
	}
}

func TestRestartedPeerIsReachableAgain(t *testing.T) {
	h := transporttest.NewHandler()
	lis := listen(t, "127.0.0.1:0")
	addr := lis.Addr().String()
	srv := NewServer(ServerConfig{Handler: h, Logger: quiet})
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	c := newTestClient(t, newResolver("n2", addr))
	ctx := context.Background()
	if _, err := c.Read(ctx, "n2", 0, []byte("k")); err != nil {
		t.Fatal(err)
	}

	srv.Close()
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if _, err := c.Read(ctx, "n2", 0, []byte("k")); !replica.IsUnreachable(err) {
		t.Fatalf("Read from a stopped peer: err = %v, want unreachable", err)
	}

	serve(t, ServerConfig{Handler: h}, listen(t, addr))
	restarted := time.Now()
	eventually(t, 5*time.Second, "restarted peer reachable", func() bool {
		_, err := c.Read(ctx, "n2", 0, []byte("k"))
		return err == nil
	})
	t.Logf("reachable %v after the restart", time.Since(restarted))
}

func TestManyConcurrentCallsShareOneConnection(t *testing.T) {
	h := transporttest.NewHandler()
	lis := &countingListener{Listener: listen(t, "127.0.0.1:0")}
	serve(t, ServerConfig{Handler: h}, lis)
	c := newTestClient(t, newResolver("n2", lis.Addr().String()))

	state := transporttest.State(t, "v")
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 64 {
		wg.Go(func() {
			for j := range 10 {
				if err := c.Replicate(context.Background(), "n2", 0, fmt.Appendf(nil, "k%d-%d", i, j), state); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for i := range 64 {
		for j := range 10 {
			if k := fmt.Appendf(nil, "k%d-%d", i, j); !h.State(k).Equal(state) {
				t.Fatalf("peer holds %v for %s, want the replicated state", h.State(k), k)
			}
		}
	}
	t.Logf("640 replicates in %d calls and %d batches", h.Calls("replicate"), h.Calls("replicate-batch"))
	if n := lis.accepted.Load(); n != 1 {
		t.Errorf("server accepted %d TCP connections, want 1", n)
	}
}

// While a peer is busy with as many Replicate calls as CallsInFlight,
// further calls queue and go out together in ReplicateBatch calls, at the
// latest maxQueueDelay later: they never wait for the busy calls (here,
// calls that hang until the test releases them). Each caller gets the
// batch's answer, and a caller that gives up does not fail the others.
// busyPeer serves a handler whose first two calls of op hang until release
// is closed, and returns a client allowed two calls in flight; blocked is
// done once both hang.
func busyPeer(t *testing.T, op string) (c *Client, h *transporttest.Handler, blocked *sync.WaitGroup, release chan struct{}) {
	t.Helper()
	h = transporttest.NewHandler()
	release = make(chan struct{})
	blocked = new(sync.WaitGroup)
	blocked.Add(2)
	var first atomic.Int32
	h.Hook = func(_ context.Context, called string) error {
		if called == op && first.Add(1) <= 2 {
			blocked.Done()
			<-release
		}
		return nil
	}
	lis := listen(t, "127.0.0.1:0")
	serve(t, ServerConfig{Handler: h}, lis)
	c = newTestClient(t, newResolver("n2", lis.Addr().String()))
	c.cfg.CallsInFlight = 2
	return c, h, blocked, release
}

func TestReplicateCallsToABusyPeerAreCoalesced(t *testing.T) {
	c, h, blocked, release := busyPeer(t, "replicate")
	state := transporttest.State(t, "v")

	var busy, queued sync.WaitGroup
	errs := make(chan error, 32)
	put := func(wg *sync.WaitGroup, ctx context.Context, k string) {
		defer wg.Done()
		if err := c.Replicate(ctx, "n2", 0, []byte(k), state); err != nil {
			errs <- fmt.Errorf("%s: %w", k, err)
		}
	}
	busy.Add(2)
	go put(&busy, context.Background(), "busy-1")
	go put(&busy, context.Background(), "busy-2")
	blocked.Wait() // both slots taken, and held
	gaveUp, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Replicate(gaveUp, "n2", 0, []byte("impatient"), state); !errors.Is(err, context.Canceled) {
		t.Errorf("a queued caller whose context ended got %v, want context.Canceled", err)
	}
	for i := range 20 {
		queued.Add(1)
		go put(&queued, context.Background(), fmt.Sprintf("queued-%d", i))
	}
	queued.Wait()
	for i := range 20 {
		if k := fmt.Sprintf("queued-%d", i); !h.State([]byte(k)).Equal(state) {
			t.Errorf("peer holds %v for %s", h.State([]byte(k)), k)
		}
	}
	if n := h.Calls("replicate-batch"); n < 1 || n > 20 {
		t.Errorf("%d ReplicateBatch calls for 20 queued replicates, want some", n)
	}
	t.Logf("20 replicates queued behind 2 hung calls went out in %d batch calls", h.Calls("replicate-batch"))
	close(release)
	busy.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := h.Calls("replicate"); n > 3 {
		t.Errorf("%d Replicate calls, want the 2 that found a free slot (and at most one lone late entry)", n)
	}
	// The metric an operator reads to see coalescing at work: a call per
	// call made, and every entry sent (the impatient one may have gone too).
	calls, entries := entriesPerCall(t, c, "replicate")
	if want := uint64(h.Calls("replicate") + h.Calls("replicate-batch")); calls != want {
		t.Errorf("entries-per-call histogram counted %d replicate calls, the peer got %d", calls, want)
	}
	if entries != 22 && entries != 23 {
		t.Errorf("entries-per-call histogram summed %d replicated entries, want 22 (or 23)", entries)
	}
}

func TestPeerAddressChangeRedials(t *testing.T) {
	oldH, newH := transporttest.NewHandler(), transporttest.NewHandler()
	oldLis, newLis := listen(t, "127.0.0.1:0"), listen(t, "127.0.0.1:0")
	serve(t, ServerConfig{Handler: oldH}, oldLis)
	serve(t, ServerConfig{Handler: newH}, newLis)
	r := newResolver("n2", oldLis.Addr().String())
	c := newTestClient(t, r)

	// A call in flight on the old address when the address changes.
	entered, release := make(chan struct{}), make(chan struct{})
	oldH.Hook = func(context.Context, string) error {
		close(entered)
		<-release
		return nil
	}
	inFlight := make(chan error, 1)
	go func() {
		_, err := c.Read(context.Background(), "n2", 0, []byte("k"))
		inFlight <- err
	}()
	<-entered

	r.set("n2", newLis.Addr().String())
	if _, err := c.Read(context.Background(), "n2", 0, []byte("k")); err != nil {
		t.Fatal(err)
	}
	if newH.Calls("read") != 1 {
		t.Errorf("the node's new address got %d reads, want 1", newH.Calls("read"))
	}
	close(release)
	if err := <-inFlight; err != nil {
		t.Errorf("call in flight during the address change: %v", err)
	}
}

func TestCloseWaitsForRunningCalls(t *testing.T) {
	h := transporttest.NewHandler()
	lis := listen(t, "127.0.0.1:0")
	addr := lis.Addr().String()
	srv := serve(t, ServerConfig{Handler: h}, lis)
	c := newTestClient(t, newResolver("n2", addr))

	entered, release := make(chan struct{}), make(chan struct{})
	var ended bool
	h.Hook = func(context.Context, string) error {
		close(entered)
		<-release
		ended = true
		return nil
	}
	call := make(chan error, 1)
	go func() { call <- c.Replicate(context.Background(), "n2", 0, []byte("k"), nil) }()
	<-entered

	closed := make(chan struct{})
	go func() {
		srv.Close()
		close(closed)
	}()
	// Close has begun once the listener refuses new connections.
	eventually(t, 5*time.Second, "listener closed", func() bool {
		conn, err := net.Dial("tcp", addr)
		if err == nil {
			conn.Close()
		}
		return err != nil
	})
	select {
	case <-closed:
		t.Fatal("Close returned while a call was running")
	default:
	}
	close(release)
	<-closed
	if !ended {
		t.Error("Close returned before the handler did")
	}
	if err := <-call; err != nil {
		t.Errorf("call running during a graceful close failed: %v", err)
	}
}

func TestCloseCancelsCallsAfterTheGracePeriod(t *testing.T) {
	h := transporttest.NewHandler()
	lis := listen(t, "127.0.0.1:0")
	srv := serve(t, ServerConfig{Handler: h, ShutdownGrace: 50 * time.Millisecond}, lis)
	c := newTestClient(t, newResolver("n2", lis.Addr().String()))

	entered := make(chan struct{})
	var ended bool
	h.Hook = func(ctx context.Context, _ string) error {
		close(entered)
		<-ctx.Done() // only a cancelled call ends
		ended = true
		return ctx.Err()
	}
	call := make(chan error, 1)
	go func() { call <- c.Replicate(context.Background(), "n2", 0, []byte("k"), nil) }()
	<-entered
	srv.Close()
	if !ended {
		t.Error("Close returned before the handler did")
	}
	if err := <-call; err == nil {
		t.Error("a call cancelled by Close succeeded")
	}
}

func TestClosedClient(t *testing.T) {
	c, _, _ := cluster(t)
	if _, err := c.Read(context.Background(), "n2", 0, []byte("k")); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	_, err := c.Read(context.Background(), "n2", 0, []byte("k"))
	if !errors.Is(err, ErrClosed) || !replica.IsUnreachable(err) {
		t.Errorf("call after Close: err = %v, want ErrClosed", err)
	}
}

func TestConfigErrors(t *testing.T) {
	if _, err := NewClient(ClientConfig{}); err == nil {
		t.Error("NewClient without a Resolver succeeded")
	}
	if err := NewServer(ServerConfig{}).Serve(listen(t, "127.0.0.1:0")); err == nil {
		t.Error("Serve without a Handler succeeded")
	}
}

// Reads of a busy peer are coalesced too, do not wait for the hung calls
// ahead of them, and each caller gets its own key's state.
func TestReadCallsToABusyPeerAreCoalesced(t *testing.T) {
	c, h, blocked, release := busyPeer(t, "read")
	for i := range 10 {
		k := fmt.Sprintf("k%d", i)
		if err := c.Replicate(context.Background(), "n2", 0, []byte(k), transporttest.State(t, "v-"+k)); err != nil {
			t.Fatal(err)
		}
	}

	var hung, queued sync.WaitGroup
	read := func(wg *sync.WaitGroup, k string) {
		defer wg.Done()
		got, err := c.Read(context.Background(), "n2", 0, []byte(k))
		want := transporttest.State(t, "v-"+k)
		if k == "absent" {
			want = nil
		}
		if err != nil || !got.Equal(want) {
			t.Errorf("Read(%s) = %v, %v; want %v", k, got, err, want)
		}
	}
	hung.Add(2)
	go read(&hung, "k0")
	go read(&hung, "k1")
	blocked.Wait()
	for _, k := range []string{"k2", "k3", "k4", "k5", "absent"} {
		queued.Add(1)
		go read(&queued, k)
	}
	queued.Wait() // the five queued reads finish while two reads hang
	close(release)
	hung.Wait()
	if n := h.Calls("read"); n != 7 {
		t.Errorf("the handler read %d keys, want 7", n)
	}
}
