package hints

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"dynakv/internal/testutil"
	"dynakv/versioning"
)

// checkStillStored makes the fake fail the test when a hint it is asked to
// deliver is no longer in storage: a hint must be deleted only after its
// ack.
func (e *env) checkStillStored() {
	e.repl.setHook(func(_ context.Context, c call, _ int) error {
		if !slices.Contains(e.stored(c.node), c.key) {
			e.t.Errorf("hint for %q deleted before it was acked", c.key)
		}
		if !e.live.Alive(c.node) {
			e.t.Errorf("hint for %q sent while %s is down", c.key, c.node)
		}
		return nil
	})
}

func TestDeliversInOrderOnceTargetIsAliveAndDeletesAfterAck(t *testing.T) {
	// No liveness poll within the test: only TargetAlive can wake the worker.
	e := newEnv(t, func(c *Config) { c.PollInterval = time.Hour })
	e.checkStillStored()
	want := []string{"k0", "k1", "k2", "k3", "k4"}
	for _, k := range want {
		e.store1("n1", k, "v")
	}
	e.store1("n2", "other", "v") // another target, down too
	e.m.Start()
	if n := e.pending("n1"); n != 5 {
		t.Fatalf("Pending(n1) = %d, want 5", n)
	}

	e.live.set("n1", true)
	e.m.TargetAlive("n1")
	testutil.Eventually(t, waitFor, "n1's hints delivered", func() bool { return e.pending("n1") == 0 })

	if got := e.repl.keys(); !slices.Equal(got, want) {
		t.Errorf("delivered %q, want %q in order", got, want)
	}
	if got := e.stored("n1"); len(got) != 0 {
		t.Errorf("n1 hints left in storage after delivery: %q", got)
	}
	if got := e.stored("n2"); !slices.Equal(got, []string{"other"}) {
		t.Errorf("n2 hints = %q, want [other] (n2 is still down)", got)
	}
	for _, c := range e.repl.acked {
		if c.node != "n1" || c.partition != 7 || !c.state.Equal(state(c.key, "v")) {
			t.Errorf("delivered %+v: wrong target, partition or state", c)
		}
	}
	if got := e.metric("dynakv_hints_delivered_total", "target", "n1"); got != 5 {
		t.Errorf("delivered_total{n1} = %v, want 5", got)
	}
	if got := e.metric("dynakv_hints_stored_total", "target", "n1"); got != 5 {
		t.Errorf("stored_total{n1} = %v, want 5", got)
	}
	if got := e.metric("dynakv_hints_pending", "target", "n2"); got != 1 {
		t.Errorf("pending{n2} = %v, want 1", got)
	}
}

func TestLivenessPollDeliversWithoutAliveEvent(t *testing.T) {
	e := newEnv(t, nil)
	e.store1("n1", "k", "v")
	e.m.Start()
	e.live.set("n1", true) // gossip's event is lost: no TargetAlive
	testutil.Eventually(t, waitFor, "delivery after the liveness poll", func() bool { return e.pending("n1") == 0 })
	if got := e.repl.keys(); !slices.Equal(got, []string{"k"}) {
		t.Errorf("delivered %q", got)
	}
}

func TestNotifyWakesEveryWaitingWorker(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.PollInterval = time.Hour })
	e.store1("n1", "a", "v")
	e.store1("n2", "b", "v")
	e.m.Start()
	e.live.set("n1", true)
	e.live.set("n2", true)
	e.m.Notify()
	testutil.Eventually(t, waitFor, "both queues delivered", func() bool {
		return e.pending("n1") == 0 && e.pending("n2") == 0
	})
}

func TestFailingTargetIsRetriedWithBackoffAndKeepsItsHints(t *testing.T) {
	e := newEnv(t, nil)
	e.live.set("n1", true)
	const failures = 5
	e.repl.setHook(func(_ context.Context, c call, try int) error {
		if try <= failures {
			if got := e.stored("n1"); len(got) != 3 {
				t.Errorf("try %d: %d hints stored, want all 3 kept while failing", try, len(got))
			}
			if c.key != "k0" {
				t.Errorf("try %d delivers %q, want k0 retried first", try, c.key)
			}
			return errDown
		}
		return nil
	})
	for _, k := range []string{"k0", "k1", "k2"} {
		e.store1("n1", k, "v")
	}
	e.m.Start()
	testutil.Eventually(t, waitFor, "delivery after the target recovers", func() bool { return e.pending("n1") == 0 })

	if got := e.repl.keys(); !slices.Equal(got, []string{"k0", "k1", "k2"}) {
		t.Errorf("delivered %q, want k0 k1 k2", got)
	}
	if got := e.repl.attempts(); got != failures+3 {
		t.Errorf("%d attempts, want %d", got, failures+3)
	}
	if got := e.metric("dynakv_hint_delivery_failures_total", "target", "n1"); got != failures {
		t.Errorf("failures_total = %v, want %d", got, failures)
	}
}

func TestBackoffDoublesWithJitterUpToMax(t *testing.T) {
	b := backoff{min: 100 * time.Millisecond, max: time.Second, rng: newTestRand()}
	ceilings := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for i, c := range ceilings {
		c *= time.Millisecond
		if d := b.next(); d < c/2 || d > c {
			t.Errorf("wait %d = %v, want within [%v, %v]", i, d, c/2, c)
		}
	}
	b.reset()
	if d := b.next(); d > 100*time.Millisecond {
		t.Errorf("after reset, wait = %v, want <= min", d)
	}
	// Jitter: many draws at one ceiling are not all equal.
	seen := map[time.Duration]bool{}
	for range 20 {
		b.ceiling = 0
		seen[b.next()] = true
	}
	if len(seen) < 2 {
		t.Errorf("20 waits at one ceiling were all %v: no jitter", seen)
	}
}

func TestRestartedHolderStillDelivers(t *testing.T) {
	e := newEnv(t, nil)
	e.store1("n1", "k0", "v")
	e.store1("n1", "k1", "v")
	e.m.Start() // n1 is down: nothing is delivered before the restart

	e.restart()
	if n, b := e.m.Pending("n1"); n != 2 || b <= 0 {
		t.Fatalf("after restart Pending(n1) = %d hints, %d bytes; want 2 hints", n, b)
	}
	if got := e.metric("dynakv_hints_pending", "target", "n1"); got != 2 {
		t.Errorf("pending gauge after restart = %v, want 2", got)
	}
	e.store1("n1", "k2", "v")
	e.live.set("n1", true)
	e.m.Start()
	testutil.Eventually(t, waitFor, "delivery after restart", func() bool { return e.pending("n1") == 0 })
	if got := e.repl.keys(); !slices.Equal(got, []string{"k0", "k1", "k2"}) {
		t.Errorf("delivered %q, want k0 k1 k2", got)
	}
	if got := e.stored("n1"); len(got) != 0 {
		t.Errorf("hints left: %q", got)
	}
}

func TestExpiredHintsAreDroppedNotDelivered(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Window = time.Hour })
	e.store1("n1", "old", "v")
	e.clock.Advance(30 * time.Minute)
	e.store1("n1", "young", "v")
	e.clock.Advance(45 * time.Minute) // old is 75 minutes old, young 45

	e.live.set("n1", true)
	e.m.Start()
	testutil.Eventually(t, waitFor, "queue emptied", func() bool { return e.pending("n1") == 0 })
	if got := e.repl.keys(); !slices.Equal(got, []string{"young"}) {
		t.Errorf("delivered %q, want only young", got)
	}
	if got := e.metric("dynakv_hints_dropped_total", "target", "n1", "reason", "expired"); got != 1 {
		t.Errorf("dropped_total{expired} = %v, want 1", got)
	}
}

func TestExpiredHintsOfADownTargetAreFreed(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Window = time.Hour })
	e.store1("n1", "a", "v")
	e.store1("n1", "b", "v")
	e.m.Start()
	e.clock.Advance(2 * time.Hour) // n1 stays down past the window
	testutil.Eventually(t, waitFor, "expired hints freed", func() bool { return e.pending("n1") == 0 })
	if got := e.stored("n1"); len(got) != 0 {
		t.Errorf("hints left: %q", got)
	}
	if n := e.repl.attempts(); n != 0 {
		t.Errorf("%d deliveries to a down target", n)
	}
	if got := e.metric("dynakv_hints_dropped_total", "target", "n1", "reason", "expired"); got != 2 {
		t.Errorf("dropped_total{expired} = %v, want 2", got)
	}
}

func TestQueueOverCapRefusesNewHints(t *testing.T) {
	one := int64(len(appendRecord(nil, 7, []byte("k0"), 0, state("k0", "v"))))
	e := newEnv(t, func(c *Config) { c.MaxPendingBytes = 2 * one })
	e.store1("n1", "k0", "v")
	e.store1("n1", "k1", "v")
	err := e.m.Store("n1", 7, []byte("k2"), state("k2", "v"))
	if !errors.Is(err, ErrOverCap) {
		t.Fatalf("third Store = %v, want ErrOverCap", err)
	}
	e.store1("n2", "k2", "v") // the cap is per target
	if got := e.stored("n1"); !slices.Equal(got, []string{"k0", "k1"}) {
		t.Errorf("n1 stored %q, want k0 k1", got)
	}
	if got := e.metric("dynakv_hints_dropped_total", "target", "n1", "reason", "over_cap"); got != 1 {
		t.Errorf("dropped_total{over_cap} = %v, want 1", got)
	}

	// Once delivered, the queue has room again.
	e.live.set("n1", true)
	e.m.Start()
	testutil.Eventually(t, waitFor, "delivery", func() bool { return e.pending("n1") == 0 })
	e.store1("n1", "k3", "v")
}

func TestDeliveryRateIsLimited(t *testing.T) {
	const rate, burst = 10, 5
	e := newEnv(t, func(c *Config) { c.DeliveryRate, c.DeliveryBurst = rate, burst })
	start := e.clock.Now()
	e.repl.setHook(func(_ context.Context, c call, try int) error {
		allowed := burst + int(e.clock.Now().Sub(start).Seconds()*rate)
		if try > allowed {
			t.Errorf("delivery %d at +%v: over the rate (allowed %d)", try, e.clock.Now().Sub(start), allowed)
		}
		return nil
	})
	for i := range 10 {
		e.store1("n1", fmt.Sprintf("k%d", i), "v")
	}
	e.live.set("n1", true)
	e.m.Start()

	delivered := func(n int) func() bool {
		return func() bool { return len(e.repl.keys()) == n }
	}
	testutil.Eventually(t, waitFor, "the burst", delivered(burst))
	e.clock.Advance(300 * time.Millisecond) // three more tokens (the bucket holds up to five)
	testutil.Eventually(t, waitFor, "three more", delivered(burst+3))
	e.clock.Advance(time.Second)
	testutil.Eventually(t, waitFor, "the rest", delivered(10))
}

func TestLimiterTokenBucket(t *testing.T) {
	c := newFakeClock()
	l := newLimiter(100, 3, c.Now)
	for i := range 3 {
		if d := l.take(); d != 0 {
			t.Fatalf("take %d of the burst waited %v", i, d)
		}
	}
	if d := l.take(); d != 10*time.Millisecond {
		t.Errorf("empty bucket: wait %v, want 10ms", d)
	}
	c.Advance(25 * time.Millisecond) // 2.5 tokens
	var waits []time.Duration
	for range 3 {
		waits = append(waits, l.take())
	}
	if waits[0] != 0 || waits[1] != 0 || waits[2] == 0 {
		t.Errorf("after 25ms at 100/s: waits %v, want exactly 2 tokens", waits)
	}
	c.Advance(time.Hour)
	for range 3 {
		l.take()
	}
	if l.take() == 0 {
		t.Error("an idle hour stored more than the burst")
	}
	if d := newLimiter(0, 1, c.Now).take(); d != 0 {
		t.Errorf("unlimited limiter waited %v", d)
	}
}

func TestCloseStopsMidDeliveryAndKeepsUnackedHint(t *testing.T) {
	e := newEnv(t, nil)
	e.live.set("n1", true)
	entered := make(chan struct{})
	var once sync.Once
	e.repl.setHook(func(ctx context.Context, _ call, _ int) error {
		once.Do(func() { close(entered) })
		<-ctx.Done() // a target that never answers
		return ctx.Err()
	})
	e.store1("n1", "k0", "v")
	e.store1("n1", "k1", "v")
	e.m.Start()
	<-entered

	e.m.Close() // returns only once the worker stopped
	if got := e.stored("n1"); !slices.Equal(got, []string{"k0", "k1"}) {
		t.Errorf("after Close, stored %q, want both hints kept", got)
	}
	if got := e.metric("dynakv_hints_delivered_total", "target", "n1"); got != 0 {
		t.Errorf("delivered_total = %v, want 0", got)
	}
	if err := e.m.Store("n1", 7, []byte("k2"), state("k2", "v")); !errors.Is(err, ErrClosed) {
		t.Errorf("Store after Close = %v, want ErrClosed", err)
	}
	e.m.Close() // idempotent
}

func TestConsecutiveHintsForOneKeyAreMerged(t *testing.T) {
	e := newEnv(t, nil)
	a1 := write(nil, "c1", "one")
	a2 := write(a1, "c1", "two") // supersedes nothing: blind write, a sibling
	a3 := write(nil, "c2", "three")
	for _, s := range []*versioning.Set{a1, a2, a3} {
		if err := e.m.Store("n1", 7, []byte("a"), s); err != nil {
			t.Fatal(err)
		}
	}
	e.store1("n1", "b", "v")
	e.live.set("n1", true)
	e.m.Start()
	testutil.Eventually(t, waitFor, "delivery", func() bool { return e.pending("n1") == 0 })

	if got := e.repl.keys(); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("delivered %q, want one call for a, then b", got)
	}
	want := versioning.Merge(versioning.Merge(a1, a2), a3)
	if got := e.repl.acked[0].state; !got.Equal(want) {
		t.Errorf("merged state for a = %+v, want %+v", got, want)
	}
	if got := e.metric("dynakv_hints_delivered_total", "target", "n1"); got != 4 {
		t.Errorf("delivered_total = %v, want 4 hints", got)
	}
}

func TestConcurrentStoresWhileDeliveringAreAllDelivered(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.BatchSize = 4 })
	e.live.set("n1", true)
	e.m.Start()
	const writers, each = 4, 25
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				k := fmt.Sprintf("w%d-%d", w, i)
				if err := e.m.Store("n1", 7, []byte(k), state(k, "v")); err != nil {
					t.Errorf("Store: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	testutil.Eventually(t, waitFor, "every hint delivered", func() bool {
		return e.pending("n1") == 0 && len(e.repl.keys()) == writers*each
	})
	got := e.repl.keys()
	slices.Sort(got)
	if len(slices.Compact(got)) != writers*each {
		t.Errorf("delivered %d distinct keys, want %d", len(got), writers*each)
	}
	if left := e.stored("n1"); len(left) != 0 {
		t.Errorf("hints left: %q", left)
	}
}

func TestCorruptHintIsDroppedAndTheQueueMovesOn(t *testing.T) {
	e := newEnv(t, nil)
	if _, err := e.store.PutHint("n1", []byte{99, 1, 2}); err != nil { // unknown record version
		t.Fatal(err)
	}
	bad := appendRecord(nil, 7, []byte("bad-state"), e.clock.Now().UnixMicro(), nil)
	bad[len(bad)-1] = 0xee // the state's trailing byte no longer decodes
	if _, err := e.store.PutHint("n1", bad); err != nil {
		t.Fatal(err)
	}
	e.restart() // the Manager learns of hints written behind its back on start
	e.store1("n1", "good", "v")
	e.live.set("n1", true)
	e.m.Start()
	testutil.Eventually(t, waitFor, "queue emptied", func() bool { return e.pending("n1") == 0 })
	if got := e.repl.keys(); !slices.Equal(got, []string{"good"}) {
		t.Errorf("delivered %q, want only good", got)
	}
	if got := e.metric("dynakv_hints_dropped_total", "target", "n1", "reason", "corrupt"); got != 2 {
		t.Errorf("dropped_total{corrupt} = %v, want 2", got)
	}
}

// fakeRerouter marks targets departed and names the owners of every
// partition.
type fakeRerouter struct {
	mu       sync.Mutex
	departed map[string]bool
	owners   []string
}

func (r *fakeRerouter) Departed(target string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.departed[target]
}

func (r *fakeRerouter) Owners(uint32) []string { return r.owners }

func (r *fakeRerouter) depart(target string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.departed[target] = true
}

// A removed target's hints reach the partition's alive owners instead, and
// only then leave the queue; a down owner is skipped.
func TestHintsOfADepartedTargetGoToTheOwners(t *testing.T) {
	rr := &fakeRerouter{departed: map[string]bool{}, owners: []string{"o1", "o2", "o3"}}
	e := newEnv(t, func(c *Config) { c.Reroute = rr })
	for _, k := range []string{"a", "b"} {
		e.store1("gone", k, "v")
	}
	e.live.set("o1", true)
	e.live.set("o2", true) // o3 stays down
	e.m.Start()
	if n := e.pending("gone"); n != 2 {
		t.Fatalf("Pending(gone) = %d before it departed, want 2", n)
	}

	rr.depart("gone")
	e.m.Notify()
	testutil.Eventually(t, waitFor, "the departed target's hints rerouted", func() bool { return e.pending("gone") == 0 })
	got := map[string][]string{}
	e.repl.mu.Lock()
	for _, c := range e.repl.acked {
		got[c.node] = append(got[c.node], c.key)
	}
	e.repl.mu.Unlock()
	for _, owner := range []string{"o1", "o2"} {
		if !slices.Equal(got[owner], []string{"a", "b"}) {
			t.Errorf("owner %s got %q, want [a b]", owner, got[owner])
		}
	}
	if len(got["o3"]) != 0 || len(got["gone"]) != 0 {
		t.Errorf("sent to a down owner or to the departed target: %v", got)
	}
	if n := e.metric("dynakv_hints_rerouted_total"); n != 2 {
		t.Errorf("dynakv_hints_rerouted_total = %v, want 2", n)
	}
}
