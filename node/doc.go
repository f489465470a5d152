// Package node assembles one dynakv node from its parts: storage, the local
// replica and coordinator, gossip membership and the ring, the node-to-node
// transport, and the HTTP API. It owns their start order, their wiring and
// their shutdown order, and nothing else: every behaviour lives in the part
// that owns it, and node adds no logic of its own beyond turning a Config
// into running parts and stopping them again.
package node
