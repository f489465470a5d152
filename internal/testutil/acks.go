package testutil

import (
	"maps"
	"sync"
)

// Acks records the writes a test's clients saw acknowledged, from many
// goroutines, so that the test can take what was acknowledged up to a
// moment (a crash, a power cut) and check that all of it survived.
type Acks struct {
	mu sync.Mutex
	m  map[string]string
}

// Add records that writing value under key was acknowledged.
func (a *Acks) Add(key, value string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.m == nil {
		a.m = make(map[string]string)
	}
	a.m[key] = value
}

// Len is the number of keys recorded so far.
func (a *Acks) Len() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.m)
}

// Snapshot returns a copy of what was acknowledged so far, by key.
func (a *Acks) Snapshot() map[string]string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return maps.Clone(a.m)
}
