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
	type item struct {
		partition uint32
		key       []byte
		state     *versioning.Set
		targets   []string
	}
	work := make(chan item)
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		sent    int
		lastErr error
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range handoffWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range work {
				for _, target := range it.targets {
					if err := n.replicateUntilAcked(ctx, target, it.partition, it.key, it.state); err != nil {
						mu.Lock()
						lastErr = err
						mu.Unlock()
						cancel()
						return
					}
				}
				mu.Lock()
				sent++
				mu.Unlock()
			}
		}()
	}
	var scanErr error
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
		scanErr = n.store.ScanPartition(p, func(key, value []byte) error {
			// ScanPartition's buffers are only valid during the call, and a
			// decoded state aliases its input: decode a copy.
			state, err := versioning.DecodeSet(slices.Clone(value))
			if err != nil {
				return fmt.Errorf("hand off %q: %w", key, err)
			}
			select {
			case work <- item{p, slices.Clone(key), state, targets}:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		if scanErr != nil {
			break
		}
	}
	close(work)
	wg.Wait()
	if lastErr != nil {
		return sent, lastErr
	}
	return sent, scanErr
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
