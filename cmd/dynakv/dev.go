package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"dynakv/gossip"
	"dynakv/node"
)

// defaultHTTPAddr is where the CLI looks for a node when given no --endpoint.
const defaultHTTPAddr = "127.0.0.1:8080"

func newDevCmd() *cobra.Command {
	var (
		nodes    int
		replicas int
		dataDir  string
		keep     bool
		logs     logFlags
	)
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run a whole local cluster on loopback, in one process",
		Long: `Run a local cluster of --nodes nodes on 127.0.0.1, in one process, with data in a
temporary folder that is removed on exit (keep it with --keep; a folder named with
--data is never removed). The first node takes
127.0.0.1:8080 when that port is free, so "dynakv put k v" works right away.
Gossip uses fast timings: a stopped node is noticed within about a second.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if nodes < 1 {
				return fmt.Errorf("--nodes %d: use 1 or more", nodes)
			}
			if replicas == 0 {
				replicas = min(3, nodes)
			}
			logger, err := logs.logger(os.Stderr)
			if err != nil {
				return err
			}
			// A folder named with --data is the user's: it is never removed.
			removed := false
			if dataDir == "" {
				if dataDir, err = os.MkdirTemp("", "dynakv-dev-"); err != nil {
					return err
				}
				if !keep {
					removed = true
					defer os.RemoveAll(dataDir)
				}
			}
			cluster, err := startDevCluster(nodes, replicas, dataDir, func(c *node.Config) { c.Logger = logger })
			if err != nil {
				return err
			}
			printDevCluster(cmd, cluster, dataDir, removed)
			<-cmd.Context().Done()
			fmt.Fprintln(cmd.ErrOrStderr(), "stopping the cluster")
			return stopDevCluster(cluster)
		},
	}
	f := cmd.Flags()
	f.IntVar(&nodes, "nodes", 3, "number of nodes")
	f.IntVar(&replicas, "replicas", 0, "N: replicas per key (default: 3, or --nodes when fewer)")
	f.StringVar(&dataDir, "data", "", "folder for the nodes' data, kept on exit (default: a temporary folder)")
	f.BoolVar(&keep, "keep", false, "keep the temporary data folder on exit")
	logs.register(cmd, "warn")
	return cmd
}

// startDevCluster starts n nodes on loopback, the first on defaultHTTPAddr
// when it is free, the others joining it.
func startDevCluster(n, replicas int, dataDir string, tune func(*node.Config)) ([]*node.Node, error) {
	var nodes []*node.Node
	for i := range n {
		cfg := node.DefaultConfig()
		cfg.ID = fmt.Sprintf("n%d", i+1)
		cfg.DataDir = filepath.Join(dataDir, cfg.ID)
		cfg.Replicas = replicas
		cfg.HTTPAddr = "127.0.0.1:0"
		if i == 0 && portFree(defaultHTTPAddr) {
			cfg.HTTPAddr = defaultHTTPAddr
		}
		cfg.GossipAddr, cfg.RPCAddr = "127.0.0.1:0", "127.0.0.1:0"
		cfg.GossipTuning = gossip.FastTimings
		if i > 0 {
			cfg.Join = []string{nodes[0].GossipAddr()}
		}
		tune(&cfg)
		nd, err := node.Start(cfg)
		if err != nil {
			return nil, errors.Join(err, stopDevCluster(nodes))
		}
		nodes = append(nodes, nd)
	}
	return nodes, nil
}

func stopDevCluster(nodes []*node.Node) error {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	var errs []error
	for _, n := range nodes {
		errs = append(errs, n.Shutdown(ctx))
	}
	return errors.Join(errs...)
}

func portFree(addr string) bool {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	l.Close()
	return true
}

func printDevCluster(cmd *cobra.Command, nodes []*node.Node, dataDir string, removed bool) {
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "dynakv dev cluster: %d nodes, data in %s", len(nodes), dataDir)
	if removed {
		fmt.Fprint(out, " (removed on exit)")
	}
	fmt.Fprintln(out)
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tHTTP\tGOSSIP")
	for _, n := range nodes {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", n.ID(), n.APIURL(), n.GossipAddr())
	}
	tw.Flush()
	first := nodes[0].APIURL()
	hint := ""
	if nodes[0].HTTPAddr() != defaultHTTPAddr {
		hint = " -e " + first
	}
	fmt.Fprintf(out, "\nTry:\n  dynakv put%s greeting hello\n  dynakv get%s greeting\n  dynakv members%s\n  curl %s/cluster/ring\nPress Ctrl-C to stop (started %s).\n",
		hint, hint, hint, first, time.Now().Format(time.TimeOnly))
}
