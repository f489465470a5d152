package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"dynakv/client"
)

func newPreflistCmd() *cobra.Command {
	var ef endpointFlags
	cmd := &cobra.Command{
		Use:   "preflist KEY",
		Short: "Show which nodes hold a key",
		Long: `Show the preference list of KEY as the contacted node computes it: the
partition the key hashes to, its N primaries (the nodes that own it) and the
fallbacks that take its writes, with a hint, while a primary is down. Each
node is shown with its status (alive, suspect, dead, leaving or left).

Every node computes the same list once the cluster has converged. JSON output
(-o json) is the server's object.`,
		Example: `  dynakv preflist user/42
  dynakv preflist -o json user/42 | jq -r '.primaries[].id'`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := ef.client()
			if err != nil {
				return err
			}
			pl, err := c.Preflist(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if ef.json() {
				if pl.Primaries == nil {
					pl.Primaries = []client.PreflistNode{}
				}
				if pl.Fallbacks == nil {
					pl.Fallbacks = []client.PreflistNode{}
				}
				return printJSON(cmd.OutOrStdout(), pl)
			}
			return printPreflist(cmd.OutOrStdout(), pl)
		},
	}
	ef.register(cmd)
	return cmd
}

func printPreflist(w io.Writer, pl *client.Preflist) error {
	tw := newTable(w)
	fmt.Fprintf(tw, "Key:\t%q\n", pl.Key)
	fmt.Fprintf(tw, "Partition:\t%d\n", pl.Partition)
	if err := flushTable(tw); err != nil {
		return err
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "ROLE\tNODE\tSTATUS")
	for _, p := range pl.Primaries {
		fmt.Fprintf(tw, "primary\t%s\t%s\n", p.ID, p.Status)
	}
	for _, f := range pl.Fallbacks {
		fmt.Fprintf(tw, "fallback\t%s\t%s\n", f.ID, f.Status)
	}
	return flushTable(tw)
}
