package transport

import (
	"fmt"

	"dynakv/replica"
	"dynakv/transport/internal/rpcerr"
)

// ErrProtocolMismatch is wrapped by the error of a call the peer refused
// because it speaks another protocol version. Such an error also wraps
// replica.ErrUnreachable: the peer cannot serve this node at all, so a
// coordinator should treat it like a node it cannot reach.
var ErrProtocolMismatch = rpcerr.ErrProtocolMismatch

// ErrUnimplemented is wrapped by the error of a call the peer does not
// implement because it runs an older release (it speaks the same protocol
// version, but the call was added since, as StoreHint and HeldHints were).
// Such errors also match errors.ErrUnsupported, and never
// replica.ErrUnreachable: the peer answered, and serves every other call.
var ErrUnimplemented = rpcerr.ErrUnimplemented

// ErrClosed is returned by calls on a closed Client. It wraps
// replica.ErrUnreachable.
var ErrClosed = fmt.Errorf("transport: client closed: %w", replica.ErrUnreachable)
