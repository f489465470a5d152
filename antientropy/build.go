package antientropy

import (
	"bytes"
	"errors"
	"time"

	"dynakv/merkle"
)

// errBuildSuperseded ends a rebuild scan whose partition was dropped or
// whose build was replaced while it ran.
var errBuildSuperseded = errors.New("rebuild superseded")

// edge is one reported change of a key: its version went from one hash to
// another, and its tombstone count (0 or 1) moved by tombstones.
type edge struct {
	from, to   uint64
	tombstones int
}

// build is a tree being rebuilt from a storage snapshot while changes keep
// arriving. Its methods run under the partition's lock.
//
// The scan visits keys in order and cursor is the last key it inserted.
// A change to a key at or before cursor came after the scan read that key
// (the scan inserted its snapshot version, and the change was committed
// after the snapshot; see the package doc for the one exception) and is
// applied to the tree at once. A change to a key past cursor waits in
// pending: when the scan reaches the key with snapshot version S, the
// changes that continue from S are applied in chain order and the others,
// which the snapshot already holds, are dropped. Keys the snapshot does not
// hold are settled the same way from Absent when the scan ends.
type build struct {
	tree       *merkle.Tree
	cursor     []byte // nil until the first key
	started    bool   // cursor is valid
	pending    map[string][]edge
	tombstones int
}

func newBuild(shape merkle.Shape) (*build, error) {
	t, err := merkle.New(shape)
	if err != nil {
		return nil, err
	}
	return &build{tree: t, pending: make(map[string][]edge)}, nil
}

// observe takes a change reported while the build runs.
func (b *build) observe(key []byte, e edge) {
	if b.started && bytes.Compare(key, b.cursor) <= 0 {
		b.apply(key, e)
		return
	}
	b.pending[string(key)] = append(b.pending[string(key)], e)
}

// insert takes a key of the snapshot with its version and tombstone count.
func (b *build) insert(key []byte, version uint64, tombstones int) {
	b.cursor = append(b.cursor[:0], key...)
	b.started = true
	if version != merkle.Absent {
		b.tree.Insert(key, version)
	}
	b.tombstones += tombstones
	if edges, ok := b.pending[string(key)]; ok {
		delete(b.pending, string(key))
		b.settle(key, version, edges)
	}
}

// finish settles the keys the snapshot did not hold and returns the tree
// and the tombstone count.
func (b *build) finish() (*merkle.Tree, int) {
	for key, edges := range b.pending {
		b.settle([]byte(key), merkle.Absent, edges)
	}
	clear(b.pending)
	return b.tree, b.tombstones
}

// settle applies the changes of key reported before the scan reached it
// that came after the snapshot, and drops those the snapshot holds.
//
// Reports of one key may arrive out of order, so the changes after the
// snapshot need not form an unbroken chain yet; but those before it do, and
// end at the snapshot's version (every one of them was reported before the
// scan reached the key: that is the assumption the package doc states).
// So: the chain that leads forward from the snapshot's version is after
// it; the chain that leads back to it, among the rest, is before it; and
// whatever is left came after it, reported ahead of a change it follows.
//
// A state never recurs, since histories only grow, except Absent, after a
// reap. No reap runs while a partition is being built (startBuild waits for
// the running ones, and withoutBuild refuses new ones), so within a build a
// key's history holds Absent at most once, at its start, and the walks are
// exact. The forward walk stops at Absent all the same, so that a reap this
// reasoning missed could only misplace the changes after it.
func (b *build) settle(key []byte, snapshot uint64, edges []edge) {
	after := make([]bool, len(edges))
	for v := snapshot; ; {
		i := nextEdge(edges, after, nil, func(e edge) bool { return e.from == v })
		if i < 0 {
			break
		}
		after[i], v = true, edges[i].to
		if v == merkle.Absent {
			break // Absent recurs: what follows may as well be before the snapshot
		}
	}
	before := make([]bool, len(edges))
	for v := snapshot; ; {
		i := nextEdge(edges, after, before, func(e edge) bool { return e.to == v })
		if i < 0 {
			break
		}
		before[i], v = true, edges[i].from
	}
	for i, e := range edges {
		if !before[i] {
			b.apply(key, e)
		}
	}
}

// nextEdge returns the first edge that matches and is marked in neither
// mark list (nil: none marked), or -1.
func nextEdge(edges []edge, marked, marked2 []bool, match func(edge) bool) int {
	for i, e := range edges {
		if match(e) && !marked[i] && (marked2 == nil || !marked2[i]) {
			return i
		}
	}
	return -1
}

func (b *build) apply(key []byte, e edge) {
	b.tree.Update(key, e.from, e.to)
	b.tombstones += e.tombstones
}

// startBuild begins a rebuild of p, replacing any rebuild in progress; the
// old tree, if any, keeps serving until finishBuild. It must be called
// before the snapshot is taken, so that no change committed after the
// snapshot goes unreported to the build.
func (t *Trees) startBuild(p uint32) (*build, error) {
	b, err := newBuild(t.shape)
	if err != nil {
		return nil, err
	}
	pt := &t.parts[p]
	pt.reaps.Lock() // waits for reaps in flight, whose reports then precede the build
	defer pt.reaps.Unlock()
	pt.mu.Lock()
	defer pt.mu.Unlock()
	if !pt.owned {
		return nil, errBuildSuperseded
	}
	pt.build = b
	return b, nil
}

// withoutBuild runs reap, the deletion of a key of p, unless a rebuild of
// p is running, and reports whether it ran and what it returned. Keeping
// reaps out of builds keeps a key's history free of a recurring Absent
// while it is settled (see settle).
func (t *Trees) withoutBuild(p uint32, reap func() (bool, error)) (bool, error) {
	if int(p) >= len(t.parts) {
		return reap()
	}
	pt := &t.parts[p]
	pt.reaps.RLock()
	defer pt.reaps.RUnlock()
	pt.mu.RLock()
	building := pt.build != nil
	pt.mu.RUnlock()
	if building {
		return false, nil
	}
	return reap()
}

// buildInsert feeds one snapshot key to the build b of p.
func (t *Trees) buildInsert(p uint32, b *build, key []byte, version uint64, tombstones int) error {
	pt := &t.parts[p]
	pt.mu.Lock()
	defer pt.mu.Unlock()
	if pt.build != b {
		return errBuildSuperseded
	}
	b.insert(key, version, tombstones)
	return nil
}

// finishBuild installs the tree b built, unless b was superseded.
func (t *Trees) finishBuild(p uint32, b *build, now time.Time) error {
	pt := &t.parts[p]
	pt.mu.Lock()
	defer pt.mu.Unlock()
	if pt.build != b {
		return errBuildSuperseded
	}
	pt.tree, pt.tombstones = b.finish()
	pt.build, pt.builtAt = nil, now
	return nil
}

// abandonBuild drops the build b of p after a failed scan; the old tree,
// if any, keeps serving.
func (t *Trees) abandonBuild(p uint32, b *build) {
	pt := &t.parts[p]
	pt.mu.Lock()
	defer pt.mu.Unlock()
	if pt.build == b {
		pt.build = nil
	}
}
