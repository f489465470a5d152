// Command dynakv is the dynakv key-value store: its server (`serve`, `dev`)
// and its command-line client (`put`, `get`, `delete`, cluster commands).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRootCmd().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "dynakv:", err)
		os.Exit(1)
	}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "dynakv",
		Short: "dynakv is a Dynamo-style, always-writable key-value store with tunable consistency",
		Long: `dynakv is a Dynamo-style, always-writable key-value store with tunable consistency.

Start a node with "dynakv serve" (or a local cluster with "dynakv dev"), then use
"dynakv put", "get" and "delete". Every flag can also be set in the environment
as DYNAKV_<FLAG>, e.g. DYNAKV_ENDPOINT or DYNAKV_MAX_SIBLINGS.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return applyEnv(cmd)
		},
	}
	root.AddCommand(
		newServeCmd(),
		newDevCmd(),
		newPutCmd(),
		newGetCmd(),
		newDeleteCmd(),
		newMembersCmd(),
		newRingCmd(),
		newPreflistCmd(),
		newReplicasCmd(),
		newKeysCmd(),
		newBackupCmd(),
		newRestoreCmd(),
		newLeaveCmd(),
		newRemoveCmd(),
		newHealthCmd(),
		newRepairCmd(),
		newStatusCmd(),
		newBenchCmd(),
	)
	return root
}
