package loadgen

import (
	"cmp"
	"math"
	"slices"
	"time"
)

// Report is what a run measured, in the shape `dynakv bench -o json` prints.
type Report struct {
	Workload    Workload     `json:"workload"`
	Dist        string       `json:"dist"`
	ZipfTheta   float64      `json:"zipf_theta,omitempty"`
	Keys        int          `json:"keys"`
	ValueSize   int          `json:"value_size"`
	Concurrency int          `json:"concurrency"`
	Rate        float64      `json:"rate,omitempty"` // the pace asked for, ops/s; absent when flat out
	Seed        uint64       `json:"seed"`
	Targets     int          `json:"targets"`
	Preload     *PhaseReport `json:"preload,omitempty"` // set with Config.Preload
	Run         *PhaseReport `json:"run"`
}

// PhaseReport is what one phase, the preload or the run, measured.
type PhaseReport struct {
	// Ops counts the operations done, failed ones included (with Config.Ops
	// and no interruption, the run's Ops is Config.Ops); Errors the failed.
	Ops    int64 `json:"ops"`
	Errors int64 `json:"errors"`
	// OpsPerSec is the throughput: successful operations per second.
	OpsPerSec float64 `json:"ops_per_sec"`
	ElapsedS  float64 `json:"elapsed_s"`
	// ContextReads counts the reads of keys not seen before, made to learn
	// their context before a first write; they are not in Ops.
	ContextReads int64 `json:"context_reads"`
	// Read and Write break the figures down by operation; the preload has
	// only writes.
	Read         *OpReport    `json:"read,omitempty"`
	Write        *OpReport    `json:"write,omitempty"`
	ErrorsByKind []ErrorCount `json:"errors_by_kind"`
}

// OpReport is the figures of one kind of operation.
type OpReport struct {
	Ops       int64   `json:"ops"` // failed ones included
	Errors    int64   `json:"errors"`
	NotFound  int64   `json:"not_found"`   // reads of a missing key: successes
	OpsPerSec float64 `json:"ops_per_sec"` // successful ones
	// LatencyMs is the latency of the successful operations, in
	// milliseconds, within RelativeError (Max and Mean are exact).
	LatencyMs Latency `json:"latency_ms"`
}

// Latency is a latency distribution, in milliseconds.
type Latency struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p99_9"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// ErrorCount is how many operations failed with one kind of error, and the
// first such error.
type ErrorCount struct {
	Kind    string `json:"kind"`
	Count   int64  `json:"count"`
	Example string `json:"example"`
}

func newReport(cfg *Config) *Report {
	r := &Report{
		Workload:    cfg.Workload,
		Dist:        cmp.Or(cfg.Dist, Uniform),
		Keys:        cfg.Keys,
		ValueSize:   cfg.ValueSize,
		Concurrency: cfg.Concurrency,
		Rate:        cfg.Rate,
		Seed:        cfg.Seed,
		Targets:     len(cfg.Targets),
	}
	if r.Dist == Zipfian {
		r.ZipfTheta = cmp.Or(cfg.ZipfTheta, DefaultTheta)
	}
	return r
}

// report sums s up over a phase that lasted elapsed; a preload has no reads.
func (s *phaseStats) report(elapsed time.Duration, preload bool) *PhaseReport {
	secs := elapsed.Seconds()
	p := &PhaseReport{ElapsedS: round(secs, 3), ContextReads: s.contextReads, ErrorsByKind: []ErrorCount{}}
	p.Ops, p.Errors = s.totals()
	p.OpsPerSec = perSecond(p.Ops-p.Errors, secs)
	if !preload {
		p.Read = s.ops[opRead].report(secs)
	}
	p.Write = s.ops[opWrite].report(secs)
	for _, e := range s.errors {
		p.ErrorsByKind = append(p.ErrorsByKind, *e)
	}
	slices.SortFunc(p.ErrorsByKind, func(a, b ErrorCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Kind, b.Kind))
	})
	return p
}

func (o *opStats) report(secs float64) *OpReport {
	h := o.latency
	ok := int64(h.Count())
	return &OpReport{
		Ops:       ok + o.errors,
		Errors:    o.errors,
		NotFound:  o.notFound,
		OpsPerSec: perSecond(ok, secs),
		LatencyMs: Latency{
			P50:  ms(h.Quantile(0.50)),
			P90:  ms(h.Quantile(0.90)),
			P99:  ms(h.Quantile(0.99)),
			P999: ms(h.Quantile(0.999)),
			Max:  ms(h.Max()),
			Mean: ms(h.Mean()),
		},
	}
}

func perSecond(n int64, secs float64) float64 {
	if secs <= 0 {
		return 0
	}
	return round(float64(n)/secs, 1)
}

func ms(d time.Duration) float64 { return round(float64(d)/float64(time.Millisecond), 3) }

func round(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}
