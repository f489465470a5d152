package merkle

import (
	"testing"

	"dynakv/versioning"
)

func dot(a string, n uint64) versioning.Dot {
	return versioning.Dot{Actor: versioning.Actor(a), Counter: n}
}

func write(t *testing.T, s *versioning.Set, ctx versioning.Clock, d versioning.Dot, value string) *versioning.Set {
	t.Helper()
	out, err := s.Update(ctx, versioning.Event{Dot: d, Modified: int64(d.Counter)}, versioning.Sibling{Value: []byte(value)}, 0)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestVersionHashOfNoHistoryIsAbsent(t *testing.T) {
	if h := VersionHash(nil); h != Absent {
		t.Fatalf("VersionHash(nil) = %#x", h)
	}
	if h := VersionHash(&versioning.Set{}); h != Absent {
		t.Fatalf("VersionHash(empty) = %#x", h)
	}
	if h := VersionHash(write(t, nil, nil, dot("a.1", 1), "v")); h == Absent {
		t.Fatal("a written key hashed to Absent")
	}
}

func TestVersionHashEqualForEqualHistories(t *testing.T) {
	// Two replicas that received concurrent writes in opposite orders hold
	// the same Set and must hash equal.
	x := write(t, nil, nil, dot("a.1", 1), "x")
	y := write(t, nil, nil, dot("b.1", 1), "y")
	ab, ba := versioning.Merge(x, y), versioning.Merge(y, x)
	if VersionHash(ab) != VersionHash(ba) {
		t.Fatal("equal merged sets hash differently")
	}
	if VersionHash(ab) == VersionHash(x) {
		t.Fatal("a merge that added a sibling kept the hash")
	}
}

func TestVersionHashIgnoresValuesAndTimes(t *testing.T) {
	// A dot names one write, so value, content type and timestamp add
	// nothing to the history: the hash leaves them out.
	base := &versioning.Set{
		Clock:    versioning.Clock{{Actor: "a.1", Counter: 2}},
		Siblings: []versioning.Sibling{{Events: []versioning.Event{{Dot: dot("a.1", 2), Modified: 10}}, Value: []byte("v")}},
	}
	other := &versioning.Set{
		Clock:    base.Clock,
		Siblings: []versioning.Sibling{{Events: []versioning.Event{{Dot: dot("a.1", 2), Modified: 99}}, Value: []byte("w"), ContentType: "x/y"}},
	}
	if VersionHash(base) != VersionHash(other) {
		t.Fatal("value, content type or timestamp changed the version hash")
	}
}

func TestVersionHashSeesEveryPartOfTheHistory(t *testing.T) {
	sib := func(deleted bool, dots ...versioning.Dot) versioning.Sibling {
		s := versioning.Sibling{Deleted: deleted}
		for _, d := range dots {
			s.Events = append(s.Events, versioning.Event{Dot: d})
		}
		return s
	}
	clock := versioning.Clock{{Actor: "a.1", Counter: 2}, {Actor: "b.1", Counter: 1}}
	sets := map[string]*versioning.Set{
		"base":            {Clock: clock, Siblings: []versioning.Sibling{sib(false, dot("a.1", 2), dot("b.1", 1))}},
		"clock counter":   {Clock: versioning.Clock{{Actor: "a.1", Counter: 3}, {Actor: "b.1", Counter: 1}}, Siblings: []versioning.Sibling{sib(false, dot("a.1", 2), dot("b.1", 1))}},
		"tombstone":       {Clock: clock, Siblings: []versioning.Sibling{sib(true, dot("a.1", 2), dot("b.1", 1))}},
		"split siblings":  {Clock: clock, Siblings: []versioning.Sibling{sib(false, dot("a.1", 2)), sib(false, dot("b.1", 1))}},
		"fewer events":    {Clock: clock, Siblings: []versioning.Sibling{sib(false, dot("a.1", 2))}},
		"event counter":   {Clock: clock, Siblings: []versioning.Sibling{sib(false, dot("a.1", 1), dot("b.1", 1))}},
		"actor boundary":  {Clock: versioning.Clock{{Actor: "a.", Counter: 2}, {Actor: "1b.1", Counter: 1}}, Siblings: []versioning.Sibling{sib(false, dot("a.", 2), dot("1b.1", 1))}},
		"no siblings":     {Clock: clock},
		"other clock key": {Clock: versioning.Clock{{Actor: "a.2", Counter: 2}, {Actor: "b.1", Counter: 1}}, Siblings: []versioning.Sibling{sib(false, dot("a.1", 2), dot("b.1", 1))}},
	}
	seen := map[uint64]string{}
	for name, s := range sets {
		h := VersionHash(s)
		if prev, ok := seen[h]; ok {
			t.Errorf("%q and %q hash equal", name, prev)
		}
		seen[h] = name
	}
}

func TestVersionHashDoesNotAllocate(t *testing.T) {
	s := write(t, nil, nil, dot("node-1.k3j2", 41), "x")
	s = write(t, s, nil, dot("node-2.a9f1", 7), "y")
	if n := testing.AllocsPerRun(100, func() { VersionHash(s) }); n != 0 {
		t.Fatalf("VersionHash allocates %v times", n)
	}
}
