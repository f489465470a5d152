package loadgen

import "math/bits"

// permutation is a seeded pseudo-random bijection of [0, n): a four-round
// Feistel network over the smallest even number of bits that holds n-1,
// walked until it lands inside [0, n) (cycle walking keeps it a bijection).
// It scatters zipfian ranks over the key space, so the hot keys are not
// the first ones (as YCSB's scrambled zipfian does) while every key keeps
// exactly one rank. It needs no table: O(1) memory for any n.
type permutation struct {
	n    uint64
	half uint   // bits in each half of the Feistel block
	mask uint64 // half low bits set
	keys [4]uint64
}

func newPermutation(n int, seed uint64) permutation {
	width := max(bits.Len64(uint64(n-1)), 2)
	width += width & 1
	p := permutation{n: uint64(n), half: uint(width / 2)}
	p.mask = 1<<p.half - 1
	for i := range p.keys {
		p.keys[i] = splitmix64(seed + uint64(i)*0x9e3779b97f4a7c15)
	}
	return p
}

// apply maps x in [0, n) to its image in [0, n). The Feistel block is at
// most four times n, so the walk takes fewer than four rounds on average.
func (p permutation) apply(x uint64) uint64 {
	for {
		x = p.block(x)
		if x < p.n {
			return x
		}
	}
}

// block is the Feistel network over 2·half bits.
func (p permutation) block(x uint64) uint64 {
	l, r := x>>p.half, x&p.mask
	for _, k := range p.keys {
		l, r = r, l^(splitmix64(r^k)&p.mask)
	}
	return l<<p.half | r
}

// splitmix64 is SplitMix64's finaliser: a fast, well-mixing 64-bit hash.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}
