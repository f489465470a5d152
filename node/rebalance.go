package node

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"time"

	"dynakv/gossip"
	"dynakv/ring"
)

// rebalanceInterval is how often a node checks, besides after every ring
// change, that it holds no data the ring gives to others. The check is
// state-free (it looks at what is stored, not at what changed), so a transfer
// interrupted by a crash or a shutdown resumes on the next pass.
const rebalanceInterval = 30 * time.Second

// rebalanceRetryMin is the first wait before a pass that left work undone is
// repeated; it doubles up to rebalanceInterval.
const rebalanceRetryMin = 500 * time.Millisecond

// rebalancer moves data where the ring says it belongs after the ring
// changed (a join, leave or remove), online and without losing a write:
//
//   - A node that stores keys of a partition it is no longer a primary of
//     (it was displaced by a joining node, or it coordinated a write for a
//     partition it does not own) sends them to the partition's primaries and,
//     once every primary acknowledged them, drops each key whose record is
//     still the one it sent (a write that landed meanwhile keeps it for the
//     next pass). Nothing is dropped if the ring changed during the pass.
//   - For a partition whose primaries changed since the last completed pass,
//     the first primary that stayed sends it to the new primaries: the node
//     that would have handed it off may be gone (removed) or may have moved
//     it elsewhere under an intermediate ring.
//
// Both are idempotent: replicas merge what they receive, so a transfer
// repeated after an interruption, or done by two nodes at once, is harmless.
// A pass ends early when the ring changes under it, and starts over.
type rebalancer struct {
	n    *Node
	kick chan struct{}
	prev *ring.Ring // the ring of the last completed pass (at start, the ring the node started with)

	newEpoch bool // this pass already started a new actor epoch

	passes, keysSent, keysDropped atomic.Int64
}

func (n *Node) startRebalancer() {
	r := &rebalancer{n: n, kick: make(chan struct{}, 1), prev: n.placement.ring()}
	n.rebalance = r
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		retry := rebalanceRetryMin
		for {
			wait := rebalanceInterval
			if !r.pass(n.ctx) {
				// Something is still to move (a new owner not seen alive
				// yet, a failed send): try again soon, backing off.
				wait, retry = retry, min(2*retry, rebalanceInterval)
			} else {
				retry = rebalanceRetryMin
			}
			timer := time.NewTimer(wait)
			select {
			case <-n.ctx.Done():
				timer.Stop()
				return
			case <-r.kick:
			case <-timer.C:
			}
			timer.Stop()
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

// pass moves what this node holds and does not own, and reports whether
// nothing is left to move.
func (r *rebalancer) pass(ctx context.Context) bool {
	n := r.n
	cur := n.placement.ring()
	if cur == nil || len(cur.Members()) == 0 {
		return true
	}
	// While members are leaving, they hand their data to the nodes that own
	// it without them: a node that will own a partition once they are gone
	// keeps what it receives for it.
	after := n.ringWithoutLeavers(cur)
	complete := true
	r.newEpoch = false
	for p := range uint32(cur.Partitions()) {
		if ctx.Err() != nil || n.placement.ring() != cur {
			return false
		}
		primaries, _ := cur.PreferenceList(p)
		future, _ := after.PreferenceList(p)
		var err error
		if !slices.Contains(primaries, n.cfg.ID) && !slices.Contains(future, n.cfg.ID) {
			err = r.moveOut(ctx, p, cur, primaries)
		} else if r.prev != nil && r.prev != cur {
			err = r.sendToNewcomers(ctx, p, primaries)
		}
		if errors.Is(err, errOwnerDown) || errors.Is(err, errRingChanged) {
			complete = false
		} else if err != nil {
			complete = false
			n.logger.Warn("ownership transfer incomplete; retrying", "partition", p, "err", err)
		}
	}
	if complete {
		r.prev = cur
	}
	r.passes.Add(1)
	return complete
}

// errOwnerDown: a partition's data waits here until all its owners are up.
var errOwnerDown = errors.New("a primary of the partition is down")

// errRingChanged: the ring changed during a transfer; nothing was dropped.
var errRingChanged = errors.New("the ring changed")

// moveOut sends partition p, which this node does not own, to its primaries
// and drops what they all acknowledged.
func (r *rebalancer) moveOut(ctx context.Context, p uint32, cur *ring.Ring, primaries []string) error {
	n := r.n
	if empty, err := n.partitionEmpty(p); err != nil || empty {
		return err
	}
	for _, id := range primaries {
		if !n.gossip.Alive(id) {
			return errOwnerDown // keep the copy until every primary can take it
		}
	}
	sent, err := n.sendPartition(ctx, p, primaries)
	if err != nil {
		return err
	}
	r.keysSent.Add(int64(len(sent)))
	if n.placement.ring() != cur {
		return errRingChanged // the owners it sent to may not be the owners any more
	}
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

// sendToNewcomers sends partition p to its primaries that were not primaries
// under the ring of the last completed pass, if this node is the first
// primary that stayed.
func (r *rebalancer) sendToNewcomers(ctx context.Context, p uint32, primaries []string) error {
	n := r.n
	before, _ := r.prev.PreferenceList(p)
	stayed := slices.DeleteFunc(slices.Clone(primaries), func(id string) bool { return !slices.Contains(before, id) })
	if len(stayed) == 0 || stayed[0] != n.cfg.ID {
		return nil
	}
	fresh := slices.DeleteFunc(slices.Clone(primaries), func(id string) bool { return slices.Contains(before, id) })
	if len(fresh) == 0 {
		return nil
	}
	for _, id := range fresh {
		if !n.gossip.Alive(id) {
			return errOwnerDown
		}
	}
	sent, err := n.sendPartition(ctx, p, fresh)
	r.keysSent.Add(int64(len(sent)))
	return err
}

// ringWithoutLeavers returns cur without the members gossip reports
// leaving, or cur itself when none is.
func (n *Node) ringWithoutLeavers(cur *ring.Ring) *ring.Ring {
	var staying []string
	leaving := false
	for _, m := range n.gossip.Members() {
		switch {
		case !m.InRing:
		case m.Status == gossip.StatusLeaving:
			leaving = true
		default:
			staying = append(staying, m.ID)
		}
	}
	if !leaving || len(staying) == 0 {
		return cur
	}
	r, err := ring.New(staying, ring.Config{Partitions: n.cfg.Partitions, N: n.cfg.Replicas})
	if err != nil {
		return cur
	}
	return r
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
