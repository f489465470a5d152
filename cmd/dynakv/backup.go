package main

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"dynakv/api"
	"dynakv/backup"
	"dynakv/client"
	"dynakv/loadgen"
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

// keyProgress reports a backup's or a restore's progress on stderr at most
// once a second, as dynakv bench does: one line rewritten in place on a
// terminal, plain lines elsewhere.
type keyProgress struct {
	mu               sync.Mutex // restore batches report from their goroutines
	printer          *loadgen.ProgressPrinter
	phase            string
	start, last      time.Time
	lastKeys         int64
	printedSomething bool
}

func newKeyProgress(cmd *cobra.Command, phase string) *keyProgress {
	now := time.Now()
	errOut := cmd.ErrOrStderr()
	return &keyProgress{printer: loadgen.NewProgressPrinter(errOut, isTerminal(errOut)), phase: phase, start: now, last: now}
}

func (p *keyProgress) update(keys int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if now.Sub(p.last) < time.Second || keys < p.lastKeys {
		return // too soon, or a batch that finished before the last one reported
	}
	rate := float64(keys-p.lastKeys) / now.Sub(p.last).Seconds()
	p.printer.Print(loadgen.Progress{Phase: p.phase, Elapsed: now.Sub(p.start), Ops: keys, Rate: rate, Unit: "keys"})
	p.last, p.lastKeys, p.printedSomething = now, keys, true
}

// done ends the progress line, if one was printed: a run that took under
// a second prints only its summary.
func (p *keyProgress) done(keys int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.printedSomething {
		return
	}
	elapsed := time.Since(p.start)
	p.printer.Print(loadgen.Progress{Phase: p.phase, Elapsed: elapsed, Ops: keys, Rate: float64(keys) / elapsed.Seconds(), Unit: "keys", Done: true})
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
	_, err := fmt.Fprintf(cmd.ErrOrStderr(), "%s %d keys (%s)\n", did, n, file)
	return err
}

// hideFlags hides flags a command registers with a shared set but does not
// use.
func hideFlags(cmd *cobra.Command, names ...string) {
	for _, n := range names {
		_ = cmd.Flags().MarkHidden(n)
	}
}
