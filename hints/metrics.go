package hints

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Reasons a hint is dropped (label "reason" of dynakv_hints_dropped_total).
const (
	reasonExpired = "expired"  // older than Config.Window
	reasonOverCap = "over_cap" // refused: the target's queue was full
	reasonCorrupt = "corrupt"  // the stored record or state does not decode
)

// metrics are the package's Prometheus collectors. Target labels are node
// ids, so their number is bounded by the cluster's size.
type metrics struct {
	stored       *prometheus.CounterVec // {target}
	delivered    *prometheus.CounterVec // {target}
	failures     *prometheus.CounterVec // {target}
	dropped      *prometheus.CounterVec // {target, reason}
	pending      *prometheus.GaugeVec   // {target}
	pendingBytes *prometheus.GaugeVec   // {target}
	delay        prometheus.Histogram   // hint age at delivery
	rerouted     prometheus.Counter     // delivered to the owners of a departed target
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		stored: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dynakv_hints_stored_total",
			Help: "Hints this node stored as a fallback, by target node.",
		}, []string{"target"}),
		delivered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dynakv_hints_delivered_total",
			Help: "Hints the target node acked, by target node.",
		}, []string{"target"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dynakv_hint_delivery_failures_total",
			Help: "Failed hint deliveries (each followed by a backoff), by target node.",
		}, []string{"target"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dynakv_hints_dropped_total",
			Help: "Hints dropped instead of delivered (expired, over_cap, corrupt); anti-entropy repairs what they carried.",
		}, []string{"target", "reason"}),
		pending: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "dynakv_hints_pending",
			Help: "Hints waiting for delivery, by target node.",
		}, []string{"target"}),
		pendingBytes: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "dynakv_hints_pending_bytes",
			Help: "Encoded bytes of the hints waiting for delivery, by target node.",
		}, []string{"target"}),
		delay: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "dynakv_hint_delivery_delay_seconds",
			Help:    "Age of a hint when its target acked it: how long the target missed the write.",
			Buckets: prometheus.ExponentialBuckets(0.01, 4, 10), // 10ms .. ~44min
		}),
		rerouted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dynakv_hints_rerouted_total",
			Help: "Hint deliveries that went to the key's owners because the target left the ring (or this node is leaving).",
		}),
	}
	for _, c := range []prometheus.Collector{m.stored, m.delivered, m.failures, m.dropped, m.pending, m.pendingBytes, m.delay, m.rerouted} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("hints: register metrics: %w", err)
		}
	}
	return m, nil
}
