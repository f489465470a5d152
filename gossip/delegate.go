package gossip

import (
	"fmt"

	"github.com/hashicorp/memberlist"
)

// The memberlist callbacks. memberlist calls them from its own goroutines,
// some while holding its locks: they must not block and must not call back
// into memberlist.

// delegate carries ring membership: node metadata, broadcasts of changed
// entries and the full membership in push/pull.
type delegate struct{ g *Gossip }

// events tracks liveness.
type events struct{ g *Gossip }

// admission refuses nodes with other cluster settings, both when a cluster
// merges with another (join) and when an alive message arrives.
type admission struct{ g *Gossip }

// conflicts reports two nodes claiming one id.
type conflicts struct{ g *Gossip }

var (
	_ memberlist.Delegate         = delegate{}
	_ memberlist.EventDelegate    = events{}
	_ memberlist.MergeDelegate    = admission{}
	_ memberlist.AliveDelegate    = admission{}
	_ memberlist.ConflictDelegate = conflicts{}
)

func (d delegate) NodeMeta(limit int) []byte { return d.g.meta }

func (d delegate) NotifyMsg(buf []byte) {
	var entries []entry
	if err := decodeMsg(buf, msgEntries, &entries); err != nil {
		d.g.log.Warn("ignoring gossip message", "err", err)
		return
	}
	entries, err := validEntries(entries)
	if err != nil {
		d.g.log.Warn("ignoring invalid member entry", "err", err)
	}
	d.g.apply(entries)
}

func (d delegate) GetBroadcasts(overhead, limit int) [][]byte {
	return d.g.queue.GetBroadcasts(overhead, limit)
}

func (d delegate) LocalState(join bool) []byte {
	d.g.mu.RLock()
	state := pushState{Settings: d.g.settings, Members: d.g.members.entries()}
	d.g.mu.RUnlock()
	buf, err := encodeMsg(msgState, state)
	if err != nil {
		d.g.log.Error("cannot send ring membership", "err", err)
		return nil
	}
	return buf
}

func (d delegate) MergeRemoteState(buf []byte, join bool) {
	var state pushState
	if err := decodeMsg(buf, msgState, &state); err != nil {
		d.g.log.Warn("ignoring peer's ring membership", "err", err)
		return
	}
	if err := d.g.settings.check(state.Settings, "a peer's ring membership"); err != nil {
		d.g.log.Error("ignoring peer's ring membership", "err", err)
		return
	}
	entries, err := validEntries(state.Members)
	if err != nil {
		d.g.log.Warn("ignoring invalid member entry", "err", err)
	}
	d.g.apply(entries)
	d.g.mu.Lock()
	d.g.refuteRemoval = false // a peer has seen this node's entry now
	d.g.mu.Unlock()
}

// memberlist (v0.7.0) does not maintain Node.State in the nodes it hands to
// events: the event itself is the state. It reports no suspect state either,
// so a suspect node counts as alive until it is declared dead.
func (e events) NotifyJoin(n *memberlist.Node)   { e.g.setPeer(n, memberlist.StateAlive) }
func (e events) NotifyLeave(n *memberlist.Node)  { e.g.setPeer(n, memberlist.StateDead) }
func (e events) NotifyUpdate(n *memberlist.Node) { e.g.setPeer(n, memberlist.StateAlive) }

// setPeer records what memberlist says about n and wakes subscribers.
func (g *Gossip) setPeer(n *memberlist.Node, state memberlist.NodeStateType) {
	meta, err := decodeMeta(n.Meta)
	g.mu.Lock()
	prev, seen := g.peers[n.Name]
	if err != nil {
		meta = prev.meta
	}
	g.peers[n.Name] = peer{meta: meta, addr: n.Address(), state: state}
	g.mu.Unlock()
	if n.Name != g.cfg.NodeID && (!seen || prev.state != state) {
		g.log.Info("peer liveness changed", "peer", n.Name, "addr", n.Address(), "alive", state == memberlist.StateAlive)
	}
	g.subs.signal()
}

func (a admission) NotifyMerge(peers []*memberlist.Node) error {
	for _, n := range peers {
		if err := a.g.admit(n); err != nil {
			return err
		}
	}
	return nil
}

func (a admission) NotifyAlive(n *memberlist.Node) error { return a.g.admit(n) }

// admit returns an ErrSettingsMismatch for a node whose metadata is not
// dynakv's or carries other cluster settings, and logs it as an error.
func (g *Gossip) admit(n *memberlist.Node) error {
	if n.Name == g.cfg.NodeID {
		return nil
	}
	whom := fmt.Sprintf("node %q at %s", n.Name, n.Address())
	meta, err := decodeMeta(n.Meta)
	if err != nil {
		err = fmt.Errorf("%w: %s is not a dynakv node (%w)", ErrSettingsMismatch, whom, err)
	} else {
		err = g.settings.check(meta.Settings, whom)
	}
	if err != nil {
		g.log.Error("refusing node: cluster settings differ", "peer", n.Name, "addr", n.Address(), "err", err)
		g.mu.Lock()
		g.refusal = err
		g.mu.Unlock()
	}
	return err
}

func (c conflicts) NotifyConflict(existing, other *memberlist.Node) {
	c.g.log.Error("two nodes claim the same node id; give each node its own --id",
		"peer", existing.Name, "addr", existing.Address(), "other_addr", other.Address())
}
