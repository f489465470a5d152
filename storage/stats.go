package storage

import (
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
	WALSyncs           uint64        // fsyncs of the write-ahead log since open
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

// walSyncs is how many times pebble synced the WAL: the count of its fsync
// latency histogram (nil until the WAL's first writer exists).
func walSyncs(m *pebble.Metrics) uint64 {
	h := m.LogWriter.FsyncLatency
	if h == nil {
		return 0
	}
	var out dto.Metric
	if err := h.Write(&out); err != nil {
		return 0
	}
	return out.GetHistogram().GetSampleCount()
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
