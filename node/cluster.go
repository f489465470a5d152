package node

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"dynakv/api"
	"dynakv/gossip"
	"dynakv/replica"
	"dynakv/versioning"
)

// clusterView answers the cluster and debug endpoints (api.Cluster) from the
// node's gossip, ring and peers.
type clusterView Node

var _ api.Cluster = (*clusterView)(nil)

func (c *clusterView) node() *Node { return (*Node)(c) }

func (c *clusterView) Members() []api.Member {
	ms := c.gossip.Members()
	out := make([]api.Member, len(ms))
	for i, m := range ms {
		out[i] = api.Member{ID: m.ID, HTTPAddr: m.HTTPAddr, GossipAddr: m.GossipAddr, RPCAddr: m.RPCAddr, Status: m.Status, InRing: m.InRing}
	}
	return out
}

func (c *clusterView) Ring() api.RingInfo {
	r := c.placement.ring()
	owned, shares := r.Owned(), r.Shares()
	info := api.RingInfo{N: r.N(), Replicas: c.placement.Replicas(), Partitions: r.Partitions()}
	for _, id := range r.Members() {
		info.Members = append(info.Members, api.RingMember{
			ID:         id,
			Partitions: owned[id],
			Share:      float64(owned[id]) / float64(r.Partitions()),
			Replicas:   shares[id],
		})
	}
	return info
}

func (c *clusterView) Preflist(key []byte) api.Preflist {
	partition, primaries, fallbacks := c.placement.Locate(key)
	return api.Preflist{
		Key:       string(key),
		Partition: partition,
		Primaries: c.statuses(primaries),
		Fallbacks: c.statuses(fallbacks),
	}
}

func (c *clusterView) statuses(ids []string) []api.NodeStatus {
	out := make([]api.NodeStatus, len(ids))
	for i, id := range ids {
		status := gossip.StatusDead
		if m, ok := c.gossip.Node(id); ok {
			status = m.Status
		}
		out[i] = api.NodeStatus{ID: id, Status: status}
	}
	return out
}

// Replicas reads every primary's own copy of key, and the hints fallbacks
// hold for it, in parallel, unmerged.
func (c *clusterView) Replicas(ctx context.Context, key []byte) api.ReplicasView {
	partition, primaries, fallbacks := c.placement.Locate(key)
	view := api.ReplicasView{Key: string(key), Partition: partition, Replicas: []api.ReplicaView{}}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.DefaultTimeout)
	defer cancel()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		primary  = make([]api.ReplicaView, len(primaries))
		fallback = make([][]api.ReplicaView, len(fallbacks))
	)
	for i, id := range primaries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var state *versioning.Set
			var err error
			if id == c.cfg.ID {
				state, err = c.local.Read(partition, key)
			} else {
				state, err = c.peers.Read(ctx, id, partition, key)
			}
			primary[i] = replicaView(key, id, "primary", state, err)
		}()
	}
	for i, id := range fallbacks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var held map[string]*versioning.Set
			var err error
			if id == c.cfg.ID {
				held, err = c.hints.Held(partition, key)
			} else if c.gossip.Alive(id) {
				held, err = c.peers.HeldHints(ctx, id, partition, key)
			}
			if err != nil {
				c.logger.Debug("listing hints for the replicas view failed", "node", id, "err", err)
				return
			}
			for _, target := range slices.Sorted(maps.Keys(held)) {
				v := replicaView(key, id, "fallback", held[target], nil)
				v.HintFor = target
				mu.Lock()
				fallback[i] = append(fallback[i], v)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	view.Replicas = append(view.Replicas, primary...)
	for _, f := range fallback {
		view.Replicas = append(view.Replicas, f...)
	}
	return view
}

func replicaView(key []byte, id, role string, state *versioning.Set, err error) api.ReplicaView {
	v := api.ReplicaView{Node: id, Role: role, Siblings: []api.SiblingBody{}}
	switch {
	case err == nil && state.IsEmpty():
		v.Status = "not_found"
	case err == nil:
		v.Status = "ok"
		v.Context = versioning.EncodeKeyContext(key, state.Context())
		for _, s := range state.Siblings {
			value := s.Value
			if value == nil {
				value = []byte{}
			}
			v.Siblings = append(v.Siblings, api.SiblingBody{Value: value, ContentType: s.ContentType, Deleted: s.Deleted})
		}
	case replica.IsUnreachable(err):
		v.Status, v.Error = "unreachable", err.Error()
	case errors.Is(err, context.DeadlineExceeded):
		v.Status, v.Error = "timeout", err.Error()
	default:
		v.Status, v.Error = "error", err.Error()
	}
	return v
}

func (c *clusterView) Leave() error { return c.node().leave() }

func (c *clusterView) Remove(id string) error {
	err := c.gossip.Remove(id)
	switch {
	case errors.Is(err, gossip.ErrNodeAlive):
		return fmt.Errorf("%s: %w", id, api.ErrNodeAlive)
	case errors.Is(err, gossip.ErrUnknownNode):
		return fmt.Errorf("%s: %w", id, api.ErrUnknownNode)
	case errors.Is(err, gossip.ErrClosed):
		return api.ErrLeaving
	case err != nil:
		return fmt.Errorf("remove %s: %w", id, err)
	}
	return c.node().rebuildRing()
}
