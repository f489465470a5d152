package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
)

func newHealthCmd() *cobra.Command {
	var (
		ef      endpointFlags
		timeout time.Duration
		verbose bool
	)
	cmd := &cobra.Command{
		Use:   "health",
		Short: "Check that a node answers (exit status 0 when healthy)",
		Long: `Check the node's liveness (GET /healthz): exit status 0 when it answers
within --timeout, non-zero with the reason on stderr otherwise. It prints
nothing on success unless --verbose (or -o json) is given, so it fits a
container health check.`,
		Example: `  dynakv health -e http://127.0.0.1:8080
  dynakv health -v --timeout 500ms
  # docker compose:
  #   healthcheck:
  #     test: ["CMD", "dynakv", "health", "-e", "http://127.0.0.1:8080"]`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if timeout <= 0 {
				return fmt.Errorf("--timeout %v: use a positive duration", timeout)
			}
			c, err := ef.client()
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			if err := c.Health(ctx); err != nil {
				return fmt.Errorf("%s is not healthy: %w", c.Endpoint(), err)
			}
			switch {
			case ef.json():
				return printJSON(cmd.OutOrStdout(), map[string]string{"endpoint": c.Endpoint(), "status": "ok"})
			case verbose:
				_, err := fmt.Fprintf(cmd.OutOrStdout(), "%s is healthy\n", c.Endpoint())
				return err
			}
			return nil
		},
	}
	ef.register(cmd)
	cmd.Flags().DurationVar(&timeout, "timeout", 2*time.Second, "how long to wait for the answer")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "print a line when the node is healthy")
	return cmd
}
