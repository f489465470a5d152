package storage

import (
	"log/slog"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Options configures Open.
type Options struct {
	// Dir is the data folder; it is created if missing.
	Dir string
	// NodeID is this node's id; it must match the folder's IDENTITY.
	NodeID string
	// Sync makes every write fsync its WAL record before Update returns, so
	// that an acknowledged write survives a crash or power loss. Without it,
	// a crash can lose the last writes (but never the sequence ceiling,
	// which is always synced).
	Sync bool
	// CacheBytes sizes pebble's block cache; <= 0 means DefaultCacheBytes.
	CacheBytes int64
	// RowCacheBytes sizes the row cache of recently read and written
	// values (rowcache.go); <= 0 means none.
	RowCacheBytes int64
	// SyncGroupWindow is the least time between two fsyncs of the WAL:
	// writes that ask for a sync meanwhile wait and share the next one
	// (Cassandra's commitlog_sync_group_window). Under load this groups
	// more writes per fsync, which costs CPU as well as disk time; at
	// light load a write rarely waits, as the window starts only when a
	// sync ends. <= 0 means none: a sync starts as soon as one is asked for
	// and the previous one ended. Only matters with Sync.
	SyncGroupWindow time.Duration
	// Logger receives storage's and pebble's logs; nil means slog.Default().
	Logger *slog.Logger
	// FS is the file system pebble keeps its files on; nil means the
	// operating system's. Tests wrap it to make disk operations fail.
	FS vfs.FS
}

const (
	// DefaultCacheBytes is the block cache size used when Options.CacheBytes
	// is not set. With the row cache in front of it, it mostly holds the
	// sstables' index and filter blocks, the blocks of values the row cache
	// does not hold, and what scans (anti-entropy, transfers) read. Halving
	// it cost 10-15% of the write rate once a node held a million keys.
	DefaultCacheBytes = 128 << 20

	// DefaultRowCacheBytes is the row cache of DefaultOptions: about a
	// hundred thousand 1 KiB values. Point reads of small values hit it far
	// more often per byte than a block cache, whose 4 KiB blocks hold a hot
	// value next to cold ones.
	DefaultRowCacheBytes = 128 << 20

	// DefaultSyncGroupWindow is the sync group window of DefaultOptions,
	// the value pebble's documentation suggests. Three nodes on two cores
	// served 1.3x the 50/50 requests with it than without, and 250 µs and
	// 1 ms did less well (docs/performance.md).
	DefaultSyncGroupWindow = 500 * time.Microsecond

	// memTableBytes bounds one memtable. Pebble starts small and doubles up
	// to this, and stalls writes only when several are queued for flush, so
	// 32 MiB absorbs write bursts without holding much memory on a small
	// node.
	memTableBytes = 32 << 20
)

// DefaultOptions returns the options a production node uses: synced writes
// grouped by the default window, and the default caches.
func DefaultOptions(dir, nodeID string) Options {
	return Options{
		Dir:             dir,
		NodeID:          nodeID,
		Sync:            true,
		CacheBytes:      DefaultCacheBytes,
		RowCacheBytes:   DefaultRowCacheBytes,
		SyncGroupWindow: DefaultSyncGroupWindow,
	}
}

func (o Options) logger() *slog.Logger {
	if o.Logger != nil {
		return o.Logger
	}
	return slog.Default()
}

// pebbleOptions returns pebble's options for a small (about 2-core) node.
// The caller owns cache and must Unref it once pebble.Open has taken its own
// reference.
func pebbleOptions(o Options, cache *pebble.Cache, lock *pebble.Lock) *pebble.Options {
	po := &pebble.Options{
		Cache:        cache,
		Lock:         lock,
		Logger:       pebbleLogger{o.logger()},
		MemTableSize: memTableBytes,
		// The newest format this pebble version knows. Pebble ratchets an
		// older folder up to it on Open, and that is one-way: after
		// upgrading pebble, a folder cannot be opened by an older binary.
		FormatMajorVersion: pebble.FormatNewest,
		// One compaction normally, a second one when L0 backs up: more would
		// starve request handling on two cores.
		CompactionConcurrencyRange: func() (int, int) { return 1, 2 },
		FS:                         o.FS,
	}
	// Gets dominate the read path (read-modify-write and quorum reads), and
	// most are for keys that exist in at most one sstable per level: bloom
	// filters skip the others. L1+ inherit L0's filter policy.
	po.Levels[0].FilterPolicy = bloom.FilterPolicy(10)
	if window := o.SyncGroupWindow; window > 0 {
		po.WALMinSyncInterval = func() time.Duration { return window }
	}
	return po
}
