package versioning

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
)

// ErrTooManySiblings is returned by Update when the write would add a sibling
// to a key that already holds the most siblings allowed. The client resolves
// it by reading the key and writing with the read's context.
var ErrTooManySiblings = errors.New("too many siblings")

// Event is one write's dot and the coordinator's wall-clock time of it.
type Event struct {
	Dot      Dot
	Modified int64 // unix microseconds at the coordinator
}

// Sibling is one concurrent version of a key as a client sees it: a value,
// or a tombstone. Concurrent writes of the same content (a client's retry,
// or two clients writing the same bytes) are one sibling that carries the
// events of all of them, so a retried write never shows up twice, yet each
// write is superseded only by a context that saw it.
//
// Invariant: Events is non-empty, sorted by dot, and holds at most one event
// per actor (the newest: a context that covers an actor's newer dot covers
// its older ones too, so the older adds nothing).
type Sibling struct {
	Events      []Event
	Value       []byte
	ContentType string
	Deleted     bool // a tombstone: reads hide it, but its events still supersede
}

// Modified is the time of the sibling's latest write.
func (s *Sibling) Modified() int64 {
	var m int64
	for _, e := range s.Events {
		m = max(m, e.Modified)
	}
	return m
}

// sameContent reports whether two siblings carry the same write as a client
// sees it: value, content type and deletion, whatever their dots.
func (s *Sibling) sameContent(o *Sibling) bool {
	return s.Deleted == o.Deleted && s.ContentType == o.ContentType && bytes.Equal(s.Value, o.Value)
}

// Set is the causal state of one key on one replica: the clock of every write
// seen, and the siblings no write has superseded yet. The zero value (or a nil
// *Set) is the state of a key never written. Sets are values: operations
// return new sets and never modify their inputs.
type Set struct {
	Clock    Clock
	Siblings []Sibling
}

// IsEmpty reports whether the set holds no history at all.
func (s *Set) IsEmpty() bool { return s == nil || (len(s.Clock) == 0 && len(s.Siblings) == 0) }

// Context returns the causal context a reader of s receives: a write that
// carries it supersedes every sibling of s.
func (s *Set) Context() Clock {
	if s == nil {
		return nil
	}
	return s.Clock
}

// Visible returns the siblings a read shows: every sibling but tombstones.
func (s *Set) Visible() []Sibling {
	if s == nil {
		return nil
	}
	out := make([]Sibling, 0, len(s.Siblings))
	for _, sib := range s.Siblings {
		if !sib.Deleted {
			out = append(out, sib)
		}
	}
	return out
}

// NumVisible is len(s.Visible()), without building the slice.
func (s *Set) NumVisible() int {
	if s == nil {
		return 0
	}
	n := 0
	for i := range s.Siblings {
		if !s.Siblings[i].Deleted {
			n++
		}
	}
	return n
}

// ValueBytes is the size of the values the set's siblings hold together:
// what a read that shows every sibling sends, tombstones holding none. The
// object size limits (replica's --max-object-bytes) bound it.
func (s *Set) ValueBytes() int64 {
	if s == nil {
		return 0
	}
	var n int64
	for i := range s.Siblings {
		n += int64(len(s.Siblings[i].Value))
	}
	return n
}

// Deleted reports whether the key has history but every sibling is a
// tombstone: a read answers "not found" and hands out the context.
func (s *Set) Deleted() bool {
	return !s.IsEmpty() && s.NumVisible() == 0
}

// NextCounterFloor returns the smallest counter a new dot of actor a may take
// for a write to this key with the given client context: above anything the
// key's clock or the context already holds for a. Coordinators pass it to a
// never-decreasing sequence, so the dot is fresh both for this key and for
// the node.
func (s *Set) NextCounterFloor(ctx Clock, a Actor) uint64 {
	return max(s.Context().Get(a), ctx.Get(a)) + 1
}

// Update applies a client write coordinated by ev.Dot's actor: every write
// the context covers is superseded, the others stay as concurrent siblings,
// and the new content joins them. A blind write (empty context) therefore
// never overwrites. content's Events are ignored: the write's event is ev.
//
// ev.Dot must be fresh: its counter at least NextCounterFloor(ctx, actor).
// maxSiblings > 0 refuses, with ErrTooManySiblings, a write that would leave
// more than maxSiblings siblings and more than the key had before; a write
// that does not grow the set (one with the full context) always succeeds.
func (s *Set) Update(ctx Clock, ev Event, content Sibling, maxSiblings int) (*Set, error) {
	if ev.Dot.Counter < s.NextCounterFloor(ctx, ev.Dot.Actor) {
		return nil, fmt.Errorf("versioning: dot %s is not fresh for clock %s and context %s", ev.Dot, s.Context(), ctx)
	}
	var old []Sibling
	if s != nil {
		old = s.Siblings
	}
	var b builder
	for i := range old {
		for _, e := range old[i].Events {
			if !ctx.Covers(e.Dot) {
				b.add(&old[i], e)
			}
		}
	}
	b.add(&content, ev)
	out := &Set{Clock: s.Context().Merge(ctx).Add(ev.Dot), Siblings: b.siblings()}
	if maxSiblings > 0 && len(out.Siblings) > maxSiblings && len(out.Siblings) > len(old) {
		return nil, fmt.Errorf("%w: the key has %d siblings, the limit is %d", ErrTooManySiblings, len(old), maxSiblings)
	}
	return out, nil
}

// Merge combines two replicas' states of one key. Each write (event) survives
// when the other side holds it too or has not seen it; a write the other side
// has seen and no longer holds was superseded there. Merge is commutative,
// associative and idempotent; either argument may be nil.
func Merge(a, b *Set) *Set {
	if a.IsEmpty() {
		return b.clone()
	}
	if b.IsEmpty() {
		return a.clone()
	}
	var bld builder
	for i := range a.Siblings {
		for _, e := range a.Siblings[i].Events {
			if b.holds(e.Dot) || !b.Clock.Covers(e.Dot) {
				bld.add(&a.Siblings[i], e)
			}
		}
	}
	for i := range b.Siblings {
		for _, e := range b.Siblings[i].Events {
			if !a.holds(e.Dot) && !a.Clock.Covers(e.Dot) {
				bld.add(&b.Siblings[i], e)
			}
		}
	}
	return &Set{Clock: a.Clock.Merge(b.Clock), Siblings: bld.siblings()}
}

// Equal reports whether two sets hold the same clock and siblings.
func (s *Set) Equal(o *Set) bool {
	if s == o {
		return true
	}
	if s.IsEmpty() || o.IsEmpty() {
		return s.IsEmpty() == o.IsEmpty()
	}
	if !s.Clock.Equal(o.Clock) || len(s.Siblings) != len(o.Siblings) {
		return false
	}
	for i := range s.Siblings {
		a, b := &s.Siblings[i], &o.Siblings[i]
		if !a.sameContent(b) || !slices.Equal(a.Events, b.Events) {
			return false
		}
	}
	return true
}

// Descends reports whether s has seen everything o holds, so that merging o
// into s changes nothing.
func (s *Set) Descends(o *Set) bool { return Merge(s, o).Equal(s) }

// holds reports whether s still holds the write with dot d.
func (s *Set) holds(d Dot) bool {
	for i := range s.Siblings {
		for _, e := range s.Siblings[i].Events {
			if e.Dot == d {
				return true
			}
		}
	}
	return false
}

func (s *Set) clone() *Set {
	if s.IsEmpty() {
		return nil
	}
	return &Set{Clock: slices.Clone(s.Clock), Siblings: slices.Clone(s.Siblings)}
}

// builder gathers surviving events into siblings, grouping events of the same
// content, and restores the sibling invariants.
type builder struct {
	out []Sibling
}

func (b *builder) add(content *Sibling, e Event) {
	for i := range b.out {
		if b.out[i].sameContent(content) {
			b.out[i].Events = append(b.out[i].Events, e)
			return
		}
	}
	b.out = append(b.out, Sibling{
		Events:      []Event{e},
		Value:       content.Value,
		ContentType: content.ContentType,
		Deleted:     content.Deleted,
	})
}

// siblings returns the gathered siblings in canonical form: each sibling's
// events sorted and reduced to the newest per actor, siblings ordered by
// their first event. Canonical form is what makes Equal, and so the merge
// laws, hold on the representation and not only on its meaning.
func (b *builder) siblings() []Sibling {
	for i := range b.out {
		evs := b.out[i].Events
		slices.SortFunc(evs, func(x, y Event) int {
			if x.Dot.Less(y.Dot) {
				return -1
			}
			if y.Dot.Less(x.Dot) {
				return 1
			}
			return 0
		})
		kept := evs[:0]
		for j, e := range evs {
			if j+1 < len(evs) && evs[j+1].Dot.Actor == e.Dot.Actor {
				continue // an older event of the same actor: the newer covers it
			}
			kept = append(kept, e)
		}
		b.out[i].Events = kept
	}
	slices.SortFunc(b.out, func(x, y Sibling) int {
		if x.Events[0].Dot.Less(y.Events[0].Dot) {
			return -1
		}
		return 1
	})
	return b.out
}
