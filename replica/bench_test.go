package replica

import (
	"bytes"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"

	"dynakv/internal/testutil"
	"dynakv/storage"
	"dynakv/versioning"
)

// BenchmarkLocal is one replica's share of a replicated operation, with
// storage as a node runs it (Sync on, the sync group window, the row cache):
// "merge" takes a coordinator's new version of an existing key (an update
// that supersedes the previous one), what each replica does for a write;
// "read" returns a key's state, what each replica does for a read. 32
// goroutines, 1 KiB values, 10,000 keys. cpu-µs/op is the process's CPU per
// operation, fsyncs and pebble's background work included, so three of them
// plus a node's HTTP and peer calls bound what a three-node cluster can do
// per core (docs/performance.md).
func BenchmarkLocal(b *testing.B) {
	const keys = 10000
	value := bytes.Repeat([]byte("v"), 1024)
	open := func(b *testing.B) (*Local, []*versioning.Set) {
		opts := storage.DefaultOptions(b.TempDir(), "bench")
		opts.Logger = slog.New(slog.DiscardHandler)
		st, err := storage.Open(opts)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		l := NewLocal(LocalConfig{Store: st, MaxSiblings: 100, Logger: slog.New(slog.DiscardHandler)})
		states := make([]*versioning.Set, keys)
		for i := range states {
			states[i] = nextVersion(b, nil, uint64(i+1), value)
			if _, err := l.Merge(benchPartition(i), benchKey(i), states[i]); err != nil {
				b.Fatal(err)
			}
		}
		return l, states
	}
	run := func(b *testing.B, op func(i int, counter uint64) error) {
		var next atomic.Uint64
		b.SetParallelism(16) // 32 goroutines on two cores
		b.ReportAllocs()
		b.ResetTimer()
		cpuStart := testutil.ProcessCPU(b)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				n := next.Add(1)
				if err := op(int(n*7919%keys), keys+n); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64((testutil.ProcessCPU(b)-cpuStart).Microseconds())/float64(b.N), "cpu-µs/op")
	}
	b.Run("merge", func(b *testing.B) {
		l, states := open(b)
		run(b, func(i int, counter uint64) error {
			// Each key's versions descend from the first one, as updates
			// with contexts do; two goroutines on one key make siblings,
			// which merge keeps, as a replica does.
			_, err := l.Merge(benchPartition(i), benchKey(i), nextVersion(b, states[i], counter, value))
			return err
		})
	})
	b.Run("read", func(b *testing.B) {
		l, _ := open(b)
		run(b, func(i int, _ uint64) error {
			_, err := l.Read(benchPartition(i), benchKey(i))
			return err
		})
	})
}

func benchKey(i int) []byte       { return fmt.Appendf(nil, "key-%08d", i) }
func benchPartition(i int) uint32 { return uint32(i % 64) }

// nextVersion is an update of prev (nil: a first write) coordinated with a
// fresh dot, as a coordinator sends it to replicas.
func nextVersion(tb testing.TB, prev *versioning.Set, counter uint64, value []byte) *versioning.Set {
	ev := versioning.Event{Dot: versioning.Dot{Actor: versioning.NewActor("coordinator", 1), Counter: counter}, Modified: 1}
	s, err := prev.Update(prev.Context(), ev, versioning.Sibling{Value: value, ContentType: "text/plain"}, 0)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}
