package antientropy

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"dynakv/merkle"
	"dynakv/replica"
)

// mergeWorkers bounds the merges one side of an exchange runs at once:
// enough for storage to group-commit their syncs, few enough to leave the
// disk to client writes.
const mergeWorkers = 4

// exchangeResult is what one exchange of a partition with a peer did.
type exchangeResult struct {
	Peer     string
	At       time.Time // when it ended
	Outcome  string    // outcomeEqual, outcomeRepaired or outcomeFailed
	Buckets  int       // differing buckets the walk found
	Keys     int       // differing keys swapped
	Sent     int       // payload bytes sent
	Received int       // payload bytes received
	Err      string    // why it failed
}

// exchange compares this node's tree of p with peer's, swaps the states of
// the keys that differ, records the result and counts it in the metrics.
func (m *Manager) exchange(ctx context.Context, p uint32, peer string) exchangeResult {
	start := time.Now()
	res := exchangeResult{Peer: peer}
	err := m.runExchange(ctx, p, peer, &res)
	res.At = m.cfg.Now()
	switch {
	case err != nil:
		res.Outcome, res.Err = outcomeFailed, err.Error()
	case res.Keys > 0:
		res.Outcome = outcomeRepaired
	default:
		res.Outcome = outcomeEqual
	}
	m.metrics.exchanges.WithLabelValues(res.Outcome).Inc()
	m.metrics.exchangeSeconds.Observe(time.Since(start).Seconds())
	m.metrics.keysRepaired.Add(float64(res.Keys))
	m.metrics.traffic(res.Sent, res.Received)

	m.mu.Lock()
	m.totals.exchanges++
	m.totals.keysRepaired += uint64(res.Keys)
	s := &m.sched[p]
	s.last = res
	if err != nil {
		m.totals.failed++
	} else {
		s.lastDone = res.At
	}
	m.mu.Unlock()
	switch {
	case err != nil:
		m.log.Debug("exchange failed", "partition", p, "peer", peer, "err", err)
	case res.Keys > 0:
		m.log.Info("anti-entropy repaired keys", "partition", p, "peer", peer, "keys", res.Keys, "buckets", res.Buckets)
	}
	return res
}

// runExchange is one exchange: the tree walk (one TreeHashes round trip
// per level below the first differing one), the peer's listing of the
// differing buckets and this node's own, then the differing keys' states,
// both ways, in batches.
func (m *Manager) runExchange(ctx context.Context, p uint32, peer string, res *exchangeResult) error {
	v, err := m.trees.exchangeView(p)
	if err != nil {
		return err
	}
	ex := merkle.NewExchange(v)
	for req, ok := ex.Request(); ok; req, ok = ex.Request() {
		var resp merkle.Response
		err := m.call(ctx, func(ctx context.Context) (err error) {
			resp, err = m.cfg.Peers.TreeHashes(ctx, peer, p, req)
			return err
		})
		res.Sent += req.Size()
		if err != nil {
			return err
		}
		res.Received += resp.Size()
		if err := m.trees.step(p, ex, resp); err != nil {
			return fmt.Errorf("compare tree of partition %d with %s: %w", p, peer, err)
		}
	}
	buckets := ex.Buckets()
	res.Buckets = len(buckets)
	if len(buckets) == 0 {
		return nil
	}

	ask := merkle.Listing{Shape: m.shape, Buckets: buckets}
	res.Sent += ask.Size()
	var theirs *merkle.Listing
	err = m.call(ctx, func(ctx context.Context) (err error) {
		theirs, err = m.cfg.Peers.TreeListing(ctx, peer, p, m.shape, buckets)
		return err
	})
	if err != nil {
		return err
	}
	res.Received += theirs.Size()
	mine, err := m.listing(ctx, p, buckets)
	if err != nil {
		return err
	}
	for batch := range slices.Chunk(merkle.Diff(mine.Entries, theirs.Entries), m.cfg.BatchKeys) {
		if err := m.keys.wait(ctx, len(batch)); err != nil {
			return err
		}
		if err := m.swap(ctx, p, peer, batch, res); err != nil {
			return err
		}
		res.Keys += len(batch)
	}
	return nil
}

// swap sends peer this node's states of keys (none for a key it lacks),
// which peer merges, and merges the states peer answers with, which are
// peer's after its merge: both sides end with the merge of the two.
func (m *Manager) swap(ctx context.Context, p uint32, peer string, keys [][]byte, res *exchangeResult) error {
	entries := make([]replica.KeyState, len(keys))
	for i, k := range keys {
		s, err := m.cfg.Replica.Read(p, k)
		if err != nil {
			return fmt.Errorf("exchange with %s: %w", peer, err)
		}
		entries[i] = replica.KeyState{Partition: p, Key: k, State: s}
	}
	res.Sent += batchSize(entries)
	var theirs []replica.KeyState
	err := m.call(ctx, func(ctx context.Context) (err error) {
		theirs, err = m.cfg.Peers.ExchangeStates(ctx, peer, entries)
		return err
	})
	if err != nil {
		return err
	}
	res.Received += batchSize(theirs)
	if len(theirs) != len(keys) {
		return fmt.Errorf("exchange with %s: %d states answer %d keys", peer, len(theirs), len(keys))
	}
	for i, e := range theirs {
		if !bytes.Equal(e.Key, keys[i]) || e.Partition != p {
			return fmt.Errorf("exchange with %s: answer %d is for %q in partition %d, want %q in %d", peer, i, e.Key, e.Partition, keys[i], p)
		}
	}
	return forEach(len(theirs), func(i int) error {
		if theirs[i].State.IsEmpty() {
			return nil
		}
		_, err := m.cfg.Replica.Merge(p, keys[i], theirs[i].State)
		return err
	})
}

// call runs one call to a peer with the call timeout.
func (m *Manager) call(ctx context.Context, fn func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, m.cfg.CallTimeout)
	defer cancel()
	return fn(ctx)
}

// forEach runs fn for 0..n-1 on up to mergeWorkers goroutines and returns
// the first error.
func forEach(n int, fn func(i int) error) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		next  int
	)
	for range min(n, mergeWorkers) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				stop := first != nil
				mu.Unlock()
				if i >= n || stop {
					return
				}
				if err := fn(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// batchSize is the payload bytes of a batch of key states: each key, its
// encoded state and its partition.
func batchSize(entries []replica.KeyState) int {
	size := 0
	var buf []byte
	for _, e := range entries {
		size += len(e.Key) + 4
		if !e.State.IsEmpty() {
			buf = e.State.AppendBinary(buf[:0])
			size += len(buf)
		}
	}
	return size
}
