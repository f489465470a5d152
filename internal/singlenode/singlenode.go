// Package singlenode starts the real data path of one dynakv node (storage
// in a temporary folder, the local replica and a coordinator with N=1) for
// the tests of the layers above it: the HTTP API and the CLI. It is imported
// only from _test.go files.
package singlenode

import (
	"log/slog"
	"testing"
	"time"

	"dynakv/replica"
	"dynakv/ring"
	"dynakv/storage"
)

// ID is the node's id.
const ID = "n1"

// Options configures Start.
type Options struct {
	MaxSiblings int          // 0: 100, the server default
	MaxObject   int64        // the object size limit; 0: none
	Sync        bool         // fsync every write, as production nodes do
	Logger      *slog.Logger // nil: discard
}

// Node is a running single node. The test's cleanup closes it.
type Node struct {
	Coordinator *replica.Coordinator
	Store       *storage.Store
}

// Start opens a store in tb.TempDir() and builds a coordinator over it.
func Start(tb testing.TB, opts Options) *Node {
	tb.Helper()
	if opts.MaxSiblings == 0 {
		opts.MaxSiblings = 100
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	sopts := storage.DefaultOptions(tb.TempDir(), ID)
	sopts.Sync = opts.Sync
	sopts.CacheBytes = 8 << 20
	sopts.Logger = opts.Logger
	st, err := storage.Open(sopts)
	if err != nil {
		tb.Fatalf("singlenode: open storage: %v", err)
	}
	tb.Cleanup(func() {
		if err := st.Close(); err != nil {
			tb.Errorf("singlenode: close storage: %v", err)
		}
	})
	local := replica.NewLocal(replica.LocalConfig{
		Store:          st,
		MaxSiblings:    opts.MaxSiblings,
		WarnSiblings:   min(25, opts.MaxSiblings),
		MaxObjectBytes: opts.MaxObject,
		Logger:         opts.Logger,
	})
	c, err := replica.New(replica.Config{
		Self:           ID,
		N:              1,
		DefaultTimeout: 2 * time.Second,
		Local:          local,
		Placement:      placement{},
		Logger:         opts.Logger,
	})
	if err != nil {
		tb.Fatalf("singlenode: coordinator: %v", err)
	}
	tb.Cleanup(c.Close) // registered last, so it runs before the store closes
	return &Node{Coordinator: c, Store: st}
}

// placement puts every key on this node alone.
type placement struct{}

func (placement) Locate(key []byte) (uint32, []string, []string) {
	return ring.PartitionOf(key, ring.DefaultPartitions), []string{ID}, nil
}

func (placement) Replicas() int { return 1 }
