package node

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"time"

	"dynakv/gossip"
	"dynakv/replica"
	"dynakv/ring"
)

// defaultRebalanceInterval is how often a node checks, besides after every
// ring change and every stray write (see strayWrite), that it holds no data
// the ring gives to others (Config.RebalanceInterval). The check is
// state-free (it looks at what is stored, not at what changed), so a transfer
// interrupted by a crash or a shutdown resumes on the next pass.
const defaultRebalanceInterval = 30 * time.Second

// rebalanceRetryMin is the first wait before a pass that left work undone is
// repeated; it doubles up to the rebalance interval.
const rebalanceRetryMin = 500 * time.Millisecond

// strayPassGap is the least time between the starts of two passes that
// stray writes asked for. A node receiving a leaving node's data for
// partitions it will own stores writes it is not yet a primary of, chunk
// after chunk; without a gap each chunk would start another pass, and the
// passes (a look at every partition) would run back to back. A write from
// a lagging coordinator waits at most this long, plus a pass, to move.
const strayPassGap = 200 * time.Millisecond

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
//
// Data streams in chunks (see streamPartition), paced by --transfer-rate.
// The transition being worked on (the ring of the last completed pass and
// the current one) and the partitions already sent to newcomers are kept in
// a journal, so a node restarted mid-transition resumes it where it stopped;
// moving out needs no journal, since what was moved is no longer stored.
type rebalancer struct {
	n     *Node
	kick  chan struct{} // a ring change: pass at once
	stray chan struct{} // a stray write: pass, at most every strayPassGap
	prev  *ring.Ring    // the ring of the last completed pass (at start: the journal's, else the ring the node started with)

	journal *journal // the transition in progress, nil when none

	// The anti-entropy run that ends a transition, and the ring it is for.
	repairRun    uint64
	repairRing   *ring.Ring
	repairFailed bool // repairRun was started after a round that failed

	newEpoch bool // this pass already started a new actor epoch

	// awaitingRepair: the last pass moved everything and waits only for
	// the anti-entropy round that ends the transition, which a pass checks
	// cheaply; so the next one comes at rebalanceRetryMin, without backing
	// off, and the node settles soon after the round ends.
	awaitingRepair bool

	passes atomic.Int64
}

// rebalanceInterval is Config.RebalanceInterval, or its default.
func (n *Node) rebalanceInterval() time.Duration {
	if n.cfg.RebalanceInterval > 0 {
		return n.cfg.RebalanceInterval
	}
	return defaultRebalanceInterval
}

// newRebalancer sets up n.rebalance, resuming a journaled transition. It
// runs before the node serves anything, since every write it stores may
// call strayWrite.
func (n *Node) newRebalancer() {
	r := &rebalancer{n: n, kick: make(chan struct{}, 1), stray: make(chan struct{}, 1), prev: n.placement.ring()}
	if before := n.placement.previousRing(); before != nil {
		r.prev = before // a node that just joined: the cluster before it came
	}
	if j := n.loadJournal(journalRebalance); j != nil && len(j.From) > 0 {
		if prev, err := ring.New(j.From, ring.Config{Partitions: n.cfg.Partitions, N: n.cfg.Replicas}); err == nil {
			r.prev, r.journal = prev, j
			n.logger.Info("resuming an interrupted ownership transfer", "from", j.From, "to", j.To, "partitions_done", len(j.Done))
		}
	}
	n.rebalance = r
}

// startRebalancer runs n.rebalance's passes until the node closes.
func (n *Node) startRebalancer() {
	r := n.rebalance
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		interval := n.rebalanceInterval()
		retry := rebalanceRetryMin
		for {
			started := time.Now()
			wait := interval
			switch {
			case r.pass(n.ctx):
				retry = rebalanceRetryMin
			case r.awaitingRepair:
				wait = min(rebalanceRetryMin, interval)
			default:
				// Something is still to move (a new owner not seen alive
				// yet, a failed send): try again soon, backing off.
				wait, retry = retry, min(2*retry, interval)
			}
			if !r.sleep(wait, started) {
				return
			}
		}
	}()
}

// sleep waits wait, or until a ring change, or until a stray write when
// strayPassGap has passed since the last pass started; it reports false
// once the node closes.
func (r *rebalancer) sleep(wait time.Duration, lastStart time.Time) bool {
	ctx := r.n.ctx
	due := time.Now().Add(wait)
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-r.kick:
			return true
		case <-timer.C:
			return true
		case <-r.stray:
			at := lastStart.Add(strayPassGap)
			if !time.Now().Before(at) {
				return true
			}
			if at.Before(due) {
				timer.Reset(time.Until(at))
				due = at
			}
		}
	}
}

// ringChanged asks for a pass as soon as the current one is done.
func (r *rebalancer) ringChanged() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// strayWrite is told of every key this node stored (Local's OnChange): a
// key of a partition this node is not a primary of, under its current ring,
// came from a coordinator whose ring is not this one yet (the moment after
// a join, leave or remove) or from a transfer to a future owner. It asks
// for a pass, which moves the partition to its owners (or keeps it, for a
// future owner), so reads through up-to-date nodes find the key within a
// pass rather than at the next periodic one. Passes for stray writes start
// at most every strayPassGap, and the writes that arrive meanwhile share
// one; the check costs a slice lookup per write.
func (r *rebalancer) strayWrite(partition uint32) {
	cur := r.n.placement.ring()
	if cur == nil {
		return
	}
	if primaries, _ := cur.PreferenceList(partition); !slices.Contains(primaries, r.n.cfg.ID) {
		select {
		case r.stray <- struct{}{}:
		default:
		}
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
	r.newEpoch, r.awaitingRepair = false, false
	changed := r.prev != nil && !slices.Equal(r.prev.Members(), cur.Members())
	if changed && !r.journal.covers(r.prev.Members(), cur.Members()) {
		r.journal = &journal{From: r.prev.Members(), To: cur.Members()}
		if err := n.saveJournal(journalRebalance, r.journal); err != nil {
			n.logger.Warn("ownership transfer will not resume after a restart", "err", err)
		}
	}
	for p := range uint32(cur.Partitions()) {
		if ctx.Err() != nil || n.placement.ring() != cur {
			return false
		}
		primaries, _ := cur.PreferenceList(p)
		future, _ := after.PreferenceList(p)
		var err error
		if !slices.Contains(primaries, n.cfg.ID) && !slices.Contains(future, n.cfg.ID) {
			err = r.moveOut(ctx, p, cur, primaries)
		} else if changed && !r.journal.done(p) {
			var sent int
			if sent, err = r.sendToNewcomers(ctx, p, primaries); err == nil {
				r.journal.markDone(p)
				if sent > 0 {
					if err := n.saveJournal(journalRebalance, r.journal); err != nil {
						n.logger.Warn("ownership transfer progress not saved", "err", err)
					}
				}
			}
		}
		if errors.Is(err, errOwnerDown) || errors.Is(err, errRingChanged) {
			complete = false
		} else if err != nil {
			complete = false
			n.logger.Warn("ownership transfer incomplete; retrying", "partition", p, "err", err)
		}
	}
	if complete && changed && n.antiEntropy != nil {
		complete, r.awaitingRepair = r.repairAfterChange(cur)
	}
	if complete {
		n.placement.settled(cur)
		r.prev = cur
		if r.journal != nil {
			if err := n.store.DeleteRecord(journalRebalance); err != nil {
				n.logger.Warn("finished ownership transfer still journaled; it will be repeated after a restart", "err", err)
			}
			r.journal = nil
		}
	}
	r.passes.Add(1)
	return complete
}

// repairAfterChange reports whether the anti-entropy round that ends a
// transition to ring cur finished, every partition compared with every
// other primary; until then it starts (or restarts) one and reports false,
// with waiting set while a round runs that has not failed before (a round
// restarted after a failure waits out the pass's backoff instead).
//
// The bulk transfer sends what the ring change moved as seen from this
// node's last completed ring. A node that dropped a partition under a ring
// in between (two changes close together, a removal while passes waited for
// a dead node) can leave a new primary short; comparing every partition
// with its other primaries closes any such gap, cheaply where there is none.
func (r *rebalancer) repairAfterChange(cur *ring.Ring) (done, waiting bool) {
	n := r.n
	restart := false
	if r.repairRing == cur && r.repairRun != 0 {
		for _, run := range n.antiEntropy.Status().Runs {
			if run.ID != r.repairRun {
				continue
			}
			if run.Finished.IsZero() {
				return false, !r.repairFailed
			}
			if run.Failed == 0 {
				r.repairRun, r.repairRing, r.repairFailed = 0, nil, false
				return true, false
			}
			restart = true
		}
	}
	run, err := n.antiEntropy.Repair()
	if err != nil {
		n.logger.Warn("could not start the anti-entropy round that ends an ownership transfer; retrying", "err", err)
		return false, false
	}
	if !run.Finished.IsZero() && run.Failed == 0 {
		return true, false // this node is a primary of nothing
	}
	r.repairRun, r.repairRing, r.repairFailed = run.ID, cur, restart
	return false, !restart
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
	keys, err := n.streamPartition(ctx, p, primaries, transferMoveOut, r.giveUp(cur), func(chunk []sentKey) error {
		if n.placement.ring() != cur {
			return errRingChanged // the owners it sent to may not be the owners any more
		}
		// This node may coordinate one of these keys again later
		// (forwarded, or as a primary after another ring change) without
		// the records it drops now: from then on it writes as a new actor
		// (see Local.NewEpoch).
		if !r.newEpoch {
			if err := n.local.NewEpoch(); err != nil {
				return err
			}
			r.newEpoch = true
		}
		return n.dropSent(p, chunk)
	})
	if err != nil {
		return err
	}
	n.logger.Info("moved a partition to its owners", "partition", p, "keys", keys, "to", primaries)
	return nil
}

// dropSent deletes each sent key whose record is still the one sent: a
// write that landed since keeps the key here for the next pass.
func (n *Node) dropSent(p uint32, chunk []sentKey) error {
	records := make([]replica.StoredRecord, len(chunk))
	for i, k := range chunk {
		records[i] = replica.StoredRecord{Key: k.key, Record: k.record}
	}
	dropped, err := n.local.DropUnchanged(p, records)
	n.transfers.keysDropped.Add(int64(dropped))
	return err
}

// sendToNewcomers sends partition p to its primaries that were not primaries
// under the ring of the last completed pass, if this node is the first
// primary that stayed, and returns the keys sent.
func (r *rebalancer) sendToNewcomers(ctx context.Context, p uint32, primaries []string) (int, error) {
	n := r.n
	before, _ := r.prev.PreferenceList(p)
	stayed := slices.DeleteFunc(slices.Clone(primaries), func(id string) bool { return !slices.Contains(before, id) })
	if len(stayed) == 0 || stayed[0] != n.cfg.ID {
		return 0, nil
	}
	fresh := slices.DeleteFunc(slices.Clone(primaries), func(id string) bool { return slices.Contains(before, id) })
	if len(fresh) == 0 {
		return 0, nil
	}
	for _, id := range fresh {
		if !n.gossip.Alive(id) {
			return 0, errOwnerDown
		}
	}
	return n.streamPartition(ctx, p, fresh, transferToNewcomers, r.giveUp(n.placement.ring()), nil)
}

// giveUp stops a transfer begun under ring cur once the ring changed or a
// target went down: the pass is then incomplete, and the next one sends
// where the new ring says, or once the target is back.
func (r *rebalancer) giveUp(cur *ring.Ring) giveUp {
	return func(target string) error {
		if r.n.placement.ring() != cur {
			return errRingChanged
		}
		if !r.n.gossip.Alive(target) {
			return errOwnerDown
		}
		return nil
	}
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
