package replica

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the replica layer's Prometheus collectors. A nil *Metrics
// counts nothing, so tests need not build one.
type Metrics struct {
	siblingWarnings prometheus.Counter
	sizeWarnings    prometheus.Counter
	siblings        prometheus.Histogram
	readRepairs     prometheus.Counter
	requests        *prometheus.CounterVec
	duration        *prometheus.HistogramVec
	peerCalls       *prometheus.CounterVec
	forwards        prometheus.Counter
}

// NewMetrics registers the replica metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		siblingWarnings: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dynakv_sibling_warnings_total",
			Help: "Writes or merges that left a key with more siblings than the warning threshold.",
		}),
		sizeWarnings: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dynakv_object_size_warnings_total",
			Help: "Writes or merges that left a key's siblings holding more value bytes than the warning threshold.",
		}),
		siblings: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "dynakv_read_siblings",
			Help:    "Visible siblings per successful read.",
			Buckets: []float64{1, 2, 3, 5, 10, 25, 50, 100},
		}),
		readRepairs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dynakv_read_repairs_total",
			Help: "Replicas sent the merged state of a key because a read found their copy stale or missing.",
		}),
	}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dynakv_coordinator_requests_total",
		Help: "Reads, writes and deletes this node coordinated, by operation, level (replies or acks needed) and result (ok, not_found, unavailable, timeout, too_many_siblings, error).",
	}, []string{"op", "level", "result"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "dynakv_coordinator_request_duration_seconds",
		Help:    "Time to meet a request's level (or fail), by operation and level.",
		Buckets: prometheus.ExponentialBuckets(0.0002, 2, 16),
	}, []string{"op", "level"})
	m.peerCalls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dynakv_replica_calls_total",
		Help: "Calls this coordinator made to other replicas, by peer, call (read, replicate, store_hint) and result (ok, unreachable, timeout, error).",
	}, []string{"peer", "call", "result"})
	m.forwards = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "dynakv_coordinator_forwards_total",
		Help: "Writes this node forwarded to a primary of the key to coordinate.",
	})
	reg.MustRegister(m.siblingWarnings, m.sizeWarnings, m.siblings, m.readRepairs, m.requests, m.duration, m.peerCalls, m.forwards)
	return m
}

func (m *Metrics) siblingWarning() {
	if m != nil {
		m.siblingWarnings.Inc()
	}
}

func (m *Metrics) objectSizeWarning() {
	if m != nil {
		m.sizeWarnings.Inc()
	}
}

func (m *Metrics) observeSiblings(n int) {
	if m != nil {
		m.siblings.Observe(float64(n))
	}
}

func (m *Metrics) readRepair() {
	if m != nil {
		m.readRepairs.Inc()
	}
}

func (m *Metrics) request(op string, level int, start time.Time, err error) {
	if m == nil {
		return
	}
	l := strconv.Itoa(level)
	m.requests.WithLabelValues(op, l, resultOf(err)).Inc()
	m.duration.WithLabelValues(op, l).Observe(time.Since(start).Seconds())
}

func (m *Metrics) peerCall(peer, call string, err error) {
	if m != nil {
		m.peerCalls.WithLabelValues(peer, call, resultOf(err)).Inc()
	}
}

func (m *Metrics) forward() {
	if m != nil {
		m.forwards.Inc()
	}
}

// resultOf names an outcome for the metrics' result label.
func resultOf(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, new(*UnavailableError)):
		return "unavailable"
	case errors.As(err, new(*TimeoutError)), errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, ErrTooManySiblings):
		return "too_many_siblings"
	case errors.As(err, new(*ObjectTooLargeError)):
		return "too_large"
	case IsUnreachable(err):
		return "unreachable"
	}
	return "error"
}
