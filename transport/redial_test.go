package transport

import (
	"context"
	"testing"
	"time"

	"dynakv/replica"
	"dynakv/transport/internal/transporttest"
)

// Calls made while a peer is down leave its connection in transient
// failure, backing off; the first call after the peer is back must reach
// it anyway (gossip lets calls through as soon as it sees the peer alive),
// and a call while it is still down must fail fast.
func TestFirstCallAfterAPeerReturnsReachesIt(t *testing.T) {
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
		t.Fatal(err)
	}
	for range 5 {
		start := time.Now()
		if _, err := c.Read(ctx, "n2", 0, []byte("k")); !replica.IsUnreachable(err) {
			t.Fatalf("Read from a stopped peer: err = %v, want unreachable", err)
		}
		if d := time.Since(start); d > connectTimeout {
			t.Fatalf("a call to a stopped peer took %v: it should fail as fast as the connection is refused", d)
		}
	}

	// The connection backs off now. (An attempt it starts on its own right
	// before the peer is back would fail the call that waits for it: that
	// window is the few microseconds a refused connect takes.)
	eventually(t, 5*time.Second, "the connection to back off", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.peers["n2"] != nil && c.peers["n2"].failing()
	})
	serve(t, ServerConfig{Handler: h}, listen(t, addr))
	if _, err := c.Read(ctx, "n2", 0, []byte("k")); err != nil {
		t.Fatalf("the first call after the peer came back: %v", err)
	}
}
