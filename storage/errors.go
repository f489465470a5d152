package storage

import "errors"

var (
	// ErrNotFound is returned by Get when the key is absent.
	ErrNotFound = errors.New("storage: key not found")

	// ErrClosed is returned by every operation started after Close.
	ErrClosed = errors.New("storage: store is closed")

	// ErrFailed is returned by every operation after a write to the disk
	// failed (see failure.go): the node must be restarted, on a working
	// disk.
	ErrFailed = errors.New("storage: a write to the disk failed; restart the node once the disk works")

	// ErrNoIdentity is returned by Open when the data folder already holds
	// pebble files but no IDENTITY file. Such data belongs to an unknown node
	// and incarnation; inventing an identity for it could reuse another
	// node's version-vector dots, so the folder is refused.
	ErrNoIdentity = errors.New("storage: data folder holds data but no IDENTITY file")

	// ErrSequenceExhausted is returned by NextSequence when the 64-bit
	// sequence space is used up.
	ErrSequenceExhausted = errors.New("storage: sequence exhausted")
)
