package node

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"dynakv/api"
	"dynakv/replica"
	"dynakv/versioning"
)

// A transfer streams one partition in chunks: each chunk is at most
// transferChunkKeys keys and about transferChunkBytes bytes, read with its
// own short scan and sent to each target as one ReplicateBatch call, which
// the target stores with one sync. A chunk is the unit of pacing, of retry
// and (when moving data out) of dropping: memory stays bounded by a chunk
// per target whatever the partition's size, and no pebble iterator stays
// open while a chunk travels.
const (
	transferChunkKeys  = 1024
	transferChunkBytes = 1 << 20
)

// transferStats counts what this node's transfers (ring changes and leave)
// sent and dropped, and lists the running ones; the metrics and `dynakv
// status` read them.
type transferStats struct {
	keysSent, bytesSent, keysDropped atomic.Int64

	mu      sync.Mutex
	running map[*runningTransfer]struct{}
}

// runningTransfer is one partition being streamed.
type runningTransfer struct {
	partition uint32
	kind      string
	to        []string
	started   time.Time
	keysSent  atomic.Int64
}

// Transfer kinds, as `dynakv status` shows them.
const (
	transferMoveOut     = "move-out"
	transferToNewcomers = "to-newcomers"
	transferLeave       = "leave"
)

func (s *transferStats) begin(partition uint32, kind string, to []string) *runningTransfer {
	rt := &runningTransfer{partition: partition, kind: kind, to: to, started: time.Now()}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running == nil {
		s.running = make(map[*runningTransfer]struct{})
	}
	s.running[rt] = struct{}{}
	return rt
}

func (s *transferStats) end(rt *runningTransfer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.running, rt)
}

// Running lists the running transfers, oldest first.
func (s *transferStats) Running() []api.RunningTransfer {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]api.RunningTransfer, 0, len(s.running))
	for rt := range s.running {
		out = append(out, api.RunningTransfer{Partition: rt.partition, Kind: rt.kind, To: rt.to, KeysSent: rt.keysSent.Load(), Started: rt.started})
	}
	slices.SortFunc(out, func(a, b api.RunningTransfer) int { return a.Started.Compare(b.Started) })
	return out
}

// newTransferLimiter paces transfers at bytesPerSecond (0: unlimited). The
// burst is one chunk, so a chunk never waits for more than it needs.
func newTransferLimiter(bytesPerSecond float64) *rate.Limiter {
	if bytesPerSecond <= 0 {
		return rate.NewLimiter(rate.Inf, 0)
	}
	return rate.NewLimiter(rate.Limit(bytesPerSecond), 2*transferChunkBytes)
}

// sentKey is a key a transfer sent, with the exact record it sent.
type sentKey struct {
	key, record []byte
}

// giveUp, when not nil, is asked before each retry of a failed send to
// target: an error stops the transfer with it (the rebalancer stops when
// the ring changed or the target went down, and tries again later).
type giveUp func(target string) error

// streamPartition sends every key this node stores in partition to every
// target, chunk by chunk, retrying each chunk until every target acked it
// (or ctx ends, or stop says to give up). After a chunk is acked, acked (if
// not nil) is called with it; an error from acked stops the stream. It
// returns the keys sent.
func (n *Node) streamPartition(ctx context.Context, partition uint32, targets []string, kind string, stop giveUp, acked func([]sentKey) error) (int, error) {
	rt := n.transfers.begin(partition, kind, targets)
	defer n.transfers.end(rt)
	var from []byte
	keys := 0
	for {
		chunk, size, next, err := n.readChunk(partition, from)
		if err != nil {
			return keys, err
		}
		if len(chunk) > 0 {
			if err := n.transferLimit.WaitN(ctx, min(size, n.transferLimit.Burst())); err != nil {
				return keys, fmt.Errorf("send partition %d: %w", partition, err)
			}
			if err := n.sendChunk(ctx, partition, targets, stop, chunk); err != nil {
				return keys, err
			}
			keys += len(chunk)
			rt.keysSent.Add(int64(len(chunk)))
			n.transfers.keysSent.Add(int64(len(chunk)))
			n.transfers.bytesSent.Add(int64(size * len(targets)))
			if acked != nil {
				if err := acked(chunk); err != nil {
					return keys, err
				}
			}
		}
		if next == nil {
			return keys, nil
		}
		from = next
	}
}

// readChunk reads the next chunk of partition, starting at from, and
// returns it with its size in bytes and the key the next chunk starts at
// (nil: this was the last).
func (n *Node) readChunk(partition uint32, from []byte) (chunk []sentKey, size int, next []byte, err error) {
	err = n.store.ScanPartitionFrom(partition, from, func(key, value []byte) error {
		if len(chunk) == transferChunkKeys || (size > 0 && size+len(key)+len(value) > transferChunkBytes) {
			next = slices.Clone(key)
			return errStopScan
		}
		// The scan's buffers are only valid during the call.
		chunk = append(chunk, sentKey{slices.Clone(key), slices.Clone(value)})
		size += len(key) + len(value)
		return nil
	})
	if errors.Is(err, errStopScan) {
		err = nil
	}
	if err != nil {
		return nil, 0, nil, fmt.Errorf("scan partition %d: %w", partition, err)
	}
	return chunk, size, next, nil
}

// sendChunk sends chunk to every target in parallel and returns once all
// acked it, retrying each while ctx lasts.
func (n *Node) sendChunk(ctx context.Context, partition uint32, targets []string, stop giveUp, chunk []sentKey) error {
	entries := make([]replica.KeyState, len(chunk))
	for i, k := range chunk {
		// A decoded state aliases its input, which stays ours.
		state, err := versioning.DecodeSet(k.record)
		if err != nil {
			return fmt.Errorf("send partition %d: decode %q: %w", partition, k.key, err)
		}
		entries[i] = replica.KeyState{Partition: partition, Key: k.key, State: state}
	}
	errs := make([]error, len(targets))
	var wg sync.WaitGroup
	for i, target := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = n.replicateUntilAcked(ctx, target, stop, entries)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("send partition %d: %w", partition, err)
	}
	return nil
}

// replicateUntilAcked sends entries to target until it acknowledges them,
// backing off while it is unreachable; it gives up only when ctx ends (or
// stop says to).
func (n *Node) replicateUntilAcked(ctx context.Context, target string, stop giveUp, entries []replica.KeyState) error {
	backoff := 50 * time.Millisecond
	for {
		callCtx, cancel := context.WithTimeout(ctx, max(n.cfg.DefaultTimeout, 10*time.Second))
		err := n.peers.ReplicateBatch(callCtx, target, entries)
		cancel()
		if err == nil {
			return nil
		}
		if stop != nil {
			if serr := stop(target); serr != nil {
				return fmt.Errorf("hand %d keys to %s: %w (%v)", len(entries), target, serr, err)
			}
		}
		n.logger.Warn("transfer to a new owner failed; retrying", "target", target, "keys", len(entries), "err", err, "retry_in", backoff)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return fmt.Errorf("hand %d keys to %s: %w", len(entries), target, errors.Join(ctx.Err(), err))
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}
