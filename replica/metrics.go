package replica

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the replica layer's Prometheus collectors. A nil *Metrics
// counts nothing, so tests need not build one.
type Metrics struct {
	siblingWarnings prometheus.Counter
	siblings        prometheus.Histogram
	readRepairs     prometheus.Counter
}

// NewMetrics registers the replica metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		siblingWarnings: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dynakv_sibling_warnings_total",
			Help: "Writes or merges that left a key with more siblings than the warning threshold.",
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
	reg.MustRegister(m.siblingWarnings, m.siblings, m.readRepairs)
	return m
}

func (m *Metrics) siblingWarning() {
	if m != nil {
		m.siblingWarnings.Inc()
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
