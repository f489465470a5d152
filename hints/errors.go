package hints

import "errors"

var (
	// ErrClosed is returned by Store after Close.
	ErrClosed = errors.New("hints: manager is closed")

	// ErrOverCap is returned by Store when the target's queue already holds
	// Config.MaxPendingBytes: the hint is not stored, and the caller must
	// not count it as an ack. Anti-entropy repairs the target later.
	ErrOverCap = errors.New("hints: target's hint queue is full")

	// ErrSelfTarget is returned by Store for a hint addressed to the node
	// that holds it: a node never hands off to itself.
	ErrSelfTarget = errors.New("hints: hint targets the local node")
)
