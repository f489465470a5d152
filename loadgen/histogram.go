package loadgen

import (
	"math"
	"math/bits"
	"time"
)

// subBits sets the histogram's precision: every power-of-two range of
// values is split into 2^subBits equal buckets (HDR histogram style), so a
// bucket is at most 1/2^subBits of the values it holds wide.
const subBits = 7

// maxBits bounds the values the buckets resolve to maxTracked: larger ones
// (latencies over about 18 minutes) share the last bucket. Max stays exact.
const (
	maxBits    = 40
	maxTracked = 1<<maxBits - 1
)

// RelativeError bounds how far a Histogram's quantile can be from the exact
// one, relative to it: a quantile is reported as the middle of its bucket,
// which is half a bucket (1/2^(subBits+1), about 0.4%) from any value in it.
const RelativeError = 1.0 / (1 << (subBits + 1))

// numBuckets is the number of buckets: values below 2^(subBits+1) have one
// bucket each, then each power of two up to 2^maxBits has 2^subBits. It is
// bucketOf(maxTracked)+1.
const numBuckets = (maxBits + 1 - subBits) << subBits

// Histogram records durations in log-linear buckets with a bounded relative
// error (RelativeError). Recording does not allocate; histograms of several
// workers merge into one. A Histogram is not safe for concurrent use: give
// each worker its own and Merge them at the end.
type Histogram struct {
	counts   []uint64
	count    uint64
	sum      int64 // nanoseconds
	min, max int64 // nanoseconds, exact
}

// NewHistogram returns an empty histogram.
func NewHistogram() *Histogram {
	return &Histogram{counts: make([]uint64, numBuckets), min: math.MaxInt64}
}

// bucketOf returns the bucket of v ≥ 0. Values below 2^(subBits+1) are their
// own bucket; above, a value keeps its top subBits+1 bits: its bucket is
// (shift, v>>shift) laid out so that indexes grow with values.
func bucketOf(v int64) int {
	if v > maxTracked {
		v = maxTracked
	}
	msb := bits.Len64(uint64(v)) - 1
	if msb <= subBits {
		return int(v)
	}
	shift := msb - subBits
	return shift<<subBits + int(v>>shift)
}

// bucketRange returns the smallest value of bucket i and its width.
func bucketRange(i int) (low, width int64) {
	if i < 2<<subBits {
		return int64(i), 1
	}
	shift := i>>subBits - 1
	mantissa := int64(i - shift<<subBits)
	return mantissa << shift, 1 << shift
}

// Record adds one duration; a negative one counts as zero.
func (h *Histogram) Record(d time.Duration) {
	v := max(int64(d), 0)
	h.counts[bucketOf(v)]++
	h.count++
	h.sum += v
	h.min = min(h.min, v)
	h.max = max(h.max, v)
}

// Merge adds every value recorded in o to h.
func (h *Histogram) Merge(o *Histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.count += o.count
	h.sum += o.sum
	h.min = min(h.min, o.min)
	h.max = max(h.max, o.max)
}

// Count is the number of recorded values.
func (h *Histogram) Count() uint64 { return h.count }

// Max is the largest recorded value, exactly; 0 when empty.
func (h *Histogram) Max() time.Duration {
	if h.count == 0 {
		return 0
	}
	return time.Duration(h.max)
}

// Mean is the average of the recorded values, exactly; 0 when empty.
func (h *Histogram) Mean() time.Duration {
	if h.count == 0 {
		return 0
	}
	return time.Duration(h.sum / int64(h.count))
}

// Quantile returns the nearest-rank q-quantile (q in [0, 1]; 0.99 is p99):
// the value at rank ceil(q·count) of the sorted values, within RelativeError
// of it. An empty histogram answers 0.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.count == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.count)))
	rank = min(max(rank, 1), h.count)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			low, width := bucketRange(i)
			mid := low + (width-1)/2
			return time.Duration(min(max(mid, h.min), h.max))
		}
	}
	return time.Duration(h.max) // not reached: the counts add up to count
}
