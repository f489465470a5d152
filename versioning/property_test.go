package versioning

import (
	"fmt"
	"testing"

	"pgregory.net/rapid"
)

// history runs a random execution of a small cluster: writes and deletes
// coordinated by random replicas with the context of a random replica's
// read (or none), interleaved with random state merges, as read repair,
// handoff and anti-entropy would deliver them. Merge's algebra only has to
// hold for states a real execution can reach, so the generators build states
// this way rather than from arbitrary bytes.
type history struct {
	replicas []*Set
	nodes    []*node
	seen     []*Set // every state any replica held, to draw merge operands from

	written    map[Dot]Sibling // every write ever made
	superseded map[Dot]bool    // dots some write's context covered
}

func newHistory(t *rapid.T) *history {
	n := rapid.IntRange(1, 4).Draw(t, "replicas")
	h := &history{replicas: make([]*Set, n), written: map[Dot]Sibling{}, superseded: map[Dot]bool{}}
	for i := range n {
		h.nodes = append(h.nodes, &node{actor: Actor(fmt.Sprintf("n%d.%d", i, rapid.IntRange(1, 2).Draw(t, "incarnation")))})
	}
	return h
}

func (h *history) step(t *rapid.T) {
	i := rapid.IntRange(0, len(h.replicas)-1).Draw(t, "at")
	switch rapid.IntRange(0, 3).Draw(t, "op") {
	case 0, 1:
		var ctx Clock
		if rapid.Bool().Draw(t, "withContext") {
			ctx = h.replicas[rapid.IntRange(0, len(h.replicas)-1).Draw(t, "readFrom")].Context()
		}
		sib := Sibling{
			Value:       []byte(rapid.SampledFrom([]string{"x", "y", "z"}).Draw(t, "value")),
			ContentType: "text/plain",
			Deleted:     rapid.IntRange(0, 5).Draw(t, "del") == 0,
		}
		if sib.Deleted {
			sib.Value = nil
		}
		// The context came from a replica's clock, and a replica has seen
		// every dot its clock covers: the client's read saw those writes.
		for d := range h.written {
			if ctx.Covers(d) {
				h.superseded[d] = true
			}
		}
		n := h.nodes[i]
		n.seq = max(n.seq+1, h.replicas[i].NextCounterFloor(ctx, n.actor))
		ev := Event{Dot{n.actor, n.seq}, int64(len(h.written))}
		next, err := h.replicas[i].Update(ctx, ev, sib, 0)
		if err != nil {
			t.Fatalf("update: %v", err)
		}
		h.written[ev.Dot] = sib
		h.replicas[i] = next
	default:
		j := rapid.IntRange(0, len(h.replicas)-1).Draw(t, "from")
		h.replicas[i] = Merge(h.replicas[i], h.replicas[j])
	}
	h.seen = append(h.seen, h.replicas[i])
}

func drawHistory(t *rapid.T) *history {
	h := newHistory(t)
	steps := rapid.IntRange(1, 40).Draw(t, "steps")
	for range steps {
		h.step(t)
	}
	return h
}

func (h *history) draw(t *rapid.T, label string) *Set {
	if rapid.IntRange(0, 9).Draw(t, label+"Nil") == 0 {
		return nil
	}
	return h.seen[rapid.IntRange(0, len(h.seen)-1).Draw(t, label)]
}

func TestMergeIsCommutative(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		h := drawHistory(t)
		a, b := h.draw(t, "a"), h.draw(t, "b")
		if ab, ba := Merge(a, b), Merge(b, a); !ab.Equal(ba) {
			t.Fatalf("Merge(a,b) = %v\nMerge(b,a) = %v", ab, ba)
		}
	})
}

func TestMergeIsAssociative(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		h := drawHistory(t)
		a, b, c := h.draw(t, "a"), h.draw(t, "b"), h.draw(t, "c")
		if l, r := Merge(Merge(a, b), c), Merge(a, Merge(b, c)); !l.Equal(r) {
			t.Fatalf("(a+b)+c = %v\na+(b+c) = %v", l, r)
		}
	})
}

func TestMergeIsIdempotent(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		h := drawHistory(t)
		a := h.draw(t, "a")
		if aa := Merge(a, a); !aa.Equal(a) {
			t.Fatalf("Merge(a,a) = %v, want %v", aa, a)
		}
		// Merging what a state already descends from changes nothing.
		b := h.draw(t, "b")
		ab := Merge(a, b)
		if again := Merge(ab, b); !again.Equal(ab) {
			t.Fatalf("merging b twice changed the result: %v vs %v", again, ab)
		}
		if !ab.Descends(a) || !ab.Descends(b) {
			t.Fatalf("merge does not descend from its operands")
		}
	})
}

// No write is ever lost: once every replica's state is merged, each write is
// still a sibling, or a later write's context saw it (directly or through an
// identical concurrent write that it collapsed into).
func TestNoWriteIsLost(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		h := drawHistory(t)
		var all *Set
		for _, r := range h.replicas {
			all = Merge(all, r)
		}
		if all == nil {
			return // nothing was written
		}
		for _, r := range h.replicas {
			if !Merge(r, all).Equal(all) {
				t.Fatalf("replica %v does not converge into %v", r, all)
			}
		}
		present := map[Dot]bool{}
		for _, s := range all.Siblings {
			for _, e := range s.Events {
				present[e.Dot] = true
			}
		}
		for dot, w := range h.written {
			if present[dot] || h.superseded[dot] {
				continue
			}
			if !all.Clock.Covers(dot) {
				t.Fatalf("write %s is not covered by the converged clock %s", dot, all.Clock)
			}
			collapsed := false
			for d2, w2 := range h.written {
				if d2 != dot && w2.sameContent(&w) && (present[d2] || h.superseded[d2]) {
					collapsed = true
				}
			}
			if !collapsed {
				t.Fatalf("write %s (%q) lost: not present, not superseded, not collapsed; final %v", dot, w.Value, all)
			}
		}
		if len(all.Clock) > len(h.nodes) {
			t.Fatalf("clock %s has more entries than the %d coordinators", all.Clock, len(h.nodes))
		}
	})
}

func TestEncodingRoundTripsReachableStates(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		h := drawHistory(t)
		a := h.draw(t, "a")
		enc := a.AppendBinary(nil)
		if bound := a.maxEncodedLen(); len(enc) > bound {
			// AppendBinary sizes its buffer from the bound: past it, the
			// encoding reallocates on every write.
			t.Fatalf("encoding of %v is %d bytes, over its bound %d", a, len(enc), bound)
		}
		if n, want := a.NumVisible(), len(a.Visible()); n != want {
			t.Fatalf("NumVisible of %v is %d, Visible has %d", a, n, want)
		}
		got, err := DecodeSet(enc)
		if err != nil || !got.Equal(a) {
			t.Fatalf("round trip of %v: %v, %v", a, got, err)
		}
		ctx, err := DecodeContext(EncodeContext(a.Context()))
		if err != nil || !ctx.Equal(a.Context()) {
			t.Fatalf("context round trip of %v: %v, %v", a.Context(), ctx, err)
		}
	})
}
