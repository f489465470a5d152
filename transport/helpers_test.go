package transport

import (
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// quiet is the logger of test servers and clients.
var quiet = slog.New(slog.DiscardHandler)

// testResolver is a Resolver a test can repoint.
type testResolver struct {
	mu    sync.Mutex
	addrs map[string]string
}

func newResolver(pairs ...string) *testResolver {
	r := &testResolver{addrs: make(map[string]string)}
	for i := 0; i+1 < len(pairs); i += 2 {
		r.addrs[pairs[i]] = pairs[i+1]
	}
	return r
}

func (r *testResolver) set(node, addr string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.addrs[node] = addr
}

func (r *testResolver) Addr(node string) (string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	a, ok := r.addrs[node]
	return a, ok
}

// countingListener counts the TCP connections it accepted.
type countingListener struct {
	net.Listener
	accepted atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.accepted.Add(1)
	}
	return c, err
}

func listen(t testing.TB, addr string) net.Listener {
	t.Helper()
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen on %s: %v", addr, err)
	}
	return lis
}

// serve runs a Server on lis until the test ends (or the test closes it).
func serve(t testing.TB, cfg ServerConfig, lis net.Listener) *Server {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quiet
	}
	srv := NewServer(cfg)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-served; err != nil {
			t.Errorf("Serve returned %v after Close, want nil", err)
		}
	})
	return srv
}

func newTestClient(t testing.TB, r Resolver) *Client {
	t.Helper()
	c, err := NewClient(ClientConfig{Resolver: r, Logger: quiet, Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// entriesPerCall returns how many calls of kind the client's
// dynakv_transport_entries_per_call histogram observed, and the entries
// they carried.
func entriesPerCall(t testing.TB, c *Client, kind string) (calls, entries uint64) {
	t.Helper()
	var m dto.Metric
	if err := c.entriesPerCall.WithLabelValues(kind).(prometheus.Histogram).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetHistogram().GetSampleCount(), uint64(m.GetHistogram().GetSampleSum())
}

// eventually polls cond every 10ms until it holds, failing the test after
// timeout.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not true after %v", what, timeout)
		}
		<-tick.C
	}
}
