package replica

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"dynakv/storage"
	"dynakv/versioning"
)

// Local is this node's replica of every key it holds: versioned reads, writes
// it coordinates, and merges of states other nodes send. Each operation is one
// atomic read-merge-write of the key in storage, so concurrent writes to a key
// never lose an update.
type Local struct {
	store        *storage.Store
	actor        atomic.Pointer[versioning.Actor] // the actor of the node's current epoch
	maxSiblings  int
	warnSiblings int
	maxObject    int64
	warnObject   int64
	now          func() time.Time
	logger       *slog.Logger
	metrics      *Metrics
	onChange     ChangeFunc
	admit        func() (done func(), err error)
	reaped       reapMemory // tombstones reaped here lately (reaped.go)
}

// ChangeFunc is told of every change to a stored key once it is applied (a
// coordinator's own write is reported before its sync completes),
// with the key's state before and after (nil for none). Reports of one key's
// changes made by concurrent writers may arrive in either order, so an
// observer must not depend on their order (anti-entropy's hash trees add and
// subtract per change, which commutes). It must be quick.
type ChangeFunc func(partition uint32, key []byte, before, after *versioning.Set)

// LocalConfig configures a Local replica.
type LocalConfig struct {
	Store        *storage.Store
	MaxSiblings  int // refuse writes that would grow a key past this; 0: no limit
	WarnSiblings int // log and count keys that grow past this; 0: never
	// MaxObjectBytes refuses, with *ObjectTooLargeError, a client write
	// that would leave a key's siblings holding more value bytes than this
	// (and more than before); 0: no limit. WarnObjectBytes logs and counts
	// keys past it; 0: never. Merges never refuse, as with siblings.
	MaxObjectBytes  int64
	WarnObjectBytes int64
	Now             func() time.Time // the wall clock, for sibling timestamps; nil: time.Now
	Logger          *slog.Logger
	Metrics         *Metrics // nil: not counted
	// OnChange, if set, is told of every change (anti-entropy keeps its
	// hash trees current with it).
	OnChange ChangeFunc
	// Admit, if set, is asked before every write or merge: an error refuses
	// it (returned as is, nothing written); otherwise done is called once
	// the change is applied and reported to OnChange. A leaving node uses
	// it to stop taking writes at a precise point.
	Admit func() (done func(), err error)
}

// NewLocal returns the local replica over store. Its dots are written as the
// store's node id and incarnation.
func NewLocal(cfg LocalConfig) *Local {
	l := &Local{
		store:        cfg.Store,
		maxSiblings:  cfg.MaxSiblings,
		warnSiblings: cfg.WarnSiblings,
		maxObject:    cfg.MaxObjectBytes,
		warnObject:   cfg.WarnObjectBytes,
		now:          cfg.Now,
		logger:       cfg.Logger,
		metrics:      cfg.Metrics,
		onChange:     cfg.OnChange,
		admit:        cfg.Admit,
	}
	l.setActor()
	if l.now == nil {
		l.now = time.Now
	}
	if l.logger == nil {
		l.logger = slog.Default()
	}
	return l
}

// Admit asks LocalConfig.Admit whether a change may be made now; callers
// that store something for this node outside Local (a hint it holds) ask it
// too. done must be called once the change is made.
func (l *Local) Admit() (done func(), err error) {
	if l == nil || l.admit == nil {
		return func() {}, nil
	}
	return l.admit()
}

// Err returns nil while this node's storage works, and an error wrapping
// ErrStorageFailed once a write to its disk failed.
func (l *Local) Err() error { return l.store.Err() }

// Actor is the actor this replica writes its dots as.
func (l *Local) Actor() versioning.Actor { return *l.actor.Load() }

// NewEpoch makes the replica write as a new actor from now on. Whoever is
// about to drop records of keys this node may have coordinated calls it
// first: a later write here, coordinated without the dropped history, must
// not claim (through its clock) to have seen the dropped record's dots.
func (l *Local) NewEpoch() error {
	if _, err := l.store.NewActorEpoch(); err != nil {
		return fmt.Errorf("start a new actor epoch: %w", err)
	}
	l.setActor()
	return nil
}

func (l *Local) setActor() {
	id := l.store.Identity()
	a := versioning.NewEpochActor(id.NodeID, id.Incarnation, l.store.ActorEpoch())
	l.actor.Store(&a)
}

// Read returns the stored state of key, nil when the key has none.
func (l *Local) Read(partition uint32, key []byte) (*versioning.Set, error) {
	buf, err := l.store.Get(partition, key)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %q: %w", key, err)
	}
	s, err := versioning.DecodeSet(buf)
	if err != nil {
		return nil, fmt.Errorf("read %q: %w", key, err)
	}
	return s, nil
}

// Coordinate applies a client write with a fresh dot of this node and stores
// it durably. It returns the key's new state, which the coordinator then
// replicates as a whole: replicas merge states, never replay operations.
func (l *Local) Coordinate(partition uint32, key []byte, w Write) (*versioning.Set, error) {
	state, durable, err := l.CoordinateNoSyncWait(partition, key, w)
	if err != nil {
		return nil, err
	}
	if err := durable(); err != nil {
		return nil, err
	}
	return state, nil
}

// CoordinateNoSyncWait is Coordinate that returns once the write is applied,
// before it is durable, so the coordinator can send it to the other replicas
// while this copy syncs. durable must be called exactly once, and this
// node's copy counts as an ack only once it returned nil.
func (l *Local) CoordinateNoSyncWait(partition uint32, key []byte, w Write) (state *versioning.Set, durable func() error, err error) {
	done, err := l.Admit()
	if err != nil {
		return nil, nil, err
	}
	defer done()
	var updated, before *versioning.Set
	_, wait, err := l.store.UpdateNoSyncWait(partition, key, func(old []byte, found bool) ([]byte, bool, error) {
		cur, err := decodeStored(old, found)
		if err != nil {
			return nil, false, err
		}
		actor := l.Actor()
		counter, err := l.store.NextSequence(cur.NextCounterFloor(w.Context, actor))
		if err != nil {
			return nil, false, err
		}
		ev := versioning.Event{
			Dot:      versioning.Dot{Actor: actor, Counter: counter},
			Modified: l.now().UnixMicro(),
		}
		content := versioning.Sibling{Value: w.Value, ContentType: w.ContentType, Deleted: w.Delete}
		updated, err = cur.Update(w.Context, ev, content, l.maxSiblings)
		if err != nil {
			return nil, false, err
		}
		if size := updated.ValueBytes(); l.maxObject > 0 && size > l.maxObject && size > cur.ValueBytes() {
			return nil, false, &ObjectTooLargeError{Bytes: size, Limit: l.maxObject}
		}
		before = cur
		return updated.AppendBinary(nil), true, nil
	})
	if errors.Is(err, versioning.ErrTooManySiblings) {
		return nil, nil, fmt.Errorf("%w: %w", ErrTooManySiblings, err)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("write %q: %w", key, err)
	}
	l.changed(partition, key, before, updated)
	l.checkSize(key, updated)
	return updated, func() error {
		if err := wait(); err != nil {
			return fmt.Errorf("write %q: %w", key, err)
		}
		return nil
	}, nil
}

// Merge merges a state sent by another node into the stored copy of key and
// returns the merged state. Merging never refuses and never drops a sibling
// the merge keeps: the sibling limit applies to client writes only.
func (l *Local) Merge(partition uint32, key []byte, in *versioning.Set) (*versioning.Set, error) {
	done, err := l.Admit()
	if err != nil {
		return nil, err
	}
	defer done()
	var merged, before *versioning.Set
	changed := false
	_, err = l.store.Update(partition, key, func(old []byte, found bool) ([]byte, bool, error) {
		cur, err := decodeStored(old, found)
		if err != nil {
			return nil, false, err
		}
		if !found && l.reaped.supersedes(partition, key, in, l.now()) {
			return nil, false, nil // older than a tombstone reaped here lately
		}
		merged = versioning.Merge(cur, in)
		if merged.Equal(cur) {
			return nil, false, nil
		}
		before, changed = cur, true
		return merged.AppendBinary(nil), true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("merge %q: %w", key, err)
	}
	if changed {
		l.changed(partition, key, before, merged)
	}
	l.checkSize(key, merged)
	return merged, nil
}

// MergeBatch is Merge for many keys, written in one storage batch with one
// sync: it returns once every merged state is durable. Entries without a
// state are skipped. A key may appear more than once.
func (l *Local) MergeBatch(entries []KeyState) error {
	done, err := l.Admit()
	if err != nil {
		return err
	}
	defer done()
	type outcome struct {
		before, after *versioning.Set
		changed       bool
	}
	outcomes := make([]outcome, len(entries))
	updates := make([]storage.BatchUpdate, 0, len(entries))
	for i, e := range entries {
		if e.State.IsEmpty() {
			continue
		}
		updates = append(updates, storage.BatchUpdate{Partition: e.Partition, Key: e.Key, Fn: func(old []byte, found bool) ([]byte, bool, error) {
			cur, err := decodeStored(old, found)
			if err != nil {
				return nil, false, err
			}
			if !found && l.reaped.supersedes(e.Partition, e.Key, e.State, l.now()) {
				return nil, false, nil // older than a tombstone reaped here lately
			}
			merged := versioning.Merge(cur, e.State)
			if merged.Equal(cur) {
				outcomes[i] = outcome{after: merged}
				return nil, false, nil
			}
			outcomes[i] = outcome{before: cur, after: merged, changed: true}
			return merged.AppendBinary(nil), true, nil
		}})
	}
	if _, err := l.store.UpdateBatch(updates); err != nil {
		return fmt.Errorf("merge %d states: %w", len(updates), err)
	}
	for i, o := range outcomes {
		if o.changed {
			l.changed(entries[i].Partition, entries[i].Key, o.before, o.after)
		}
		if o.after != nil {
			l.checkSize(entries[i].Key, o.after)
		}
	}
	return nil
}

// StoredRecord is a key's record exactly as storage held it.
type StoredRecord struct {
	Key, Record []byte
}

// DropUnchanged deletes, in one batch, each key of partition whose stored
// record is still exactly the given one (a write since then keeps it), and
// reports each deletion to OnChange, so that anti-entropy's trees never
// count a dropped key. Ownership transfer calls it once the new owners
// acknowledged the records. It returns how many keys it deleted.
func (l *Local) DropUnchanged(partition uint32, records []StoredRecord) (int, error) {
	dropped := make([]*versioning.Set, len(records))
	updates := make([]storage.BatchUpdate, len(records))
	for i, r := range records {
		updates[i] = storage.BatchUpdate{Partition: partition, Key: r.Key, Fn: func(old []byte, found bool) ([]byte, bool, error) {
			if !found || !bytes.Equal(old, r.Record) {
				return nil, false, nil
			}
			before, err := versioning.DecodeSet(old)
			if err != nil {
				return nil, false, err
			}
			dropped[i] = before
			return nil, true, nil
		}}
	}
	if _, err := l.store.UpdateBatch(updates); err != nil {
		return 0, fmt.Errorf("drop %d keys of partition %d: %w", len(records), partition, err)
	}
	n := 0
	for i, before := range dropped {
		if before != nil {
			l.changed(partition, records[i].Key, before, nil)
			n++
		}
	}
	return n, nil
}

func (l *Local) changed(partition uint32, key []byte, before, after *versioning.Set) {
	if l.onChange != nil {
		l.onChange(partition, key, before, after)
	}
}

// checkSize logs and counts a key stored with more siblings, or more value
// bytes, than the warning thresholds.
func (l *Local) checkSize(key []byte, s *versioning.Set) {
	if s == nil {
		return
	}
	if l.warnSiblings > 0 && len(s.Siblings) > l.warnSiblings {
		l.logger.Warn("key has many siblings; read it and write with its context to resolve them",
			"key", string(key), "siblings", len(s.Siblings), "warn_at", l.warnSiblings, "limit", l.maxSiblings)
		l.metrics.siblingWarning()
	}
	if size := s.ValueBytes(); l.warnObject > 0 && size > l.warnObject {
		l.logger.Warn("key's siblings hold many bytes; read it and write with its context to resolve them",
			"key", string(key), "bytes", size, "siblings", len(s.Siblings), "warn_at", l.warnObject, "limit", l.maxObject)
		l.metrics.objectSizeWarning()
	}
}

func decodeStored(buf []byte, found bool) (*versioning.Set, error) {
	if !found {
		return nil, nil
	}
	return versioning.DecodeSet(buf)
}
