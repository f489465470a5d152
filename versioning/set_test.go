package versioning

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

// node simulates a coordinator: an actor with a never-decreasing sequence,
// as storage.NextSequence provides.
type node struct {
	actor Actor
	seq   uint64
}

func (n *node) write(t testing.TB, s *Set, ctx Clock, value string) *Set {
	t.Helper()
	return n.apply(t, s, ctx, Sibling{Value: []byte(value), ContentType: "text/plain"})
}

func (n *node) delete(t testing.TB, s *Set, ctx Clock) *Set {
	t.Helper()
	return n.apply(t, s, ctx, Sibling{Deleted: true})
}

func (n *node) apply(t testing.TB, s *Set, ctx Clock, sib Sibling) *Set {
	t.Helper()
	n.seq = max(n.seq+1, s.NextCounterFloor(ctx, n.actor))
	out, err := s.Update(ctx, Event{Dot: Dot{n.actor, n.seq}}, sib, 0)
	if err != nil {
		t.Fatalf("update at %s: %v", n.actor, err)
	}
	return out
}

func values(s *Set) []string {
	var out []string
	for _, sib := range s.Visible() {
		out = append(out, string(sib.Value))
	}
	slices.Sort(out)
	return out
}

func wantValues(t *testing.T, s *Set, want ...string) {
	t.Helper()
	got := values(s)
	slices.Sort(want)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("visible values = %q, want %q (state %v)", got, want, s)
	}
}

func TestWriteWithReadContextSupersedesExactlyWhatTheReadSaw(t *testing.T) {
	a, b := &node{actor: "a.1"}, &node{actor: "b.1"}
	ra := a.write(t, nil, nil, "v1")
	rb := b.write(t, nil, nil, "v2")
	replica := Merge(ra, rb)
	wantValues(t, replica, "v1", "v2")
	readCtx := replica.Context()

	// A concurrent blind write lands after the read: the read did not see it.
	replica = a.write(t, replica, nil, "v3")
	wantValues(t, replica, "v1", "v2", "v3")

	replica = b.write(t, replica, readCtx, "resolved")
	wantValues(t, replica, "v3", "resolved")
}

func TestTwoWritesWithTheSameContextThroughTheSameNodeAreBothKept(t *testing.T) {
	a := &node{actor: "a.1"}
	s := a.write(t, nil, nil, "base")
	ctx := s.Context()
	s = a.write(t, s, ctx, "client1")
	s = a.write(t, s, ctx, "client2")
	wantValues(t, s, "client1", "client2")
}

func TestBlindWriteNeverOverwrites(t *testing.T) {
	a := &node{actor: "a.1"}
	s := a.write(t, nil, nil, "one")
	s = a.write(t, s, nil, "two")
	s = a.write(t, s, nil, "three")
	wantValues(t, s, "one", "two", "three")
}

func TestRetriedWriteCollapsesAndStaysCollapsed(t *testing.T) {
	a, b := &node{actor: "a.1"}, &node{actor: "b.1"}
	base := a.write(t, nil, nil, "base")
	ctx := base.Context()

	// The same write retried through the same node: one sibling.
	s := a.write(t, base, ctx, "new")
	s = a.write(t, s, ctx, "new")
	wantValues(t, s, "new")

	// Retried through another node that had the base too: one sibling
	// after the replicas merge, whichever way round.
	other := b.write(t, base, ctx, "new")
	m1, m2 := Merge(s, other), Merge(other, s)
	wantValues(t, m1, "new")
	if !m1.Equal(m2) {
		t.Fatalf("merge not commutative after collapse: %v vs %v", m1, m2)
	}
	// The clock covers both dots, so neither copy comes back.
	if got := len(m1.Siblings[0].Events); got != 2 {
		t.Fatalf("the collapsed sibling carries %d events, want both writes'", got)
	}
	for _, d := range []Dot{s.Siblings[0].Events[0].Dot, other.Siblings[0].Events[0].Dot} {
		if !m1.Clock.Covers(d) {
			t.Fatalf("merged clock %s does not cover %s", m1.Clock, d)
		}
	}
	wantValues(t, Merge(m1, other), "new")
	wantValues(t, Merge(Merge(m1, s), other), "new")
}

func TestTombstoneIsHiddenAndCarriesAContext(t *testing.T) {
	a, b := &node{actor: "a.1"}, &node{actor: "b.1"}
	s := a.write(t, nil, nil, "v")
	s = a.delete(t, s, s.Context())
	if !s.Deleted() || len(s.Visible()) != 0 {
		t.Fatalf("deleted key still visible: %v", s)
	}
	if len(s.Context()) == 0 {
		t.Fatal("a tombstone must hand out a context")
	}
	// A replica that missed the delete cannot bring the value back.
	stale := Merge(nil, s)
	stale.Siblings = []Sibling{{Events: []Event{{Dot: Dot{"a.1", 1}}}, Value: []byte("v"), ContentType: "text/plain"}}
	stale.Clock = Clock{{"a.1", 1}}
	if merged := Merge(s, stale); !merged.Deleted() {
		t.Fatalf("stale replica resurrected the value: %v", merged)
	}
	// A write with the tombstone's context supersedes it.
	s = b.write(t, s, s.Context(), "again")
	wantValues(t, s, "again")
	if len(s.Siblings) != 1 {
		t.Fatalf("tombstone not superseded: %v", s.Siblings)
	}
}

func TestConcurrentDeleteAndWriteKeepsTheWrite(t *testing.T) {
	a, b := &node{actor: "a.1"}, &node{actor: "b.1"}
	base := a.write(t, nil, nil, "v")
	del := a.delete(t, base, base.Context())
	upd := b.write(t, base, base.Context(), "w")
	m := Merge(del, upd)
	wantValues(t, m, "w")
	if len(m.Siblings) != 2 {
		t.Fatalf("want the tombstone kept as a hidden sibling, got %v", m.Siblings)
	}
}

func TestClockIsBoundedByCoordinatingNodes(t *testing.T) {
	nodes := []*node{{actor: "a.1"}, {actor: "b.1"}, {actor: "c.1"}}
	replicas := make([]*Set, len(nodes))
	for i := range 3000 {
		n := i % len(nodes)
		// Each of many clients writes with the context of some replica's read.
		ctx := replicas[(i*7)%len(nodes)].Context()
		replicas[n] = nodes[n].write(t, replicas[n], ctx, fmt.Sprintf("client-%d", i))
		if i%5 == 0 {
			replicas[(n+1)%3] = Merge(replicas[(n+1)%3], replicas[n])
		}
	}
	for _, r := range replicas {
		if len(r.Clock) > len(nodes) {
			t.Fatalf("clock has %d entries after 3000 writes by %d nodes: %s", len(r.Clock), len(nodes), r.Clock)
		}
	}
}

func TestSiblingLimit(t *testing.T) {
	a := &node{actor: "a.1"}
	var s *Set
	for i := range 3 {
		s = a.write(t, s, nil, fmt.Sprint(i))
	}
	a.seq++
	ev := Event{Dot: Dot{"a.1", a.seq}}
	_, err := s.Update(nil, ev, Sibling{Value: []byte("fourth")}, 3)
	if !errors.Is(err, ErrTooManySiblings) {
		t.Fatalf("fourth sibling past a limit of 3: err = %v, want ErrTooManySiblings", err)
	}
	// A retry of a value already there does not grow the set: allowed.
	if _, err := s.Update(nil, ev, Sibling{Value: []byte("2"), ContentType: "text/plain"}, 3); err != nil {
		t.Fatalf("a write that does not grow the set was refused: %v", err)
	}
	// A write with the full context always succeeds and resolves.
	out, err := s.Update(s.Context(), ev, Sibling{Value: []byte("resolved")}, 3)
	if err != nil {
		t.Fatalf("write with the full context refused: %v", err)
	}
	wantValues(t, out, "resolved")
	// Past the limit already (merges never refuse), a write that shrinks the set succeeds.
	big := s
	for i := range 5 {
		big = (&node{actor: Actor(fmt.Sprintf("z%d.1", i))}).write(t, big, nil, fmt.Sprint("z", i))
	}
	partial := Clock{{"a.1", a.seq - 1}}
	a.seq++
	if _, err := big.Update(partial, Event{Dot: Dot{"a.1", a.seq}}, Sibling{Value: []byte("shrink")}, 3); err != nil {
		t.Fatalf("a write that shrinks an oversized set was refused: %v", err)
	}
}

func TestValueBytesCountsEverySiblingButTombstones(t *testing.T) {
	a, b := &node{actor: "a.1"}, &node{actor: "b.1"}
	s := a.write(t, nil, nil, "12345")
	s = Merge(s, b.write(t, nil, nil, "123"))
	if got := s.ValueBytes(); got != 8 {
		t.Fatalf("two siblings of 5 and 3 bytes: ValueBytes = %d, want 8", got)
	}
	if got := a.delete(t, s, s.Context()).ValueBytes(); got != 0 {
		t.Fatalf("a tombstone: ValueBytes = %d, want 0", got)
	}
	if got := (*Set)(nil).ValueBytes(); got != 0 {
		t.Fatalf("nil set: ValueBytes = %d", got)
	}
}

func TestUpdateRefusesAStaleDot(t *testing.T) {
	a := &node{actor: "a.1"}
	s := a.write(t, nil, nil, "v")
	if _, err := s.Update(nil, s.Siblings[0].Events[0], Sibling{Value: []byte("w")}, 0); err == nil {
		t.Fatal("a reused dot was accepted")
	}
	ctx := Clock{{"a.1", 50}}
	if _, err := s.Update(ctx, Event{Dot: Dot{"a.1", 50}}, Sibling{Value: []byte("w")}, 0); err == nil {
		t.Fatal("a dot the client's context already covers was accepted")
	}
}

func TestActorsOfDifferentIncarnationsDiffer(t *testing.T) {
	if NewActor("n1", 1) == NewActor("n1", 2) {
		t.Fatal("incarnations must give different actors")
	}
	if NewEpochActor("n1", 1, 0) != NewActor("n1", 1) || NewEpochActor("n1", 1, 1) == NewActor("n1", 1) || NewEpochActor("n1", 1, 1) == NewEpochActor("n1", 1, 2) {
		t.Fatal("epochs must give different actors, and epoch 0 the plain one")
	}
}

// A node that lost its data comes back as a new incarnation: its writes are
// not mistaken for ones the other replicas have already seen.
func TestNewIncarnationWritesAreKept(t *testing.T) {
	old := &node{actor: NewActor("n1", 1)}
	peer := &node{actor: NewActor("n2", 7)}
	s := old.write(t, nil, nil, "before")
	s = old.write(t, s, s.Context(), "before2")
	elsewhere := peer.write(t, s, s.Context(), "peer")

	reborn := &node{actor: NewActor("n1", 2)} // fresh folder, sequence from zero
	fresh := reborn.write(t, nil, nil, "after")
	m := Merge(elsewhere, fresh)
	wantValues(t, m, "after", "peer")
}
