package loadgen

import (
	"fmt"
	"math/rand/v2"
)

// Key distributions.
const (
	Uniform = "uniform" // every key equally likely
	Zipfian = "zipfian" // scrambled zipfian: a few hot keys, spread over the key space
)

// keyChooser draws key indexes in [0, keys). It is immutable and shared by
// the workers; each passes its own random source.
type keyChooser interface {
	next(r *rand.Rand) int
}

// newKeyChooser returns the chooser of dist over keys keys. theta is the
// zipfian skew (0: DefaultTheta); seed places the hot keys.
func newKeyChooser(dist string, keys int, theta float64, seed uint64) (keyChooser, error) {
	switch dist {
	case Uniform, "":
		return uniform(keys), nil
	case Zipfian:
		if theta == 0 {
			theta = DefaultTheta
		}
		z, err := newZipfian(keys, theta)
		if err != nil {
			return nil, err
		}
		return scrambled{z: z, perm: newPermutation(keys, seed)}, nil
	}
	return nil, fmt.Errorf("key distribution %q: use %s or %s", dist, Uniform, Zipfian)
}

// uniform draws every key with the same probability.
type uniform int

func (u uniform) next(r *rand.Rand) int { return r.IntN(int(u)) }

// scrambled draws a zipfian rank and maps it to a key through a fixed
// permutation, so that the popular keys are scattered.
type scrambled struct {
	z    *zipfian
	perm permutation
}

func (s scrambled) next(r *rand.Rand) int { return int(s.perm.apply(s.z.next(r))) }

// keyNames returns the names of keys keys, "bench-00000042" and so on.
// They are built once so that operations do not format names.
func keyNames(keys int) []string {
	names := make([]string, keys)
	for i := range names {
		names[i] = fmt.Sprintf("bench-%08d", i)
	}
	return names
}
