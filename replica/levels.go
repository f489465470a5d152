package replica

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Quorum is the majority of n replicas: n/2+1.
func Quorum(n int) int { return n/2 + 1 }

// ParseLevel turns a consistency level as clients write it ("one", "quorum",
// "all", or a number 1..n) into a count of replicas for a cluster with n
// replicas per key. allowZero admits "0", which pr and pw use to mean "no
// primaries required". The empty string is not a level: callers substitute
// the default before parsing. Errors are fit to show the client.
func ParseLevel(s string, n int, allowZero bool) (int, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "one":
		return 1, nil
	case "quorum":
		return Quorum(n), nil
	case "all":
		return n, nil
	}
	v, err := strconv.Atoi(strings.TrimSpace(s))
	min := 1
	if allowZero {
		min = 0
	}
	if err != nil {
		return 0, fmt.Errorf("%q is not a level: use one, quorum, all, or a number from %d to %d (N=%d)", s, min, n, n)
	}
	if v < min || v > n {
		return 0, fmt.Errorf("level %d is out of range: use one, quorum, all, or a number from %d to %d (N=%d replicas per key)", v, min, n, n)
	}
	return v, nil
}

// ReadOptions are the per-request levels of a read.
type ReadOptions struct {
	R       int           // replies needed
	PR      int           // of those, replies needed from primaries
	Timeout time.Duration // how long the coordinator waits; 0: the node's default
}

// WriteOptions are the per-request levels of a write or delete.
type WriteOptions struct {
	W       int           // acks needed (fallbacks holding a hint count)
	PW      int           // of those, acks needed from primaries
	Timeout time.Duration // how long the coordinator waits; 0: the node's default
}

// needed is how many replies satisfy both levels: pr primaries are also
// replies, so r below pr is raised to pr.
func needed(total, primaries int) int { return max(total, primaries) }
