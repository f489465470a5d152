package loadgen

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestWorkloadMixesHaveTheirReadRatio(t *testing.T) {
	for name, want := range map[string]float64{"a": 0.5, "b": 0.95, "c": 1, "write": 0, "A": 0.5} {
		w, err := ParseWorkload(name)
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(42, 0))
		const ops = 100_000
		reads := 0
		for range ops {
			if w.next(rng) == opRead {
				reads++
			}
		}
		// Binomial standard deviation is at most 0.0016 here: 1% is > 6σ.
		if got := float64(reads) / ops; math.Abs(got-want) > 0.01 {
			t.Errorf("workload %s: %.4f reads, want %.2f", name, got, want)
		}
	}
}

func TestCustomReadRatio(t *testing.T) {
	w, err := CustomWorkload(0.7)
	if err != nil || w.Name != "custom" {
		t.Fatalf("CustomWorkload(0.7) = %+v, %v", w, err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	reads := 0
	for range 100_000 {
		if w.next(rng) == opRead {
			reads++
		}
	}
	if got := float64(reads) / 100_000; math.Abs(got-0.7) > 0.01 {
		t.Errorf("read ratio 0.7 gave %.4f", got)
	}
	for _, bad := range []float64{-0.1, 1.01, math.NaN()} {
		if _, err := CustomWorkload(bad); err == nil {
			t.Errorf("CustomWorkload(%v) accepted", bad)
		}
	}
	if _, err := ParseWorkload("f"); err == nil {
		t.Error(`ParseWorkload("f") accepted`)
	}
}

func TestWorkloadsAreDeterministicForASeed(t *testing.T) {
	w, _ := ParseWorkload("b")
	kc, err := newKeyChooser(Zipfian, 1000, 0, 9)
	if err != nil {
		t.Fatal(err)
	}
	draw := func(seed uint64) []int {
		rng := rand.New(rand.NewPCG(seed, 3))
		var ops []int
		for range 1000 {
			ops = append(ops, int(w.next(rng)), kc.next(rng))
		}
		return ops
	}
	if !slices.Equal(draw(11), draw(11)) {
		t.Error("the same seed drew different operations")
	}
	if slices.Equal(draw(11), draw(12)) {
		t.Error("different seeds drew the same operations")
	}
}

func TestWorkloadDescribesItself(t *testing.T) {
	w, _ := ParseWorkload("b")
	if got := w.String(); got != "workload b: 95% reads, 5% writes" {
		t.Errorf("String() = %q", got)
	}
	w, _ = CustomWorkload(0.125)
	if got := w.String(); got != "workload custom: 12.5% reads, 87.5% writes" {
		t.Errorf("String() = %q", got)
	}
}
