package loadgen

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// DefaultTheta is YCSB's zipfian skew: a few keys take most of the load.
const DefaultTheta = 0.99

// zipfian draws ranks in [0, n) with P(rank k) proportional to 1/(k+1)^theta,
// using the method of Gray et al., "Quickly generating billion-record
// synthetic databases" (SIGMOD 1994), as YCSB does. Unlike math/rand's Zipf
// it accepts a skew below 1. Rank 0 is the most popular. It is immutable, so
// workers share one and each brings its own random source.
type zipfian struct {
	n         uint64
	theta     float64
	alpha     float64 // 1/(1-theta)
	zetaN     float64 // sum over k=1..n of 1/k^theta
	eta       float64
	twoRanks  float64 // 1 + 0.5^theta: where rank 1 ends, in units of zetaN·u
	floatRank float64 // n as a float64
}

// newZipfian prepares the generator; it takes O(n) to sum zeta(n).
func newZipfian(n int, theta float64) (*zipfian, error) {
	if n < 1 {
		return nil, fmt.Errorf("zipfian over %d keys: need at least one", n)
	}
	if !(theta > 0 && theta < 1) {
		return nil, fmt.Errorf("zipfian skew %v: use a value in (0, 1), YCSB uses %v", theta, DefaultTheta)
	}
	z := &zipfian{n: uint64(n), theta: theta, alpha: 1 / (1 - theta), floatRank: float64(n)}
	for k := 1; k <= n; k++ {
		z.zetaN += math.Pow(float64(k), -theta)
	}
	zeta2 := 1 + math.Pow(2, -theta)
	z.twoRanks = zeta2
	if n > 2 {
		z.eta = (1 - math.Pow(2/float64(n), 1-theta)) / (1 - zeta2/z.zetaN)
	}
	return z, nil
}

// next returns a rank in [0, n).
func (z *zipfian) next(r *rand.Rand) uint64 {
	if z.n == 1 {
		return 0
	}
	u := r.Float64()
	uz := u * z.zetaN
	switch {
	case uz < 1:
		return 0
	case uz < z.twoRanks || z.n == 2:
		return 1
	}
	rank := uint64(z.floatRank * math.Pow(z.eta*u-z.eta+1, z.alpha))
	return min(rank, z.n-1)
}
