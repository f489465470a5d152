package ring

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func ids(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("n%d", i+1)
	}
	return out
}

func mustNew(t testing.TB, members []string, cfg Config) *Ring {
	t.Helper()
	r, err := New(members, cfg)
	if err != nil {
		t.Fatalf("New(%v, %+v): %v", members, cfg, err)
	}
	return r
}

func TestNewIgnoresMemberOrderAndDuplicates(t *testing.T) {
	for _, size := range []int{1, 2, 3, 5, 8, 12} {
		members := ids(size)
		want := mustNew(t, members, Config{})
		rng := rand.New(rand.NewPCG(uint64(size), 1))
		for range 5 {
			shuffled := slices.Clone(members)
			rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
			shuffled = append(shuffled, shuffled[0]) // a duplicate is the same set
			got := mustNew(t, shuffled, Config{})
			for p := range want.Partitions() {
				wp, wf := want.PreferenceList(uint32(p))
				gp, gf := got.PreferenceList(uint32(p))
				if !slices.Equal(wp, gp) || !slices.Equal(wf, gf) {
					t.Fatalf("%d members, order %v: partition %d = %v|%v, want %v|%v", size, shuffled, p, gp, gf, wp, wf)
				}
			}
		}
	}
}

func TestPreferenceListShape(t *testing.T) {
	for _, tc := range []struct{ members, n, primaries int }{
		{1, 3, 1}, {2, 3, 2}, {3, 3, 3}, {5, 3, 3}, {5, 1, 1}, {3, 7, 3}, {5, 5, 5},
	} {
		t.Run(fmt.Sprintf("members=%d,N=%d", tc.members, tc.n), func(t *testing.T) {
			r := mustNew(t, ids(tc.members), Config{N: tc.n})
			if r.Replicas() != tc.primaries {
				t.Fatalf("Replicas() = %d, want %d", r.Replicas(), tc.primaries)
			}
			for p := range r.Partitions() {
				primaries, fallbacks := r.PreferenceList(uint32(p))
				if len(primaries) != tc.primaries {
					t.Fatalf("partition %d: %d primaries %v, want %d", p, len(primaries), primaries, tc.primaries)
				}
				all := slices.Concat(primaries, fallbacks)
				slices.Sort(all)
				if !slices.Equal(all, ids(tc.members)) {
					t.Fatalf("partition %d: preference list %v|%v is not a permutation of the members", p, primaries, fallbacks)
				}
			}
		})
	}
}

func TestEmptyRing(t *testing.T) {
	r := mustNew(t, nil, Config{})
	p, primaries, fallbacks := r.Locate([]byte("k"))
	if p != PartitionOf([]byte("k"), DefaultPartitions) || primaries != nil || fallbacks != nil {
		t.Fatalf("Locate on empty ring = %d %v %v", p, primaries, fallbacks)
	}
	if len(r.Members()) != 0 || len(r.Shares()) != 0 || r.Replicas() != 0 {
		t.Fatalf("empty ring has members %v shares %v", r.Members(), r.Shares())
	}
}

func TestNewRejectsBadInput(t *testing.T) {
	for _, tc := range []struct {
		name    string
		members []string
		cfg     Config
		want    error
	}{
		{"empty id", []string{"a", ""}, Config{}, ErrInvalidMember},
		{"NUL in id", []string{"a\x00b"}, Config{}, ErrInvalidMember},
		{"negative N", []string{"a"}, Config{N: -1}, ErrInvalidConfig},
		{"negative partitions", []string{"a"}, Config{Partitions: -5}, ErrInvalidConfig},
		{"more members than partitions", ids(5), Config{Partitions: 4}, ErrTooManyMembers},
		{"members crowd partitions", ids(40), Config{Partitions: 32}, ErrTooManyMembers},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.members, tc.cfg); !errors.Is(err, tc.want) {
				t.Fatalf("New = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestSmallPartitionCounts(t *testing.T) {
	// Every member count the capacity check admits must build without panic.
	for partitions := 1; partitions <= 24; partitions++ {
		for m := 1; m <= partitions; m++ {
			r, err := New(ids(m), Config{Partitions: partitions, N: 3})
			if errors.Is(err, ErrTooManyMembers) {
				continue
			}
			if err != nil {
				t.Fatalf("partitions=%d members=%d: %v", partitions, m, err)
			}
			if got := len(r.Members()); got != m {
				t.Fatalf("partitions=%d members=%d: ring has %d members", partitions, m, got)
			}
		}
	}
}

func TestLocateAgreesWithPartitionOf(t *testing.T) {
	r := mustNew(t, ids(5), Config{})
	for i := range 2000 {
		key := fmt.Appendf(nil, "key-%d", i)
		p, primaries, fallbacks := r.Locate(key)
		if want := PartitionOf(key, r.Partitions()); p != want {
			t.Fatalf("Locate(%s) partition %d, PartitionOf %d", key, p, want)
		}
		wp, wf := r.PreferenceList(p)
		if !slices.Equal(primaries, wp) || !slices.Equal(fallbacks, wf) {
			t.Fatalf("Locate(%s) preference list differs from PreferenceList(%d)", key, p)
		}
	}
}

func TestReturnedSlicesDoNotAlias(t *testing.T) {
	r := mustNew(t, ids(5), Config{})
	primaries, _ := r.PreferenceList(7)
	_ = append(primaries, "intruder")
	_, fallbacks := r.PreferenceList(7)
	if slices.Contains(fallbacks, "intruder") {
		t.Fatal("appending to primaries overwrote the fallbacks")
	}
	members := r.Members()
	members[0] = "intruder"
	if r.Members()[0] == "intruder" {
		t.Fatal("Members returned the ring's own slice")
	}
}

// balance returns the smallest and largest share relative to the ideal one.
func balance(shares map[string]int, ideal float64) (lo, hi float64) {
	lo, hi = 1e9, 0
	for _, s := range shares {
		lo, hi = min(lo, float64(s)/ideal), max(hi, float64(s)/ideal)
	}
	return lo, hi
}

func TestSharesAreBalanced(t *testing.T) {
	for _, size := range []int{3, 4, 5, 8, 12} {
		r := mustNew(t, ids(size), Config{})
		shares := r.Shares()
		total := 0
		for _, s := range shares {
			total += s
		}
		if want := r.Partitions() * min(r.N(), size); total != want {
			t.Fatalf("%d members: shares add up to %d, want %d", size, total, want)
		}
		lo, hi := balance(shares, float64(total)/float64(size))
		t.Logf("%d members: shares %.2f..%.2f of ideal", size, lo, hi)
		if lo < 0.75 || hi > 1.25 {
			t.Errorf("%d members: shares %v outside ±25%% of ideal", size, shares)
		}
		// Ownership (first primary) is only bounded by consistent's load
		// factor (1.25x the average); replica shares are what is balanced.
		owned := r.Owned()
		lo, hi = balance(owned, float64(r.Partitions())/float64(size))
		t.Logf("%d members: owned partitions %.2f..%.2f of ideal", size, lo, hi)
		bound := int(math.Ceil(float64(r.Partitions()/size) * loadFactor))
		for id, n := range owned {
			if n > bound {
				t.Errorf("%d members: %s owns %d partitions, above the load bound %d", size, id, n, bound)
			}
		}
	}
}

// moved counts the (partition, primary) assignments of after that before
// does not have: the replicas a membership change has to copy.
func moved(before, after *Ring) int {
	n := 0
	for p := range after.Partitions() {
		old, _ := before.PreferenceList(uint32(p))
		now, _ := after.PreferenceList(uint32(p))
		for _, id := range now {
			if !slices.Contains(old, id) {
				n++
			}
		}
	}
	return n
}

func TestJoinMovesAboutTheNewMembersShare(t *testing.T) {
	for _, names := range [][]string{
		ids(4),
		{"alpha", "bravo", "charlie", "delta"},
		{"10.0.0.1:7946", "10.0.0.2:7946", "10.0.0.3:7946", "10.0.0.4:7946"},
	} {
		before := mustNew(t, names[:3], Config{})
		after := mustNew(t, names, Config{})
		ideal := float64(after.Partitions()*after.N()) / 4
		got := moved(before, after)
		t.Logf("%v: join moves %d replica assignments, %.2fx ideal", names, got, float64(got)/ideal)
		if float64(got) > 1.5*ideal {
			t.Errorf("%v: join moved %d replica assignments, more than 1.5x the ideal %.0f", names, got, ideal)
		}
		lo, hi := balance(after.Shares(), ideal)
		if lo < 0.75 || hi > 1.25 {
			t.Errorf("%v: shares after join %v outside ±25%% of ideal %.0f", names, after.Shares(), ideal)
		}
	}
}
