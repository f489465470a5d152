// Package testutil holds helpers shared by the tests of several packages. It
// is imported only from _test.go files and never from production code.
package testutil

import (
	"testing"
	"time"
)

// pollInterval is how often Eventually re-checks its condition.
const pollInterval = 10 * time.Millisecond

// Eventually polls cond until it returns true, failing the test with what
// when within passes first. It is how tests wait for asynchronous effects
// (gossip convergence, a process becoming healthy) without sleeping for a
// guessed duration.
func Eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	if !Poll(within, cond) {
		t.Fatalf("timed out after %v waiting for %s", within, what)
	}
}

// Poll is Eventually for a caller that reports the failure itself (with
// what it saw last): it returns whether cond held before within passed.
func Poll(within time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(within)
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		<-tick.C
	}
	return true
}
