package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"dynakv/client"
)

func newStatusCmd() *cobra.Command {
	var ef endpointFlags
	cmd := &cobra.Command{
		Use:   "status",
		Short: "One table of the whole cluster, like nodetool status",
		Long: `Ask the contacted node for the ring members, then every member for its own
figures, and print one row per node: state, address, share of the ring (the
partitions it is the first primary of), keys (in the partitions it is a
primary of, once anti-entropy built its trees), disk, hints it holds for down
nodes, partitions it still has to hand to their owners, and version.

A member that does not answer is shown with its gossip status and dashes.
JSON output (-o json) is one object per node, as GET /cluster/status answers,
with "id" and "status" for the ones that did not answer.`,
		Example: `  dynakv status
  dynakv status -e http://127.0.0.1:8082 -o json | jq '.[] | {id, keys}'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, opts, err := ef.clientAndOptions()
			if err != nil {
				return err
			}
			rows, err := clusterStatus(cmd.Context(), c, opts...)
			if err != nil {
				return err
			}
			if ef.json() {
				return printJSON(cmd.OutOrStdout(), rows)
			}
			return printStatus(cmd.OutOrStdout(), rows)
		},
	}
	ef.register(cmd)
	return cmd
}

// clusterStatus asks every ring member for its status, in parallel, with
// c's scheme (the nodes of a cluster serve either all http or all https)
// and opts. A member that cannot be asked gets a row with its gossip status
// only.
func clusterStatus(ctx context.Context, c *client.Client, opts ...client.Option) ([]client.NodeStatus, error) {
	ms, err := c.Members(ctx)
	if err != nil {
		return nil, err
	}
	var ring []client.Member
	for _, m := range ms {
		if m.InRing {
			ring = append(ring, m)
		}
	}
	rows := make([]client.NodeStatus, len(ring))
	var wg sync.WaitGroup
	for i, m := range ring {
		rows[i] = client.NodeStatus{ID: m.ID, Status: m.Status, HTTPAddr: m.HTTPAddr, GossipAddr: m.GossipAddr, Keys: -1}
		if m.Status == "dead" {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			nc, err := client.New(c.Scheme()+"://"+reachableHTTP(m), opts...)
			if err != nil {
				return
			}
			if st, err := nc.Status(ctx); err == nil {
				rows[i] = *st
			}
		}()
	}
	wg.Wait()
	return rows, nil
}

// reachableHTTP is a member's HTTP address as a client can dial it: a node
// listening on every interface (0.0.0.0 or [::]) is reached at its gossip
// host.
func reachableHTTP(m client.Member) string {
	host, port, err := net.SplitHostPort(m.HTTPAddr)
	if err != nil {
		return m.HTTPAddr
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		if gh, _, err := net.SplitHostPort(m.GossipAddr); err == nil {
			return net.JoinHostPort(gh, port)
		}
	}
	return m.HTTPAddr
}

func printStatus(w io.Writer, rows []client.NodeStatus) error {
	tw := newTable(w)
	fmt.Fprintln(tw, "NODE\tSTATE\tADDRESS\tSHARE\tKEYS\tDISK\tHINTS\tTO HAND OFF\tVERSION")
	for _, r := range rows {
		if r.Version == "" { // did not answer
			fmt.Fprintf(tw, "%s\t%s\t%s\t-\t-\t-\t-\t-\t-\n", r.ID, r.Status, orDash(r.HTTPAddr))
			continue
		}
		keys := "building"
		if r.Keys >= 0 {
			keys = fmt.Sprint(r.Keys)
		}
		handOff := fmt.Sprintf("%d partitions", r.Transfers.PendingPartitions)
		if r.Transfers.Settling {
			handOff += ", settling"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.1f%%\t%s\t%s\t%d\t%s\t%s\n", r.ID, r.Status, r.HTTPAddr,
			100*r.RingShare, keys, byteSize(r.DiskBytes), r.HintsPending, handOff, r.Version)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return printRunningTransfers(w, rows)
}

// printRunningTransfers lists the partitions on their way, as
// `riak-admin transfers` does; nothing when none is.
func printRunningTransfers(w io.Writer, rows []client.NodeStatus) error {
	tw := newTable(w)
	listed := false
	for _, r := range rows {
		for _, t := range r.Transfers.Running {
			if !listed {
				fmt.Fprintln(tw, "\nRUNNING TRANSFERS\nFROM\tPARTITION\tKIND\tTO\tKEYS SENT\tFOR")
				listed = true
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d\t%s\n", r.ID, t.Partition, t.Kind, strings.Join(t.To, ","), t.KeysSent,
				time.Since(t.Started).Round(time.Second))
		}
	}
	if leaving := leavingRows(rows); leaving != "" {
		fmt.Fprint(tw, leaving)
	}
	return tw.Flush()
}

// leavingRows describes the leaves in progress, one line each.
func leavingRows(rows []client.NodeStatus) string {
	var b strings.Builder
	for _, r := range rows {
		if l := r.Transfers.Leave; l != nil {
			fmt.Fprintf(&b, "\n%s is leaving: %s\n", r.ID, progressBar(*l))
		}
	}
	return b.String()
}

// byteSize prints n bytes in binary units.
func byteSize(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
