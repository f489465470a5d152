package gossip

import "sync"

// notifier fans "something changed" signals out to subscribers. Signals are
// coalesced (each subscriber's channel holds at most one) and never block.
type notifier struct {
	mu     sync.Mutex
	subs   map[int]chan struct{}
	next   int
	closed bool
}

// subscribe returns a channel that receives a value after every change and
// is closed by close, and a function that unsubscribes.
func (n *notifier) subscribe() (<-chan struct{}, func()) {
	n.mu.Lock()
	defer n.mu.Unlock()
	ch := make(chan struct{}, 1)
	if n.closed {
		close(ch)
		return ch, func() {}
	}
	if n.subs == nil {
		n.subs = make(map[int]chan struct{})
	}
	id := n.next
	n.next++
	n.subs[id] = ch
	return ch, func() {
		n.mu.Lock()
		defer n.mu.Unlock()
		if c, ok := n.subs[id]; ok {
			delete(n.subs, id)
			close(c)
		}
	}
}

// signal wakes every subscriber without blocking.
func (n *notifier) signal() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, ch := range n.subs {
		select {
		case ch <- struct{}{}:
		default: // a signal is already pending
		}
	}
}

// close closes every subscriber's channel; later subscribers get a closed one.
func (n *notifier) close() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.closed = true
	for id, ch := range n.subs {
		delete(n.subs, id)
		close(ch)
	}
}
