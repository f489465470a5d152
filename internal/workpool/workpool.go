// Package workpool runs short tasks on long-lived goroutines.
//
// A new goroutine starts with a small stack, and a task that goes deep (a
// gRPC call, a pebble read) grows and copies it, every time: in a node's
// CPU profile that was 6% of the cluster's time. A worker keeps its grown
// stack from one task to the next.
//
// The pool never queues: a task that finds no idle worker gets a goroutine
// of its own, so a task that blocks (a hung peer) never holds up another,
// and the pool needs no size tuned to the load. It owns only its workers;
// whoever submits a task owns the task and waits for it as it would for a
// goroutine it started.
package workpool

import "sync"

// Pool is a set of idle workers. The zero value is not usable; call New.
type Pool struct {
	tasks chan func() // unbuffered: a send succeeds only if a worker is idle
	quit  chan struct{}
	once  sync.Once
	wg    sync.WaitGroup // workers
}

// New starts workers idle goroutines.
func New(workers int) *Pool {
	p := &Pool{tasks: make(chan func()), quit: make(chan struct{})}
	p.wg.Add(workers)
	for range workers {
		go p.work()
	}
	return p
}

// Go runs f on an idle worker, or on a goroutine of its own when none is
// idle (or the pool is closed). It never waits for a worker.
func (p *Pool) Go(f func()) {
	select {
	case p.tasks <- f:
	default:
		go f()
	}
}

// Close stops the workers once their current tasks end, and returns when
// they have. Tasks submitted afterwards still run, each on its own
// goroutine.
func (p *Pool) Close() {
	p.once.Do(func() { close(p.quit) })
	p.wg.Wait()
}

func (p *Pool) work() {
	defer p.wg.Done()
	for {
		select {
		case f := <-p.tasks:
			f()
		case <-p.quit:
			return
		}
	}
}
