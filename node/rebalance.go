package node

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"time"

	"dynakv/ring"
)

// rebalanceInterval is how often a node checks, besides after every ring
// change, that it holds no data the ring gives to others. The check is
// state-free (it looks at what is stored, not at what changed), so a transfer
// interrupted by a crash or a shutdown resumes on the next pass.
const rebalanceInterval = 30 * time.Second

// rebalancer moves data where the ring says it belongs after the ring
// changed (a join, leave or remove), online and without losing a write:
//
//   - A node that stores keys of a partition it is no longer a primary of
//     (it was displaced by a joining node, or it coordinated a write for a
//     partition it does not own) sends them to the partition's primaries and,
//     once every primary acknowledged them, drops each key whose record is
//     still the one it sent (a write that landed meanwhile keeps it for the
//     next pass).
//   - When a partition's primary left the ring for good (removed, or left),
//     the first remaining old primary sends the partition to the primaries
//     that are new since the previous ring, since the one that would have
//     handed it off is gone.
//
// Both are idempotent: replicas merge what they receive, so a transfer
// repeated after an interruption, or done by two nodes at once, is harmless.
type rebalancer struct {
	n    *Node
	kick chan struct{}
	prev *ring.Ring // the ring of the last completed pass; nil after a start

	newEpoch bool // this pass already started a new actor epoch

	passes, keysSent, keysDropped atomic.Int64
}

func (n *Node) startRebalancer() {
	r := &rebalancer{n: n, kick: make(chan struct{}, 1)}
	n.rebalance = r
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		tick := time.NewTicker(rebalanceInterval)
		defer tick.Stop()
		for {
			r.pass(n.ctx)
			select {
			case <-n.ctx.Done():
				return
			case <-r.kick:
			case <-tick.C:
			}
		}
	}()
}

// ringChanged asks for a pass as soon as the current one is done.
func (r *rebalancer) ringChanged() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

func (r *rebalancer) pass(ctx context.Context) {
	n := r.n
	cur := n.placement.ring()
	if cur == nil || len(cur.Members()) == 0 {
		return
	}
	complete := true
	r.newEpoch = false
	for p := range uint32(cur.Partitions()) {
		if ctx.Err() != nil {
			return
		}
		primaries, _ := cur.PreferenceList(p)
		var err error
		if !slices.Contains(primaries, n.cfg.ID) {
			err = r.moveOut(ctx, p, primaries)
		} else if r.prev != nil {
			err = r.replaceDeparted(ctx, p, cur, primaries)
		}
		if err != nil {
			complete = false
			n.logger.Warn("ownership transfer incomplete; retrying on the next pass", "partition", p, "err", err)
		}
	}
	if complete {
		r.prev = cur
	}
	r.passes.Add(1)
}

// moveOut sends partition p, which this node does not own, to its primaries
// and drops what they all acknowledged.
func (r *rebalancer) moveOut(ctx context.Context, p uint32, primaries []string) error {
	n := r.n
	if empty, err := n.partitionEmpty(p); err != nil || empty {
		return err
	}
	for _, id := range primaries {
		if !n.gossip.Alive(id) {
			return nil // keep the copy until every primary can take it
		}
	}
	sent, err := n.sendPartition(ctx, p, primaries)
	if err != nil {
		return err
	}
	r.keysSent.Add(int64(len(sent)))
	// This node may coordinate one of these keys again later (forwarded, or
	// as a primary after another ring change) without the records it drops
	// now: from then on it writes as a new actor (see Local.NewEpoch).
	if !r.newEpoch {
		if err := n.local.NewEpoch(); err != nil {
			return err
		}
		r.newEpoch = true
	}
	for _, k := range sent {
		_, err := n.store.Update(p, k.key, func(old []byte, found bool) ([]byte, bool, error) {
			return nil, found && bytes.Equal(old, k.record), nil
		})
		if err != nil {
			return err
		}
		r.keysDropped.Add(1)
	}
	n.logger.Info("moved a partition to its owners", "partition", p, "keys", len(sent), "to", primaries)
	return nil
}

// replaceDeparted sends partition p to its new primaries when a primary it
// had under the previous ring is no longer a ring member at all (so nobody
// will hand it off), if this node is the first remaining old primary.
func (r *rebalancer) replaceDeparted(ctx context.Context, p uint32, cur *ring.Ring, primaries []string) error {
	n := r.n
	before, _ := r.prev.PreferenceList(p)
	departed := slices.ContainsFunc(before, func(id string) bool { return !slices.Contains(cur.Members(), id) })
	if !departed {
		return nil
	}
	stayed := slices.DeleteFunc(slices.Clone(primaries), func(id string) bool { return !slices.Contains(before, id) })
	if len(stayed) == 0 || stayed[0] != n.cfg.ID {
		return nil
	}
	fresh := slices.DeleteFunc(slices.Clone(primaries), func(id string) bool { return slices.Contains(before, id) })
	if len(fresh) == 0 {
		return nil
	}
	sent, err := n.sendPartition(ctx, p, fresh)
	r.keysSent.Add(int64(len(sent)))
	return err
}

// partitionEmpty reports whether this node stores no key of partition p.
func (n *Node) partitionEmpty(p uint32) (bool, error) {
	empty := true
	err := n.store.ScanPartition(p, func(_, _ []byte) error {
		empty = false
		return errStopScan
	})
	if errors.Is(err, errStopScan) {
		err = nil
	}
	return empty, err
}

var errStopScan = errors.New("stop scan")
