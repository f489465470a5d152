// Command loadcheck is the steady client load of the compose-cluster
// experiments (scripts/experiment-4-rolling-restart.sh): it writes and reads
// at the given levels through every node it is given, records every write
// the cluster acknowledged, and when stopped (SIGINT, SIGTERM or -duration)
// reads every one of them back and reports any that is missing.
//
// A request that fails on one node (connection refused while the node
// restarts, 503, 504) is retried on the next node, as a client behind a load
// balancer would, for up to -request-deadline; only a request that never
// succeeded counts as failed. Attempts that failed and were retried are
// reported too. Retrying a write is safe: it carries the same context and
// value, so it adds no sibling.
//
// Writes are of two kinds: inserts (a new key each, value known) and updates
// of a few keys per worker, each carrying the context of that worker's last
// acknowledged write of the key, so the last acknowledged value supersedes
// the earlier ones. A write is lost when, at the end, its key does not hold
// its value (inserts) or the key's last acknowledged value (updates) among
// its siblings.
//
// Exit status: 0 when no acknowledged write is lost and (with -max-failed)
// no more requests failed than allowed; 1 otherwise; 2 on bad usage.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"dynakv/client"
)

type config struct {
	endpoints       []string
	workers         int
	rate            float64
	duration        time.Duration
	r, w            string
	timeout         time.Duration
	requestDeadline time.Duration
	verifyTimeout   time.Duration
	prefix          string
	updateKeys      int
	progress        time.Duration
	maxFailed       int
	report          string
	logAttempts     int
}

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "loadcheck:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := run(ctx, cfg, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadcheck:", err)
		os.Exit(2)
	}
	if res.Lost > 0 || (cfg.maxFailed >= 0 && res.Failed > int64(cfg.maxFailed)) {
		os.Exit(1)
	}
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("loadcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	endpoints := fs.String("endpoints", "http://127.0.0.1:8081,http://127.0.0.1:8082,http://127.0.0.1:8083,http://127.0.0.1:8084,http://127.0.0.1:8085",
		"comma-separated node API addresses; requests go round-robin and fail over to the next")
	fs.IntVar(&cfg.workers, "workers", 8, "concurrent clients")
	fs.Float64Var(&cfg.rate, "rate", 50, "requests per second, all workers together (0: as fast as they go)")
	fs.DurationVar(&cfg.duration, "duration", 0, "how long to run the load (0: until SIGINT or SIGTERM)")
	fs.StringVar(&cfg.r, "r", "quorum", "read level")
	fs.StringVar(&cfg.w, "w", "quorum", "write level")
	fs.DurationVar(&cfg.timeout, "timeout", 2*time.Second, "coordinator timeout sent with each request")
	fs.DurationVar(&cfg.requestDeadline, "request-deadline", 20*time.Second, "how long one request may fail over between nodes before it counts as failed")
	fs.DurationVar(&cfg.verifyTimeout, "verify-timeout", 90*time.Second, "how long the final check may keep re-reading a key that misses its value")
	fs.StringVar(&cfg.prefix, "prefix", fmt.Sprintf("loadcheck/%d", time.Now().Unix()), "key prefix of this run")
	fs.IntVar(&cfg.updateKeys, "update-keys", 4, "keys each worker updates in place (with contexts)")
	fs.DurationVar(&cfg.progress, "progress", 5*time.Second, "how often to print progress (0: never)")
	fs.IntVar(&cfg.maxFailed, "max-failed", -1, "exit 1 when more requests than this failed (-1: report only)")
	fs.StringVar(&cfg.report, "report", "", "also write the result as JSON to this file")
	fs.IntVar(&cfg.logAttempts, "log-attempts", 100, "print at most this many failed attempts as they happen")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	for e := range strings.SplitSeq(*endpoints, ",") {
		if e = strings.TrimSpace(e); e != "" {
			cfg.endpoints = append(cfg.endpoints, e)
		}
	}
	switch {
	case len(cfg.endpoints) == 0:
		return cfg, errors.New("-endpoints: name at least one node")
	case cfg.workers < 1:
		return cfg, errors.New("-workers: use 1 or more")
	case cfg.rate < 0:
		return cfg, errors.New("-rate: use 0 or more")
	case cfg.updateKeys < 1:
		return cfg, errors.New("-update-keys: use 1 or more")
	case cfg.timeout <= 0 || cfg.requestDeadline <= 0 || cfg.verifyTimeout <= 0:
		return cfg, errors.New("-timeout, -request-deadline and -verify-timeout must be positive")
	}
	return cfg, nil
}

// Result is what a run found; -report writes it as JSON.
type Result struct {
	Seconds        float64          `json:"seconds"`
	Requests       int64            `json:"requests"`
	Inserts        int64            `json:"inserts"`
	Updates        int64            `json:"updates"`
	Reads          int64            `json:"reads"`
	Failed         int64            `json:"failed"`
	FailedByOp     map[string]int64 `json:"failed_by_op"`
	RetriedReqs    int64            `json:"retried_requests"`
	FailedAttempts map[string]int64 `json:"failed_attempts"`
	StaleReads     int64            `json:"stale_reads"`
	LatencyP50Ms   float64          `json:"latency_p50_ms"`
	LatencyP99Ms   float64          `json:"latency_p99_ms"`
	LatencyMaxMs   float64          `json:"latency_max_ms"`
	Acked          int              `json:"acknowledged_writes_checked"`
	Lost           int              `json:"lost_writes"`
	LostKeys       []string         `json:"lost_keys,omitempty"`
	Reread         int              `json:"verify_rereads"`
	MultiSibling   int              `json:"keys_with_siblings"`
}

// load is the shared state of one run.
type load struct {
	cfg     config
	clients []*client.Client
	lv      client.Levels
	next    atomic.Uint64 // round-robin position

	requests, inserts, updates, reads atomic.Int64
	failed, retried, stale            atomic.Int64
	logged                            atomic.Int64

	mu             sync.Mutex
	failedByOp     map[string]int64
	failedAttempts map[string]int64
	latencies      []time.Duration
	acked          map[string]string // key -> value the key must still hold
	out            io.Writer
	start          time.Time
}

func run(ctx context.Context, cfg config, out io.Writer) (*Result, error) {
	l := &load{
		cfg:            cfg,
		lv:             client.Levels{R: cfg.r, W: cfg.w, Timeout: cfg.timeout},
		failedByOp:     map[string]int64{},
		failedAttempts: map[string]int64{},
		acked:          map[string]string{},
		out:            out,
		start:          time.Now(),
	}
	for _, e := range cfg.endpoints {
		c, err := client.New(e, client.WithUserAgent("dynakv-loadcheck"))
		if err != nil {
			return nil, err
		}
		l.clients = append(l.clients, c)
	}
	fmt.Fprintf(out, "loadcheck: load at r=%s w=%s through %d nodes, %d workers, %s, keys %s/...\n",
		cfg.r, cfg.w, len(l.clients), cfg.workers, rateText(cfg.rate), cfg.prefix)

	loadCtx := ctx
	if cfg.duration > 0 {
		var cancel context.CancelFunc
		loadCtx, cancel = context.WithTimeout(ctx, cfg.duration)
		defer cancel()
	}
	tokens := make(chan struct{})
	go l.pace(loadCtx, tokens)
	stopProgress := l.printProgress(loadCtx)

	var wg sync.WaitGroup
	for w := range cfg.workers {
		wg.Go(func() { l.worker(loadCtx, w, tokens) })
	}
	wg.Wait()
	stopProgress()
	elapsed := time.Since(l.start)
	fmt.Fprintf(out, "loadcheck: load stopped after %s; verifying %d acknowledged writes\n", elapsed.Round(100*time.Millisecond), len(l.acked))

	// The check runs even after SIGINT: that is how the experiment ends the
	// load. A second signal is not waited for.
	res := l.result(elapsed)
	l.verify(context.Background(), res)
	printResult(out, cfg, res)
	if cfg.report != "" {
		b, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(cfg.report, append(b, '\n'), 0o644); err != nil {
			return res, fmt.Errorf("write -report: %w", err)
		}
	}
	return res, nil
}

func rateText(rate float64) string {
	if rate == 0 {
		return "unpaced"
	}
	return fmt.Sprintf("%g req/s", rate)
}

// pace hands out one token per request at the configured rate.
func (l *load) pace(ctx context.Context, tokens chan<- struct{}) {
	if l.cfg.rate == 0 {
		for {
			select {
			case tokens <- struct{}{}:
			case <-ctx.Done():
				return
			}
		}
	}
	t := time.NewTicker(time.Duration(float64(time.Second) / l.cfg.rate))
	defer t.Stop()
	for {
		select {
		case <-t.C:
			select {
			case tokens <- struct{}{}:
			case <-ctx.Done():
				return
			default: // every worker is busy: the request is skipped, the pace kept
			}
		case <-ctx.Done():
			return
		}
	}
}

func (l *load) printProgress(ctx context.Context) (stop func()) {
	if l.cfg.progress <= 0 {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(l.cfg.progress)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				l.mu.Lock()
				acked := len(l.acked)
				l.mu.Unlock()
				fmt.Fprintf(l.out, "loadcheck: %5.0fs  requests %d  acked keys %d  failed %d  retried %d\n",
					time.Since(l.start).Seconds(), l.requests.Load(), acked, l.failed.Load(), l.retried.Load())
			case <-ctx.Done():
				return
			case <-done:
				return
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

// worker runs requests: two inserts, one update, one read in four.
func (l *load) worker(ctx context.Context, id int, tokens <-chan struct{}) {
	type updated struct {
		key, context string
		seq          int
	}
	upd := make([]updated, l.cfg.updateKeys)
	for i := range upd {
		upd[i].key = fmt.Sprintf("%s/u%d-%d", l.cfg.prefix, id, i)
	}
	var inserted []string // keys this worker inserted, for reads
	for n := 0; ; n++ {
		select {
		case <-tokens:
		case <-ctx.Done():
			return
		}
		switch n % 4 {
		case 0, 1:
			key := fmt.Sprintf("%s/w%d/%d", l.cfg.prefix, id, n)
			value := fmt.Sprintf("w%d-%d", id, n)
			l.inserts.Add(1)
			if _, ok := l.do("insert", func(ctx context.Context, c *client.Client) error {
				_, err := c.Put(ctx, key, []byte(value), "text/plain", "", l.lv)
				return err
			}); ok {
				l.ack(key, value)
				inserted = append(inserted, key)
			}
		case 2:
			u := &upd[n/4%len(upd)]
			u.seq++
			value := fmt.Sprintf("%s=%d", u.key, u.seq)
			l.updates.Add(1)
			var newCtx string
			if _, ok := l.do("update", func(ctx context.Context, c *client.Client) error {
				var err error
				newCtx, err = c.Put(ctx, u.key, []byte(value), "text/plain", u.context, l.lv)
				return err
			}); ok {
				u.context = newCtx
				l.ack(u.key, value)
			}
		case 3:
			if len(inserted) == 0 {
				continue
			}
			key := inserted[rand.IntN(len(inserted))]
			want := l.ackedValue(key)
			l.reads.Add(1)
			var obj *client.Object
			if _, ok := l.do("read", func(ctx context.Context, c *client.Client) error {
				var err error
				obj, err = c.Get(ctx, key, l.lv)
				return err
			}); ok && !holds(obj, want) {
				l.stale.Add(1)
			}
		}
	}
}

func (l *load) ack(key, value string) {
	l.mu.Lock()
	l.acked[key] = value
	l.mu.Unlock()
}

func (l *load) ackedValue(key string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.acked[key]
}

// do runs one request, failing over to the next node on a retryable error
// until it succeeds or -request-deadline passes. It reports whether the
// request succeeded and how many attempts it took.
func (l *load) do(op string, call func(context.Context, *client.Client) error) (int, bool) {
	l.requests.Add(1)
	start := time.Now()
	deadline := start.Add(l.cfg.requestDeadline)
	backoff := 50 * time.Millisecond
	for attempt := 1; ; attempt++ {
		i := int(l.next.Add(1) % uint64(len(l.clients)))
		c := l.clients[i]
		actx, cancel := context.WithTimeout(context.Background(), l.cfg.timeout+3*time.Second)
		err := call(actx, c)
		cancel()
		if err == nil {
			l.mu.Lock()
			l.latencies = append(l.latencies, time.Since(start))
			l.mu.Unlock()
			if attempt > 1 {
				l.retried.Add(1)
			}
			return attempt, true
		}
		class := classify(err)
		l.mu.Lock()
		l.failedAttempts[class]++
		l.mu.Unlock()
		if l.logged.Add(1) <= int64(l.cfg.logAttempts) {
			fmt.Fprintf(l.out, "loadcheck: %s  %s via %s failed (attempt %d): %s: %v\n",
				time.Now().Format("15:04:05.000"), op, c.Endpoint(), attempt, class, oneLine(err))
		}
		if !retryable(err) || time.Now().Add(backoff).After(deadline) {
			l.failed.Add(1)
			l.mu.Lock()
			l.failedByOp[op]++
			l.mu.Unlock()
			fmt.Fprintf(l.out, "loadcheck: %s  %s FAILED after %d attempts in %s: %v\n",
				time.Now().Format("15:04:05.000"), op, attempt, time.Since(start).Round(time.Millisecond), oneLine(err))
			return attempt, false
		}
		time.Sleep(backoff)
		backoff = min(2*backoff, 500*time.Millisecond)
	}
}

// classify names the kind of a failed attempt.
func classify(err error) string {
	if e, ok := errors.AsType[*client.Error](err); ok {
		if e.Code != "" {
			return fmt.Sprintf("%d %s", e.Status, e.Code)
		}
		return fmt.Sprintf("%d", e.Status)
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "connection refused"):
		return "connection refused"
	case strings.Contains(msg, "connection reset"), strings.Contains(msg, "EOF"):
		return "connection closed"
	case errors.Is(err, context.DeadlineExceeded), strings.Contains(msg, "timeout"):
		return "client timeout"
	}
	return "transport error"
}

// retryable reports whether another node may succeed where this one failed:
// transport errors and 5xx answers (503: nothing was written; 504: maybe
// written, and a retry with the same context and value is safe).
func retryable(err error) bool {
	if e, ok := errors.AsType[*client.Error](err); ok {
		return e.Status >= 500
	}
	return true
}

func oneLine(err error) string {
	s := strings.ReplaceAll(err.Error(), "\n", " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// holds reports whether a read found value among its siblings.
func holds(obj *client.Object, value string) bool {
	if obj == nil || !obj.Found {
		return false
	}
	return slices.ContainsFunc(obj.Siblings, func(s client.Sibling) bool { return !s.Deleted && string(s.Value) == value })
}

func (l *load) result(elapsed time.Duration) *Result {
	l.mu.Lock()
	defer l.mu.Unlock()
	res := &Result{
		Seconds:        elapsed.Seconds(),
		Requests:       l.requests.Load(),
		Inserts:        l.inserts.Load(),
		Updates:        l.updates.Load(),
		Reads:          l.reads.Load(),
		Failed:         l.failed.Load(),
		FailedByOp:     maps.Clone(l.failedByOp),
		RetriedReqs:    l.retried.Load(),
		FailedAttempts: maps.Clone(l.failedAttempts),
		StaleReads:     l.stale.Load(),
		Acked:          len(l.acked),
	}
	lat := slices.Clone(l.latencies)
	slices.Sort(lat)
	res.LatencyP50Ms = ms(percentile(lat, 0.50))
	res.LatencyP99Ms = ms(percentile(lat, 0.99))
	if len(lat) > 0 {
		res.LatencyMaxMs = ms(lat[len(lat)-1])
	}
	return res
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// percentile returns the p-quantile of sorted durations (0 when empty).
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// verify reads every acknowledged key back. A key that misses its value is
// read again (r=all, which also repairs the replicas it reads) until
// -verify-timeout passes; it is lost only then.
func (l *load) verify(ctx context.Context, res *Result) {
	keys := make([]string, 0, len(l.acked))
	for k := range l.acked {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	deadline := time.Now().Add(l.cfg.verifyTimeout)
	work := make(chan string)
	var (
		mu     sync.Mutex
		wg     sync.WaitGroup
		lost   []string
		reread int
		multi  int
	)
	for range 8 {
		wg.Go(func() {
			for key := range work {
				want := l.acked[key]
				lv := l.lv
				found, rereads, siblings := false, 0, 0
				for {
					var obj *client.Object
					_, ok := l.verifyRead(ctx, key, lv, &obj, deadline)
					if ok && holds(obj, want) {
						found, siblings = true, len(obj.Siblings)
						break
					}
					if time.Now().After(deadline) {
						break
					}
					rereads++
					lv.R = "all"
					time.Sleep(500 * time.Millisecond)
				}
				mu.Lock()
				if !found {
					lost = append(lost, key)
				}
				if rereads > 0 {
					reread++
				}
				if siblings > 1 {
					multi++
				}
				mu.Unlock()
			}
		})
	}
	for _, k := range keys {
		work <- k
	}
	close(work)
	wg.Wait()
	slices.Sort(lost)
	res.Lost, res.LostKeys, res.Reread, res.MultiSibling = len(lost), lost, reread, multi
}

// verifyRead reads key through any node, failing over like do but without
// counting toward the load's numbers.
func (l *load) verifyRead(ctx context.Context, key string, lv client.Levels, out **client.Object, deadline time.Time) (int, bool) {
	for attempt := 1; ; attempt++ {
		c := l.clients[int(l.next.Add(1)%uint64(len(l.clients)))]
		actx, cancel := context.WithTimeout(ctx, l.cfg.timeout+3*time.Second)
		obj, err := c.Get(actx, key, lv)
		cancel()
		if err == nil {
			*out = obj
			return attempt, true
		}
		if !retryable(err) || time.Now().After(deadline) {
			return attempt, false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func printResult(w io.Writer, cfg config, r *Result) {
	fmt.Fprintf(w, "\n== loadcheck result (r=%s, w=%s)\n", cfg.r, cfg.w)
	fmt.Fprintf(w, "load:            %.1fs, %d requests (%d inserts, %d updates, %d reads)\n", r.Seconds, r.Requests, r.Inserts, r.Updates, r.Reads)
	fmt.Fprintf(w, "failed requests: %d %s(each may fail over between nodes for up to %s)\n", r.Failed, byOp(r.FailedByOp), cfg.requestDeadline)
	fmt.Fprintf(w, "retried:         %d requests succeeded on a later attempt; failed attempts: %s\n", r.RetriedReqs, byOp(r.FailedAttempts))
	fmt.Fprintf(w, "latency:         p50 %.1fms  p99 %.1fms  max %.1fms (including fail-over)\n", r.LatencyP50Ms, r.LatencyP99Ms, r.LatencyMaxMs)
	fmt.Fprintf(w, "stale reads:     %d (a quorum read that missed an acknowledged insert; not a loss)\n", r.StaleReads)
	fmt.Fprintf(w, "acknowledged:    %d keys checked (inserted values and updated keys' last values); %d needed a re-read; %d hold siblings\n", r.Acked, r.Reread, r.MultiSibling)
	fmt.Fprintf(w, "LOST WRITES:     %d\n", r.Lost)
	for i, k := range r.LostKeys {
		if i == 20 {
			fmt.Fprintf(w, "  ... and %d more\n", len(r.LostKeys)-20)
			break
		}
		fmt.Fprintf(w, "  lost: %s\n", k)
	}
}

func byOp(m map[string]int64) string {
	if len(m) == 0 {
		return "(none) "
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s: %d", k, m[k])
	}
	return "(" + strings.Join(parts, ", ") + ") "
}
