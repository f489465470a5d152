package hints

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"dynakv/internal/testutil"
	"dynakv/storage"
	"dynakv/versioning"
)

// ackAll is an in-process Replicator that acks at once.
type ackAll struct{ n atomic.Int64 }

func (a *ackAll) Replicate(context.Context, string, uint32, []byte, *versioning.Set) error {
	a.n.Add(1)
	return nil
}

type allAlive struct{}

func (allAlive) Alive(string) bool { return true }

// BenchmarkReplay100k drains 100,000 pending hints (1 KiB states, distinct
// keys) into a Replicator that acks at once, rate limit off, from Start to
// an empty queue. In the same run it times the floor: a raw storage scan of
// the same records plus their deletes in batches of the same size, with no
// decoding, accounting or delivery. hints/s over baseline-hints/s is the
// share of pebble's speed the Manager keeps.
//
// The store is opened without Sync so that filling it takes seconds; the
// replay is unaffected (hint deletes are never synced).
func BenchmarkReplay100k(b *testing.B) {
	const n = 100_000
	recs := make([][]byte, n)
	value := bytes.Repeat([]byte{'v'}, 1024)
	for i := range recs {
		key := fmt.Appendf(nil, "key-%06d", i)
		s := write(nil, "n9.bench", string(value))
		recs[i] = appendRecord(nil, uint32(i%1024), key, time.Now().UnixMicro(), s)
	}
	o := storage.DefaultOptions(b.TempDir(), "n0")
	o.Sync = false
	o.Logger = discard
	store, err := storage.Open(o)
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	fill := func() {
		for _, r := range recs {
			if _, err := store.PutHint("n1", r); err != nil {
				b.Fatal(err)
			}
		}
	}

	var replay, baseline time.Duration
	b.StopTimer()
	for range b.N {
		fill()
		baseline += scanAndDelete(b, store, "n1", DefaultBatchSize)
		fill()

		repl := &ackAll{}
		cfg := DefaultConfig()
		cfg.Store, cfg.Transport, cfg.Liveness = store, repl, allAlive{}
		cfg.DeliveryRate = 0
		cfg.Logger, cfg.Registerer = discard, prometheus.NewRegistry()
		m, err := New(cfg) // sizes the queue: a restart's cost, not the replay's
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		m.Start()
		testutil.Eventually(b, 5*time.Minute, "replay", func() bool {
			count, _ := m.Pending("n1")
			return count == 0
		})
		replay += time.Since(start)
		b.StopTimer()
		m.Close()
		if got := repl.n.Load(); got != n {
			b.Fatalf("%d hints delivered, want %d", got, n)
		}
	}
	b.ReportMetric(float64(n*b.N)/replay.Seconds(), "hints/s")
	b.ReportMetric(float64(n*b.N)/baseline.Seconds(), "baseline-hints/s")
	b.ReportMetric(baseline.Seconds()/replay.Seconds(), "x-baseline")
}

// scanAndDelete empties target's queue the raw way: scan a batch, delete it,
// repeat. It returns how long that took.
func scanAndDelete(b *testing.B, s *storage.Store, target string, batch int) time.Duration {
	stop := errors.New("batch full")
	start := time.Now()
	var after uint64
	total := 0
	for {
		seqs := make([]uint64, 0, batch)
		err := s.ScanHints(target, after, func(seq uint64, rec []byte) error {
			seqs = append(seqs, seq)
			total += len(rec)
			if len(seqs) == batch {
				return stop
			}
			return nil
		})
		if err != nil && !errors.Is(err, stop) {
			b.Fatal(err)
		}
		if len(seqs) == 0 {
			break
		}
		if err := s.DeleteHints(target, seqs); err != nil {
			b.Fatal(err)
		}
		after = seqs[len(seqs)-1]
	}
	if total == 0 {
		b.Fatal("baseline scanned nothing")
	}
	return time.Since(start)
}
