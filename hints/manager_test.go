package hints

import (
	"errors"
	"strings"
	"testing"

	"dynakv/versioning"
)

func TestNewRejectsInvalidConfig(t *testing.T) {
	e := newEnv(t, nil)
	valid := Config{Store: e.store, Transport: e.repl, Liveness: e.live, Logger: discard}
	cases := map[string]func(*Config){
		"no store":        func(c *Config) { c.Store = nil },
		"no transport":    func(c *Config) { c.Transport = nil },
		"no liveness":     func(c *Config) { c.Liveness = nil },
		"negative window": func(c *Config) { c.Window = -1 },
		"negative rate":   func(c *Config) { c.DeliveryRate = -1 },
		"min over max":    func(c *Config) { c.BackoffMin, c.BackoffMax = 2, 1 },
	}
	for name, breakIt := range cases {
		c := valid
		breakIt(&c)
		if _, err := New(c); err == nil || !strings.Contains(err.Error(), "invalid config") {
			t.Errorf("%s: New = %v, want an invalid config error", name, err)
		}
	}
	// The zero values that have defaults are filled in; a nil Registerer
	// gets a private registry, so two managers do not collide.
	for range 2 {
		m, err := New(valid)
		if err != nil {
			t.Fatalf("New with defaults: %v", err)
		}
		if m.cfg.BatchSize != DefaultBatchSize || m.cfg.BackoffMax != DefaultBackoffMax || m.cfg.DeliveryBurst != 1 {
			t.Errorf("defaults not applied: %+v", m.cfg)
		}
		m.Close()
	}
}

func TestStoreRefusesHintsForItself(t *testing.T) {
	e := newEnv(t, nil)
	if err := e.m.Store("n0", 1, []byte("k"), state("k", "v")); !errors.Is(err, ErrSelfTarget) {
		t.Errorf("Store for the holder itself = %v, want ErrSelfTarget", err)
	}
	if err := e.m.Store("", 1, []byte("k"), state("k", "v")); err == nil {
		t.Error("Store for an empty target succeeded")
	}
	if n, b := e.m.Pending(""); n != 0 || b != 0 {
		t.Errorf("a failed Store left Pending = %d, %d", n, b)
	}
}

func TestHeldShowsUndeliveredHintsForAKey(t *testing.T) {
	e := newEnv(t, nil)
	s1, s2 := write(nil, "c1", "x"), write(nil, "c2", "y")
	for _, h := range []struct {
		target string
		key    string
		s      *versioning.Set
	}{{"n1", "k", s1}, {"n1", "k", s2}, {"n2", "k", s1}, {"n1", "other", s1}} {
		if err := e.m.Store(h.target, 7, []byte(h.key), h.s); err != nil {
			t.Fatal(err)
		}
	}
	held, err := e.m.Held(7, []byte("k"))
	if err != nil {
		t.Fatal(err)
	}
	if len(held) != 2 || !held["n1"].Equal(versioning.Merge(s1, s2)) || !held["n2"].Equal(s1) {
		t.Errorf("Held(k) = %v", held)
	}
	if held, _ := e.m.Held(8, []byte("k")); len(held) != 0 {
		t.Errorf("Held in another partition = %v, want none", held)
	}
}

func TestIdleRewindsRescansOrRetires(t *testing.T) {
	e := newEnv(t, nil)
	m := e.m
	m.Start() // no pending hints: starts no worker
	w := newWorker(m, "n1", 0, newTestRand())
	register := func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.queue("n1").worker = w
	}
	register()

	// A Store landed below the cursor (its sequence became visible after a
	// higher one was delivered): scan again from just below it.
	m.kick("n1", 40)
	if next, done := m.idle(w, 50); done || next != 39 {
		t.Errorf("idle after a Store below the cursor = %d, %v; want rewind to 39", next, done)
	}
	// A Store landed above the cursor, maybe after the scan: scan again.
	m.kick("n1", 60)
	if next, done := m.idle(w, 50); done || next != 50 {
		t.Errorf("idle after a Store above the cursor = %d, %v; want rescan from 50", next, done)
	}
	// Nothing new: the worker retires and the queue keeps its cursor.
	if next, done := m.idle(w, 60); !done || next != 60 {
		t.Errorf("idle with nothing new = %d, %v; want done", next, done)
	}
	m.mu.Lock()
	q := m.queue("n1")
	if q.worker != nil || q.cursor != 60 {
		t.Errorf("after retiring: worker %v, cursor %d; want none, 60", q.worker, q.cursor)
	}
	m.mu.Unlock()
}
