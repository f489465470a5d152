package replica

import (
	"errors"
	"fmt"
	"strings"

	"dynakv/storage"
)

// ErrStorageFailed is wrapped by every local read and write once a write to
// this node's disk failed (storage.ErrFailed): the node holds state it
// could not make durable, so it serves nothing more until it restarts.
var ErrStorageFailed = storage.ErrFailed

// ErrTooManySiblings is returned when a write would grow a key past the
// sibling limit (it wraps versioning.ErrTooManySiblings).
var ErrTooManySiblings = errors.New("too many siblings")

// ObjectTooLargeError refuses a write that would leave a key's siblings
// holding more value bytes together than the object size limit allows
// (--max-object-bytes, as Riak's max_object_size), and more than before the
// write: concurrent writes of large values would otherwise grow one key
// without bound, and every read of it with them. A write with the context
// of a read of the key (which supersedes what that read showed) shrinks
// the object and is taken.
type ObjectTooLargeError struct {
	Bytes int64 // the key's value bytes had the write been taken
	Limit int64
}

func (e *ObjectTooLargeError) Error() string {
	return fmt.Sprintf("the write would leave the key's siblings holding %d bytes of values together, over the limit of %d", e.Bytes, e.Limit)
}

// UnavailableError means fewer replicas were reachable than the levels need,
// found before anything was sent: nothing was written.
type UnavailableError struct {
	Op              string // "read", "write" or "restore"
	Needed          int    // replicas the level needs
	Alive           int    // replicas reachable now
	NeededPrimaries int    // primaries pr/pw needs
	AlivePrimaries  int    // primaries reachable now
}

func (e *UnavailableError) Error() string {
	if e.NeededPrimaries > e.AlivePrimaries {
		return fmt.Sprintf("%s needs %d primary replicas but only %d are reachable; nothing was written", e.Op, e.NeededPrimaries, e.AlivePrimaries)
	}
	return fmt.Sprintf("%s needs %d replicas but only %d are reachable; nothing was written", e.Op, e.Needed, e.Alive)
}

// TimeoutError means the levels were not met before the deadline. For a write
// the value may have been applied on the replicas in AckedBy; retrying with
// the same context is safe and creates no extra sibling.
type TimeoutError struct {
	Op      string
	Needed  int
	Acked   int
	AckedBy []string
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("%s timed out with %d of %d replies (from: %s)", e.Op, e.Acked, e.Needed, strings.Join(e.AckedBy, ", "))
}

// ErrUnreachable is wrapped by transport errors that mean the peer was not
// reached at all (connection refused, partitioned), as opposed to a peer that
// answered with an error.
var ErrUnreachable = errors.New("peer unreachable")

// IsUnreachable reports whether err means the peer was not reached.
func IsUnreachable(err error) bool { return errors.Is(err, ErrUnreachable) }
