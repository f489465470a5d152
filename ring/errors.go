package ring

import "errors"

var (
	// ErrInvalidConfig means a Config value cannot describe a ring
	// (partitions or N out of range).
	ErrInvalidConfig = errors.New("ring: invalid config")

	// ErrInvalidMember means a member id is empty or contains a NUL byte.
	ErrInvalidMember = errors.New("ring: invalid member id")

	// ErrTooManyMembers means the members cannot share the partitions
	// under the bounded-load rule (in practice: more members than partitions).
	ErrTooManyMembers = errors.New("ring: too many members for the partition count")
)
