package loadgen

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// Config describes a benchmark run.
type Config struct {
	// Targets are the nodes to load. Each worker sends its operations to
	// them in turn, starting at its own offset (round robin per operation),
	// so the load is spread evenly whatever the key distribution.
	Targets []Target
	// Workload is the mix of reads and writes.
	Workload Workload
	// Keys is the number of distinct keys, named bench-00000000 onwards.
	Keys int
	// Dist is the key distribution, Uniform or Zipfian; ZipfTheta its skew
	// (0: DefaultTheta).
	Dist      string
	ZipfTheta float64
	// ValueSize is the size of every written value, in bytes.
	ValueSize int
	// Concurrency is the number of workers, each with one request in flight.
	Concurrency int
	// Duration and Ops end the run, whichever comes first; 0 is no limit,
	// but one of them must be set. Operations in flight at the deadline
	// finish and count.
	Duration time.Duration
	Ops      int64
	// Rate paces the run (not the preload) to at most this many operations
	// a second over all workers, as cassandra-stress's throttle does, to
	// measure latency at a given load rather than at saturation; 0 runs
	// flat out. When the nodes cannot keep up, the run does fewer: the
	// report's ops_per_sec says what was reached.
	Rate float64
	// Preload writes every key once before the run, reported apart.
	Preload bool
	// Seed makes the run's choices (operations, keys, values, which keys
	// are hot) repeatable: worker i draws from a generator seeded (Seed, i).
	Seed uint64
	// OpTimeout bounds each request on the client side; 0 is no bound.
	OpTimeout time.Duration
	// ErrorKind names the kind of a failed operation, such as a status and
	// error code; errors are counted by kind. nil counts them all as "error".
	ErrorKind func(error) string
	// Progress, when set, is called every ProgressEvery (default: one
	// second) while a phase runs, and once when it ends.
	Progress      func(Progress)
	ProgressEvery time.Duration
}

// validate checks cfg and fills in defaults.
func (cfg *Config) validate() error {
	switch {
	case len(cfg.Targets) == 0:
		return errors.New("no targets to load")
	case cfg.Keys < 1:
		return fmt.Errorf("%d keys: use at least one", cfg.Keys)
	case cfg.ValueSize < 0:
		return fmt.Errorf("value size %d: use 0 or more bytes", cfg.ValueSize)
	case cfg.Concurrency < 1:
		return fmt.Errorf("concurrency %d: use at least one worker", cfg.Concurrency)
	case cfg.Duration < 0 || cfg.Ops < 0:
		return errors.New("the duration and the number of operations cannot be negative")
	case cfg.Duration == 0 && cfg.Ops == 0:
		return errors.New("set a duration or a number of operations to end the run")
	case cfg.Rate < 0 || math.IsNaN(cfg.Rate) || math.IsInf(cfg.Rate, 0):
		return fmt.Errorf("rate %v: use 0 (no limit) or a positive number of operations a second", cfg.Rate)
	}
	if _, err := CustomWorkload(cfg.Workload.ReadRatio); err != nil {
		return err
	}
	if cfg.ErrorKind == nil {
		cfg.ErrorKind = func(error) string { return "error" }
	}
	if cfg.ProgressEvery <= 0 {
		cfg.ProgressEvery = time.Second
	}
	return nil
}

// runner holds what the phases of a run share.
type runner struct {
	cfg     Config
	keys    keyChooser
	names   []string
	memory  *contexts
	values  []byte // random bytes; a write sends a window of them
	workers []*worker
}

// Run preloads the keys if asked, then runs the workload until cfg.Duration
// or cfg.Ops is reached, and reports what it measured. When ctx ends first,
// Run stops the workers, drops the operations it interrupted and returns
// the report of what ran with ctx's error.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("bench configuration: %w", err)
	}
	keys, err := newKeyChooser(cfg.Dist, cfg.Keys, cfg.ZipfTheta, cfg.Seed)
	if err != nil {
		return nil, fmt.Errorf("bench configuration: %w", err)
	}
	r := &runner{
		cfg:    cfg,
		keys:   keys,
		names:  keyNames(cfg.Keys),
		memory: newContexts(cfg.Keys),
		values: randomBytes(2*cfg.ValueSize+1, cfg.Seed),
	}
	for i := range cfg.Concurrency {
		r.workers = append(r.workers, &worker{
			id:  i,
			run: r,
			rng: rand.New(rand.NewPCG(cfg.Seed, uint64(i))),
		})
	}
	rep := newReport(&cfg)
	if cfg.Preload {
		rep.Preload = r.runPhase(ctx, r.preloadPhase())
		if err := ctx.Err(); err != nil {
			return rep, fmt.Errorf("preload interrupted: %w", err)
		}
	}
	rep.Run = r.runPhase(ctx, r.mainPhase())
	if err := ctx.Err(); err != nil {
		return rep, fmt.Errorf("run interrupted: %w", err)
	}
	return rep, nil
}

// phase is one stretch of work: next hands a worker its next operation
// (kind and key index), or false when the phase is over for it.
type phase struct {
	name     string
	total    int64         // operations the phase will do, 0 if unknown
	duration time.Duration // its time limit, 0 if none
	next     func(w *worker) (opKind, int, bool)
	// pace, when set, waits for the next operation's turn; an error (the
	// run interrupted) ends the worker.
	pace func(ctx context.Context) error
	stop func() // releases what next uses; may be nil
}

// preloadPhase writes every key once, in order, split among the workers.
func (r *runner) preloadPhase() phase {
	var claimed atomic.Int64
	return phase{
		name:  "preload",
		total: int64(r.cfg.Keys),
		next: func(*worker) (opKind, int, bool) {
			i := claimed.Add(1) - 1
			return opWrite, int(i), i < int64(r.cfg.Keys)
		},
	}
}

// mainPhase draws operations from the workload and keys from the
// distribution until the duration or the operation budget runs out.
func (r *runner) mainPhase() phase {
	var (
		issued  atomic.Int64
		expired atomic.Bool
	)
	p := phase{name: "run", total: r.cfg.Ops, duration: r.cfg.Duration}
	if r.cfg.Rate > 0 {
		// A burst of one: operations are spread evenly over each second,
		// never bunched to catch up after a slow stretch.
		limiter := rate.NewLimiter(rate.Limit(r.cfg.Rate), 1)
		p.pace = limiter.Wait
	}
	if r.cfg.Duration > 0 {
		t := time.AfterFunc(r.cfg.Duration, func() { expired.Store(true) })
		p.stop = func() { t.Stop() }
	}
	p.next = func(w *worker) (opKind, int, bool) {
		if expired.Load() || (r.cfg.Ops > 0 && issued.Add(1) > r.cfg.Ops) {
			return 0, 0, false
		}
		return r.cfg.Workload.next(w.rng), r.keys.next(w.rng), true
	}
	return p
}

// runPhase runs p on every worker, reporting progress, and sums up.
func (r *runner) runPhase(ctx context.Context, p phase) *PhaseReport {
	start := time.Now()
	for _, w := range r.workers {
		w.stats = newPhaseStats()
	}
	var wg sync.WaitGroup
	for _, w := range r.workers {
		wg.Go(func() { w.loop(ctx, p) })
	}
	watched := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(watched)
		r.watch(p, start, finished)
	}()
	wg.Wait()
	elapsed := time.Since(start)
	if p.stop != nil {
		p.stop()
	}
	close(finished)
	<-watched

	total := newPhaseStats()
	for _, w := range r.workers {
		total.merge(w.stats)
	}
	if r.cfg.Progress != nil {
		ops, errs := total.totals()
		r.cfg.Progress(Progress{
			Phase: p.name, Elapsed: elapsed, Ops: ops, Errors: errs, Total: p.total,
			Duration: p.duration, Rate: float64(ops) / elapsed.Seconds(), Done: true,
		})
	}
	return total.report(elapsed, p.name == "preload")
}

// watch calls cfg.Progress every ProgressEvery until finished is closed.
func (r *runner) watch(p phase, start time.Time, finished <-chan struct{}) {
	if r.cfg.Progress == nil {
		return
	}
	tick := time.NewTicker(r.cfg.ProgressEvery)
	defer tick.Stop()
	var lastOps int64
	last := start
	for {
		select {
		case <-finished:
			return
		case now := <-tick.C:
			var ops, errs int64
			for _, w := range r.workers {
				o, e := w.stats.totals()
				ops, errs = ops+o, errs+e
			}
			r.cfg.Progress(Progress{
				Phase: p.name, Elapsed: now.Sub(start), Ops: ops, Errors: errs, Total: p.total,
				Duration: p.duration, Rate: float64(ops-lastOps) / now.Sub(last).Seconds(),
			})
			lastOps, last = ops, now
		}
	}
}

// randomBytes returns n bytes drawn from a generator seeded with seed.
func randomBytes(n int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, 0xfeed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}
