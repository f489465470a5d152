package gossip

import (
	"errors"
	"fmt"
	"slices"
)

// errNoChange tells update that the entry already says what was asked.
var errNoChange = errors.New("no change")

// update changes the entry of id under g.mu: fn gets the current entry (ok
// false when there is none) and returns the wanted one, errNoChange, or an
// error. The new entry gets the next version. update returns the entry
// written and whether anything changed; the caller publishes it.
func (g *Gossip) update(id string, fn func(cur entry, ok bool) (entry, error)) (entry, bool, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	cur, ok := g.members[id]
	e, err := fn(cur, ok)
	if errors.Is(err, errNoChange) {
		return cur, false, nil
	}
	if err != nil {
		return entry{}, false, err
	}
	e.ID = id
	e.Version = g.members.nextVersion()
	g.members.merge([]entry{e})
	g.gen++
	return e, true, nil
}

// selfEntry is this node's entry as it is now, with the given status.
func (g *Gossip) selfEntry(status RingStatus) entry {
	return entry{
		ID:         g.cfg.NodeID,
		HTTPAddr:   g.cfg.HTTPAddr,
		RPCAddr:    g.cfg.RPCAddr,
		GossipAddr: g.LocalAddr(),
		Status:     status,
	}
}

// joinRing records this node as a ring member with its current addresses,
// unless its entry already says exactly that.
func (g *Gossip) joinRing() {
	want := g.selfEntry(Joined)
	e, changed, _ := g.update(g.cfg.NodeID, func(cur entry, ok bool) (entry, error) {
		want.Version = cur.Version
		if ok && cur == want {
			return cur, errNoChange
		}
		return want, nil
	})
	if changed {
		g.changed([]entry{e}, nil)
	}
}

// apply merges entries learned from a peer and publishes what changed.
func (g *Gossip) apply(entries []entry) {
	if len(entries) == 0 {
		return
	}
	g.mu.Lock()
	changed := g.members.merge(entries)
	if refuted, ok := g.checkSelfLocked(changed); ok {
		changed = append(changed, refuted)
	}
	if len(changed) > 0 {
		g.gen++
	}
	g.mu.Unlock()
	g.changed(changed, nil)
}

// checkSelfLocked looks at a peer's change of this node's own entry; the
// node is the authority on its addresses and on whether it is running:
//   - a ring member entry with other addresses (a stale copy of an earlier
//     run) is corrected;
//   - while the node is starting (refuteRemoval), Left or Removed is
//     overridden: starting a node means joining the ring;
//   - afterwards, Left or Removed is accepted and reported.
//
// A correcting entry is merged and returned. g.mu must be held.
func (g *Gossip) checkSelfLocked(changed []entry) (entry, bool) {
	if g.leaving || g.LocalAddr() == "" || // not started yet: joinRing will write the entry
		!slices.ContainsFunc(changed, func(e entry) bool { return e.ID == g.cfg.NodeID }) {
		return entry{}, false
	}
	self := g.members[g.cfg.NodeID]
	want := g.selfEntry(self.Status)
	switch {
	case self.Status.inRing() && sameAddrs(self, want):
		return entry{}, false
	case self.Status.inRing():
		g.log.Warn("correcting this node's addresses in ring membership", "gossip_addr", self.GossipAddr, "http_addr", self.HTTPAddr, "rpc_addr", self.RPCAddr)
	case g.refuteRemoval:
		want.Status = Joined
		g.log.Warn("this node was out of the ring (left or removed) and is joining it again", "was", self.Status)
	default:
		g.log.Error("another node took this node out of the ring; it no longer owns data. Restart it to join again",
			"status", self.Status, "version", self.Version)
		return entry{}, false
	}
	want.Version = g.members.nextVersion()
	g.members.merge([]entry{want})
	return want, true
}

// sameAddrs reports whether a and b carry the same addresses.
func sameAddrs(a, b entry) bool {
	return a.GossipAddr == b.GossipAddr && a.HTTPAddr == b.HTTPAddr && a.RPCAddr == b.RPCAddr
}

// changed publishes entries that changed: it logs them, broadcasts them to
// peers, schedules a write of MEMBERS and wakes subscribers. done, if not
// nil, is closed once the broadcast of the last entry is out.
func (g *Gossip) changed(entries []entry, done chan struct{}) {
	if len(entries) == 0 {
		if done != nil {
			close(done)
		}
		return
	}
	for i, e := range entries {
		g.log.Info("ring membership changed", "member", e.ID, "status", e.Status, "version", e.Version)
		var d chan struct{}
		if i == len(entries)-1 {
			d = done
		}
		g.publish(e, d)
	}
	select {
	case g.persistCh <- struct{}{}:
	default: // a write is already pending and will include this change
	}
	g.subs.signal()
}

// persistLoop writes MEMBERS after changes learned from peers.
func (g *Gossip) persistLoop() {
	defer g.wg.Done()
	for {
		select {
		case <-g.stop:
			return
		case <-g.persistCh:
			if err := g.persistLatest(); err != nil {
				g.log.Error("cannot persist ring membership; will retry on the next change", "err", err)
			}
		}
	}
}

// persistLatest writes the current membership to MEMBERS unless it is
// already there. It is a no-op without a data folder or before Start
// succeeded.
func (g *Gossip) persistLatest() error {
	if g.cfg.DataDir == "" || !g.persisting.Load() {
		return nil
	}
	g.persistMu.Lock()
	defer g.persistMu.Unlock()
	g.mu.RLock()
	gen := g.gen
	doc := membersDoc{Self: g.cfg.NodeID, Settings: g.settings, Members: g.members.entries()}
	g.mu.RUnlock()
	if g.wroteOnce && gen == g.persisted {
		return nil
	}
	if err := writeMembers(g.cfg.DataDir, doc); err != nil {
		return fmt.Errorf("gossip: persist ring membership: %w", err)
	}
	g.persisted, g.wroteOnce = gen, true
	return nil
}
