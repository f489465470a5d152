package storage

import (
	"math"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	dto "github.com/prometheus/client_model/go"
)

// Stats are the storage engine's own figures, for the node's metrics.
type Stats struct {
	DiskBytes          uint64        // live and obsolete files on disk
	Compactions        int64         // compactions since open
	CompactionDebt     uint64        // bytes to compact to reach a stable LSM
	CompactionsRunning int64         // compactions in progress
	Flushes            int64         // memtable flushes since open
	L0Files            int64         // sstables in L0: many means compactions lag writes
	ReadAmp            int           // sstables a read may have to look at
	WriteStalls        int64         // times pebble delayed writes to let compactions catch up
	WriteStallTime     time.Duration // total time writes were delayed
	MemtableBytes      uint64        // memory held by memtables
	CacheBytes         int64         // block cache in use
	RowCacheBytes      int64         // row cache in use (keys, values and overhead)
	RowCacheEntries    int           // keys in the row cache
	RowCacheHits       uint64        // reads the row cache answered, since open
	RowCacheMisses     uint64        // reads that went to pebble, since open
	WALSyncs           WALSyncs      // fsyncs of the write-ahead log since open
}

// WALSyncs describes the write-ahead log's fsyncs since open: how many,
// their total time, and a cumulative histogram of their durations.
type WALSyncs struct {
	Count   uint64
	Total   time.Duration
	Buckets []SyncBucket // ascending; each counts the syncs that took at most UpTo
}

// SyncBucket is one bucket of WALSyncs.Buckets.
type SyncBucket struct {
	UpTo  time.Duration
	Count uint64
}

// walSyncBounds are roughly the bucket bounds WALSyncs reports: each is
// replaced by the first of pebble's bounds at or above it (100 µs steps up
// to 5 ms, then exponential steps), so that every count is exact.
var walSyncBounds = []time.Duration{
	100 * time.Microsecond, 200 * time.Microsecond, 500 * time.Microsecond,
	time.Millisecond, 2 * time.Millisecond, 3 * time.Millisecond, 4 * time.Millisecond,
	5 * time.Millisecond, 10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 250 * time.Millisecond, time.Second,
}

// Stats returns the storage engine's current figures.
func (s *Store) Stats() Stats {
	m := s.db.Metrics()
	st := Stats{
		DiskBytes:          m.DiskSpaceUsage(),
		Compactions:        m.Compact.Count,
		CompactionDebt:     m.Compact.EstimatedDebt,
		CompactionsRunning: m.Compact.NumInProgress,
		Flushes:            m.Flush.Count,
		L0Files:            m.Levels[0].TablesCount,
		ReadAmp:            m.ReadAmp(),
		MemtableBytes:      m.MemTable.Size,
		CacheBytes:         m.BlockCache.Size,
	}
	st.RowCacheBytes, st.RowCacheEntries, st.RowCacheHits, st.RowCacheMisses = s.rows.stats()
	st.WriteStalls, st.WriteStallTime = s.stalls.totals()
	st.WALSyncs = walSyncs(m)
	return st
}

// walSyncs reads pebble's histogram of WAL fsync latencies (in
// nanoseconds; nil until the WAL's first writer exists).
func walSyncs(m *pebble.Metrics) WALSyncs {
	h := m.LogWriter.FsyncLatency
	if h == nil {
		return WALSyncs{}
	}
	var out dto.Metric
	if err := h.Write(&out); err != nil {
		return WALSyncs{}
	}
	hist := out.GetHistogram()
	w := WALSyncs{Count: hist.GetSampleCount(), Total: time.Duration(hist.GetSampleSum())}
	pebbleBuckets := hist.GetBucket()
	i := 0
	for _, bound := range walSyncBounds {
		// Pebble's bounds are float nanoseconds: the slack absorbs their
		// rounding.
		for i < len(pebbleBuckets) && pebbleBuckets[i].GetUpperBound() < float64(bound)-0.5 {
			i++
		}
		if i == len(pebbleBuckets) {
			break
		}
		upTo := time.Duration(math.Round(pebbleBuckets[i].GetUpperBound()))
		if n := len(w.Buckets); n > 0 && w.Buckets[n-1].UpTo == upTo {
			continue
		}
		w.Buckets = append(w.Buckets, SyncBucket{UpTo: upTo, Count: pebbleBuckets[i].GetCumulativeCount()})
	}
	return w
}

// stallTracker counts pebble's write stalls from its event listener.
type stallTracker struct {
	mu    sync.Mutex
	count int64
	total time.Duration
	since time.Time // zero when no stall is in progress
}

func (t *stallTracker) listener() *pebble.EventListener {
	return &pebble.EventListener{
		WriteStallBegin: func(pebble.WriteStallBeginInfo) {
			t.mu.Lock()
			t.count++
			t.since = time.Now()
			t.mu.Unlock()
		},
		WriteStallEnd: func() {
			t.mu.Lock()
			if !t.since.IsZero() {
				t.total += time.Since(t.since)
				t.since = time.Time{}
			}
			t.mu.Unlock()
		},
	}
}

func (t *stallTracker) totals() (int64, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	total := t.total
	if !t.since.IsZero() {
		total += time.Since(t.since)
	}
	return t.count, total
}
