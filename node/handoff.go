package node

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"dynakv/api"
	"dynakv/replica"
	"dynakv/ring"
)

// Leave phases, as `dynakv status` and `dynakv leave --wait` show them.
const (
	leavePhaseHandOff = "handing off" // streaming every partition to its new owners
	leavePhaseResend  = "resending"   // sending again the keys written during the hand-off
	leavePhaseHints   = "hints"       // refusing writes; delivering held hints to the owners
	leavePhaseLeaving = "leaving"     // telling the cluster, then stopping
	leaveResendRounds = 5             // resend rounds before writes are refused
	leaveHintsPoll    = 50 * time.Millisecond
)

// leaveState is the progress of this node's leave.
type leaveState struct {
	phase                           atomic.Pointer[string]
	partitionsTotal, partitionsDone atomic.Int64
	keysResent                      atomic.Int64
}

func (l *leaveState) setPhase(p string) { l.phase.Store(&p) }

// Phase is the current phase ("" before a leave).
func (l *leaveState) Phase() string {
	if p := l.phase.Load(); p != nil {
		return *p
	}
	return ""
}

// leave hands this node's data to the members that own it without this node,
// then takes the node out of the ring and stops it. It returns once leaving
// has begun; the rest runs in a goroutine the node owns, which a shutdown
// interrupts (the node then stays a ring member, marked leaving, and a later
// leave resumes where this one stopped, see journal).
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

// handOffAndLeave leaves without losing a write this node acknowledged:
//
//  1. Every key changed here from now on is recorded (changeLog).
//  2. Every partition this node is a primary of is streamed to the nodes
//     that become its primaries without it (journaled: a restarted leave
//     skips the partitions already done).
//  3. The keys changed since are sent again, a few rounds.
//  4. Writes are refused (writeGate); the keys changed before that are
//     sent one last time. From here no write can be acknowledged by this
//     node alone: coordinators count the refusal as a failed replica.
//  5. The hints this node holds go to their keys' owners (the hint workers
//     treat every target as departed) and the node waits for none to be
//     left.
//  6. The node tells the cluster it left, and stops.
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
	n.leaveRing.Store(next)
	n.changes.start()
	defer n.changes.stop()
	start := time.Now()

	n.leaveState.setPhase(leavePhaseHandOff)
	keys, err := n.handOff(ctx, current, next)
	if err != nil {
		return err
	}
	n.leaveState.setPhase(leavePhaseResend)
	for range leaveResendRounds {
		resent, err := n.resendChanged(ctx, next)
		if err != nil {
			return err
		}
		if resent == 0 {
			break
		}
	}
	n.writes.refuse()
	if _, err := n.resendChanged(ctx, next); err != nil {
		return err
	}

	n.leaveState.setPhase(leavePhaseHints)
	n.hints.Notify()
	for {
		if count, _ := n.hints.PendingTotal(); count == 0 {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("deliver held hints before leaving: %w", ctx.Err())
		case <-time.After(leaveHintsPoll):
		}
	}

	n.leaveState.setPhase(leavePhaseLeaving)
	n.logger.Info("handed off all data; leaving the ring", "keys", keys, "resent", n.leaveState.keysResent.Load(), "took", time.Since(start).Round(time.Millisecond))
	if err := n.store.DeleteRecord(journalLeave); err != nil {
		n.logger.Warn("leave journal not deleted", "err", err)
	}
	leaveCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return n.gossip.Leave(leaveCtx)
}

// handOff sends every key this node holds as a primary under ring from to
// the nodes that become its primaries under ring to, and returns once every
// one of them acknowledged every key (retrying while ctx lasts). It returns
// the number of keys sent.
func (n *Node) handOff(ctx context.Context, from, to *ring.Ring) (int, error) {
	j := n.loadJournal(journalLeave)
	if !j.covers(from.Members(), to.Members()) {
		j = &journal{From: from.Members(), To: to.Members()}
	} else {
		n.logger.Info("resuming an interrupted leave", "partitions_done", len(j.Done))
	}
	type handOffPartition struct {
		p       uint32
		targets []string
	}
	var todo []handOffPartition
	for p := range uint32(from.Partitions()) {
		if targets := handOffTargets(n.cfg.ID, p, from, to); len(targets) > 0 {
			todo = append(todo, handOffPartition{p, targets})
		}
	}
	n.leaveState.partitionsTotal.Store(int64(len(todo)))
	n.leaveState.partitionsDone.Store(0)
	total := 0
	for _, t := range todo {
		if p := t.p; !j.done(p) {
			sent, err := n.streamPartition(ctx, p, t.targets, transferLeave, nil, nil)
			total += sent
			if err != nil {
				return total, err
			}
			j.markDone(p)
			if err := n.saveJournal(journalLeave, j); err != nil {
				n.logger.Warn("leave progress not saved; a restarted leave repeats it", "err", err)
			}
		}
		n.leaveState.partitionsDone.Add(1)
	}
	return total, nil
}

// handOffTargets returns the nodes that become primaries of partition p
// when ring from changes to ring to, if self is one of its primaries under
// from (nil otherwise).
func handOffTargets(self string, p uint32, from, to *ring.Ring) []string {
	oldPrimaries, _ := from.PreferenceList(p)
	if !slices.Contains(oldPrimaries, self) {
		return nil
	}
	newPrimaries, _ := to.PreferenceList(p)
	return slices.DeleteFunc(slices.Clone(newPrimaries), func(id string) bool {
		return id == self || slices.Contains(oldPrimaries, id)
	})
}

// resendChanged sends the keys changed here since the last call to every
// primary of their partition under ring to, and returns how many it sent.
// Each target gets its keys in ReplicateBatch calls of up to a chunk's
// worth, all targets in parallel: under a steady write load a round must
// take a few round trips, not one per partition and target.
func (n *Node) resendChanged(ctx context.Context, to *ring.Ring) (int, error) {
	byTarget := make(map[string][]replica.KeyState)
	sent := 0
	for _, k := range n.changes.take() {
		state, err := n.local.Read(k.partition, []byte(k.key))
		if err != nil {
			return 0, err
		}
		if state == nil {
			continue
		}
		primaries, _ := to.PreferenceList(k.partition)
		for _, target := range primaries {
			if target != n.cfg.ID {
				byTarget[target] = append(byTarget[target], replica.KeyState{Partition: k.partition, Key: []byte(k.key), State: state})
			}
		}
		sent++
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(byTarget))
	for target, entries := range byTarget {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for chunk := range slices.Chunk(entries, transferChunkKeys) {
				if err := n.replicateUntilAcked(ctx, target, nil, chunk); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return 0, err
	}
	n.leaveState.keysResent.Add(int64(sent))
	return sent, nil
}

// changedKey is a key changed on this node.
type changedKey struct {
	partition uint32
	key       string
}

// changeLog records the keys changed on this node while it is on (during a
// leave), so they can be sent again after the scan of their partition.
type changeLog struct {
	mu   sync.Mutex
	on   bool
	keys map[changedKey]struct{}
}

func (c *changeLog) start() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.on, c.keys = true, make(map[changedKey]struct{})
}

func (c *changeLog) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.on, c.keys = false, nil
}

// record is a replica.ChangeFunc's part: it must be quick.
func (c *changeLog) record(partition uint32, key []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.on {
		c.keys[changedKey{partition, string(key)}] = struct{}{}
	}
}

// take returns the keys recorded since the last take and forgets them.
func (c *changeLog) take() []changedKey {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]changedKey, 0, len(c.keys))
	for k := range c.keys {
		out = append(out, k)
	}
	clear(c.keys)
	return out
}

// errRefusingWrites is what a leaving node answers a write once it no longer
// takes any: the coordinator counts this replica as failed (and keeps a
// hint for it, which goes to the key's new owners once this node is gone).
var errRefusingWrites = errors.New("this node is leaving the cluster and takes no more writes")

// writeGate lets a leaving node stop taking writes at a precise point:
// every write that entered before refuse returned has finished (and was
// recorded in the changeLog), and none enters after.
type writeGate struct {
	mu      sync.RWMutex
	refused bool
}

// admit admits a write, or returns errRefusingWrites; done must be called
// once an admitted write is applied (replica.LocalConfig.Admit).
func (g *writeGate) admit() (done func(), err error) {
	g.mu.RLock()
	if g.refused {
		g.mu.RUnlock()
		return nil, errRefusingWrites
	}
	return g.mu.RUnlock, nil
}

func (g *writeGate) refuse() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.refused = true
}

func (g *writeGate) refusing() bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.refused
}
