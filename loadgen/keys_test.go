package loadgen

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestZipfianStaysInRangeAndIsSkewed(t *testing.T) {
	for _, n := range []int{1, 2, 3, 10, 1000, 100_000} {
		kc, err := newKeyChooser(Zipfian, n, 0, 7)
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(1, 2))
		const draws = 200_000
		counts := make([]int, n)
		for range draws {
			k := kc.next(rng)
			if k < 0 || k >= n {
				t.Fatalf("n=%d: drew key %d", n, k)
			}
			counts[k]++
		}
		if n < 1000 {
			continue
		}
		// With theta 0.99 the hottest key takes 1/zeta(n): about 13% of
		// the draws over 1000 keys, 8% over 100k, against 1/n uniformly.
		top := slices.Max(counts)
		if uniform := draws / n; top < 50*max(uniform, 1) {
			t.Errorf("n=%d: the hottest key drew %d of %d, want far above uniform's %d", n, top, draws, uniform)
		}
		if top == counts[0] {
			t.Errorf("n=%d: the hottest key is key 0: the ranks are not scrambled", n)
		}
	}
}

func TestZipfianRankFrequenciesFollowTheLaw(t *testing.T) {
	z, err := newZipfian(100, DefaultTheta)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	const draws = 500_000
	var counts [100]int
	for range draws {
		counts[z.next(rng)]++
	}
	// P(rank 0) = 1/zeta(100) ≈ 0.193 and P(1)/P(0) = 2^-theta ≈ 0.503
	// exactly in Gray's method; the tail is approximate.
	if p0 := float64(counts[0]) / draws; p0 < 0.18 || p0 > 0.21 {
		t.Errorf("P(rank 0) = %.3f, want about 0.193", p0)
	}
	if r := float64(counts[1]) / float64(counts[0]); r < 0.47 || r > 0.53 {
		t.Errorf("P(1)/P(0) = %.3f, want about 0.503", r)
	}
	if counts[10] <= counts[90] {
		t.Errorf("rank 10 drew %d, rank 90 %d: want decreasing frequencies", counts[10], counts[90])
	}
}

func TestPermutationIsABijection(t *testing.T) {
	for _, n := range []int{1, 2, 3, 5, 64, 100, 1000, 4097} {
		p := newPermutation(n, uint64(n))
		seen := make([]bool, n)
		for x := range n {
			y := p.apply(uint64(x))
			if y >= uint64(n) || seen[y] {
				t.Fatalf("n=%d: %d maps to %d, out of range or taken", n, x, y)
			}
			seen[y] = true
		}
	}
}

func TestUniformCoversTheKeys(t *testing.T) {
	kc, err := newKeyChooser(Uniform, 10, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	var counts [10]int
	for range 100_000 {
		counts[kc.next(rng)]++
	}
	for k, c := range counts {
		if c < 9_000 || c > 11_000 {
			t.Errorf("key %d drew %d of 100000, want about 10000", k, c)
		}
	}
}

func TestBadDistributionsAreRejected(t *testing.T) {
	for _, tc := range []struct {
		dist  string
		keys  int
		theta float64
	}{{"pareto", 10, 0}, {Zipfian, 0, 0}, {Zipfian, 10, 1}, {Zipfian, 10, -0.5}} {
		if _, err := newKeyChooser(tc.dist, tc.keys, tc.theta, 1); err == nil {
			t.Errorf("%+v: accepted", tc)
		}
	}
}

func TestKeyNamesArePaddedAndDistinct(t *testing.T) {
	names := keyNames(3)
	if !slices.Equal(names, []string{"bench-00000000", "bench-00000001", "bench-00000002"}) {
		t.Errorf("keyNames(3) = %q", names)
	}
}
