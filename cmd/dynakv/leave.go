package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"dynakv/client"
)

const (
	// leavePoll is how often leave --wait asks how the leave is going.
	leavePoll = 500 * time.Millisecond
	// leaveProgressEvery is how often leave --wait repeats a status that has
	// not changed.
	leaveProgressEvery = 10 * time.Second
)

func newLeaveCmd() *cobra.Command {
	var (
		ef      endpointFlags
		wait    bool
		via     string
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "leave",
		Short: "Make a node hand off its data and leave the ring",
		Long: `Ask the node at --endpoint to leave the cluster, as "nodetool decommission"
does: it hands every key it holds to the members that own it without this
node, then leaves the ring and stops. The command prints the server's answer
and returns once the node has accepted (HTTP 202); the hand-off goes on in the
background and can take a while with a lot of data.

With --wait it then follows the leave until the node is out of the ring,
printing progress on stderr (a bar of the partitions handed off, redrawn in
place on a terminal), for at most --timeout. With --via (which implies
--wait) it asks another node, which sees the leaving node's status turn
"left"; without it, it asks the leaving node itself, and stops when that node
shows itself "left" or stops answering (a node exits once it has left).

To take out a node that is down, use "dynakv remove ID" instead.`,
		Example: `  dynakv leave -e http://10.0.0.4:8080
  dynakv leave -e http://10.0.0.4:8080 --via http://10.0.0.1:8080
  dynakv leave -e http://10.0.0.4:8080 --wait --timeout 1h`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if timeout <= 0 {
				return fmt.Errorf("--timeout %v: use a positive duration", timeout)
			}
			c, opts, err := ef.clientAndOptions()
			if err != nil {
				return err
			}
			lw := &leaveWaiter{leaving: c, progress: cmd.ErrOrStderr(), redraw: isTerminal(cmd.ErrOrStderr()), timeout: timeout}
			if via != "" {
				if lw.via, err = client.New(via, opts...); err != nil {
					return fmt.Errorf("--via: %w", err)
				}
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			before, err := c.Members(ctx)
			if err != nil {
				return fmt.Errorf("before leaving: %w", err)
			}
			if err := checkNotAlone(before); err != nil {
				return err
			}
			accepted, err := c.Leave(ctx)
			if err != nil {
				return err
			}
			if err := printAccepted(cmd, &ef, accepted); err != nil {
				return err
			}
			if !wait && lw.via == nil {
				return nil
			}
			after, _ := c.Members(ctx) // best effort: it only helps to tell which member left
			if lw.id, err = leavingNodeID(c.Endpoint(), before, after); err != nil {
				return err
			}
			final, err := lw.wait(ctx)
			if err != nil {
				return err
			}
			if ef.json() {
				return printJSON(cmd.OutOrStdout(), map[string]string{"id": lw.id, "status": "left", "seen_by": final.seenBy})
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), final.message)
			return err
		},
	}
	ef.register(cmd)
	fl := cmd.Flags()
	fl.BoolVar(&wait, "wait", false, "wait until the node is out of the ring, printing progress")
	fl.StringVar(&via, "via", "", "API address of another node to follow the leave from (implies --wait)")
	fl.DurationVar(&timeout, "timeout", 10*time.Minute, "how long to wait in all, with --wait")
	return cmd
}

// checkNotAlone refuses a leave that cannot finish: a node that is the only
// ring member has no one to hand its data to, and would stay "leaving".
func checkNotAlone(ms []client.Member) error {
	inRing := 0
	for _, m := range ms {
		if m.InRing && m.Status != "leaving" {
			inRing++
		}
	}
	if inRing <= 1 {
		return errors.New("leave: no other ring member would take this node's data; add a node first")
	}
	return nil
}

// leavingNodeID tells which member the node at endpoint is: the one whose
// http_addr is the endpoint's host:port or, when none matches (a DNS name,
// a proxy), the one member that turned "leaving" between the lists before
// and after the leave request, both as the leaving node saw them.
func leavingNodeID(endpoint string, before, after []client.Member) (string, error) {
	if u, err := url.Parse(endpoint); err == nil {
		var ids []string
		for _, m := range append(after, before...) {
			if m.HTTPAddr == u.Host && !slices.Contains(ids, m.ID) {
				ids = append(ids, m.ID)
			}
		}
		if len(ids) == 1 {
			return ids[0], nil
		}
	}
	was := map[string]bool{}
	for _, m := range before {
		was[m.ID] = m.Status == "leaving"
	}
	var ids []string
	for _, m := range after {
		if m.Status == "leaving" && !was[m.ID] {
			ids = append(ids, m.ID)
		}
	}
	if len(ids) != 1 {
		return "", fmt.Errorf("the leave was accepted, but no member has http_addr %s, so which one is leaving is unclear; follow it with \"dynakv members\"", endpoint)
	}
	return ids[0], nil
}

// leaveWaiter follows a leave until the node is out of the ring.
type leaveWaiter struct {
	leaving  *client.Client
	via      *client.Client // nil: ask the leaving node itself
	id       string
	progress io.Writer
	redraw   bool // progress is a terminal: redraw one line in place
	timeout  time.Duration
}

// leaveDone is how the wait ended.
type leaveDone struct {
	seenBy  string
	message string
}

// wait polls until the node is out of the ring or ctx ends.
func (lw *leaveWaiter) wait(ctx context.Context) (leaveDone, error) {
	start := time.Now()
	tick := time.NewTicker(leavePoll)
	defer tick.Stop()
	var last string
	var lastAt time.Time
	for {
		state, done := lw.poll(ctx)
		if done != nil {
			if lw.redraw && last != "" {
				fmt.Fprintln(lw.progress)
			}
			return *done, nil
		}
		if bar := lw.bar(ctx); bar != "" {
			state = bar + "  " + state
		}
		switch {
		case lw.redraw:
			fmt.Fprintf(lw.progress, "\r\033[K%6s  %s", time.Since(start).Round(time.Second), state)
			last = state
		case state != last || time.Since(lastAt) >= leaveProgressEvery:
			fmt.Fprintf(lw.progress, "%6s  %s\n", time.Since(start).Round(time.Second), state)
			last, lastAt = state, time.Now()
		}
		select {
		case <-ctx.Done():
			return leaveDone{}, fmt.Errorf("gave up waiting after %v (the leave goes on; see \"dynakv members\"): %s", lw.timeout, last)
		case <-tick.C:
		}
	}
}

// barWidth is the number of cells of the progress bar.
const barWidth = 30

// bar asks the leaving node how far its hand-off got and draws it, as
// "[#######.......] 412/1024 partitions, handing off"; "" when the node does
// not say (it has not started, is gone, or predates the figures).
func (lw *leaveWaiter) bar(ctx context.Context) string {
	st, err := lw.leaving.Status(ctx)
	if err != nil || st.Transfers.Leave == nil {
		return ""
	}
	return progressBar(*st.Transfers.Leave)
}

// progressBar draws a leave's progress.
func progressBar(p client.LeaveProgress) string {
	filled := barWidth
	if p.PartitionsTotal > 0 {
		filled = int(min(p.PartitionsDone, p.PartitionsTotal) * barWidth / p.PartitionsTotal)
	}
	return fmt.Sprintf("[%s%s] %d/%d partitions, %s", strings.Repeat("#", filled), strings.Repeat(".", barWidth-filled),
		p.PartitionsDone, p.PartitionsTotal, p.Phase)
}

// poll asks once. It returns a line saying where the leave stands, or how
// it ended.
func (lw *leaveWaiter) poll(ctx context.Context) (string, *leaveDone) {
	asked := lw.via
	if asked == nil {
		asked = lw.leaving
	}
	seenBy := asked.Endpoint()
	ms, err := asked.Members(ctx)
	switch {
	case err != nil && ctx.Err() != nil:
		return fmt.Sprintf("%s: %v", seenBy, ctx.Err()), nil
	case err != nil && lw.via == nil && !isHTTPAnswer(err):
		return "", &leaveDone{seenBy: seenBy, message: fmt.Sprintf(
			"%s stopped answering: it has left (check with \"dynakv members\" on another node)", lw.id)}
	case err != nil:
		return fmt.Sprintf("cannot ask %s: %v", seenBy, err), nil
	}
	for _, m := range ms {
		if m.ID != lw.id {
			continue
		}
		if m.Status == "left" {
			return "", &leaveDone{seenBy: seenBy, message: fmt.Sprintf("%s has left the ring (seen by %s)", lw.id, seenBy)}
		}
		return fmt.Sprintf("%s is %s, in ring: %s (seen by %s)", lw.id, m.Status, yesNo(m.InRing), seenBy), nil
	}
	return fmt.Sprintf("%s does not know %s yet", seenBy, lw.id), nil
}

// isHTTPAnswer tells an error the server answered from one where no answer
// came (connection refused or reset: the node is gone).
func isHTTPAnswer(err error) bool {
	_, ok := errors.AsType[*client.Error](err)
	return ok
}

// printAccepted prints a 202 answer: as it came with -o json, else as
// "<status> <id>: <message>".
func printAccepted(cmd *cobra.Command, ef *endpointFlags, a *client.Accepted) error {
	if ef.json() {
		return printJSON(cmd.OutOrStdout(), a)
	}
	head := strings.TrimSpace(a.Status + " " + a.ID)
	_, err := fmt.Fprintf(cmd.OutOrStdout(), "%s: %s\n", head, a.Message)
	return err
}
