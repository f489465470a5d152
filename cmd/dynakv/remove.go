package main

import (
	"github.com/spf13/cobra"
)

func newRemoveCmd() *cobra.Command {
	var ef endpointFlags
	cmd := &cobra.Command{
		Use:   "remove ID",
		Short: "Take a dead node out of the ring for good",
		Long: `Take the node ID out of the ring for good, as "nodetool removenode" does:
the remaining members take over its partitions and re-replicate its data. Ask
any live node (--endpoint).

Only a dead node can be removed: the server refuses a node that is alive
(409 node_alive; to take a running node out, run "dynakv leave" against it)
and an id it does not know (404 unknown_node; see "dynakv members"). A removed
node shows as "left" in "dynakv members". Removing a node that is already out
of the ring succeeds and changes nothing.`,
		Example: `  dynakv members            # find the dead node's id
  dynakv remove n3
  dynakv remove -e http://10.0.0.2:8080 n3`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := ef.client()
			if err != nil {
				return err
			}
			accepted, err := c.Remove(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return printAccepted(cmd, &ef, accepted)
		},
	}
	ef.register(cmd)
	return cmd
}
