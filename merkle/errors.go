package merkle

import "errors"

// Errors. Every error the package returns wraps one of these, so callers
// can tell a broken peer (ErrMalformed) from a peer that cannot be compared
// with at all (ErrIncompatible).
var (
	// ErrMalformed is wrapped by every decoding error and by a request or
	// response whose content breaks the protocol (a node id out of range, a
	// response with the wrong number of hashes).
	ErrMalformed = errors.New("malformed")

	// ErrIncompatible is wrapped when two sides cannot be compared: their
	// trees have different shapes, or an encoding carries a format version
	// this build does not know (and so, possibly, other hash functions).
	ErrIncompatible = errors.New("incompatible")
)
