// Package transport owns the calls one dynakv node makes to another: a gRPC
// Server that exposes this node's Handler to its peers, and a Client that
// implements replica.Transport over one persistent, multiplexed connection
// per peer.
//
// The package moves bytes and errors, nothing more. It never decides quorum,
// placement or liveness (the coordinator in package replica does), never
// touches storage (the Handler does), and never retries a call that may have
// reached the peer (gRPC's transparent retry covers only calls that never
// left this node): whether to try another replica is the caller's decision.
// Key states cross the wire in the versioning package's own binary encoding,
// and hash-tree messages in the merkle package's, so a node never sees
// memory that belongs to another.
//
// What crosses a hop unchanged:
//   - the caller's deadline and cancellation (gRPC propagates them);
//   - the refusals a coordinator answers with: *replica.UnavailableError,
//     *replica.TimeoutError, replica.ErrTooManySiblings and
//     *replica.ObjectTooLargeError are rebuilt on the caller's side, so a
//     forwarded write fails exactly like a local one (match them with
//     errors.As and errors.Is; the error is wrapped with the call that
//     failed). A caller of an older release, which cannot read a newer
//     refusal's detail, gets the peer's message as a plain RemoteError.
//
// A connection whose last attempt to reach its peer failed is replaced on
// the next call, whose attempt that call waits for: a peer that restarted
// is reached by the first call made to it, not only once a backoff ran out.
//
// What the Client adds: errors that wrap replica.ErrUnreachable when the peer
// was not reached at all (unknown node id, connection refused, connection
// lost, peer shutting down, or a peer that speaks another protocol version,
// which also wraps ErrProtocolMismatch); errors that wrap
// context.DeadlineExceeded or context.Canceled when the caller's ctx ended
// first; errors that wrap ErrUnimplemented when the peer runs an older
// release without the call (StoreHint and HeldHints, then the anti-entropy
// calls TreeHashes, TreeListing, ExchangeStates and ReapTombstones, then
// ListKeys, were added within protocol version 1). Any other error the peer's handler
// returned arrives with the peer's message and never counts as unreachable.
//
// Every call carries ProtocolVersion in the "dynakv-protocol-version" gRPC
// metadata header; a Server refuses any other version with a message naming
// both. The wire format is described in transportpb/node.proto.
//
// For tests, package transport/memnet provides an in-memory network with the
// same semantics and fault controls (partitions, down nodes, delays, drops).
package transport
