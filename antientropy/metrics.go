package antientropy

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Outcomes of an exchange, the result label of dynakv_aae_exchanges_total.
const (
	outcomeEqual    = "equal"    // the trees matched
	outcomeRepaired = "repaired" // keys differed and were swapped
	outcomeFailed   = "failed"   // a call or a scan failed; tried again later
)

// metrics are the package's Prometheus collectors.
type metrics struct {
	exchanges       *prometheus.CounterVec
	exchangeSeconds prometheus.Histogram
	keysRepaired    prometheus.Counter
	bytes           *prometheus.CounterVec
	rebuilds        prometheus.Counter
	rebuildSeconds  prometheus.Histogram
	reaped          prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, m *Manager) (*metrics, error) {
	mt := &metrics{
		exchanges: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dynakv_aae_exchanges_total",
			Help: "Anti-entropy exchanges this node ran with another primary of a partition, by result: equal (trees matched), repaired (differing keys swapped), failed.",
		}, []string{"result"}),
		exchangeSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "dynakv_aae_exchange_seconds",
			Help:    "Time one anti-entropy exchange of a partition took, tree walk, listings and key swaps included.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10),
		}),
		keysRepaired: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dynakv_aae_keys_repaired_total",
			Help: "Keys whose states differed between this node and a peer in an exchange this node ran, and were merged on both sides.",
		}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dynakv_aae_bytes_total",
			Help: "Anti-entropy payload bytes (tree messages, listings, keys and states; gRPC framing excluded) this node sent or received, as initiator or peer.",
		}, []string{"direction"}),
		rebuilds: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dynakv_aae_tree_rebuilds_total",
			Help: "Hash trees built from a storage scan: at start, when the node became a primary of a partition, and on schedule.",
		}),
		rebuildSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "dynakv_aae_tree_rebuild_seconds",
			Help:    "Time one tree rebuild took, scan throttling included.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
		}),
		reaped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dynakv_aae_tombstones_reaped_total",
			Help: "Tombstones deleted from this node's storage once every primary held them past the grace period.",
		}),
	}
	age := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "dynakv_aae_last_exchange_age_seconds",
		Help: "Seconds since the partition that has gone longest without a completed exchange last had one (or since this node became its primary); 0 without partitions.",
	}, func() float64 { return m.oldestExchangeAge().Seconds() })
	built := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "dynakv_aae_trees_built",
		Help: "Partitions this node is a primary of whose hash tree is built.",
	}, func() float64 { _, built := m.treeCounts(); return float64(built) })
	partitions := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "dynakv_aae_partitions",
		Help: "Partitions this node is a primary of, each with a hash tree to keep.",
	}, func() float64 { owned, _ := m.treeCounts(); return float64(owned) })
	for _, c := range []prometheus.Collector{mt.exchanges, mt.exchangeSeconds, mt.keysRepaired, mt.bytes, mt.rebuilds, mt.rebuildSeconds, mt.reaped, age, built, partitions} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("antientropy: register metrics: %w", err)
		}
	}
	for _, r := range []string{outcomeEqual, outcomeRepaired, outcomeFailed} {
		mt.exchanges.WithLabelValues(r)
	}
	mt.bytes.WithLabelValues("sent")
	mt.bytes.WithLabelValues("received")
	return mt, nil
}

// traffic counts anti-entropy payload bytes.
func (mt *metrics) traffic(sent, received int) {
	mt.bytes.WithLabelValues("sent").Add(float64(sent))
	mt.bytes.WithLabelValues("received").Add(float64(received))
}
