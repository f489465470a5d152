// Package transporttest holds what the tests of package transport and
// package memnet share: a Handler that stores states in memory, records what
// it was asked, and lets a test inject behaviour; and a builder of states.
// It is used by tests only.
package transporttest

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	"dynakv/merkle"
	"dynakv/replica"
	"dynakv/versioning"
)

// Handler is an in-memory transport.Handler. Set Hook before the first call.
type Handler struct {
	// Hook, when set, runs first in every call with the call's ctx and
	// operation ("read", "replicate", "replicate-batch", "coordinate", "store-hint",
	// "held-hints", "tree-hashes", "tree-listing", "exchange-states",
	// "reap-tombstones", as memnet's Op names); a non-nil error is
	// returned as the call's error.
	Hook func(ctx context.Context, op string) error

	mu        sync.Mutex
	states    map[string]*versioning.Set            // by key
	hints     map[string]map[string]*versioning.Set // by target, then key
	calls     map[string]int                        // by operation
	lastWrite replica.Write
	lastOpts  replica.WriteOptions
	counter   uint64
}

// NewHandler returns an empty handler.
func NewHandler() *Handler {
	return &Handler{
		states: make(map[string]*versioning.Set),
		hints:  make(map[string]map[string]*versioning.Set),
		calls:  make(map[string]int),
	}
}

func (h *Handler) enter(ctx context.Context, op string) error {
	h.mu.Lock()
	h.calls[op]++
	h.mu.Unlock()
	if h.Hook != nil {
		return h.Hook(ctx, op)
	}
	return nil
}

// Read returns the stored state of key.
func (h *Handler) Read(ctx context.Context, _ uint32, key []byte) (*versioning.Set, error) {
	if err := h.enter(ctx, "read"); err != nil {
		return nil, err
	}
	return h.State(key), nil
}

// Replicate merges state into the stored one.
func (h *Handler) Replicate(ctx context.Context, _ uint32, key []byte, state *versioning.Set) error {
	if err := h.enter(ctx, "replicate"); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.states[string(key)] = versioning.Merge(h.states[string(key)], state)
	return nil
}

// ReplicateBatch merges every entry's state into the stored one.
func (h *Handler) ReplicateBatch(ctx context.Context, entries []replica.KeyState) error {
	if err := h.enter(ctx, "replicate-batch"); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range entries {
		h.states[string(e.Key)] = versioning.Merge(h.states[string(e.Key)], e.State)
	}
	return nil
}

// Coordinate applies w as a write of actor "remote" and records w and opts.
func (h *Handler) Coordinate(ctx context.Context, key []byte, w replica.Write, opts replica.WriteOptions) (*versioning.Set, error) {
	if err := h.enter(ctx, "coordinate"); err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lastWrite, h.lastOpts = w, opts
	cur := h.states[string(key)]
	actor := versioning.NewActor("remote", 1)
	h.counter = max(h.counter+1, cur.NextCounterFloor(w.Context, actor))
	ev := versioning.Event{Dot: versioning.Dot{Actor: actor, Counter: h.counter}, Modified: 1_700_000_000_000_000}
	next, err := cur.Update(w.Context, ev, versioning.Sibling{Value: w.Value, ContentType: w.ContentType, Deleted: w.Delete}, 0)
	if err != nil {
		return nil, err
	}
	h.states[string(key)] = next
	return next, nil
}

// StoreHint merges state into the hint held for target and key.
func (h *Handler) StoreHint(ctx context.Context, target string, _ uint32, key []byte, state *versioning.Set) error {
	if err := h.enter(ctx, "store-hint"); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.hints[target] == nil {
		h.hints[target] = make(map[string]*versioning.Set)
	}
	h.hints[target][string(key)] = versioning.Merge(h.hints[target][string(key)], state)
	return nil
}

// HeldHints returns the hints held for key, by target.
func (h *Handler) HeldHints(ctx context.Context, _ uint32, key []byte) (map[string]*versioning.Set, error) {
	if err := h.enter(ctx, "held-hints"); err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	held := make(map[string]*versioning.Set)
	for target, byKey := range h.hints {
		if s, ok := byKey[string(key)]; ok {
			held[target] = s
		}
	}
	return held, nil
}

// TreeHashes answers from a tree of the request's shape over every stored
// key (partitions are not told apart).
func (h *Handler) TreeHashes(ctx context.Context, _ uint32, req merkle.Request) (merkle.Response, error) {
	if err := h.enter(ctx, "tree-hashes"); err != nil {
		return merkle.Response{}, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	t, err := merkle.New(req.Shape)
	if err != nil {
		return merkle.Response{}, err
	}
	for k, s := range h.states {
		t.Insert([]byte(k), merkle.VersionHash(s))
	}
	return merkle.Answer(t, req)
}

// TreeListing lists the stored keys in buckets, in key order.
func (h *Handler) TreeListing(ctx context.Context, _ uint32, shape merkle.Shape, buckets []int) (*merkle.Listing, error) {
	if err := h.enter(ctx, "tree-listing"); err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	l := &merkle.Listing{Shape: shape, Buckets: buckets}
	for _, k := range slices.Sorted(maps.Keys(h.states)) {
		if _, ok := slices.BinarySearch(buckets, shape.BucketOf([]byte(k))); ok && !h.states[k].IsEmpty() {
			l.Entries = append(l.Entries, merkle.Entry{Key: []byte(k), Version: merkle.VersionHash(h.states[k])})
		}
	}
	return l, nil
}

// ListKeys lists the stored keys with a visible sibling after q.After and
// with q.Prefix, in key order, up to q.Limit (partitions are not told
// apart; q.MaxScan is not counted).
func (h *Handler) ListKeys(ctx context.Context, _ uint32, q replica.ListQuery) (replica.ListPage, error) {
	if err := h.enter(ctx, "list-keys"); err != nil {
		return replica.ListPage{}, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	page := replica.ListPage{Done: true}
	for _, k := range slices.Sorted(maps.Keys(h.states)) {
		if k <= string(q.After) || !strings.HasPrefix(k, string(q.Prefix)) || h.states[k].NumVisible() == 0 {
			continue
		}
		if len(page.Keys) == q.Limit {
			page.Done, page.Last = false, page.Keys[q.Limit-1]
			break
		}
		page.Keys = append(page.Keys, []byte(k))
		page.Scanned++
	}
	return page, nil
}

// ExchangeStates merges each entry into the stored state and returns the
// result.
func (h *Handler) ExchangeStates(ctx context.Context, entries []replica.KeyState) ([]replica.KeyState, error) {
	if err := h.enter(ctx, "exchange-states"); err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]replica.KeyState, len(entries))
	for i, e := range entries {
		merged := versioning.Merge(h.states[string(e.Key)], e.State)
		if !merged.IsEmpty() {
			h.states[string(e.Key)] = merged
		}
		out[i] = replica.KeyState{Partition: e.Partition, Key: bytes.Clone(e.Key), State: merged}
	}
	return out, nil
}

// ReapTombstones deletes each key whose stored state equals the entry's.
func (h *Handler) ReapTombstones(ctx context.Context, entries []replica.KeyState) ([]bool, error) {
	if err := h.enter(ctx, "reap-tombstones"); err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]bool, len(entries))
	for i, e := range entries {
		if cur, ok := h.states[string(e.Key)]; ok && e.State.Deleted() && cur.Equal(e.State) {
			delete(h.states, string(e.Key))
			out[i] = true
		}
	}
	return out, nil
}

// Hint returns the hint held for target and key.
func (h *Handler) Hint(target string, key []byte) *versioning.Set {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.hints[target][string(key)]
}

// State returns the stored state of key.
func (h *Handler) State(key []byte) *versioning.Set {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.states[string(key)]
}

// Calls returns how many calls of op reached the handler.
func (h *Handler) Calls(op string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.calls[op]
}

// LastWrite returns the write and options of the last Coordinate call.
func (h *Handler) LastWrite() (replica.Write, replica.WriteOptions) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lastWrite, h.lastOpts
}

// Tombstone returns a state whose only sibling is a tombstone that
// supersedes s.
func Tombstone(tb testing.TB, s *versioning.Set) *versioning.Set {
	tb.Helper()
	ev := versioning.Event{Dot: versioning.Dot{Actor: versioning.NewActor("deleter", 1), Counter: 1}, Modified: 1_700_000_000_000_000}
	out, err := s.Update(s.Context(), ev, versioning.Sibling{Deleted: true}, 0)
	if err != nil {
		tb.Fatalf("building a tombstone: %v", err)
	}
	return out
}

// State returns a state holding one concurrent sibling per value, each
// written blind by its own actor, so it has a multi-entry clock.
func State(tb testing.TB, values ...string) *versioning.Set {
	tb.Helper()
	var s *versioning.Set
	for i, v := range values {
		ev := versioning.Event{
			Dot:      versioning.Dot{Actor: versioning.NewActor(fmt.Sprintf("n%d", i+1), 1), Counter: uint64(i + 1)},
			Modified: 1_700_000_000_000_000 + int64(i),
		}
		next, err := s.Update(nil, ev, versioning.Sibling{Value: []byte(v), ContentType: "text/plain"}, 0)
		if err != nil {
			tb.Fatalf("building a state: %v", err)
		}
		s = next
	}
	return s
}
