package node

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"dynakv/api"
	"dynakv/ring"
	"dynakv/versioning"
)

// handoffWorkers bounds the replicate calls a hand-off keeps in flight.
const handoffWorkers = 8

// leave hands this node's data to the members that own it without this node,
// then takes the node out of the ring and stops it. It returns once leaving
// has begun; the rest runs in a goroutine the node owns, which a shutdown
// interrupts (the node then stays a ring member, marked leaving, and a later
// leave starts over).
func (n *Node) leave() error {
	if !n.leaving.CompareAndSwap(false, true) {
		return fmt.Errorf("leave: %w", api.ErrLeaving)
	}
	if err := n.gossip.MarkLeaving(); err != nil {
		n.leaving.Store(false)
		return fmt.Errorf("leave: %w", err)
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		if err := n.handOffAndLeave(n.ctx); err != nil {
			n.logger.Error("leave interrupted; the node is still a ring member", "err", err)
			return
		}
		n.stop(nil)
	}()
	return nil
}

func (n *Node) handOffAndLeave(ctx context.Context) error {
	current := n.placement.ring()
	without := slices.DeleteFunc(slices.Clone(current.Members()), func(id string) bool { return id == n.cfg.ID })
	if len(without) == 0 {
		return errors.New("this node is the only ring member: there is no one to hand its data to")
	}
	next, err := ring.New(without, ring.Config{Partitions: n.cfg.Partitions, N: n.cfg.Replicas})
	if err != nil {
		return err
	}
	start := time.Now()
	keys, err := n.handOff(ctx, current, next)
	if err != nil {
		return err
	}
	n.logger.Info("handed off all data; leaving the ring", "keys", keys, "took", time.Since(start).Round(time.Millisecond))
	leaveCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return n.gossip.Leave(leaveCtx)
}

// handOff sends every key this node holds as a primary under ring from to
// the nodes that become its primaries under ring to, and returns once every
// one of them acknowledged every key (retrying while ctx lasts). It returns
// the number of keys sent.
func (n *Node) handOff(ctx context.Context, from, to *ring.Ring) (int, error) {
	total := 0
	for p := range uint32(from.Partitions()) {
		oldPrimaries, _ := from.PreferenceList(p)
		if !slices.Contains(oldPrimaries, n.cfg.ID) {
			continue
		}
		newPrimaries, _ := to.PreferenceList(p)
		targets := slices.DeleteFunc(slices.Clone(newPrimaries), func(id string) bool {
			return id == n.cfg.ID || slices.Contains(oldPrimaries, id)
		})
		if len(targets) == 0 {
			continue
		}
		sent, err := n.sendPartition(ctx, p, targets)
		total += len(sent)
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// sentKey is a key a transfer sent, with the exact record it sent.
type sentKey struct {
	key, record []byte
}

// sendPartition sends every key this node stores in partition to every
// target, and returns once all targets acknowledged all keys (retrying
// while ctx lasts), with the records it sent.
func (n *Node) sendPartition(ctx context.Context, partition uint32, targets []string) ([]sentKey, error) {
	var keys []sentKey
	err := n.store.ScanPartition(partition, func(key, value []byte) error {
		// ScanPartition's buffers are only valid during the call.
		keys = append(keys, sentKey{slices.Clone(key), slices.Clone(value)})
		return ctx.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("scan partition %d: %w", partition, err)
	}
	work := make(chan sentKey)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg      sync.WaitGroup
		errOnce sync.Once
		sendErr error
	)
	for range min(handoffWorkers, len(keys)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range work {
				// A decoded state aliases its input, which stays ours.
				state, err := versioning.DecodeSet(k.record)
				for _, target := range targets {
					if err == nil {
						err = n.replicateUntilAcked(ctx, target, partition, k.key, state)
					}
				}
				if err != nil {
					errOnce.Do(func() { sendErr = fmt.Errorf("send partition %d: %w", partition, err); cancel() })
					return
				}
			}
		}()
	}
	for _, k := range keys {
		select {
		case work <- k:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(work)
	wg.Wait()
	if sendErr != nil {
		return nil, sendErr
	}
	return keys, ctx.Err()
}

// replicateUntilAcked sends state to target until it acknowledges, backing
// off while it is unreachable; it gives up only when ctx ends.
func (n *Node) replicateUntilAcked(ctx context.Context, target string, partition uint32, key []byte, state *versioning.Set) error {
	backoff := 50 * time.Millisecond
	for {
		callCtx, cancel := context.WithTimeout(ctx, n.cfg.DefaultTimeout)
		err := n.peers.Replicate(callCtx, target, partition, key, state)
		cancel()
		if err == nil {
			return nil
		}
		n.logger.Warn("hand-off to a new owner failed; retrying", "key", string(key), "target", target, "err", err, "retry_in", backoff)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return fmt.Errorf("hand off %q to %s: %w", key, target, errors.Join(ctx.Err(), err))
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}
