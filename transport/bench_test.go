package transport_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"sync/atomic"
	"testing"

	"dynakv/internal/testutil"
	"dynakv/merkle"
	"dynakv/replica"
	"dynakv/transport"
	"dynakv/transport/internal/transporttest"
	"dynakv/transport/memnet"
	"dynakv/versioning"
)

// countingHandler accepts every replicate and counts it: the cheapest
// handler, so the benchmark measures the path to it.
type countingHandler struct {
	transporttest.Handler
	n atomic.Int64
}

func (h *countingHandler) Replicate(context.Context, uint32, []byte, *versioning.Set) error {
	h.n.Add(1)
	return nil
}

// ReplicateBatch counts a coalesced call's entries.
func (h *countingHandler) ReplicateBatch(_ context.Context, entries []replica.KeyState) error {
	h.n.Add(int64(len(entries)))
	return nil
}

// BenchmarkReplicate replicates a 1 KiB state from parallel goroutines. The
// in-process case calls the Handler directly, so the grpc cases read as a
// ratio: what the transport costs per replicate, with calls coalesced as a
// node coalesces them (grpc) and one call each (grpc-per-call). Eight
// callers per core keep calls in flight at once, as a coordinator fanning
// out does. cpu-µs/op counts both sides of the call (one process).
func BenchmarkReplicate(b *testing.B) {
	state := transporttest.State(b, string(bytes.Repeat([]byte("x"), 1024)))
	key := []byte("bench-key")
	run := func(b *testing.B, tr replica.Transport) {
		b.SetBytes(int64(len(state.AppendBinary(nil))))
		b.ReportAllocs()
		b.SetParallelism(8)
		cpuStart := testutil.ProcessCPU(b)
		b.RunParallel(func(pb *testing.PB) {
			ctx := context.Background()
			for pb.Next() {
				if err := tr.Replicate(ctx, "n2", 0, key, state); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64((testutil.ProcessCPU(b)-cpuStart).Microseconds())/float64(b.N), "cpu-µs/op")
	}

	b.Run("inprocess", func(b *testing.B) {
		run(b, direct{&countingHandler{}})
	})
	b.Run("memnet", func(b *testing.B) {
		n := memnet.New()
		n.Register("n2", &countingHandler{})
		run(b, n.Transport("n1"))
	})
	grpcClient := func(b *testing.B, callsInFlight int) *transport.Client {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		quiet := slog.New(slog.DiscardHandler)
		srv := transport.NewServer(transport.ServerConfig{Handler: &countingHandler{}, Logger: quiet})
		go srv.Serve(lis)
		b.Cleanup(srv.Close)
		addr := lis.Addr().String()
		c, err := transport.NewClient(transport.ClientConfig{Logger: quiet, CallsInFlight: callsInFlight,
			Resolver: transport.ResolverFunc(func(string) (string, bool) { return addr, true })})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close() })
		return c
	}
	b.Run("grpc", func(b *testing.B) {
		run(b, grpcClient(b, 0))
	})
	// One call per replicate, none coalesced: what a call costs in CPU, both
	// sides in this process, gRPC's machinery and loopback TCP included.
	b.Run("grpc-per-call", func(b *testing.B) {
		run(b, grpcClient(b, 1<<20))
	})
}

// direct is a replica.Transport that calls a Handler in-process.
type direct struct{ h transport.Handler }

func (d direct) Read(ctx context.Context, _ string, p uint32, key []byte) (*versioning.Set, error) {
	return d.h.Read(ctx, p, key)
}

func (d direct) Replicate(ctx context.Context, _ string, p uint32, key []byte, s *versioning.Set) error {
	return d.h.Replicate(ctx, p, key, s)
}

func (d direct) ReplicateBatch(ctx context.Context, _ string, entries []replica.KeyState) error {
	return d.h.ReplicateBatch(ctx, entries)
}

func (d direct) Coordinate(ctx context.Context, _ string, key []byte, w replica.Write, o replica.WriteOptions) (*versioning.Set, error) {
	return d.h.Coordinate(ctx, key, w, o)
}

func (d direct) StoreHint(ctx context.Context, _, target string, p uint32, key []byte, s *versioning.Set) error {
	return d.h.StoreHint(ctx, target, p, key, s)
}

func (d direct) HeldHints(ctx context.Context, _ string, p uint32, key []byte) (map[string]*versioning.Set, error) {
	return d.h.HeldHints(ctx, p, key)
}

func (d direct) TreeHashes(ctx context.Context, _ string, p uint32, req merkle.Request) (merkle.Response, error) {
	return d.h.TreeHashes(ctx, p, req)
}

func (d direct) TreeListing(ctx context.Context, _ string, p uint32, shape merkle.Shape, buckets []int) (*merkle.Listing, error) {
	return d.h.TreeListing(ctx, p, shape, buckets)
}

func (d direct) ExchangeStates(ctx context.Context, _ string, entries []replica.KeyState) ([]replica.KeyState, error) {
	return d.h.ExchangeStates(ctx, entries)
}

func (d direct) ReapTombstones(ctx context.Context, _ string, entries []replica.KeyState) ([]bool, error) {
	return d.h.ReapTombstones(ctx, entries)
}
