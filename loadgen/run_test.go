package loadgen

import (
	"context"
	"errors"
	"math"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// memStore is a Target that keeps a version number per key and counts the
// writes that would have made a sibling: those whose token is not the
// key's current version.
type memStore struct {
	mu       sync.Mutex
	versions map[string]int
	values   map[string]int // size of the last value written
	siblings int
	reads    int
	writes   int
	failKey  string // reads and writes of it fail with failErr
	failErr  error
}

func newMemStore() *memStore {
	return &memStore{versions: map[string]int{}, values: map[string]int{}}
}

func (m *memStore) Read(_ context.Context, key string) (bool, string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reads++
	if key == m.failKey {
		return false, "", m.failErr
	}
	v, ok := m.versions[key]
	if !ok {
		return false, "", nil
	}
	return true, strconv.Itoa(v), nil
}

func (m *memStore) Write(_ context.Context, key string, value []byte, causal string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if key == m.failKey {
		return "", m.failErr
	}
	m.writes++
	v, ok := m.versions[key]
	if (ok && causal != strconv.Itoa(v)) || (!ok && causal != "") {
		m.siblings++
	}
	m.versions[key] = v + 1
	m.values[key] = len(value)
	return strconv.Itoa(v + 1), nil
}

func baseConfig(targets ...Target) Config {
	w, _ := ParseWorkload("a")
	return Config{
		Targets:     targets,
		Workload:    w,
		Keys:        50,
		Dist:        Zipfian,
		ValueSize:   100,
		Concurrency: 8,
		Ops:         5000,
		Seed:        1,
	}
}

func TestRunDoesTheOperationsAndMakesNoSiblings(t *testing.T) {
	m := newMemStore()
	cfg := baseConfig(m)
	cfg.Preload = true
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if p := rep.Preload; p.Ops != 50 || p.Errors != 0 || p.Write.Ops != 50 || p.Read != nil || p.ContextReads != 50 {
		t.Errorf("preload %+v, want 50 writes, 50 context reads, no errors and no reads", p)
	}
	r := rep.Run
	if r.Ops != 5000 || r.Errors != 0 || r.Read.Ops+r.Write.Ops != 5000 || r.ContextReads != 0 {
		t.Errorf("run %+v, want 5000 operations, no errors, no context reads", r)
	}
	if r.Read.Ops < 2200 || r.Read.Ops > 2800 {
		t.Errorf("%d reads of 5000 in workload a", r.Read.Ops)
	}
	if r.Read.NotFound != 0 {
		t.Errorf("%d reads found nothing after the preload", r.Read.NotFound)
	}
	if m.siblings != 0 {
		t.Errorf("the run made %d siblings", m.siblings)
	}
	if m.writes != 50+int(r.Write.Ops) || m.values["bench-00000007"] != 100 {
		t.Errorf("store saw %d writes (want %d), value size %d", m.writes, 50+r.Write.Ops, m.values["bench-00000007"])
	}
	if l := r.Write.LatencyMs; l.P50 > l.P99 || l.P99 > l.Max || r.Write.OpsPerSec <= 0 {
		t.Errorf("write figures %+v out of order", r.Write)
	}
}

func TestARerunOverExistingKeysMakesNoSiblings(t *testing.T) {
	m := newMemStore()
	for range 2 { // the second run starts with an empty memory of contexts
		cfg := baseConfig(m)
		cfg.Workload, _ = ParseWorkload("write")
		if _, err := Run(context.Background(), cfg); err != nil {
			t.Fatal(err)
		}
	}
	if m.siblings != 0 {
		t.Errorf("two runs made %d siblings", m.siblings)
	}
}

func TestRunSpreadsOperationsOverTargets(t *testing.T) {
	a, b, c := newMemStore(), newMemStore(), newMemStore()
	cfg := baseConfig(a, b, c)
	cfg.Workload, _ = ParseWorkload("c")
	cfg.Ops = 3000
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range []*memStore{a, b, c} {
		if m.reads < 900 || m.reads > 1100 {
			t.Errorf("target %d served %d of 3000 reads", i, m.reads)
		}
	}
	if rep.Run.Read.NotFound != 3000 || rep.Run.Write.Ops != 0 {
		t.Errorf("read-only run over empty stores: %+v", rep.Run)
	}
}

func TestErrorsAreCountedByKind(t *testing.T) {
	m := newMemStore()
	cfg := baseConfig(m)
	cfg.Dist = Uniform
	m.failKey, m.failErr = "bench-00000003", errors.New("unavailable")
	cfg.ErrorKind = func(err error) string {
		if errors.Is(err, m.failErr) {
			return "503 unavailable"
		}
		return "other"
	}
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := rep.Run
	if r.Errors == 0 || r.Errors != r.Read.Errors+r.Write.Errors || r.Ops != 5000 {
		t.Fatalf("run %+v: want some errors, split by operation, in the 5000 ops", r)
	}
	if len(r.ErrorsByKind) != 1 || r.ErrorsByKind[0].Kind != "503 unavailable" || r.ErrorsByKind[0].Count != r.Errors ||
		!strings.Contains(r.ErrorsByKind[0].Example, "bench-00000003") {
		t.Errorf("errors by kind %+v, want all %d as 503 unavailable naming the key", r.ErrorsByKind, r.Errors)
	}
	// ElapsedS is rounded to the millisecond: allow for that.
	ok := float64(5000 - r.Errors)
	if got := r.OpsPerSec * r.ElapsedS; math.Abs(got-ok) > r.OpsPerSec*0.0005+1 {
		t.Errorf("ops/s %v over %vs makes %v ops, want the %v successful ones", r.OpsPerSec, r.ElapsedS, got, ok)
	}
}

func TestRunEndsAfterItsDuration(t *testing.T) {
	cfg := baseConfig(newMemStore())
	cfg.Ops = 0
	cfg.Duration = 50 * time.Millisecond
	start := time.Now()
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < cfg.Duration || rep.Run.ElapsedS < 0.05 || rep.Run.Ops == 0 {
		t.Errorf("run took %v, reported %+v", took, rep.Run)
	}
}

func TestProgressIsReportedAndAnInterruptReturnsWhatRan(t *testing.T) {
	cfg := baseConfig(newMemStore())
	cfg.Ops = 0
	cfg.Duration = time.Hour
	cfg.ProgressEvery = time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var seen []Progress
	cfg.Progress = func(p Progress) {
		seen = append(seen, p)
		if len(seen) == 3 {
			cancel()
		}
	}
	rep, err := Run(ctx, cfg)
	if !errors.Is(err, context.Canceled) || rep == nil || rep.Run.Ops == 0 {
		t.Fatalf("Run = %+v, %v; want the partial report and context.Canceled", rep, err)
	}
	last := seen[len(seen)-1]
	if len(seen) < 4 || !last.Done || last.Phase != "run" || last.Ops != rep.Run.Ops || last.Duration != time.Hour {
		t.Errorf("progress %+v, want ticks then a final report of the run", seen)
	}
	for _, p := range seen[:len(seen)-1] {
		if p.Done || p.Rate < 0 || p.Elapsed <= 0 {
			t.Errorf("tick %+v", p)
		}
	}
}

func TestBadConfigurationsAreRejected(t *testing.T) {
	for name, mutate := range map[string]func(*Config){
		"no targets":  func(c *Config) { c.Targets = nil },
		"no keys":     func(c *Config) { c.Keys = 0 },
		"no workers":  func(c *Config) { c.Concurrency = 0 },
		"no end":      func(c *Config) { c.Ops = 0 },
		"bad ratio":   func(c *Config) { c.Workload.ReadRatio = 2 },
		"bad dist":    func(c *Config) { c.Dist = "normal" },
		"bad theta":   func(c *Config) { c.ZipfTheta = 1.5 },
		"bad values":  func(c *Config) { c.ValueSize = -1 },
		"bad timeout": func(c *Config) { c.Duration = -time.Second },
	} {
		cfg := baseConfig(newMemStore())
		mutate(&cfg)
		if _, err := Run(context.Background(), cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestRunPacedByRate checks --rate: an instant target would do thousands of
// operations in the run, but the pace lets through at most rate a second
// (plus the one-operation burst).
func TestRunPacedByRate(t *testing.T) {
	m := newMemStore()
	cfg := baseConfig(m)
	cfg.Ops, cfg.Duration, cfg.Rate = 0, 300*time.Millisecond, 100
	cfg.Preload = true // the preload is never paced
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Preload.Ops != int64(cfg.Keys) {
		t.Errorf("preload did %d writes, want every one of the %d keys", rep.Preload.Ops, cfg.Keys)
	}
	// Ops issued before the deadline finish, so the bound is taken over the
	// phase's whole elapsed time.
	limit := int64(cfg.Rate*rep.Run.ElapsedS) + 1
	if rep.Run.Ops == 0 || rep.Run.Ops > limit {
		t.Errorf("paced at %v ops/s for %.3fs the run did %d ops; want 1..%d", cfg.Rate, rep.Run.ElapsedS, rep.Run.Ops, limit)
	}
	if rep.Rate != cfg.Rate {
		t.Errorf("report's rate = %v, want %v", rep.Rate, cfg.Rate)
	}
}

func TestRunRejectsABadRate(t *testing.T) {
	for _, r := range []float64{-1, math.NaN(), math.Inf(1)} {
		cfg := baseConfig(newMemStore())
		cfg.Rate = r
		if _, err := Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "rate") {
			t.Errorf("rate %v: err = %v, want one naming the rate", r, err)
		}
	}
}
