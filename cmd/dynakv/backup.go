package main

import (
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"dynakv/api"
	"dynakv/backup"
	"dynakv/client"
)

func newBackupCmd() *cobra.Command {
	var (
		ef     endpointFlags
		lf     levelFlags
		prefix string
		page   int
	)
	cmd := &cobra.Command{
		Use:   "backup FILE",
		Short: "Write every key of the cluster, with its versions, to a backup file",
		Long: `Write every key of the cluster (or those starting with --prefix) to FILE ("-"
for standard output), with its versions: its siblings and their causal history,
as the replicas read at --r hold them. The contacted node lists the keys page by
page (GET /backup) and reads each one, so a backup costs a read of every key.

A backup is logical and not a snapshot: a key written while it runs may be in it
at its old or its new version. Restore it with "dynakv restore", into this
cluster or another; never copy a node's data folder instead (see the README).

The file is written under a temporary name and renamed when complete; its
trailer counts its keys, so a backup cut short is refused by restore.`,
		Example: `  dynakv backup cluster.dkvb
  dynakv backup --prefix user/ -c all users.dkvb
  dynakv backup - | gzip > cluster.dkvb.gz`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkPerRequest("page-size", page, api.MaxBackupLimit); err != nil {
				return err
			}
			lv, err := lf.levels()
			if err != nil {
				return err
			}
			c, err := ef.client()
			if err != nil {
				return err
			}
			out, commit, abort, err := createOutput(args[0], cmd.OutOrStdout())
			if err != nil {
				return err
			}
			n, err := writeBackup(cmd, c, out, prefix, page, lv)
			if err != nil {
				abort()
				return err
			}
			if err := commit(); err != nil {
				return err
			}
			return reportCount(cmd, ef, "backed up", n, args[0])
		},
	}
	ef.register(cmd)
	lf.register(cmd)
	hideFlags(cmd, "w", "pw")
	cmd.Flags().StringVar(&prefix, "prefix", "", "only keys that start with this")
	cmd.Flags().IntVar(&page, "page-size", api.DefaultBackupLimit, fmt.Sprintf("keys asked for per request (1-%d)", api.MaxBackupLimit))
	return cmd
}

// writeBackup pages through the cluster's keys into out and returns how
// many it wrote.
func writeBackup(cmd *cobra.Command, c *client.Client, out io.Writer, prefix string, page int, lv client.Levels) (uint64, error) {
	w, err := backup.NewWriter(out)
	if err != nil {
		return 0, err
	}
	progress := newKeyProgress(cmd, "backup")
	continuation := ""
	for {
		p, err := c.Backup(cmd.Context(), prefix, page, continuation, lv)
		if err != nil {
			return w.Count(), fmt.Errorf("after %d keys: %w", w.Count(), err)
		}
		progress.update(int64(w.Count()) + int64(len(p.Records)))
		for _, rec := range p.Records {
			versions, err := base64.RawURLEncoding.DecodeString(rec.Versions)
			if err != nil {
				return w.Count(), fmt.Errorf("the versions of %q from the node are not base64url: %w", rec.Key, err)
			}
			if err := w.Write(backup.Record{Key: []byte(rec.Key), Versions: versions}); err != nil {
				return w.Count(), err
			}
		}
		if p.Continuation == "" {
			progress.done(int64(w.Count()))
			return w.Count(), w.Close()
		}
		continuation = p.Continuation
	}
}

// createOutput opens the file a command writes ("-": stdout) under a
// temporary name; commit renames it into place, abort removes it.
func createOutput(name string, stdout io.Writer) (w io.Writer, commit func() error, abort func(), err error) {
	if name == "-" {
		return stdout, func() error { return nil }, func() {}, nil
	}
	f, err := os.CreateTemp(filepath.Dir(name), filepath.Base(name)+".*.tmp")
	if err != nil {
		return nil, nil, nil, fmt.Errorf("create the backup file: %w", err)
	}
	commit = func() error {
		if err := f.Sync(); err != nil {
			f.Close()
			os.Remove(f.Name())
			return fmt.Errorf("write %s: %w", name, err)
		}
		if err := f.Close(); err != nil {
			os.Remove(f.Name())
			return fmt.Errorf("write %s: %w", name, err)
		}
		if err := os.Rename(f.Name(), name); err != nil {
			os.Remove(f.Name())
			return fmt.Errorf("write %s: %w", name, err)
		}
		return nil
	}
	abort = func() {
		f.Close()
		os.Remove(f.Name())
	}
	return f, commit, abort, nil
}

// reportCount prints what a backup or restore did: on stderr in text mode,
// as {"keys": n} with -o json, on stdout unless the backup went there.
func reportCount(cmd *cobra.Command, ef endpointFlags, did string, n uint64, file string) error {
	if ef.json() {
		out := cmd.OutOrStdout()
		if file == "-" && did == "backed up" {
			out = cmd.ErrOrStderr()
		}
		return printJSON(out, map[string]uint64{"keys": n})
	}
	keys := "keys"
	if n == 1 {
		keys = "key"
	}
	_, err := fmt.Fprintf(cmd.ErrOrStderr(), "%s %d %s (%s)\n", did, n, keys, file)
	return err
}

// hideFlags hides flags a command registers with a shared set but does not
// use.
func hideFlags(cmd *cobra.Command, names ...string) {
	for _, n := range names {
		_ = cmd.Flags().MarkHidden(n)
	}
}
