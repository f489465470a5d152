package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"dynakv/client"
)

func newRingCmd() *cobra.Command {
	var ef endpointFlags
	cmd := &cobra.Command{
		Use:   "ring",
		Short: "Show how the ring's partitions are shared among the members",
		Long: `Show the ring as the contacted node sees it: N (replicas per key), the
replicas a key has now (fewer than N while the ring has fewer than N
members), the partition count, and for each ring member:

  OWNED     partitions it is the first primary of
  SHARE     OWNED as a percentage of all partitions
  REPLICAS  partitions it holds a replica of (as any of the N primaries)

Members that are down are listed: they stay in the ring until removed.
JSON output (-o json) is the server's object.`,
		Example: `  dynakv ring
  dynakv ring -o json | jq '.members[] | {id, share}'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := ef.client()
			if err != nil {
				return err
			}
			info, err := c.Ring(cmd.Context())
			if err != nil {
				return err
			}
			if ef.json() {
				if info.Members == nil {
					info.Members = []client.RingMember{}
				}
				return printJSON(cmd.OutOrStdout(), info)
			}
			return printRing(cmd.OutOrStdout(), info)
		},
	}
	ef.register(cmd)
	return cmd
}

func printRing(w io.Writer, info *client.RingInfo) error {
	replicas := fmt.Sprint(info.Replicas)
	if info.Replicas < info.N {
		replicas += fmt.Sprintf(" (fewer than N: the ring has %d members)", len(info.Members))
	}
	tw := newTable(w)
	fmt.Fprintf(tw, "N:\t%d\n", info.N)
	fmt.Fprintf(tw, "Replicas per key:\t%s\n", replicas)
	fmt.Fprintf(tw, "Partitions:\t%d\n", info.Partitions)
	if err := flushTable(tw); err != nil {
		return err
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "MEMBER\tOWNED\tSHARE\tREPLICAS")
	for _, m := range info.Members {
		fmt.Fprintf(tw, "%s\t%d\t%.1f%%\t%d\n", m.ID, m.Partitions, 100*m.Share, m.Replicas)
	}
	return flushTable(tw)
}
