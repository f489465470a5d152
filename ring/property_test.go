package ring

import (
	"slices"
	"testing"

	"github.com/cespare/xxhash/v2"
	"pgregory.net/rapid"
)

// hashCycle is the naive reference for the order of a preference list: the
// members sorted by the hash of their consistent name.
func hashCycle(members []string) []string {
	cycle := slices.Clone(members)
	slices.SortFunc(cycle, func(a, b string) int {
		ha, hb := xxhash.Sum64String(member(a).String()), xxhash.Sum64String(member(b).String())
		switch {
		case ha < hb:
			return -1
		case ha > hb:
			return 1
		}
		return 0
	})
	return cycle
}

// rotation returns cycle rotated to start at first.
func rotation(cycle []string, first string) []string {
	i := slices.Index(cycle, first)
	return slices.Concat(cycle[i:], cycle[:i])
}

func TestPreferenceListProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		members := rapid.SliceOfNDistinct(rapid.StringMatching(`[a-z0-9.:-]{1,10}`), 1, 9, rapid.ID[string]).Draw(t, "members")
		cfg := Config{
			Partitions: rapid.IntRange(len(members), 128).Draw(t, "partitions"),
			N:          rapid.IntRange(1, 6).Draw(t, "N"),
		}
		r, err := New(members, cfg)
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		shuffled, err := New(rapid.Permutation(members).Draw(t, "shuffled"), cfg)
		if err != nil {
			t.Fatalf("New(shuffled): %v", err)
		}
		sorted := slices.Sorted(slices.Values(members))
		cycle := hashCycle(members)
		for p := range uint32(cfg.Partitions) {
			primaries, fallbacks := r.PreferenceList(p)
			if len(primaries) != min(cfg.N, len(members)) {
				t.Fatalf("partition %d: %d primaries, want min(N=%d, %d members)", p, len(primaries), cfg.N, len(members))
			}
			list := slices.Concat(primaries, fallbacks)
			if got := slices.Sorted(slices.Values(list)); !slices.Equal(got, sorted) {
				t.Fatalf("partition %d: preference list %v is not a permutation of %v", p, list, sorted)
			}
			if want := rotation(cycle, list[0]); !slices.Equal(list, want) {
				t.Fatalf("partition %d: preference list %v does not follow the hash cycle %v", p, list, want)
			}
			sp, sf := shuffled.PreferenceList(p)
			if !slices.Equal(primaries, sp) || !slices.Equal(fallbacks, sf) {
				t.Fatalf("partition %d: member order changed the preference list", p)
			}
		}
	})
}
