package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
)

// metaActorEpoch is the meta key of the node's actor epoch (8 bytes,
// big-endian).
const metaActorEpoch = "actor.epoch"

// epoch is the node's actor epoch: a number that names a span of the node's
// life in which it never dropped a key's record it had written. Package
// replica writes dots as node id, incarnation and epoch; whoever drops local
// records (ownership transfer) starts a new epoch first, so that a write
// coordinated here later, without the dropped history, uses a new actor and
// cannot claim to have seen dots it no longer holds.
type epoch struct {
	mu  sync.Mutex
	cur uint64
}

// ActorEpoch returns the node's current actor epoch (0 for a new folder).
func (s *Store) ActorEpoch() uint64 {
	s.epoch.mu.Lock()
	defer s.epoch.mu.Unlock()
	return s.epoch.cur
}

// NewActorEpoch starts a new actor epoch, durably, and returns it.
func (s *Store) NewActorEpoch() (uint64, error) {
	if err := s.enter(); err != nil {
		return 0, err
	}
	defer s.gate.exit()
	s.epoch.mu.Lock()
	defer s.epoch.mu.Unlock()
	next := s.epoch.cur + 1
	if err := s.set(metaKey(metaActorEpoch), binary.BigEndian.AppendUint64(nil, next), true); err != nil {
		return 0, fmt.Errorf("storage: persist actor epoch %d: %w", next, err)
	}
	s.epoch.cur = next
	return next, nil
}

func (s *Store) loadActorEpoch() error {
	v, err := s.get(metaKey(metaActorEpoch))
	switch {
	case errors.Is(err, ErrNotFound):
		return nil
	case err != nil:
		return fmt.Errorf("storage: read actor epoch in %q: %w", s.dir, err)
	case len(v) != 8:
		return fmt.Errorf("storage: read actor epoch in %q: corrupt value of %d bytes", s.dir, len(v))
	}
	s.epoch.cur = binary.BigEndian.Uint64(v)
	return nil
}
