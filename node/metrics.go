package node

import (
	"github.com/prometheus/client_golang/prometheus"
)

// nodeCollector exports, at each scrape, figures other parts keep
// themselves: the storage engine's (pebble's) and gossip's view of the
// cluster.
type nodeCollector struct {
	n *Node

	diskBytes, compactions, compactionDebt, compactionsRunning, flushes, l0Files, readAmp,
	writeStalls, writeStallSeconds, storageFailed, memtableBytes, cacheBytes, rowCacheBytes, rowCacheEntries, rowCacheReads, walSyncs, members, ringMembers,
	transferPasses, transferSent, transferBytes, transferDropped, certExpiry *prometheus.Desc
}

func newNodeCollector(n *Node) *nodeCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &nodeCollector{
		n:                  n,
		diskBytes:          d("dynakv_storage_disk_bytes", "Bytes of storage files on disk, live and obsolete."),
		compactions:        d("dynakv_storage_compactions_total", "Storage compactions since the node started."),
		compactionDebt:     d("dynakv_storage_compaction_debt_bytes", "Bytes the storage engine estimates it must compact to reach a stable state."),
		compactionsRunning: d("dynakv_storage_compactions_running", "Storage compactions in progress."),
		flushes:            d("dynakv_storage_flushes_total", "Memtable flushes since the node started."),
		l0Files:            d("dynakv_storage_l0_files", "Sstables in level 0; a growing count means compactions lag behind writes."),
		readAmp:            d("dynakv_storage_read_amplification", "Sstables a read may have to consult."),
		writeStalls:        d("dynakv_storage_write_stalls_total", "Times the storage engine delayed writes to let compactions catch up."),
		writeStallSeconds:  d("dynakv_storage_write_stall_seconds_total", "Total time writes were delayed by the storage engine."),
		storageFailed:      d("dynakv_storage_failed", "1 once a write to the disk failed: the node then serves no data until restarted on a working disk."),
		memtableBytes:      d("dynakv_storage_memtable_bytes", "Memory held by memtables."),
		cacheBytes:         d("dynakv_storage_block_cache_bytes", "Block cache in use."),
		rowCacheBytes:      d("dynakv_storage_row_cache_bytes", "Row cache in use (keys, values and bookkeeping)."),
		rowCacheEntries:    d("dynakv_storage_row_cache_entries", "Keys in the row cache."),
		rowCacheReads:      d("dynakv_storage_row_cache_reads_total", "Reads of the row cache, by result (hit, miss: read from storage).", "result"),
		walSyncs:           d("dynakv_storage_wal_sync_seconds", "Durations of the write-ahead log's fsyncs since the node started; the count against synced writes shows how well --sync-group-window groups them."),
		members:            d("dynakv_gossip_members", "Nodes this node knows of, by status (alive, dead, leaving, left).", "status"),
		ringMembers:        d("dynakv_ring_members", "Ring members (alive or not) in this node's ring."),
		transferPasses:     d("dynakv_transfer_passes_total", "Ownership-transfer passes (checks that this node holds no data the ring gives to others)."),
		transferSent:       d("dynakv_transfer_keys_sent_total", "Keys sent to their new owners after ring changes."),
		transferBytes:      d("dynakv_transfer_bytes_sent_total", "Bytes of keys and records sent to new owners (counted once per receiving node)."),
		transferDropped:    d("dynakv_transfer_keys_dropped_total", "Keys dropped here once every new owner acknowledged them."),
		certExpiry:         d("dynakv_tls_certificate_expiry_timestamp_seconds", "When the TLS certificate in use expires (Unix time), by use: api (--tls-cert) or peer (--peer-tls-cert).", "use"),
	}
}

func (c *nodeCollector) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(c, ch) }

func (c *nodeCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.n.store.Stats()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	gauge(c.diskBytes, float64(st.DiskBytes))
	counter(c.compactions, float64(st.Compactions))
	gauge(c.compactionDebt, float64(st.CompactionDebt))
	gauge(c.compactionsRunning, float64(st.CompactionsRunning))
	counter(c.flushes, float64(st.Flushes))
	gauge(c.l0Files, float64(st.L0Files))
	gauge(c.readAmp, float64(st.ReadAmp))
	counter(c.writeStalls, float64(st.WriteStalls))
	counter(c.writeStallSeconds, st.WriteStallTime.Seconds())
	failed := 0.0
	if c.n.store.Err() != nil {
		failed = 1
	}
	gauge(c.storageFailed, failed)
	for use, cert := range c.n.certs {
		if t := notAfter(cert); !t.IsZero() {
			gauge(c.certExpiry, float64(t.Unix()), use)
		}
	}
	gauge(c.memtableBytes, float64(st.MemtableBytes))
	gauge(c.cacheBytes, float64(st.CacheBytes))
	gauge(c.rowCacheBytes, float64(st.RowCacheBytes))
	gauge(c.rowCacheEntries, float64(st.RowCacheEntries))
	ch <- prometheus.MustNewConstMetric(c.rowCacheReads, prometheus.CounterValue, float64(st.RowCacheHits), "hit")
	ch <- prometheus.MustNewConstMetric(c.rowCacheReads, prometheus.CounterValue, float64(st.RowCacheMisses), "miss")
	syncBuckets := make(map[float64]uint64, len(st.WALSyncs.Buckets))
	for _, b := range st.WALSyncs.Buckets {
		syncBuckets[b.UpTo.Seconds()] = b.Count
	}
	ch <- prometheus.MustNewConstHistogram(c.walSyncs, st.WALSyncs.Count, st.WALSyncs.Total.Seconds(), syncBuckets)
	byStatus := map[string]int{}
	for _, m := range c.n.gossip.Members() {
		byStatus[m.Status]++
	}
	for status, count := range byStatus {
		gauge(c.members, float64(count), status)
	}
	if r := c.n.placement.ring(); r != nil {
		gauge(c.ringMembers, float64(len(r.Members())))
	}
	if rb := c.n.rebalance; rb != nil {
		counter(c.transferPasses, float64(rb.passes.Load()))
		counter(c.transferSent, float64(c.n.transfers.keysSent.Load()))
		counter(c.transferBytes, float64(c.n.transfers.bytesSent.Load()))
		counter(c.transferDropped, float64(c.n.transfers.keysDropped.Load()))
	}
}
