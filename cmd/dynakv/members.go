package main

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"dynakv/client"
)

func newMembersCmd() *cobra.Command {
	var ef endpointFlags
	cmd := &cobra.Command{
		Use:   "members",
		Short: "List the nodes of the cluster and their status",
		Long: `List every node the contacted node knows of, as it sees them, sorted by id.

STATUS is alive, suspect, dead, leaving or left. IN RING tells whether the
node owns part of the ring: a node that is down stays in the ring until it is
removed ("dynakv remove ID"); a node that left or was removed is out of it.

JSON output (-o json) is the server's array: id, http_addr, gossip_addr,
rpc_addr, status and in_ring for each node.`,
		Example: `  dynakv members
  dynakv members -e http://10.0.0.2:8080
  dynakv members -o json | jq -r '.[] | select(.status != "alive") | .id'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := ef.client()
			if err != nil {
				return err
			}
			ms, err := c.Members(cmd.Context())
			if err != nil {
				return err
			}
			if ef.json() {
				if ms == nil {
					ms = []client.Member{}
				}
				return printJSON(cmd.OutOrStdout(), ms)
			}
			return printMembers(cmd.OutOrStdout(), ms)
		},
	}
	ef.register(cmd)
	return cmd
}

// printMembers prints the members as a table, sorted by id.
func printMembers(w io.Writer, ms []client.Member) error {
	ms = slices.SortedFunc(slices.Values(ms), func(a, b client.Member) int { return cmp.Compare(a.ID, b.ID) })
	tw := newTable(w)
	fmt.Fprintln(tw, "ID\tSTATUS\tIN RING\tHTTP\tGOSSIP")
	for _, m := range ms {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", m.ID, m.Status, yesNo(m.InRing), orDash(m.HTTPAddr), orDash(m.GossipAddr))
	}
	return flushTable(tw)
}

// newTable returns a writer that aligns tab-separated columns, as the
// cluster commands print them.
func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
}

func flushTable(tw *tabwriter.Writer) error {
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
