package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

func newPutCmd() *cobra.Command {
	var (
		ef          endpointFlags
		lf          levelFlags
		contentType string
		readCtx     string
	)
	cmd := &cobra.Command{
		Use:   "put KEY [VALUE|-]",
		Short: "Write a value",
		Long: `Write VALUE under KEY. Without VALUE, or with "-", the value is read from stdin.

Without --context the write is blind: it adds a sibling to whatever the key
holds. With the context of a read (see "dynakv get") it supersedes exactly the
siblings that read saw. The new version's context is printed on stderr
("context: ..."), or as {"context": ...} with -o json.`,
		Example: `  dynakv put greeting hello
  dynakv put -c all --content-type text/plain greeting hello
  dynakv put --context "$CTX" greeting merged
  tar c dir | dynakv put backup/dir.tar -`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := ef.client()
			if err != nil {
				return err
			}
			lv, err := lf.levels()
			if err != nil {
				return err
			}
			value, err := putValue(cmd, args)
			if err != nil {
				return err
			}
			newCtx, err := c.Put(cmd.Context(), args[0], value, contentType, readCtx, lv)
			if err != nil {
				return err
			}
			return ef.printContext(cmd, newCtx)
		},
	}
	ef.register(cmd)
	lf.register(cmd)
	cmd.Flags().StringVar(&contentType, "content-type", "application/octet-stream", "media type stored with the value and returned by reads")
	cmd.Flags().StringVar(&readCtx, "context", "", "context of the read this write supersedes (default: a blind write)")
	return cmd
}

// putValue is the VALUE argument, or stdin when it is absent or "-".
func putValue(cmd *cobra.Command, args []string) ([]byte, error) {
	if len(args) == 2 && args[1] != "-" {
		return []byte(args[1]), nil
	}
	v, err := io.ReadAll(cmd.InOrStdin())
	if err != nil {
		return nil, fmt.Errorf("read the value from stdin: %w", err)
	}
	return v, nil
}
