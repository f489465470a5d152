package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newDeleteCmd() *cobra.Command {
	var (
		ef      endpointFlags
		lf      levelFlags
		readCtx string
	)
	cmd := &cobra.Command{
		Use:   "delete KEY",
		Short: "Delete a key",
		Long: `Delete KEY by writing a tombstone.

Without --context, delete first reads the key (with --r and --pr) and deletes
exactly what that read saw; a key that is missing or already deleted is an
error. With --context, it deletes what that context saw without reading;
--context "" writes a blind tombstone. The tombstone's context is printed on
stderr ("context: ..."), or as {"context": ...} with -o json.`,
		Example: `  dynakv delete greeting
  dynakv delete -c all greeting
  dynakv delete --context "$CTX" greeting`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			key := args[0]
			c, err := ef.client()
			if err != nil {
				return err
			}
			lv, err := lf.levels()
			if err != nil {
				return err
			}
			if !cmd.Flags().Changed("context") {
				obj, err := c.Get(cmd.Context(), key, lv)
				if err != nil {
					return fmt.Errorf("read before deleting: %w", err)
				}
				switch {
				case obj.Deleted:
					return fmt.Errorf("key %q is already deleted; nothing to delete", key)
				case !obj.Found:
					return fmt.Errorf("key %q not found; nothing to delete", key)
				}
				readCtx = obj.Context
			}
			newCtx, err := c.Delete(cmd.Context(), key, readCtx, lv)
			if err != nil {
				return err
			}
			return ef.printContext(cmd, newCtx)
		},
	}
	ef.register(cmd)
	lf.register(cmd)
	cmd.Flags().StringVar(&readCtx, "context", "", "context of the read whose siblings to delete (default: read the key first)")
	return cmd
}
