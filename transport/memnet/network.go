package memnet

import (
	"sync"
	"time"

	"dynakv/replica"
	"dynakv/transport"
)

// Operation names, as passed to an Intercept hook.
const (
	OpRead       = "read"
	OpReplicate  = "replicate"
	OpCoordinate = "coordinate"
	OpStoreHint  = "store-hint"
	OpHeldHints  = "held-hints"

	// Anti-entropy's calls.
	OpTreeHashes     = "tree-hashes"
	OpTreeListing    = "tree-listing"
	OpExchangeStates = "exchange-states"
	OpReapTombstones = "reap-tombstones"

	// The key listing's call.
	OpListKeys = "list-keys"
)

// Network is an in-memory network of nodes. The zero value is not usable:
// call New. All methods are safe for concurrent use.
type Network struct {
	mu        sync.Mutex
	handlers  map[string]transport.Handler
	groups    map[string]int // partition group of each node named by Partition; nil: not partitioned
	isolated  map[string]bool
	down      map[string]bool
	delays    map[link]time.Duration
	drops     map[link]bool
	intercept func(from, to, op string) error
}

// link is the direction from one node to another.
type link struct{ from, to string }

// New returns an empty network with no faults.
func New() *Network {
	return &Network{
		handlers: make(map[string]transport.Handler),
		isolated: make(map[string]bool),
		down:     make(map[string]bool),
		delays:   make(map[link]time.Duration),
		drops:    make(map[link]bool),
	}
}

// Register attaches node's handler to the network, replacing any earlier
// one (a restarted node registers again). A nil handler removes the node:
// calls to it fail as unreachable.
func (n *Network) Register(nodeID string, h transport.Handler) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if h == nil {
		delete(n.handlers, nodeID)
		return
	}
	n.handlers[nodeID] = h
}

// Transport returns the transport node from uses to call the other nodes.
// from need not be registered yet.
func (n *Network) Transport(from string) replica.Transport {
	return &nodeTransport{net: n, from: from}
}

// Partition splits the network: nodes in different groups cannot reach each
// other. Nodes named in no group form one more group together. It replaces
// any earlier partition; Isolate, Down, delays and drops are kept.
func (n *Network) Partition(groups ...[]string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.groups = make(map[string]int)
	for i, g := range groups {
		for _, node := range g {
			n.groups[node] = i + 1
		}
	}
}

// Isolate cuts node off from every other node, both ways, until Heal.
func (n *Network) Isolate(node string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.isolated[node] = true
}

// Heal ends the partition and every isolation. Down nodes stay down, and
// delays and drops stay set.
func (n *Network) Heal() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.groups = nil
	clear(n.isolated)
}

// Down kills node: calls to it and from it fail as unreachable until Up.
func (n *Network) Down(node string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.down[node] = true
}

// Up revives a node Down killed.
func (n *Network) Up(node string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.down, node)
}

// SetDelay delays every call from one node to another by d before it
// reaches the handler; 0 removes the delay. The caller's deadline still
// holds: a call whose deadline passes while delayed fails with
// context.DeadlineExceeded and never reaches the handler.
func (n *Network) SetDelay(from, to string, d time.Duration) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if d <= 0 {
		delete(n.delays, link{from, to})
		return
	}
	n.delays[link{from, to}] = d
}

// DropReplicate makes Replicate calls from one node to another succeed
// without reaching the handler (drop true), or delivers them again (false):
// the peer silently misses writes the caller counts as acked, the
// divergence anti-entropy must repair. Other calls, StoreHint included, are
// unaffected: a hint is acked only once stored.
func (n *Network) DropReplicate(from, to string, drop bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !drop {
		delete(n.drops, link{from, to})
		return
	}
	n.drops[link{from, to}] = true
}

// Intercept installs a hook called for every call that the built-in faults
// let through, before any delay; nil removes it. When the hook returns an
// error, the call fails with it without reaching the handler: wrap
// replica.ErrUnreachable to simulate a lost peer. The hook runs in the
// caller's goroutine without the network's lock, so it may change faults.
func (n *Network) Intercept(hook func(from, to, op string) error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.intercept = hook
}
