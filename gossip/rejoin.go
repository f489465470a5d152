package gossip

import (
	"slices"
	"time"
)

// rejoinLoop tries, every RejoinInterval, to reach the ring members this
// node does not see alive, and its Join addresses while it sees no peer.
// memberlist stops probing dead nodes after GossipToTheDeadTime; this loop is
// what re-forms the cluster after restarts and long partitions.
func (g *Gossip) rejoinLoop() {
	defer g.wg.Done()
	t := time.NewTicker(g.cfg.RejoinInterval)
	defer t.Stop()
	for {
		g.rejoinOnce()
		select {
		case <-g.stop:
			return
		case <-t.C:
		}
	}
}

// rejoinOnce tries each rejoin target once; each try takes at most
// memberlist's TCPTimeout.
func (g *Gossip) rejoinOnce() {
	ml := g.ml.Load()
	for _, addr := range g.rejoinTargets() {
		if g.closed() {
			return
		}
		if _, err := ml.Join([]string{addr}); err != nil {
			g.log.Debug("cannot reach ring member", "addr", addr, "err", err)
			continue
		}
		g.log.Info("reached ring member", "addr", addr)
	}
}

// rejoinTargets returns the gossip addresses of ring members not seen alive,
// plus the Join addresses when no peer is seen alive.
func (g *Gossip) rejoinTargets() []string {
	g.mu.RLock()
	defer g.mu.RUnlock()
	var targets []string
	alivePeers := 0
	for id := range g.peers {
		if id != g.cfg.NodeID && g.aliveLocked(id) {
			alivePeers++
		}
	}
	for id, e := range g.members {
		if id == g.cfg.NodeID || !e.Status.inRing() || e.GossipAddr == "" {
			continue
		}
		if !g.aliveLocked(id) {
			targets = append(targets, e.GossipAddr)
		}
	}
	if alivePeers == 0 {
		targets = append(targets, g.cfg.Join...)
	}
	slices.Sort(targets)
	targets = slices.Compact(targets)
	self := g.LocalAddr()
	return slices.DeleteFunc(targets, func(a string) bool { return a == self })
}
