package loadgen

import "sync"

// contexts is the client's memory of the keys: per key, the causal token of
// the last read or write of this run, which the next write of the key
// carries, as a real client's read-modify-write does. That is what keeps
// the benchmark from manufacturing siblings.
//
// The memory is shared by the workers, and the writes of one key are
// serialised (a write waits for the previous write of its key to end). With
// a memory per worker, two workers writing one key would each carry a token
// the other's write had made stale: concurrent writes, hence siblings.
//
// A read's token is kept unless a write of the key ended while the read was
// in flight: the write's token is at least as new.
type contexts struct {
	entries []contextEntry
}

type contextEntry struct {
	write  sync.Mutex // held for the whole of a write of the key
	mu     sync.Mutex // guards the fields below
	known  bool       // causal is what the store holds, as far as this run knows
	causal string
	gen    uint64 // counts the writes of the key that ended
}

func newContexts(keys int) *contexts {
	return &contexts{entries: make([]contextEntry, keys)}
}

// beforeRead returns the generation a read of key i starts at.
func (c *contexts) beforeRead(i int) uint64 {
	e := &c.entries[i]
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.gen
}

// afterRead keeps the token a read of key i saw, unless a write of the key
// ended since the read started at generation gen.
func (c *contexts) afterRead(i int, gen uint64, causal string) {
	e := &c.entries[i]
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.gen == gen {
		e.known, e.causal = true, causal
	}
}

// lockWrite waits until no other write of key i is in flight and returns the
// token the write is to carry; known is false when the run has not seen the
// key yet, so the caller must read it first. Call unlockWrite after.
func (c *contexts) lockWrite(i int) (causal string, known bool) {
	e := &c.entries[i]
	e.write.Lock()
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.causal, e.known
}

// unlockWrite ends a write of key i: ok with the token of the version it
// wrote; not ok when the write failed, and may or may not have been applied,
// so the next write reads the key first.
func (c *contexts) unlockWrite(i int, causal string, ok bool) {
	e := &c.entries[i]
	e.mu.Lock()
	e.gen++
	e.known, e.causal = ok, causal
	e.mu.Unlock()
	e.write.Unlock()
}
