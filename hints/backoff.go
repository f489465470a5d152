package hints

import (
	"math/rand/v2"
	"time"
)

// backoff computes the waits after consecutive failed deliveries: the
// ceiling starts at min, doubles per failure up to max, and each wait is
// drawn uniformly from [ceiling/2, ceiling] ("equal jitter"), so workers of
// several holders retrying one target drift apart instead of hammering it
// in step, yet never retry much sooner than the ceiling says.
type backoff struct {
	min, max time.Duration
	ceiling  time.Duration // 0: no failure since the last reset
	rng      *rand.Rand
}

// next returns the wait before the next attempt and raises the ceiling.
func (b *backoff) next() time.Duration {
	switch {
	case b.ceiling == 0:
		b.ceiling = b.min
	case b.ceiling < b.max/2:
		b.ceiling *= 2
	default:
		b.ceiling = b.max
	}
	half := b.ceiling / 2
	return half + time.Duration(b.rng.Int64N(int64(b.ceiling-half)+1))
}

// reset is called after a success: the next failure waits min again.
func (b *backoff) reset() { b.ceiling = 0 }
