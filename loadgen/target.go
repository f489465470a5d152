package loadgen

import "context"

// Target is one node of the store under test, as the run loop sees it. The
// caller adapts its client to it; loadgen never talks to a store itself. A
// Target is used by every worker at once.
//
// A causal token ("context" in dynakv) names the versions a read saw: a
// write that carries it supersedes them instead of adding a sibling.
type Target interface {
	// Read reads key. A key that does not exist is not an error: found is
	// false. causal is the token that supersedes what was read ("" if none).
	Read(ctx context.Context, key string) (found bool, causal string, err error)
	// Write stores value under key, superseding the versions causal names
	// ("" for a blind write), and returns the token of the new version.
	Write(ctx context.Context, key string, value []byte, causal string) (string, error)
}
