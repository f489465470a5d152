package loadgen

import (
	"math"
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// exactQuantile is the nearest-rank quantile of sorted values.
func exactQuantile(sorted []int64, q float64) int64 {
	rank := int(math.Ceil(q * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

func TestHistogramQuantilesAreWithinTheRelativeError(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		// Latency-like values: mostly small, some spanning many powers of two.
		top := rapid.SampledFrom([]int64{300, 100_000, 50_000_000, 1 << 40, 1 << 50}).Draw(t, "top")
		values := rapid.SliceOfN(rapid.Int64Range(0, top), 1, 2000).Draw(t, "values")
		h := NewHistogram()
		for _, v := range values {
			h.Record(time.Duration(v))
		}
		sorted := slices.Clone(values)
		slices.Sort(sorted)
		for _, q := range []float64{0, 0.001, 0.25, 0.5, 0.9, 0.99, 0.999, 1, rapid.Float64Range(0, 1).Draw(t, "q")} {
			want := exactQuantile(sorted, q)
			got := int64(h.Quantile(q))
			if want > maxTracked {
				// Beyond the buckets' range only the clamp to Max holds.
				if got > sorted[len(sorted)-1] {
					t.Fatalf("q=%v: %d above the max %d", q, got, sorted[len(sorted)-1])
				}
				continue
			}
			if diff := math.Abs(float64(got - want)); diff > RelativeError*float64(want) {
				t.Fatalf("q=%v: got %d, exact %d: off by %.5f, more than %.5f", q, got, want, diff/float64(want), RelativeError)
			}
		}
		if h.Max() != time.Duration(sorted[len(sorted)-1]) || h.Count() != uint64(len(values)) {
			t.Fatalf("max %v count %d, want %d and %d", h.Max(), h.Count(), sorted[len(sorted)-1], len(values))
		}
	})
}

func TestHistogramMergeEqualsRecordingEverything(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a := rapid.SliceOf(rapid.Int64Range(0, 1<<34)).Draw(t, "a")
		b := rapid.SliceOf(rapid.Int64Range(0, 1<<34)).Draw(t, "b")
		ha, hb, all := NewHistogram(), NewHistogram(), NewHistogram()
		for _, v := range a {
			ha.Record(time.Duration(v))
			all.Record(time.Duration(v))
		}
		for _, v := range b {
			hb.Record(time.Duration(v))
			all.Record(time.Duration(v))
		}
		ha.Merge(hb)
		if !slices.Equal(ha.counts, all.counts) || ha.count != all.count || ha.sum != all.sum || ha.min != all.min || ha.max != all.max {
			t.Fatalf("merged histogram differs from one that recorded both")
		}
	})
}

func TestBucketsTileTheValues(t *testing.T) {
	if got := bucketOf(maxTracked) + 1; got != numBuckets {
		t.Fatalf("numBuckets %d, but maxTracked falls in bucket %d", numBuckets, got-1)
	}
	prevEnd := int64(0)
	for i := range numBuckets {
		low, width := bucketRange(i)
		if low != prevEnd {
			t.Fatalf("bucket %d starts at %d, the previous one ended at %d", i, low, prevEnd)
		}
		if bucketOf(low) != i || bucketOf(low+width-1) != i {
			t.Fatalf("bucket %d = [%d, %d) but bucketOf maps its ends to %d and %d", i, low, low+width, bucketOf(low), bucketOf(low+width-1))
		}
		if width > 1 && float64(width)/float64(low) > 2*RelativeError {
			t.Fatalf("bucket %d = [%d, +%d) is wider than twice the relative error", i, low, width)
		}
		prevEnd = low + width
	}
	if prevEnd != maxTracked+1 {
		t.Fatalf("buckets end at %d, want %d", prevEnd, int64(maxTracked+1))
	}
}

func TestEmptyHistogramAnswersZero(t *testing.T) {
	h := NewHistogram()
	if h.Quantile(0.5) != 0 || h.Max() != 0 || h.Mean() != 0 || h.Count() != 0 {
		t.Errorf("empty histogram: p50 %v max %v mean %v count %d", h.Quantile(0.5), h.Max(), h.Mean(), h.Count())
	}
	h.Record(-5)
	if h.Max() != 0 || h.Count() != 1 {
		t.Errorf("a negative duration should count as zero: max %v count %d", h.Max(), h.Count())
	}
}

func TestRecordDoesNotAllocate(t *testing.T) {
	h := NewHistogram()
	d := time.Duration(1)
	if n := testing.AllocsPerRun(1000, func() { h.Record(d); d = d*3 + 7 }); n != 0 {
		t.Errorf("Record allocates %v times per call", n)
	}
}
