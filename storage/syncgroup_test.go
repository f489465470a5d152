package storage

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"dynakv/internal/testutil"
)

// TestSyncGroupWindowGroupsWrites checks that synced writers share fsyncs
// when a window is set: pebble starts a WAL sync at most once per window
// after the previous one ended, so however many writes there are, the
// syncs cannot outnumber the windows that fit in the run (plus the first).
// Without the window, each round of writes here gets its own fsyncs as fast
// as the disk allows, far more than that bound.
func TestSyncGroupWindowGroupsWrites(t *testing.T) {
	const (
		window  = 20 * time.Millisecond
		writers = 8
		rounds  = 5
	)
	o := testOptions(t.TempDir(), "n1")
	o.SyncGroupWindow = window
	s := mustOpen(t, o)
	before := settledSyncs(t, s)

	start := time.Now()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for r := range rounds {
				put(t, s, 1, fmt.Sprintf("w%d-r%d", w, r), "v")
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)

	// Pebble counts a sync just after it releases the writers waiting for
	// it: the count may trail the writes by a moment.
	testutil.Eventually(t, 5*time.Second, "the WAL syncs to be counted", func() bool {
		return s.Stats().WALSyncs.Count > before
	})
	syncs := s.Stats().WALSyncs.Count - before
	// +2: the window's first sync, and one more for a timer that fires a
	// moment before the bound's arithmetic says.
	if bound := uint64(elapsed/window) + 2; syncs > bound {
		t.Fatalf("%d synced writes in %v made %d WAL syncs; a %v window allows at most %d", writers*rounds, elapsed, syncs, window, bound)
	}
	for w := range writers {
		for r := range rounds {
			if v, err := s.Get(1, fmt.Appendf(nil, "w%d-r%d", w, r)); err != nil || string(v) != "v" {
				t.Fatalf("Get w%d-r%d after grouped syncs: %q, %v", w, r, v, err)
			}
		}
	}
}

// TestWALSyncsCounted checks the figures behind dynakv_storage_wal_sync_seconds:
// a synced write adds at least one WAL sync, an unsynced store adds none,
// and the buckets are cumulative, ascending and never above the count.
func TestWALSyncsCounted(t *testing.T) {
	for _, synced := range []bool{true, false} {
		t.Run(fmt.Sprintf("sync=%v", synced), func(t *testing.T) {
			o := testOptions(t.TempDir(), "n1")
			o.Sync = synced
			s := mustOpen(t, o)
			before := settledSyncs(t, s) // Open's own synced records counted
			put(t, s, 1, "k", "v")
			if synced {
				// Counted just after the write is released (see above).
				testutil.Eventually(t, 5*time.Second, "a synced write's WAL sync to be counted", func() bool {
					return s.Stats().WALSyncs.Count > before
				})
			}
			after := s.Stats().WALSyncs.Count
			if !synced && after != before {
				t.Fatalf("an unsynced write moved WAL syncs from %d to %d", before, after)
			}
			w := s.Stats().WALSyncs
			if synced && (w.Total <= 0 || len(w.Buckets) == 0) {
				t.Fatalf("synced store: WAL sync total %v, %d buckets", w.Total, len(w.Buckets))
			}
			for i, b := range w.Buckets {
				if b.Count > w.Count || (i > 0 && (b.UpTo <= w.Buckets[i-1].UpTo || b.Count < w.Buckets[i-1].Count)) {
					t.Fatalf("WAL sync buckets not cumulative and ascending: %+v (count %d)", w.Buckets, w.Count)
				}
			}
		})
	}
}

// settledSyncs returns the WAL sync count once two readings a poll apart
// agree: pebble counts a sync just after releasing its writers, so a sync
// that just ended may not be counted yet.
func settledSyncs(t *testing.T, s *Store) uint64 {
	t.Helper()
	var last uint64
	readings := 0
	testutil.Eventually(t, 5*time.Second, "the WAL sync count to settle", func() bool {
		c := s.Stats().WALSyncs.Count
		settled := readings > 0 && c == last // the first reading has nothing to agree with
		last = c
		readings++
		return settled
	})
	return last
}
