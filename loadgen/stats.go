package loadgen

import (
	"sync/atomic"
	"time"
)

// phaseStats is what one worker measured in one phase, or, merged, what all
// of them did. Only live is read while the phase runs (by the progress
// reporter); the rest belongs to the worker until the phase ends.
type phaseStats struct {
	ops          [numOpKinds]opStats
	contextReads int64
	errors       map[string]*ErrorCount // by kind
	live         struct{ ops, errors atomic.Int64 }
}

// opStats are the figures of one kind of operation.
type opStats struct {
	latency  *Histogram // of the successful operations
	errors   int64
	notFound int64
}

func newPhaseStats() *phaseStats {
	s := &phaseStats{errors: map[string]*ErrorCount{}}
	for k := range s.ops {
		s.ops[k].latency = NewHistogram()
	}
	return s
}

// succeed records an operation that took d; notFound for a read of a
// missing key.
func (s *phaseStats) succeed(kind opKind, d time.Duration, notFound bool) {
	o := &s.ops[kind]
	o.latency.Record(d)
	if notFound {
		o.notFound++
	}
	s.live.ops.Add(1)
}

// fail records a failed operation of the given error kind; the first error
// of each kind is kept as an example.
func (s *phaseStats) fail(kind opKind, errKind string, err error) {
	s.ops[kind].errors++
	e, ok := s.errors[errKind]
	if !ok {
		e = &ErrorCount{Kind: errKind, Example: err.Error()}
		s.errors[errKind] = e
	}
	e.Count++
	s.live.ops.Add(1)
	s.live.errors.Add(1)
}

// merge adds o's figures to s.
func (s *phaseStats) merge(o *phaseStats) {
	for k := range s.ops {
		s.ops[k].latency.Merge(o.ops[k].latency)
		s.ops[k].errors += o.ops[k].errors
		s.ops[k].notFound += o.ops[k].notFound
	}
	s.contextReads += o.contextReads
	for kind, e := range o.errors {
		if mine, ok := s.errors[kind]; ok {
			mine.Count += e.Count
		} else {
			c := *e
			s.errors[kind] = &c
		}
	}
	s.live.ops.Add(o.live.ops.Load())
	s.live.errors.Add(o.live.errors.Load())
}

// totals returns the operations done, failed ones included, and the errors.
func (s *phaseStats) totals() (ops, errors int64) {
	return s.live.ops.Load(), s.live.errors.Load()
}
