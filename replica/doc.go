// Package replica owns the request path of a key between the client-facing
// API and local storage: the coordinator that sends a read or write to the
// key's preference list and waits for the per-request levels (r, w, pr, pw,
// timeout), and the local replica that applies versioned writes and merges to
// this node's store.
//
// The coordinator decides only from its inputs: the placement of the key, the
// liveness of nodes, the replies that arrive. It never opens sockets itself
// (peers are reached through the Transport interface, so tests plug in an
// in-memory network with faults) and never interprets HTTP.
package replica
