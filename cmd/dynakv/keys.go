package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"dynakv/replica"
)

func newKeysCmd() *cobra.Command {
	var (
		ef     endpointFlags
		prefix string
		limit  int
		page   int
	)
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "List the cluster's keys",
		Long: `List every key of the cluster (or those starting with --prefix), one per line,
as Riak's list keys does: the contacted node reads each partition from one of
its replicas, page by page (GET /keys), so a listing costs a scan of every
node's data. Keys come in no useful order (by partition, then by key).

A key is listed when the replica read holds a live version of it: a key
written only to replicas not yet repaired can be missing, and a key whose
delete has not reached that replica can still show up. Read a key to know.

--limit stops after that many keys. With -o json each page is printed as the
server's JSON object, one per line ({"keys":[...],"continuation":"..."}).`,
		Example: `  dynakv keys
  dynakv keys --prefix user/ | wc -l
  dynakv keys --limit 10`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit < 0 {
				return fmt.Errorf("--limit %d: use a number of keys, or 0 for all", limit)
			}
			if err := checkPerRequest("page-size", page, replica.MaxListLimit); err != nil {
				return err
			}
			c, err := ef.client()
			if err != nil {
				return err
			}
			out, printed, continuation := cmd.OutOrStdout(), 0, ""
			for {
				ask := page
				if limit > 0 {
					ask = min(page, limit-printed)
				}
				p, err := c.ListKeys(cmd.Context(), prefix, ask, continuation)
				if err != nil {
					return err
				}
				if ef.json() {
					if p.Keys == nil {
						p.Keys = []string{}
					}
					if err := json.NewEncoder(out).Encode(p); err != nil {
						return err
					}
				} else {
					for _, k := range p.Keys {
						if _, err := fmt.Fprintln(out, k); err != nil {
							return err
						}
					}
				}
				printed += len(p.Keys)
				if p.Continuation == "" || (limit > 0 && printed >= limit) {
					return nil
				}
				continuation = p.Continuation
			}
		},
	}
	ef.register(cmd)
	cmd.Flags().StringVar(&prefix, "prefix", "", "only keys that start with this")
	cmd.Flags().IntVar(&limit, "limit", 0, "stop after this many keys (0: all)")
	cmd.Flags().IntVar(&page, "page-size", 1000, "keys asked for per request (1-10000)")
	return cmd
}
