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
//
// Limits a client write must respect are checked where it is coordinated:
// the sibling limit (ErrTooManySiblings) and the object size limit
// (*ObjectTooLargeError). Merges of other replicas' states never refuse.
// Once this node's own disk failed (ErrStorageFailed) the coordinator
// refuses every read and write, even those its peers alone could serve:
// a failed node serves no data, and says so the same way every time.
//
// Lister pages through the keys of the whole cluster (GET /keys), reading
// each partition from one reachable primary: a scan for operators and
// tools, never part of a key's read or write path.
package replica
