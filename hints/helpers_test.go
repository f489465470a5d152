package hints

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"dynakv/storage"
	"dynakv/versioning"
)

// waitFor bounds every Eventually in these tests: generous, because it is
// only reached when a test fails.
const waitFor = 10 * time.Second

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// fakeClock is an injected wall clock that moves only when told to.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fakeLiveness is gossip's view, set by the test.
type fakeLiveness struct {
	mu    sync.Mutex
	alive map[string]bool
}

func newFakeLiveness() *fakeLiveness { return &fakeLiveness{alive: make(map[string]bool)} }

func (l *fakeLiveness) Alive(id string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.alive[id]
}

func (l *fakeLiveness) set(id string, alive bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.alive[id] = alive
}

// call is one Replicate the fake received.
type call struct {
	node      string
	partition uint32
	key       string
	state     *versioning.Set
}

// fakeReplicator records deliveries. hook, if set, runs first and decides
// the call's result (nil: ack).
type fakeReplicator struct {
	mu    sync.Mutex
	acked []call
	tries int
	hook  func(ctx context.Context, c call, try int) error
}

func (r *fakeReplicator) Replicate(ctx context.Context, node string, partition uint32, key []byte, state *versioning.Set) error {
	c := call{node, partition, string(key), state}
	r.mu.Lock()
	r.tries++
	try, hook := r.tries, r.hook
	r.mu.Unlock()
	if hook != nil {
		if err := hook(ctx, c, try); err != nil {
			return err
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.acked = append(r.acked, c)
	return nil
}

func (r *fakeReplicator) setHook(h func(ctx context.Context, c call, try int) error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hook = h
}

func (r *fakeReplicator) keys() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, len(r.acked))
	for i, c := range r.acked {
		out[i] = c.key
	}
	return out
}

func (r *fakeReplicator) attempts() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.tries
}

// env is one holder node: its store, fakes and manager.
type env struct {
	t     *testing.T
	dir   string
	store *storage.Store
	clock *fakeClock
	live  *fakeLiveness
	repl  *fakeReplicator
	reg   *prometheus.Registry
	cfg   Config
	m     *Manager
}

// newEnv opens a holder "n0" in a fresh folder with fast test timings;
// tweak adjusts the config before New.
func newEnv(t *testing.T, tweak func(*Config)) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir(), clock: newFakeClock(), live: newFakeLiveness(), repl: &fakeReplicator{}}
	e.cfg = DefaultConfig()
	e.cfg.DeliveryRate = 0
	e.cfg.BackoffMin = time.Millisecond
	e.cfg.BackoffMax = 4 * time.Millisecond
	e.cfg.PollInterval = 5 * time.Millisecond
	e.cfg.Now = e.clock.Now
	e.cfg.Logger = discard
	if tweak != nil {
		tweak(&e.cfg)
	}
	e.open()
	t.Cleanup(e.close)
	return e
}

// open opens the store and a new Manager over it (not started).
func (e *env) open() {
	e.t.Helper()
	o := storage.DefaultOptions(e.dir, "n0")
	o.CacheBytes = 8 << 20
	o.Logger = discard
	s, err := storage.Open(o)
	if err != nil {
		e.t.Fatalf("open store: %v", err)
	}
	e.store = s
	e.reg = prometheus.NewRegistry()
	cfg := e.cfg
	cfg.Store, cfg.Transport, cfg.Liveness, cfg.Registerer = s, e.repl, e.live, e.reg
	if e.m, err = New(cfg); err != nil {
		e.t.Fatalf("New: %v", err)
	}
}

// close closes the manager, then the store (idempotent).
func (e *env) close() {
	if e.m != nil {
		e.m.Close()
		e.m = nil
	}
	if e.store != nil {
		if err := e.store.Close(); err != nil {
			e.t.Errorf("close store: %v", err)
		}
		e.store = nil
	}
}

// restart simulates the holder restarting: close everything and reopen.
func (e *env) restart() {
	e.t.Helper()
	e.close()
	e.open()
}

func (e *env) store1(target, key, value string) {
	e.t.Helper()
	if err := e.m.Store(target, 7, []byte(key), state(key, value)); err != nil {
		e.t.Fatalf("Store(%s, %q): %v", target, key, err)
	}
}

// stored returns the keys of target's hints in storage, in order.
func (e *env) stored(target string) []string {
	e.t.Helper()
	var keys []string
	err := e.store.ScanHints(target, 0, func(_ uint64, rec []byte) error {
		r, err := decodeRecord(rec)
		if err != nil {
			return err
		}
		keys = append(keys, string(r.key))
		return nil
	})
	if err != nil {
		e.t.Fatalf("scan hints: %v", err)
	}
	return keys
}

func (e *env) pending(target string) int {
	n, _ := e.m.Pending(target)
	return n
}

// metric returns the value of the counter or gauge name with labels.
func (e *env) metric(name string, labels ...string) float64 {
	e.t.Helper()
	families, err := e.reg.Gather()
	if err != nil {
		e.t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if labelsMatch(m, labels) {
				if c := m.GetCounter(); c != nil {
					return c.GetValue()
				}
				return m.GetGauge().GetValue()
			}
		}
	}
	return 0
}

func labelsMatch(m *dto.Metric, kv []string) bool {
	have := map[string]string{}
	for _, l := range m.GetLabel() {
		have[l.GetName()] = l.GetValue()
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if have[kv[i]] != kv[i+1] {
			return false
		}
	}
	return true
}

// state returns a key's state after one write of value by a coordinator
// whose counter is derived from the key, so states of different keys and
// values never share a dot.
func state(key, value string) *versioning.Set {
	return write(nil, fmt.Sprintf("c.%s.%s", key, value), value)
}

// write applies a blind write of value by actor to s.
func write(s *versioning.Set, actor, value string) *versioning.Set {
	a := versioning.Actor(actor)
	ev := versioning.Event{Dot: versioning.Dot{Actor: a, Counter: s.NextCounterFloor(nil, a)}, Modified: 1}
	out, err := s.Update(nil, ev, versioning.Sibling{Value: []byte(value), ContentType: "text/plain"}, 0)
	if err != nil {
		panic(err)
	}
	return out
}

var errDown = errors.New("connection refused")

// newTestRand is a seeded source, so jitter is the same on every run.
func newTestRand() *rand.Rand { return rand.New(rand.NewPCG(1, 2)) }
