package main

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"dynakv/api"
	"dynakv/backup"
	"dynakv/client"
)

func newRestoreCmd() *cobra.Command {
	var (
		ef    endpointFlags
		lf    levelFlags
		batch int
	)
	cmd := &cobra.Command{
		Use:   "restore FILE",
		Short: "Merge the keys of a backup file into the cluster",
		Long: `Merge every key of a backup FILE ("-" for standard input) into the cluster,
each acknowledged by --w replicas. Restoring is a merge, as between replicas:
versions the cluster holds that the backup lacks stay (writes made since the
backup, a delete made since whose tombstone is still kept), versions the
backup holds that the cluster lacks come back, and no version is created. So
restoring twice, or restoring after a failure part way, is safe.

FILE is read once through before anything is restored, so a damaged or
truncated backup restores nothing. Standard input cannot be read twice: a
damaged stream is found only where the damage is, after the keys before it
were restored.`,
		Example: `  dynakv restore cluster.dkvb
  gunzip -c cluster.dkvb.gz | dynakv restore -
  dynakv restore -e 10.0.0.5:8080 -c all cluster.dkvb`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkPerRequest("batch", batch, api.MaxBackupLimit); err != nil {
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
			if args[0] != "-" {
				if err := checkBackupFile(args[0]); err != nil {
					return err
				}
			}
			in, err := openInput(args[0], cmd.InOrStdin())
			if err != nil {
				return err
			}
			defer in.Close()
			n, err := restoreBackup(cmd, c, in, batch, lv)
			if err != nil {
				return fmt.Errorf("%w; %d keys were restored before this: restoring again is safe", err, n)
			}
			return reportCount(cmd, ef, "restored", uint64(n), args[0])
		},
	}
	ef.register(cmd)
	lf.register(cmd)
	hideFlags(cmd, "r", "pr")
	cmd.Flags().IntVar(&batch, "batch", 100, fmt.Sprintf("keys sent per request (1-%d); a batch also ends at 4 MiB of versions", api.MaxBackupLimit))
	return cmd
}

// restoreBatchBytes ends a restore batch early, well under the server's
// bound on a request body (api.DefaultRestoreBodyBytes).
const restoreBatchBytes = 4 << 20

// restoreInFlight is how many restore batches are sent at once.
const restoreInFlight = 4

// restoreBackup sends the records of in to the cluster in batches, a few at
// once, and returns how many were restored. After a failed batch it sends
// no more.
func restoreBackup(cmd *cobra.Command, c *client.Client, in io.Reader, batch int, lv client.Levels) (int, error) {
	r, err := backup.NewReader(in)
	if err != nil {
		return 0, err
	}
	progress := newKeyProgress(cmd, "restore")
	var restored atomic.Int64
	g, ctx := errgroup.WithContext(cmd.Context())
	g.SetLimit(restoreInFlight)
	send := func(records []client.BackupRecord) {
		g.Go(func() error {
			n, err := c.Restore(ctx, records, lv)
			if err != nil {
				return err
			}
			progress.update(restored.Add(int64(n)))
			return nil
		})
	}
	var records []client.BackupRecord
	size := 0
	for ctx.Err() == nil {
		rec, rerr := r.Next()
		if rerr != nil {
			if !errors.Is(rerr, io.EOF) {
				err = rerr
			} else if len(records) > 0 {
				send(records)
			}
			break
		}
		records = append(records, client.BackupRecord{Key: string(rec.Key), Versions: base64.RawURLEncoding.EncodeToString(rec.Versions)})
		size += len(rec.Versions)
		if len(records) == batch || size >= restoreBatchBytes {
			send(records) // waits while restoreInFlight batches are out
			records, size = nil, 0
		}
	}
	if werr := g.Wait(); werr != nil {
		err = werr
	}
	if err == nil {
		progress.done(restored.Load())
	}
	return int(restored.Load()), err
}

// checkBackupFile reads a backup file through, so that a damaged one is
// refused before anything is restored.
func checkBackupFile(name string) error {
	f, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("read the backup: %w", err)
	}
	defer f.Close()
	r, err := backup.NewReader(f)
	for err == nil {
		_, err = r.Next()
	}
	if !errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: %w; nothing was restored", name, err)
	}
	return nil
}

// openInput opens the file a command reads ("-": stdin).
func openInput(name string, stdin io.Reader) (io.ReadCloser, error) {
	if name == "-" {
		return io.NopCloser(stdin), nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("read the backup: %w", err)
	}
	return f, nil
}
