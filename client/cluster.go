package client

import (
	"context"
	"fmt"
	"net/url"
)

// Member is one node as GET /cluster/members describes it.
type Member struct {
	ID         string `json:"id"`
	HTTPAddr   string `json:"http_addr"`
	GossipAddr string `json:"gossip_addr"`
	RPCAddr    string `json:"rpc_addr"` // node-to-node address
	Status     string `json:"status"`   // alive, suspect, dead, leaving or left
	InRing     bool   `json:"in_ring"`
}

// Members lists the nodes the contacted node knows of.
func (c *Client) Members(ctx context.Context) ([]Member, error) {
	var out []Member
	if err := c.getJSON(ctx, "/cluster/members", nil, &out); err != nil {
		return nil, fmt.Errorf("list members: %w", err)
	}
	return out, nil
}

// RingInfo is GET /cluster/ring: N, the partition count and each member's
// share of partitions.
type RingInfo struct {
	N          int          `json:"n"`
	Replicas   int          `json:"replicas"` // replicas a key has now: N, or fewer while the ring is smaller
	Partitions int          `json:"partitions"`
	Members    []RingMember `json:"members"`
}

// IDs returns the ring members' ids, in the order the ring lists them (by
// id).
func (r *RingInfo) IDs() []string {
	ids := make([]string, len(r.Members))
	for i, m := range r.Members {
		ids[i] = m.ID
	}
	return ids
}

// RingMember is one ring member's share of the ring.
type RingMember struct {
	ID         string  `json:"id"`
	Partitions int     `json:"partitions"` // partitions it is the first primary of
	Share      float64 `json:"share"`      // Partitions as a fraction of all
	Replicas   int     `json:"replicas"`   // partitions it holds a replica of
}

// Ring describes the ring as the contacted node sees it.
func (c *Client) Ring(ctx context.Context) (*RingInfo, error) {
	var out RingInfo
	if err := c.getJSON(ctx, "/cluster/ring", nil, &out); err != nil {
		return nil, fmt.Errorf("get ring: %w", err)
	}
	return &out, nil
}

// PreflistNode is a node of a key's preference list and its status.
type PreflistNode struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

// Preflist is where a key lives: its partition, the primaries that own it
// and the fallbacks that stand in for them.
type Preflist struct {
	Key       string         `json:"key"`
	Partition uint32         `json:"partition"`
	Primaries []PreflistNode `json:"primaries"`
	Fallbacks []PreflistNode `json:"fallbacks"`
}

// Preflist returns the preference list of key.
func (c *Client) Preflist(ctx context.Context, key string) (*Preflist, error) {
	var out Preflist
	if err := c.getJSON(ctx, KeyPath("/cluster/preflist/", key), nil, &out); err != nil {
		return nil, fmt.Errorf("preflist of %q: %w", key, err)
	}
	return &out, nil
}

// Replica is what one node stores for a key, unmerged.
type Replica struct {
	Node     string    `json:"node"`
	Role     string    `json:"role"`               // primary or fallback
	HintFor  string    `json:"hint_for,omitempty"` // a fallback's: the primary its hint is for
	Status   string    `json:"status"`             // ok, not_found, unreachable, timeout or error
	Siblings []Sibling `json:"siblings"`
	Context  string    `json:"context"`
	Error    string    `json:"error"` // what went wrong, with status error
}

// ReplicaView is GET /debug/replicas/{key}: every replica's copy of a key.
type ReplicaView struct {
	Key       string    `json:"key"`
	Partition uint32    `json:"partition"`
	Replicas  []Replica `json:"replicas"`
}

// Replicas returns what each preference-list node (and each fallback holding
// a hint) stores for key.
func (c *Client) Replicas(ctx context.Context, key string) (*ReplicaView, error) {
	var out ReplicaView
	if err := c.getJSON(ctx, KeyPath("/debug/replicas/", key), nil, &out); err != nil {
		return nil, fmt.Errorf("replicas of %q: %w", key, err)
	}
	return &out, nil
}

// Accepted is the answer of a cluster change the node accepted (202): what
// it does next, in words.
type Accepted struct {
	Status  string `json:"status"`
	ID      string `json:"id,omitempty"`
	Message string `json:"message"`
}

// Leave asks the contacted node to hand its data to the new owners, leave
// the ring and exit. It returns once the node accepted (202).
func (c *Client) Leave(ctx context.Context) (*Accepted, error) {
	a, err := c.post(ctx, "/cluster/leave")
	if err != nil {
		return nil, fmt.Errorf("leave: %w", err)
	}
	return a, nil
}

// Remove takes the dead node id out of the ring for good.
func (c *Client) Remove(ctx context.Context, id string) (*Accepted, error) {
	a, err := c.post(ctx, "/cluster/remove/"+url.PathEscape(id))
	if err != nil {
		return nil, fmt.Errorf("remove %q: %w", id, err)
	}
	return a, nil
}
