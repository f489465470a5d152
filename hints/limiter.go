package hints

import (
	"math"
	"time"
)

// limiter is a token bucket: rate tokens per second, at most burst stored.
// It reads time from an injected clock, so tests can step it. A limiter is
// owned by one worker and is not safe for concurrent use.
type limiter struct {
	rate   float64 // tokens per second; 0: unlimited
	burst  float64
	tokens float64
	last   time.Time // when tokens was last brought up to date; zero: never
	now    func() time.Time
}

func newLimiter(rate float64, burst int, now func() time.Time) *limiter {
	return &limiter{rate: rate, burst: float64(burst), tokens: float64(burst), now: now}
}

// take takes a token and returns 0 if one is available; otherwise it takes
// nothing and returns how long until one will be.
func (l *limiter) take() time.Duration {
	if l.rate <= 0 {
		return 0
	}
	now := l.now()
	if !l.last.IsZero() && now.After(l.last) {
		l.tokens = math.Min(l.burst, l.tokens+now.Sub(l.last).Seconds()*l.rate)
	}
	if l.last.IsZero() || now.After(l.last) {
		l.last = now // a clock stepping back adds nothing and is not recorded
	}
	if l.tokens >= 1 {
		l.tokens--
		return 0
	}
	wait := time.Duration(math.Ceil((1 - l.tokens) / l.rate * float64(time.Second)))
	return max(wait, time.Microsecond)
}
