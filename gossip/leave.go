package gossip

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/memberlist"
)

// MarkLeaving records that this node is leaving: it stays a ring member
// (it still owns its data) while it hands its data to the members that will
// own it without it; Leave then takes it out. Peers show it as "leaving".
func (g *Gossip) MarkLeaving() error {
	if g.closed() {
		return ErrClosed
	}
	_, err := g.setSelf(Leaving, nil)
	return err
}

// setSelf sets this node's ring status, persists it and broadcasts it; done
// (may be nil) is closed when the broadcast is finished. It returns whether
// the status changed.
func (g *Gossip) setSelf(status RingStatus, done chan struct{}) (bool, error) {
	e, changed, _ := g.update(g.cfg.NodeID, func(cur entry, ok bool) (entry, error) {
		g.leaving = true
		if ok && cur.Status == status {
			return cur, errNoChange
		}
		return g.selfEntry(status), nil
	})
	if !changed {
		if done != nil {
			close(done)
		}
		return false, nil
	}
	g.changed([]entry{e}, done)
	return true, g.persistLatest()
}

// Leave takes this node out of the ring for good and stops gossip. It
// records the node as left, persists that, pushes the membership to every
// peer it sees alive (falling back on waiting for the broadcast), then leaves
// memberlist and closes. The data it owned must have been handed off before
// (see MarkLeaving). If ctx ends first, the node still leaves and closes, and
// Leave returns an error saying peers may have missed it.
func (g *Gossip) Leave(ctx context.Context) error {
	if g.closed() {
		return ErrClosed
	}
	done := make(chan struct{})
	_, err := g.setSelf(Left, done)
	if err != nil {
		err = fmt.Errorf("gossip: leave: %w", err)
	}
	if !g.pushToPeers(ctx) {
		select {
		case <-done:
		case <-ctx.Done():
			err = errors.Join(err, fmt.Errorf("gossip: leave: peers may not have learned it: %w", ctx.Err()))
		}
	}
	timeout := time.Second
	if deadline, ok := ctx.Deadline(); ok {
		timeout = max(time.Until(deadline), 10*time.Millisecond)
	}
	g.lifeMu.Lock()
	if !g.closed() {
		if lerr := g.ml.Load().Leave(timeout); lerr != nil {
			g.log.Warn("memberlist leave", "err", lerr)
		}
	}
	g.lifeMu.Unlock()
	g.log.Info("left the ring")
	return errors.Join(err, g.Close())
}

// pushToPeers sends the whole membership to every peer seen alive through a
// push/pull exchange, and reports whether all of them answered.
func (g *Gossip) pushToPeers(ctx context.Context) bool {
	g.mu.RLock()
	var addrs []string
	for id, p := range g.peers {
		if id != g.cfg.NodeID && p.state == memberlist.StateAlive {
			addrs = append(addrs, p.addr)
		}
	}
	g.mu.RUnlock()
	ml := g.ml.Load()
	all := true
	for _, addr := range addrs {
		if ctx.Err() != nil {
			return false
		}
		if _, err := ml.Join([]string{addr}); err != nil {
			g.log.Debug("push membership to peer", "addr", addr, "err", err)
			all = false
		}
	}
	return all
}

// Remove takes node id out of the ring for good: every node drops it from
// its ring, and its ranges go to other members. Only a node gossip sees dead
// can be removed; an alive one (suspect included) is refused with ErrNodeAlive,
// this node too (use Leave). Removing a node that is not a ring member is a
// no-op; an id gossip never heard of is ErrUnknownNode.
func (g *Gossip) Remove(id string) error {
	if g.closed() {
		return ErrClosed
	}
	if id == g.cfg.NodeID {
		return fmt.Errorf("gossip: remove %s: %w: it is this node; use leave to take it out", id, ErrNodeAlive)
	}
	e, changed, err := g.update(id, func(cur entry, ok bool) (entry, error) {
		_, seen := g.peers[id]
		switch {
		case !ok && !seen:
			return cur, ErrUnknownNode
		case g.aliveLocked(id):
			return cur, fmt.Errorf("%w: only a dead node can be removed; stop it first, or run leave on it", ErrNodeAlive)
		case !cur.Status.inRing():
			return cur, errNoChange
		}
		cur.Status = Removed
		return cur, nil
	})
	if err != nil {
		return fmt.Errorf("gossip: remove %s: %w", id, err)
	}
	if !changed {
		return nil
	}
	g.log.Warn("removed node from the ring", "member", id)
	g.changed([]entry{e}, nil)
	return wrapErr("gossip: remove "+id, g.persistLatest())
}
