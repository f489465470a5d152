package antientropy

import (
	"context"
	"math"
	"sync"
	"time"
)

// limiter is a token bucket of rate tokens a second holding at most burst
// (a tenth of a second's worth, at least 1). A caller takes n tokens at
// once; when the bucket lacks them it goes into debt and the caller waits
// until the debt is paid, so batches larger than the burst still pass, at
// the rate. It reads the injected clock and is safe for concurrent use: the
// rebuild scan, exchanges and peers' requests share a bucket.
type limiter struct {
	rate  float64 // tokens a second; 0: unlimited
	burst float64
	now   func() time.Time

	mu     sync.Mutex
	tokens float64   // negative: debt
	last   time.Time // when tokens was last brought up to date; zero: never
}

func newLimiter(rate float64, now func() time.Time) *limiter {
	burst := max(1, rate/10)
	return &limiter{rate: rate, burst: burst, tokens: burst, now: now}
}

// reserve takes n tokens and returns how long the caller must wait before
// using them: 0 when the bucket had them.
func (l *limiter) reserve(n int) time.Duration {
	if l.rate <= 0 || n <= 0 {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if !l.last.IsZero() && now.After(l.last) {
		l.tokens = math.Min(l.burst, l.tokens+now.Sub(l.last).Seconds()*l.rate)
	}
	if l.last.IsZero() || now.After(l.last) {
		l.last = now // a clock stepping back adds nothing
	}
	l.tokens -= float64(n)
	if l.tokens >= 0 {
		return 0
	}
	return time.Duration(math.Ceil(-l.tokens / l.rate * float64(time.Second)))
}

// wait takes n tokens and waits until the bucket has paid for them, or
// until ctx ends.
func (l *limiter) wait(ctx context.Context, n int) error {
	d := l.reserve(n)
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
