package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
)

// Errors a Cluster returns (wrapped) for requests the client got wrong; the
// cluster endpoints answer them with 4xx.
var (
	// ErrNodeAlive: remove was asked for a node that is alive (409).
	ErrNodeAlive = errors.New("node is alive")
	// ErrUnknownNode: no node has that id (404).
	ErrUnknownNode = errors.New("unknown node")
	// ErrLeaving: this node is already leaving or stopping (409).
	ErrLeaving = errors.New("node is leaving")
)

// Cluster is what the cluster and debug endpoints need from the node.
type Cluster interface {
	Members() []Member
	Ring() RingInfo
	Preflist(key []byte) Preflist
	// Replicas asks every preference-list node (and fallback holding a hint)
	// for its own copy of key, unmerged.
	Replicas(ctx context.Context, key []byte) ReplicasView
	// Leave starts handing this node's data to the new owners; the node then
	// leaves the ring and stops. It returns once leaving has begun.
	Leave() error
	// Remove takes a dead node out of the ring for good.
	Remove(id string) error
}

// Member is one node in GET /cluster/members.
type Member struct {
	ID         string `json:"id"`
	HTTPAddr   string `json:"http_addr"`
	GossipAddr string `json:"gossip_addr"`
	RPCAddr    string `json:"rpc_addr"`
	Status     string `json:"status"` // alive, suspect, dead, leaving, left
	InRing     bool   `json:"in_ring"`
}

// RingInfo is GET /cluster/ring.
type RingInfo struct {
	N          int          `json:"n"`
	Replicas   int          `json:"replicas"` // replicas a key has now: N, or fewer while the ring is smaller
	Partitions int          `json:"partitions"`
	Members    []RingMember `json:"members"`
}

// RingMember is one ring member's share of the ring.
type RingMember struct {
	ID string `json:"id"`
	// Partitions is how many partitions this member is the first primary
	// of; Share is that as a fraction of all partitions.
	Partitions int     `json:"partitions"`
	Share      float64 `json:"share"`
	// Replicas is how many partitions this member holds a replica of.
	Replicas int `json:"replicas"`
}

// Preflist is GET /cluster/preflist/{key}.
type Preflist struct {
	Key       string       `json:"key"`
	Partition uint32       `json:"partition"`
	Primaries []NodeStatus `json:"primaries"`
	Fallbacks []NodeStatus `json:"fallbacks"`
}

// NodeStatus is a node of a preference list and its liveness.
type NodeStatus struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

// ReplicasView is GET /debug/replicas/{key}.
type ReplicasView struct {
	Key       string        `json:"key"`
	Partition uint32        `json:"partition"`
	Replicas  []ReplicaView `json:"replicas"`
}

// ReplicaView is one node's own copy of a key.
type ReplicaView struct {
	Node     string        `json:"node"`
	Role     string        `json:"role"`               // primary, or fallback (holding a hint)
	HintFor  string        `json:"hint_for,omitempty"` // a fallback's: the primary its hint is for
	Status   string        `json:"status"`             // ok, not_found, unreachable, timeout, error
	Siblings []SiblingBody `json:"siblings"`
	Context  string        `json:"context,omitempty"`
	Error    string        `json:"error,omitempty"`
}

// ClusterRoutes returns the /cluster and /debug routes served from c, for
// Config.Routes. Unexpected errors are logged to logger and answered with a
// generic 500.
func ClusterRoutes(c Cluster, logger *slog.Logger) []Route {
	return []Route{
		{"GET /cluster/members", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			WriteJSON(w, http.StatusOK, c.Members())
		})},
		{"GET /cluster/ring", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			WriteJSON(w, http.StatusOK, c.Ring())
		})},
		{"GET /cluster/preflist/{key...}", keyHandler(func(w http.ResponseWriter, r *http.Request, key []byte) {
			WriteJSON(w, http.StatusOK, c.Preflist(key))
		})},
		{"GET /debug/replicas/{key...}", keyHandler(func(w http.ResponseWriter, r *http.Request, key []byte) {
			WriteJSON(w, http.StatusOK, c.Replicas(r.Context(), key))
		})},
		{"POST /cluster/leave", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			if err := c.Leave(); err != nil {
				WriteError(w, clusterError(err, logger))
				return
			}
			WriteJSON(w, http.StatusAccepted, map[string]string{"status": "leaving",
				"message": "handing data to the new owners; the node leaves the ring and stops when done"})
		})},
		{"POST /cluster/remove/{id}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id := r.PathValue("id")
			if err := c.Remove(id); err != nil {
				WriteError(w, clusterError(err, logger))
				return
			}
			WriteJSON(w, http.StatusAccepted, map[string]string{"status": "removed", "id": id,
				"message": "the node is out of the ring; its ranges move to the remaining members"})
		})},
	}
}

func keyHandler(serve func(http.ResponseWriter, *http.Request, []byte)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, err := KeyFromRequest(r)
		if err != nil {
			if e, ok := errorFor(err); ok {
				WriteError(w, e)
				return
			}
			WriteError(w, badRequest("%v", err))
			return
		}
		serve(w, r, key)
	})
}

// clusterError maps membership refusals to client errors.
func clusterError(err error, logger *slog.Logger) *Error {
	switch {
	case errors.Is(err, ErrNodeAlive):
		return &Error{Status: http.StatusConflict, Code: "node_alive",
			Message: err.Error() + ": only a node gossip sees dead can be removed; to take a running node out, run leave on it"}
	case errors.Is(err, ErrUnknownNode):
		return &Error{Status: http.StatusNotFound, Code: "unknown_node",
			Message: err.Error() + ": see GET /cluster/members for the node ids"}
	case errors.Is(err, ErrLeaving):
		return &Error{Status: http.StatusConflict, Code: "leaving",
			Message: "this node is leaving or stopping; ask another node"}
	}
	logger.Error("cluster request failed", "err", err)
	return &Error{Status: http.StatusInternalServerError, Code: "internal", Message: internalMessage}
}
