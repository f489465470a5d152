// Package memnet is an in-memory network of dynakv nodes, for tests: each
// node registers its transport.Handler, and Transport(node) returns the
// replica.Transport that node's coordinator uses to call the others. It is
// not a production transport (package transport is); it lives outside
// _test.go files so that any package's tests can build a cluster in one
// process.
//
// Calls behave as they would over gRPC: states, keys, values and contexts are
// encoded and decoded on the way (no memory is shared between nodes), the
// handler sees the caller's deadline and cancellation but none of its context
// values, and errors cross with the transport's own translation (typed
// refusals survive, a peer's own unreachable errors do not leak as the
// caller's). Calls run synchronously in the caller's goroutine; memnet starts
// no goroutine of its own.
//
// Faults are built in and take effect as soon as the setter returns:
// Partition, Isolate and Heal cut and mend links; Down and Up kill and revive
// nodes; SetDelay slows a link (a delay past the caller's deadline ends the
// call with context.DeadlineExceeded); DropReplicate silently loses
// Replicate calls (and no others: neither a StoreHint nor anti-entropy's
// calls are ever dropped) on a link;
// Intercept adds any other fault. A call that cannot reach its peer fails at
// once with an error wrapping replica.ErrUnreachable.
//
// Like package transport, memnet never decides quorum or placement and never
// touches storage.
package memnet
