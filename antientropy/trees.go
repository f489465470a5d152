package antientropy

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"dynakv/merkle"
	"dynakv/replica"
	"dynakv/versioning"
)

// errNotBuilt is returned for a partition whose tree is not built (yet, or
// at all on this node).
var errNotBuilt = errors.New("no hash tree built for the partition on this node (not a primary of it, or still building)")

// Trees holds a hash tree per partition this node is a primary of and keeps
// each current from every durable change of the local replica (OnChange).
// It is a passive table: the Manager decides which partitions it tracks
// and builds their trees. It exists apart from the Manager only so that it
// can be created before replica.Local, whose OnChange it is.
//
// Every partition has its own lock, so changes to different partitions
// never contend, and a tree is read (exchanges, answers) under a read lock.
type Trees struct {
	shape merkle.Shape
	parts []part // by partition; fixed at NewTrees
}

// part is the tree state of one partition.
//
// Invariant: tree and build are nil unless owned. While owned and built,
// tree holds exactly the (key, version) pairs storage holds, but for the
// drift described in the package doc.
type part struct {
	reaps      sync.RWMutex // held for reading by a reap, for writing to start a build
	mu         sync.RWMutex
	owned      bool         // this node is a primary: changes are tracked
	tree       *merkle.Tree // the built tree; nil until the first build ends
	build      *build       // the rebuild in progress, if any
	tombstones int          // keys all of whose siblings are tombstones (a hint: reaping skips partitions without)
	builtAt    time.Time    // when tree was last built
}

var _ replica.ChangeFunc = (&Trees{}).OnChange

// NewTrees returns the table for a ring of partitions partitions, whose
// trees all have shape (a cluster-wide setting: trees of different shapes
// cannot be compared; see DefaultShape).
func NewTrees(partitions int, shape merkle.Shape) (*Trees, error) {
	if partitions < 1 {
		return nil, fmt.Errorf("antientropy: %d partitions: want at least 1", partitions)
	}
	if err := shape.Validate(); err != nil {
		return nil, fmt.Errorf("antientropy: %w", err)
	}
	return &Trees{shape: shape, parts: make([]part, partitions)}, nil
}

// DefaultExpectedKeys is the keys per partition DefaultShape is made for.
const DefaultExpectedKeys = 4096

// DefaultShape is the shape of every node's trees: merkle.ShapeFor of
// DefaultExpectedKeys, 16^2 buckets, 3 KB per tree and at most 3 MB for
// 1,024 partitions. With a million keys per 1,024 partitions a bucket holds
// about 4 keys, so a differing key costs a listing of a few keys a side.
func DefaultShape() merkle.Shape { return merkle.ShapeFor(DefaultExpectedKeys) }

// Shape is the shape of every tree.
func (t *Trees) Shape() merkle.Shape { return t.shape }

// OnChange records that key went from before to after in storage (nil for
// none). It is replica.LocalConfig.OnChange: called after the change is
// durable, possibly out of order with other changes of the same key, which
// is fine because a tree adds and subtracts per change. Changes to
// partitions this node does not track are ignored.
func (t *Trees) OnChange(partition uint32, key []byte, before, after *versioning.Set) {
	if int(partition) >= len(t.parts) {
		return
	}
	e := edge{from: merkle.VersionHash(before), to: merkle.VersionHash(after), tombstones: isTombstone(after) - isTombstone(before)}
	if e.from == e.to && e.tombstones == 0 {
		return
	}
	p := &t.parts[partition]
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.owned {
		return
	}
	if p.tree != nil {
		p.tree.Update(key, e.from, e.to)
	}
	p.tombstones += e.tombstones
	if p.build != nil {
		p.build.observe(key, e)
	}
}

// isTombstone is 1 for a state whose every sibling is a tombstone.
func isTombstone(s *versioning.Set) int {
	if s.Deleted() {
		return 1
	}
	return 0
}

// own starts tracking partition p and reports whether it was not tracked.
func (t *Trees) own(p uint32) bool {
	pt := &t.parts[p]
	pt.mu.Lock()
	defer pt.mu.Unlock()
	was := pt.owned
	pt.owned = true
	return !was
}

// disown stops tracking partition p and drops its tree, and reports
// whether it was tracked.
func (t *Trees) disown(p uint32) bool {
	pt := &t.parts[p]
	pt.mu.Lock()
	defer pt.mu.Unlock()
	was := pt.owned
	pt.owned, pt.tree, pt.build, pt.tombstones = false, nil, nil, 0
	return was
}

// answer answers a peer's tree request from the tree of p.
func (t *Trees) answer(p uint32, req merkle.Request) (merkle.Response, error) {
	if int(p) >= len(t.parts) {
		return merkle.Response{}, fmt.Errorf("partition %d: %w", p, errNotBuilt)
	}
	pt := &t.parts[p]
	pt.mu.RLock()
	defer pt.mu.RUnlock()
	if pt.tree == nil {
		return merkle.Response{}, fmt.Errorf("partition %d: %w", p, errNotBuilt)
	}
	return merkle.Answer(pt.tree, req)
}

// step feeds a peer's answer to an exchange of p, reading the current tree
// under the read lock. A tree dropped since the exchange began is an error.
func (t *Trees) step(p uint32, ex *merkle.Exchange, resp merkle.Response) error {
	pt := &t.parts[p]
	pt.mu.RLock()
	defer pt.mu.RUnlock()
	if pt.tree == nil {
		return fmt.Errorf("partition %d: %w", p, errNotBuilt)
	}
	return ex.Step(resp)
}

// view is the current tree of a partition as an exchange reads it. Hash
// is only called from step, under the read lock and with the tree
// present; a rebuild may swap the tree between two steps, which is
// harmless (same shape, and an exchange tolerates a moving tree).
type view struct {
	pt    *part
	shape merkle.Shape
}

func (v view) Shape() merkle.Shape { return v.shape }

func (v view) Hash(l, node int) uint64 { return v.pt.tree.Hash(l, node) }

// exchangeView returns a view of the tree of p for merkle.NewExchange, or
// errNotBuilt.
func (t *Trees) exchangeView(p uint32) (merkle.TreeView, error) {
	pt := &t.parts[p]
	pt.mu.RLock()
	defer pt.mu.RUnlock()
	if pt.tree == nil {
		return nil, fmt.Errorf("partition %d: %w", p, errNotBuilt)
	}
	return view{pt: pt, shape: t.shape}, nil
}

// partInfo is what status and scheduling read of a partition.
type partInfo struct {
	owned, built, building bool
	keys, tombstones       int
	builtAt                time.Time
}

func (t *Trees) info(p uint32) partInfo {
	pt := &t.parts[p]
	pt.mu.RLock()
	defer pt.mu.RUnlock()
	i := partInfo{owned: pt.owned, built: pt.tree != nil, building: pt.build != nil, tombstones: pt.tombstones, builtAt: pt.builtAt}
	if pt.tree != nil {
		i.keys = pt.tree.Len()
	}
	return i
}
