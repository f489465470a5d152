package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
)

// seqBlock is how many numbers one persisted lease covers. A restart skips
// at most this many numbers; the hot path only touches disk once per block.
const seqBlock = 1 << 16

// seqLease hands out strictly increasing numbers that are never reused, even
// across crashes, by persisting a ceiling before handing out numbers below
// it.
//
// Invariant: every number ever returned is < the last ceiling persist
// accepted. Numbers are only returned after the persist that covers them has
// returned; after a crash the next lease starts at the persisted ceiling,
// which is above everything returned before.
//
// Numbers are claimed with an atomic add on last (so concurrent callers get
// distinct numbers without retries) and returned at once if below bound, the
// in-memory copy of the persisted ceiling. bound only grows, and only after
// the persist returned, so a stale read of it at worst sends a caller to the
// slow path needlessly.
type seqLease struct {
	last    atomic.Uint64 // the largest number claimed (0: none)
	bound   atomic.Uint64 // persisted ceiling: numbers < bound may be returned
	mu      sync.Mutex    // serialises persist
	block   uint64
	persist func(ceiling uint64) error // durably records a new ceiling
}

// newSeqLease continues after a persisted ceiling (0 for a new folder). It
// returns nothing until it has persisted a new ceiling above its first number.
func newSeqLease(ceiling, block uint64, persist func(uint64) error) *seqLease {
	l := &seqLease{block: block, persist: persist}
	if ceiling > 0 {
		// ceiling itself was never returned (returned numbers are below
		// it), so it is the next number to hand out.
		l.last.Store(ceiling - 1)
	}
	l.bound.Store(ceiling)
	return l
}

// next returns a number greater than every number returned before (by this
// lease and by any lease on an earlier persisted ceiling) and >= atLeast.
func (l *seqLease) next(atLeast uint64) (uint64, error) {
	// Raise last to atLeast-1 so that the add below claims >= atLeast.
	for {
		cur := l.last.Load()
		if atLeast == 0 || cur >= atLeast-1 || l.last.CompareAndSwap(cur, atLeast-1) {
			break
		}
	}
	n := l.last.Add(1)
	if n == 0 || n > math.MaxUint64-l.block {
		// Wrapped, or too close to wrapping to persist a ceiling above n.
		// Leave last saturated so every later call fails too.
		l.last.Store(math.MaxUint64)
		return 0, ErrSequenceExhausted
	}
	if n < l.bound.Load() {
		return n, nil
	}
	return n, l.extend(n)
}

// extend persists a ceiling above n (and above every number claimed so far,
// so concurrent callers waiting here are covered by one persist).
func (l *seqLease) extend(n uint64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n < l.bound.Load() {
		return nil // another caller's persist covers n
	}
	ceiling := max(n, l.last.Load()) + l.block
	if ceiling < n {
		return ErrSequenceExhausted
	}
	if err := l.persist(ceiling); err != nil {
		return err
	}
	l.bound.Store(ceiling)
	return nil
}

// NextSequence returns a number greater than every number it returned
// before in this data folder's life, including across crashes and restarts,
// and >= atLeast. It never returns 0. Numbers may be skipped (up to one
// lease block per restart), never reused. Used to mint version-vector dots.
func (s *Store) NextSequence(atLeast uint64) (uint64, error) {
	if err := s.enter(); err != nil {
		return 0, err
	}
	defer s.gate.exit()
	n, err := s.seq.next(atLeast)
	if err != nil {
		return 0, fmt.Errorf("storage: next sequence (at least %d) in %q: %w", atLeast, s.dir, err)
	}
	return n, nil
}

// loadSequence starts the lease from the persisted ceiling. The ceiling is
// always written with pebble.Sync, whatever Options.Sync says: losing it
// would let a restarted node reuse dots.
func (s *Store) loadSequence() (*seqLease, error) {
	k := metaKey(metaSeqCeiling)
	var ceiling uint64
	v, err := s.get(k)
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return nil, fmt.Errorf("storage: read sequence ceiling in %q: %w", s.dir, err)
	case len(v) != 8:
		return nil, fmt.Errorf("storage: read sequence ceiling in %q: corrupt value of %d bytes", s.dir, len(v))
	default:
		ceiling = binary.BigEndian.Uint64(v)
	}
	persist := func(c uint64) error {
		if err := s.set(k, binary.BigEndian.AppendUint64(nil, c), true); err != nil {
			return fmt.Errorf("persist ceiling %d: %w", c, err)
		}
		return nil
	}
	return newSeqLease(ceiling, seqBlock, persist), nil
}
