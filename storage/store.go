package storage

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Store is a node's durable local store. It is safe for concurrent use.
type Store struct {
	db       *pebble.DB
	stalls   *stallTracker // pebble write stalls, for Stats
	epoch    epoch
	lock     *pebble.Lock // held from before the identity check until Close
	identity Identity
	dir      string
	log      *slog.Logger
	wo       *pebble.WriteOptions // pebble.Sync or pebble.NoSync, by Options.Sync

	gate    *gate
	failed  failure // the first failed write to the disk; then every operation fails
	stripes *stripes
	rows    *rowCache // nil: none
	keys    keyPool
	seq     *seqLease

	closeOnce sync.Once
	closeErr  error

	// testHookMissed, if set, runs between a row cache miss's read of
	// pebble and its fill, so tests can widen that window.
	testHookMissed func()
}

// Open opens (creating if needed) the data folder opts.Dir for node
// opts.NodeID. See identity.go for when a folder is refused.
func Open(opts Options) (*Store, error) {
	if opts.Dir == "" {
		return nil, errors.New("storage: open: Options.Dir is empty")
	}
	if opts.NodeID == "" {
		return nil, fmt.Errorf("storage: open %q: Options.NodeID is empty", opts.Dir)
	}
	log := opts.logger()
	if err := ensureDir(opts.Dir); err != nil {
		return nil, fmt.Errorf("storage: create data folder %q: %w", opts.Dir, err)
	}
	// Take pebble's directory lock first, so that the identity check, the
	// IDENTITY write and pebble.Open form one critical section no other
	// process can interleave with.
	lock, err := pebble.LockDirectory(opts.Dir, vfs.Default)
	if err != nil {
		return nil, fmt.Errorf("storage: lock data folder %q (is another process using it?): %w", opts.Dir, err)
	}
	s, err := open(opts, lock, log)
	if err != nil {
		// open closed the database if it had opened it, so our reference
		// is the last one and this releases the file lock.
		_ = lock.Close()
		return nil, err
	}
	return s, nil
}

func open(opts Options, lock *pebble.Lock, log *slog.Logger) (*Store, error) {
	pebbleFS := opts.FS
	if pebbleFS == nil {
		pebbleFS = vfs.Default
	}
	id, err := loadOrCreateIdentity(opts.Dir, opts.NodeID, pebbleFS, log)
	if err != nil {
		return nil, err
	}
	cacheBytes := opts.CacheBytes
	if cacheBytes <= 0 {
		cacheBytes = DefaultCacheBytes
	}
	cache := pebble.NewCache(cacheBytes)
	// The DB takes its own reference; ours is dropped whatever happens.
	defer cache.Unref()
	stalls := &stallTracker{}
	po := pebbleOptions(opts, cache, lock)
	po.EventListener = stalls.listener()
	db, err := pebble.Open(opts.Dir, po)
	if err != nil {
		return nil, fmt.Errorf("storage: open pebble in %q: %w", opts.Dir, err)
	}
	s := &Store{
		stalls:   stalls,
		db:       db,
		lock:     lock,
		identity: id,
		dir:      opts.Dir,
		log:      log,
		wo:       pebble.NoSync,
		gate:     newGate(),
		stripes:  newStripes(),
		rows:     newRowCache(opts.RowCacheBytes),
	}
	s.failed.done = make(chan struct{})
	if opts.Sync {
		s.wo = pebble.Sync
	}
	if err := s.checkDataIdentity(); err != nil {
		_ = db.Close()
		return nil, err
	}
	if s.seq, err = s.loadSequence(); err != nil {
		_ = db.Close()
		return nil, err
	}
	if err := s.loadActorEpoch(); err != nil {
		_ = db.Close()
		return nil, err
	}
	return s, nil
}

// checkDataIdentity makes sure the database was created under this IDENTITY,
// recording it on the first open. It catches an IDENTITY file copied in from
// another folder, which would otherwise let two folders share an
// incarnation.
func (s *Store) checkDataIdentity() error {
	want, err := s.identity.marshal()
	if err != nil {
		return fmt.Errorf("storage: encode identity of %q: %w", s.dir, err)
	}
	k := metaKey(metaIdentity)
	have, closer, err := s.db.Get(k)
	switch {
	case errors.Is(err, pebble.ErrNotFound):
		if err := s.set(k, want, true); err != nil {
			return fmt.Errorf("storage: record identity in %q: %w", s.dir, err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("storage: read recorded identity in %q: %w", s.dir, err)
	}
	defer closer.Close()
	if bytes.Equal(have, want) {
		return nil
	}
	rec, err := unmarshalIdentity(have)
	if err != nil {
		return fmt.Errorf("storage: decode recorded identity in %q: %w", s.dir, err)
	}
	if rec.NodeID != s.identity.NodeID || rec.Incarnation != s.identity.Incarnation {
		return fmt.Errorf("storage: %s in %q says node %q incarnation %d but the data was created by node %q incarnation %d: "+
			"the IDENTITY file does not belong to this data; restore the right one or use another --data folder",
			identityFile, s.dir, s.identity.NodeID, s.identity.Incarnation, rec.NodeID, rec.Incarnation)
	}
	return nil
}

// Identity returns the data folder's identity.
func (s *Store) Identity() Identity { return s.identity }

// Close waits for in-flight operations, then closes pebble and releases the
// folder lock. It is idempotent: later calls return the first call's result.
// Operations started after Close began return ErrClosed.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.gate.closeAndWait()
		err := s.db.Close()
		if lerr := s.lock.Close(); err == nil {
			err = lerr
		}
		if err != nil {
			s.closeErr = fmt.Errorf("storage: close %q: %w", s.dir, err)
		}
	})
	return s.closeErr
}
