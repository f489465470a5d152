package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"dynakv/api"
	"dynakv/client"
)

const (
	// repairPoll is how often repair --wait asks how the repair is going.
	repairPoll = 500 * time.Millisecond
	// repairProgressEvery is how often an unchanged progress line repeats.
	repairProgressEvery = 10 * time.Second
)

func newRepairCmd() *cobra.Command {
	var (
		ef        endpointFlags
		partition int64
		wait      bool
		status    bool
		timeout   time.Duration
	)
	cmd := &cobra.Command{
		Use:   "repair",
		Short: "Run anti-entropy now, or show its progress",
		Long: `Ask the node at --endpoint to compare its hash trees with the other replicas
of every partition it holds (or only of --partition) and swap the keys that
differ, as "nodetool repair" does. Each side merges what it gets, so a repair
never overwrites or drops a sibling. Anti-entropy also runs on its own, every
--aae-interval of "dynakv serve".

By default the command follows the repair until it ends, printing progress on
stderr, and fails if a partition could not be repaired (a replica unreachable).
With --wait=false it returns once the node has accepted (HTTP 202).

With --status it starts nothing and shows the node's anti-entropy: hash trees
built, exchanges, keys repaired, tombstones reaped and the latest repairs
(-o json: the server's object, with every partition's last exchange).

A node repairs only the partitions it is a replica of: to repair everything,
run it against every node; to repair one key, find its partition with
"dynakv preflist KEY" and ask one of its primaries.`,
		Example: `  dynakv repair
  dynakv repair --partition 17 -e http://10.0.0.2:8080
  dynakv repair --status
  dynakv repair --status -o json | jq '.partition_list[] | select(.last_result == "failed")'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := ef.client()
			if err != nil {
				return err
			}
			r := &repairer{base: c.Endpoint(), out: cmd.OutOrStdout(), progress: cmd.ErrOrStderr(), json: ef.json()}
			if status {
				return r.showStatus(cmd.Context())
			}
			if timeout <= 0 {
				return fmt.Errorf("--timeout %v: use a positive duration", timeout)
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			var only *uint32
			if cmd.Flags().Changed("partition") {
				if partition < 0 || partition > 1<<32-1 {
					return fmt.Errorf("--partition %d: use a partition number (see \"dynakv preflist KEY\")", partition)
				}
				p := uint32(partition)
				only = &p
			}
			run, err := r.start(ctx, only)
			if err != nil {
				return err
			}
			if !wait {
				if r.json {
					return printJSON(r.out, run)
				}
				_, err := fmt.Fprintf(r.out, "repair %d started: %d partitions; follow it with \"dynakv repair --status\"\n", run.ID, run.Partitions)
				return err
			}
			return r.follow(ctx, run, timeout)
		},
	}
	ef.register(cmd)
	fl := cmd.Flags()
	fl.Int64Var(&partition, "partition", 0, "repair only this partition (default: every partition the node replicates)")
	fl.BoolVar(&wait, "wait", true, "follow the repair until it ends, printing progress")
	fl.BoolVar(&status, "status", false, "show the node's anti-entropy progress; start nothing")
	fl.DurationVar(&timeout, "timeout", 30*time.Minute, "how long to follow the repair")
	return cmd
}

// repairer talks to one node's repair endpoints.
type repairer struct {
	base     string
	out      io.Writer
	progress io.Writer
	json     bool
}

// start asks for a repair and returns the run the node started.
func (r *repairer) start(ctx context.Context, partition *uint32) (api.RepairRun, error) {
	path := "/cluster/repair"
	if partition != nil {
		path += "?partition=" + strconv.FormatUint(uint64(*partition), 10)
	}
	var run api.RepairRun
	if err := r.call(ctx, http.MethodPost, path, &run); err != nil {
		return api.RepairRun{}, fmt.Errorf("start repair: %w", err)
	}
	return run, nil
}

// status returns the node's anti-entropy status.
func (r *repairer) status(ctx context.Context, partitions bool) (api.AntiEntropyStatus, error) {
	var st api.AntiEntropyStatus
	path := "/cluster/antientropy?partitions=" + strconv.FormatBool(partitions)
	if err := r.call(ctx, http.MethodGet, path, &st); err != nil {
		return st, fmt.Errorf("anti-entropy status: %w", err)
	}
	return st, nil
}

// follow polls until run ends, printing progress, and fails if a
// partition could not be repaired.
func (r *repairer) follow(ctx context.Context, run api.RepairRun, timeout time.Duration) error {
	tick := time.NewTicker(repairPoll)
	defer tick.Stop()
	var last string
	var lastAt time.Time
	for {
		st, err := r.status(ctx, false)
		if err != nil && ctx.Err() != nil {
			return fmt.Errorf("gave up following repair %d after %v (it goes on; see \"dynakv repair --status\"): %s", run.ID, timeout, last)
		}
		if err != nil {
			return err
		}
		cur, ok := findRun(st.Repairs, run.ID)
		if !ok {
			return fmt.Errorf("the node no longer lists repair %d (did it restart?)", run.ID)
		}
		if cur.Finished != nil {
			return r.finished(cur)
		}
		line := fmt.Sprintf("repair %d: %d of %d partitions done, %d keys repaired", cur.ID, cur.Done+cur.Failed, cur.Partitions, cur.KeysRepaired)
		if line != last || time.Since(lastAt) >= repairProgressEvery {
			fmt.Fprintf(r.progress, "%6s  %s\n", time.Since(cur.Started).Round(time.Second), line)
			last, lastAt = line, time.Now()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("gave up following repair %d after %v (it goes on; see \"dynakv repair --status\"): %s", run.ID, timeout, last)
		case <-tick.C:
		}
	}
}

// finished reports a run that ended.
func (r *repairer) finished(run api.RepairRun) error {
	if r.json {
		if err := printJSON(r.out, run); err != nil {
			return err
		}
	} else {
		took := run.Finished.Sub(run.Started).Round(time.Millisecond)
		fmt.Fprintf(r.out, "repair %d finished in %v: %d partitions exchanged with every live replica, %d keys repaired\n",
			run.ID, took, run.Done, run.KeysRepaired)
	}
	if run.Failed > 0 {
		return fmt.Errorf("repair %d: %d of %d partitions could not be repaired (a replica unreachable or still building its trees); see \"dynakv repair --status -o json\" and try again",
			run.ID, run.Failed, run.Partitions)
	}
	return nil
}

func findRun(runs []api.RepairRun, id uint64) (api.RepairRun, bool) {
	for _, r := range runs {
		if r.ID == id {
			return r, true
		}
	}
	return api.RepairRun{}, false
}

// showStatus prints the node's anti-entropy status.
func (r *repairer) showStatus(ctx context.Context) error {
	st, err := r.status(ctx, r.json)
	if err != nil {
		return err
	}
	if r.json {
		return printJSON(r.out, st)
	}
	tw := newTable(r.out)
	fmt.Fprintf(tw, "Hash trees built:\t%d of %d partitions (shape %s, %d rebuilding)\n", st.TreesBuilt, st.Partitions, st.TreeShape, st.TreesRebuilding)
	fmt.Fprintf(tw, "Exchanges:\t%d (%d failed)\n", st.Exchanges, st.FailedExchanges)
	fmt.Fprintf(tw, "Keys repaired:\t%d\n", st.KeysRepaired)
	fmt.Fprintf(tw, "Tombstones reaped:\t%d\n", st.TombstonesReaped)
	fmt.Fprintf(tw, "Oldest exchange:\t%v ago\n", time.Duration(st.OldestExchange*float64(time.Second)).Round(time.Second))
	if err := flushTable(tw); err != nil {
		return err
	}
	if len(st.Repairs) == 0 {
		_, err := fmt.Fprintln(r.out, "\nNo repairs asked for since the node started.")
		return err
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "REPAIR\tPARTITIONS\tDONE\tFAILED\tKEYS\tSTATE")
	for _, run := range st.Repairs {
		state := "running"
		if run.Finished != nil {
			state = "finished in " + run.Finished.Sub(run.Started).Round(time.Millisecond).String()
		}
		fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%d\t%s\n", run.ID, run.Partitions, run.Done, run.Failed, run.KeysRepaired, state)
	}
	return flushTable(tw)
}

// call sends one request and decodes a successful JSON answer into out; an
// unsuccessful one becomes a *client.Error with the server's message.
func (r *repairer) call(ctx context.Context, method, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, r.base+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "dynakv-cli")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("read the answer of %s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		e := &client.Error{Status: resp.StatusCode}
		if json.Unmarshal(body, &e.Body) == nil && e.Body != nil {
			e.Code, _ = e.Body["error"].(string)
			e.Message, _ = e.Body["message"].(string)
		}
		if e.Message == "" {
			e.Message = strings.TrimSpace(string(body))
		}
		return e
	}
	if err := json.NewDecoder(bytes.NewReader(body)).Decode(out); err != nil {
		return fmt.Errorf("%s %s answered something that is not dynakv's JSON: %w", method, path, err)
	}
	return nil
}
