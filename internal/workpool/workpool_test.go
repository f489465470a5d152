package workpool

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"dynakv/internal/testutil"
)

// Every task runs, also when all workers are busy with tasks that block:
// those get goroutines of their own instead of waiting.
func TestTasksRunWhenEveryWorkerIsBusy(t *testing.T) {
	p := New(2)
	defer p.Close()
	release := make(chan struct{})
	var blocked, done sync.WaitGroup
	blocked.Add(4)
	done.Add(4)
	for range 4 {
		p.Go(func() {
			defer done.Done()
			blocked.Done()
			<-release
		})
	}
	blocked.Wait() // four tasks block at once with two workers
	ran := make(chan struct{})
	p.Go(func() { close(ran) })
	select {
	case <-ran:
	case <-time.After(10 * time.Second):
		t.Fatal("a task waited for a busy worker")
	}
	close(release)
	done.Wait()
}

// Close waits for the workers' running tasks and stops them; later tasks
// still run.
func TestCloseWaitsForRunningTasks(t *testing.T) {
	p := New(1)
	started, release := make(chan struct{}), make(chan struct{})
	var finished atomic.Bool
	task := func() {
		close(started)
		<-release
		finished.Store(true)
	}
	// Hand the task to the idle worker itself, not to a spare goroutine:
	// the send succeeds only once the worker is receiving.
	testutil.Eventually(t, 10*time.Second, "the idle worker to take a task", func() bool {
		select {
		case p.tasks <- task:
			return true
		default:
			return false
		}
	})
	<-started
	closed := make(chan struct{})
	go func() {
		p.Close()
		close(closed)
	}()
	select {
	case <-closed:
		t.Fatal("Close returned while a worker's task was running")
	case <-time.After(20 * time.Millisecond):
	}
	close(release)
	<-closed
	if !finished.Load() {
		t.Fatal("Close returned before the worker's task ended")
	}
	ran := make(chan struct{})
	p.Go(func() { close(ran) })
	<-ran
	p.Close() // twice is fine
}
