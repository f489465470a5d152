package storage

import (
	"sync"
	"sync/atomic"
)

// gate tracks in-flight operations so that Close can wait for them and
// later operations fail with ErrClosed.
//
// state packs a closed flag (the top bit) and the in-flight count (the rest)
// into one word, so entering is a single atomic add that cannot race with
// Close: an operation that entered before the flag was set is counted and
// waited for; one that enters after sees the flag and backs out. Unlike an
// RWMutex, a pending Close never blocks new enters, so an UpdateFunc that
// calls back into the Store (for another key) cannot deadlock with Close.
type gate struct {
	state   atomic.Uint64
	drained chan struct{} // closed once the flag is set and the count is 0
	once    sync.Once
}

const gateClosed = uint64(1) << 63

func newGate() *gate {
	return &gate{drained: make(chan struct{})}
}

// enter registers an operation. It returns false if the gate is closed; the
// operation must then not touch the store. Every successful enter must be
// paired with exit.
func (g *gate) enter() bool {
	if g.state.Add(1)&gateClosed != 0 {
		g.exit()
		return false
	}
	return true
}

func (g *gate) exit() {
	if g.state.Add(^uint64(0)) == gateClosed {
		g.once.Do(func() { close(g.drained) })
	}
}

// closeAndWait sets the closed flag and waits until every operation that
// entered before it has exited.
func (g *gate) closeAndWait() {
	// Or returns the old value: the operations counted in it are the ones
	// to wait for.
	if g.state.Or(gateClosed)&^gateClosed == 0 {
		g.once.Do(func() { close(g.drained) })
	}
	<-g.drained
}
