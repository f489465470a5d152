package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"dynakv/client"
	"dynakv/loadgen"
)

// benchFlags are the flags of `dynakv bench`, besides the levels.
type benchFlags struct {
	endpoints []string
	connFlags
	output      string
	workload    string
	readRatio   float64
	dist        string
	theta       float64
	keys        int
	valueSize   int
	concurrency int
	rate        float64
	duration    time.Duration
	ops         int64
	preload     bool
	seed        uint64
	opTimeout   time.Duration
}

func (f *benchFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringSliceVarP(&f.endpoints, "endpoint", "e", []string{client.DefaultEndpoint}, "API addresses of the nodes to load, repeated or comma-separated (env DYNAKV_ENDPOINT)")
	f.connFlags.register(cmd)
	fl.StringVarP(&f.output, "output", "o", "text", "output format: text or json")
	fl.StringVar(&f.workload, "workload", "a", "operation mix: "+loadgen.WorkloadNames)
	fl.Float64Var(&f.readRatio, "read-ratio", 0, "custom mix instead of --workload: the fraction of reads, 0 to 1")
	fl.StringVar(&f.dist, "dist", loadgen.Zipfian, "key distribution: uniform, or zipfian (a few hot keys, scattered, as in YCSB)")
	fl.Float64Var(&f.theta, "zipf-theta", loadgen.DefaultTheta, "zipfian skew, in (0, 1)")
	fl.IntVar(&f.keys, "keys", 10_000, "number of distinct keys (bench-00000000 onwards)")
	fl.IntVar(&f.valueSize, "value-size", 1024, "size of each written value in bytes")
	fl.IntVar(&f.concurrency, "concurrency", 16, "concurrent workers, each with one request in flight")
	fl.Float64Var(&f.rate, "rate", 0, "pace the run to at most this many operations a second over all workers, to measure latency at a given load (0: flat out)")
	fl.DurationVar(&f.duration, "duration", 10*time.Second, "how long the run lasts (with --ops: whichever ends first)")
	fl.Int64Var(&f.ops, "ops", 0, "number of operations to run instead of a duration")
	fl.BoolVar(&f.preload, "preload", false, "write every key once before the run, reported apart")
	fl.Uint64Var(&f.seed, "seed", 1, "seed of the operations, keys and values, for repeatable runs")
	fl.DurationVar(&f.opTimeout, "op-timeout", 10*time.Second, "client-side limit of one request; longer ones count as errors")
}

// config checks the flags and returns the run's configuration, without its
// targets.
func (f *benchFlags) config(cmd *cobra.Command, lv client.Levels) (loadgen.Config, error) {
	var cfg loadgen.Config
	if f.output != "text" && f.output != "json" {
		return cfg, fmt.Errorf("--output %q: use text or json", f.output)
	}
	fl := cmd.Flags()
	var err error
	switch {
	case fl.Changed("read-ratio") && fl.Changed("workload"):
		return cfg, errors.New("--workload and --read-ratio both set: use one")
	case fl.Changed("read-ratio"):
		cfg.Workload, err = loadgen.CustomWorkload(f.readRatio)
	default:
		cfg.Workload, err = loadgen.ParseWorkload(f.workload)
	}
	if err != nil {
		return cfg, fmt.Errorf("--workload: %w", err)
	}
	duration := f.duration
	if fl.Changed("ops") && !fl.Changed("duration") {
		duration = 0
	}
	switch {
	case f.ops < 0 || duration < 0:
		return cfg, errors.New("--ops and --duration cannot be negative")
	case f.ops == 0 && duration == 0:
		return cfg, errors.New("--ops 0 and --duration 0: set one of them to end the run")
	case f.rate < 0:
		return cfg, fmt.Errorf("--rate %v: use 0 (flat out) or a positive number of operations a second", f.rate)
	case f.opTimeout <= 0:
		return cfg, fmt.Errorf("--op-timeout %v: use a positive duration", f.opTimeout)
	case lv.Timeout >= f.opTimeout:
		return cfg, fmt.Errorf("--timeout %v is not below --op-timeout %v: the client would give up before the server answers", lv.Timeout, f.opTimeout)
	}
	cfg.Dist, cfg.ZipfTheta = strings.ToLower(f.dist), f.theta
	cfg.Keys, cfg.ValueSize, cfg.Concurrency = f.keys, f.valueSize, f.concurrency
	cfg.Duration, cfg.Ops, cfg.Preload, cfg.Seed = duration, f.ops, f.preload, f.seed
	cfg.OpTimeout, cfg.Rate = f.opTimeout, f.rate
	cfg.ErrorKind = benchErrorKind
	return cfg, nil
}

func newBenchCmd() *cobra.Command {
	var (
		bf benchFlags
		lf levelFlags
	)
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Load the cluster and report throughput and latency percentiles",
		Long: `Run a YCSB-like workload against one or more nodes and report the
throughput and the latency percentiles (p50, p90, p99, p99.9, max) of each
operation.

Workloads: a (50% reads, 50% updates), b (95% reads), c (read only), write
(write only), or a custom --read-ratio. Keys are bench-00000000 onwards,
chosen uniformly or from YCSB's scrambled zipfian distribution (the default).

Writes are updates as a careful client makes them: each carries the context
of the key's last read or write in this run (a key not seen yet is read
first, untimed), and the writes of one key wait for each other, so the
benchmark creates no siblings. Reads of a missing key (404) are successes,
counted as "not found"; other failures are counted by kind (HTTP status and
error code, client timeout, connection error).

With several endpoints, every worker sends its operations to them in turn
(round robin per operation, each worker from its own offset), so the load is
even across nodes whatever the key distribution. Each node coordinates any
key.

Progress (ops/s, errors, elapsed) goes to stderr once a second: one line
rewritten in place on a terminal, plain lines otherwise. The report goes to
stdout; -o json prints it as one JSON object, with "ops" counting every
operation done (failed ones included), "ops_per_sec" the successful ones,
and latencies in milliseconds (percentiles within 0.4%).

The command fails when an endpoint is not healthy at the start, when it is
interrupted (after printing what ran) or when every operation failed.`,
		Example: `  dynakv bench --preload --duration 30s
  dynakv bench -e 127.0.0.1:8080,127.0.0.1:8081,127.0.0.1:8082 --workload b -c quorum
  dynakv bench --read-ratio 0.8 --dist uniform --keys 100000 --concurrency 64
  dynakv bench --rate 2000 --duration 60s   # latency at a fixed load
  dynakv bench --workload write --ops 100000 --w one -o json | jq .run.write.latency_ms`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			lv, err := lf.levels()
			if err != nil {
				return err
			}
			cfg, err := bf.config(cmd, lv)
			if err != nil {
				return err
			}
			endpoints, err := checkEndpoints(cmd.Context(), bf.endpoints, bf.connFlags)
			if err != nil {
				return err
			}
			for _, c := range endpoints {
				cfg.Targets = append(cfg.Targets, nodeTarget{c: c, lv: lv})
			}
			errOut := cmd.ErrOrStderr()
			cfg.Progress = loadgen.NewProgressPrinter(errOut, isTerminal(errOut)).Print
			rep, runErr := loadgen.Run(cmd.Context(), cfg)
			if rep == nil {
				return runErr
			}
			if err := printBenchReport(cmd.OutOrStdout(), bf.output == "json", endpoints, lv, rep); err != nil {
				return err
			}
			if runErr != nil {
				return runErr
			}
			if r := rep.Run; r.Ops > 0 && r.Errors == r.Ops {
				return fmt.Errorf("every operation failed, e.g. %s", r.ErrorsByKind[0].Example)
			}
			return nil
		},
	}
	bf.register(cmd)
	lf.register(cmd)
	return cmd
}

// checkEndpoints returns a client of each endpoint, after checking that it
// answers its health check, so that a typo fails at once rather than as a
// run of connection errors.
func checkEndpoints(ctx context.Context, endpoints []string, tf connFlags) ([]*client.Client, error) {
	if len(endpoints) == 0 {
		return nil, errors.New("--endpoint: give at least one node")
	}
	opts, err := tf.options("dynakv-bench")
	if err != nil {
		return nil, err
	}
	var clients []*client.Client
	for _, e := range endpoints {
		c, err := client.New(e, opts...)
		if err != nil {
			return nil, fmt.Errorf("--endpoint: %w", err)
		}
		hctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err = c.Health(hctx)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("endpoint %s is not healthy: %w", c.Endpoint(), err)
		}
		clients = append(clients, c)
	}
	return clients, nil
}

// nodeTarget is one node as the load generator sees it.
type nodeTarget struct {
	c  *client.Client
	lv client.Levels
}

func (t nodeTarget) Read(ctx context.Context, key string) (bool, string, error) {
	obj, err := t.c.Get(ctx, key, t.lv)
	if err != nil {
		return false, "", err
	}
	return obj.Found, obj.Context, nil
}

func (t nodeTarget) Write(ctx context.Context, key string, value []byte, causal string) (string, error) {
	return t.c.Put(ctx, key, value, "", causal, t.lv)
}

// benchErrorKind names what went wrong with an operation: the HTTP status
// and the contract's error code for an answer, else the client-side cause.
func benchErrorKind(err error) string {
	if e, ok := errors.AsType[*client.Error](err); ok {
		if e.Code != "" {
			return fmt.Sprintf("HTTP %d %s", e.Status, e.Code)
		}
		return fmt.Sprintf("HTTP %d", e.Status)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "client timeout"
	}
	if e, ok := errors.AsType[*net.OpError](err); ok {
		return "connection error (" + e.Op + ")"
	}
	return "transport error"
}

// benchLevels are the levels a run used, as given; empty ones are the
// server's defaults.
type benchLevels struct {
	R       string `json:"r,omitempty"`
	W       string `json:"w,omitempty"`
	PR      string `json:"pr,omitempty"`
	PW      string `json:"pw,omitempty"`
	Timeout string `json:"timeout,omitempty"`
}

func (l benchLevels) String() string {
	var parts []string
	for _, p := range []struct{ name, v string }{{"r", l.R}, {"w", l.W}, {"pr", l.PR}, {"pw", l.PW}, {"timeout", l.Timeout}} {
		if p.v != "" {
			parts = append(parts, p.name+"="+p.v)
		}
	}
	if len(parts) == 0 {
		return "the server's defaults"
	}
	return strings.Join(parts, " ")
}

// printBenchReport prints the report with the endpoints and levels of the
// run: as text, or as one JSON object.
func printBenchReport(w io.Writer, asJSON bool, endpoints []*client.Client, lv client.Levels, rep *loadgen.Report) error {
	levels := benchLevels{R: lv.R, W: lv.W, PR: lv.PR, PW: lv.PW}
	if lv.Timeout > 0 {
		levels.Timeout = lv.Timeout.String()
	}
	names := make([]string, len(endpoints))
	for i, c := range endpoints {
		names[i] = c.Endpoint()
	}
	if asJSON {
		return printJSON(w, struct {
			Endpoints []string    `json:"endpoints"`
			Levels    benchLevels `json:"levels"`
			*loadgen.Report
		}{names, levels, rep})
	}
	if _, err := fmt.Fprintf(w, "endpoints: %s; levels: %s\n", strings.Join(names, ", "), levels); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return rep.WriteText(w)
}
