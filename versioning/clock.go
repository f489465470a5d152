package versioning

import (
	"sort"
	"strconv"
	"strings"
)

// An actor's name is "<node id>.<incarnation>" or
// "<node id>.<incarnation>.<epoch>", numbers in base 36; it is opaque to
// everything but this file.

// Actor names the writer of a dot: a node id plus the incarnation of the
// node's data folder. A node that lost its data comes back with a new
// incarnation and so writes as a new actor, never reusing dots that other
// replicas already count as seen.
type Actor string

// NewActor returns the actor for a node id and data-folder incarnation.
func NewActor(nodeID string, incarnation uint64) Actor {
	return Actor(nodeID + "." + strconv.FormatUint(incarnation, 36))
}

// NewEpochActor returns the actor for a node id, data-folder incarnation and
// actor epoch. Epoch 0 is the plain NewActor; a node starts a new epoch when
// it drops records it wrote (see storage.ActorEpoch), so that it never again
// writes as an actor whose history it no longer holds.
func NewEpochActor(nodeID string, incarnation, epoch uint64) Actor {
	if epoch == 0 {
		return NewActor(nodeID, incarnation)
	}
	return Actor(string(NewActor(nodeID, incarnation)) + "." + strconv.FormatUint(epoch, 36))
}

// Dot identifies one write: the counter-th event of an actor.
type Dot struct {
	Actor   Actor
	Counter uint64
}

// Less orders dots by actor, then counter. It is the canonical sibling order.
func (d Dot) Less(o Dot) bool {
	if d.Actor != o.Actor {
		return d.Actor < o.Actor
	}
	return d.Counter < o.Counter
}

func (d Dot) String() string { return string(d.Actor) + ":" + strconv.FormatUint(d.Counter, 10) }

// Entry is one actor's position in a Clock.
type Entry struct {
	Actor   Actor
	Counter uint64
}

// Clock is a version vector: for each actor, the highest counter seen. A
// clock covers dot (a, n) when its counter for a is at least n, meaning the
// holder has seen that write (and every earlier write of a to the same key).
//
// Invariant: entries are sorted by actor, actors are distinct and counters are
// positive. The zero value is the empty clock. Clocks are values: operations
// return new clocks and never modify their receiver.
type Clock []Entry

// Get returns the counter of actor a, 0 if absent.
func (c Clock) Get(a Actor) uint64 {
	i := sort.Search(len(c), func(i int) bool { return c[i].Actor >= a })
	if i < len(c) && c[i].Actor == a {
		return c[i].Counter
	}
	return 0
}

// Covers reports whether the clock has seen dot d.
func (c Clock) Covers(d Dot) bool { return c.Get(d.Actor) >= d.Counter }

// Merge returns the pointwise maximum of c and o.
func (c Clock) Merge(o Clock) Clock {
	out := make(Clock, 0, max(len(c), len(o)))
	i, j := 0, 0
	for i < len(c) && j < len(o) {
		switch {
		case c[i].Actor < o[j].Actor:
			out = append(out, c[i])
			i++
		case c[i].Actor > o[j].Actor:
			out = append(out, o[j])
			j++
		default:
			out = append(out, Entry{c[i].Actor, max(c[i].Counter, o[j].Counter)})
			i++
			j++
		}
	}
	out = append(out, c[i:]...)
	return append(out, o[j:]...)
}

// Add returns c raised to cover dot d.
func (c Clock) Add(d Dot) Clock { return c.Merge(Clock{{d.Actor, d.Counter}}) }

// Equal reports whether two clocks are identical.
func (c Clock) Equal(o Clock) bool {
	if len(c) != len(o) {
		return false
	}
	for i := range c {
		if c[i] != o[i] {
			return false
		}
	}
	return true
}

func (c Clock) String() string {
	var b strings.Builder
	b.WriteByte('{')
	for i, e := range c {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(Dot(e).String())
	}
	b.WriteByte('}')
	return b.String()
}
