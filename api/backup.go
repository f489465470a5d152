package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"
	"unicode/utf8"

	"golang.org/x/sync/errgroup"

	"dynakv/replica"
	"dynakv/versioning"
)

// Backups is what the backup routes need from the node: the key listing,
// the coordinator's reads and restores, and the partition of a key.
type Backups interface {
	Keys
	// Get returns the merged state of key; nil when no replica has it.
	Get(ctx context.Context, key []byte, opts replica.ReadOptions) (*versioning.Set, error)
	// Restore merges a backed-up state into the key's replicas.
	Restore(ctx context.Context, key []byte, state *versioning.Set, opts replica.WriteOptions) error
	// Partition is the partition of key, as the listing orders keys.
	Partition(key []byte) uint32
	// N is the number of replicas per key, the upper bound of every level.
	N() int
}

// Bounds of the backup routes.
const (
	// DefaultBackupLimit and MaxBackupLimit are the keys of one GET /backup
	// page when a request names no limit, and at most.
	DefaultBackupLimit = 100
	MaxBackupLimit     = 1000
	// DefaultBackupPageBytes ends a page early once its records' versions
	// hold this much (a page always holds at least one record), so a page
	// of large values stays a bounded answer.
	DefaultBackupPageBytes = 16 << 20
	// DefaultBackupTimeout bounds one page or one restore batch when a
	// request names no timeout.
	DefaultBackupTimeout = 30 * time.Second
	// DefaultRestoreBodyBytes bounds a POST /restore body.
	DefaultRestoreBodyBytes = 64 << 20
	// backupWorkers is how many keys of one request are read or restored
	// at once.
	backupWorkers = 32
)

// BackupRecord is one key and its versions: the versioning package's binary
// encoding of its siblings and clock, base64url without padding.
type BackupRecord struct {
	Key      string `json:"key"`
	Versions string `json:"versions"`
}

// BackupPage is the body of GET /backup and of POST /restore.
type BackupPage struct {
	Records []BackupRecord `json:"records"`
	// Continuation, when present, is sent back as ?continuation= for the
	// next page; absent, the backup is complete.
	Continuation string `json:"continuation,omitempty"`
}

// RestoreResult is the 200 answer of POST /restore.
type RestoreResult struct {
	Restored int `json:"restored"`
}

var (
	backupParams  = []string{"prefix", "limit", "continuation", "timeout", "r", "pr"}
	restoreParams = []string{"w", "pw", "timeout"}
)

// BackupConfig configures BackupRoutes; zero fields take the defaults.
type BackupConfig struct {
	MaxTimeout   time.Duration // bounds ?timeout=; 0: DefaultMaxTimeout
	MaxPageBytes int           // see DefaultBackupPageBytes
	MaxBodyBytes int64         // see DefaultRestoreBodyBytes
	Logger       *slog.Logger  // unexpected errors; nil: slog.Default()
}

// BackupRoutes are the routes of a logical backup:
//
//	GET  /backup   a page of keys with their versions, read at r and pr
//	               (?prefix=, ?limit=, ?continuation=, ?timeout=)
//	POST /restore  merges a batch of records into their keys' replicas,
//	               answering once w of each (pw primaries) stored it
func BackupRoutes(b Backups, cfg BackupConfig) []Route {
	if cfg.MaxTimeout <= 0 {
		cfg.MaxTimeout = DefaultMaxTimeout
	}
	if cfg.MaxPageBytes <= 0 {
		cfg.MaxPageBytes = DefaultBackupPageBytes
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultRestoreBodyBytes
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	rt := backupRoutes{b: b, cfg: cfg}
	return []Route{
		{"GET /backup", http.HandlerFunc(rt.backup)},
		{"POST /restore", http.HandlerFunc(rt.restore)},
	}
}

type backupRoutes struct {
	b   Backups
	cfg BackupConfig
}

func (rt backupRoutes) backup(w http.ResponseWriter, r *http.Request) {
	q, qerr := parseQuery(r.URL.RawQuery, backupParams)
	if qerr != nil {
		WriteError(w, qerr)
		return
	}
	req, timeout, qerr := parseListing(q, DefaultBackupLimit, MaxBackupLimit, DefaultBackupTimeout, rt.cfg.MaxTimeout)
	if qerr != nil {
		WriteError(w, qerr)
		return
	}
	rl, qerr := parseLevel(q, "r", rt.b.N())
	if qerr != nil {
		WriteError(w, qerr)
		return
	}
	pr, qerr := parseLevel(q, "pr", rt.b.N())
	if qerr != nil {
		WriteError(w, qerr)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	page, err := rt.page(ctx, req, replica.ReadOptions{R: rl, PR: pr, Timeout: timeout})
	if err != nil {
		rt.fail(w, r, fmt.Errorf("back up a page of keys: %w", err), timeout)
		return
	}
	WriteJSON(w, http.StatusOK, page)
}

// page lists a page of keys and reads them, backupWorkers at a time, until
// the page holds MaxPageBytes: what it holds in memory is bounded by that
// and by the keys of one round of reads.
func (rt backupRoutes) page(ctx context.Context, req replica.ListRequest, opts replica.ReadOptions) (BackupPage, error) {
	keys, err := rt.b.List(ctx, req)
	if err != nil {
		return BackupPage{}, err
	}
	out := BackupPage{Records: make([]BackupRecord, 0, len(keys.Keys))}
	size := 0
	for start := 0; start < len(keys.Keys); start += backupWorkers {
		round := keys.Keys[start:min(start+backupWorkers, len(keys.Keys))]
		states := make([]*versioning.Set, len(round))
		err := forEach(ctx, len(round), func(ctx context.Context, i int) error {
			s, err := rt.b.Get(ctx, round[i], opts)
			if err != nil {
				return fmt.Errorf("read %q: %w", round[i], err)
			}
			states[i] = s
			return nil
		})
		if err != nil {
			return BackupPage{}, err
		}
		for i, s := range states {
			if size >= rt.cfg.MaxPageBytes {
				// Full: the next page starts after the last key taken.
				last := keys.Keys[start+i-1]
				out.Continuation = EncodeContinuation(replica.ListCursor{Partition: rt.b.Partition(last), After: last})
				return out, nil
			}
			if s.IsEmpty() {
				continue // gone since it was listed, tombstone and all
			}
			enc := s.AppendBinary(nil)
			size += len(enc)
			out.Records = append(out.Records, BackupRecord{Key: string(round[i]), Versions: base64.RawURLEncoding.EncodeToString(enc)})
		}
	}
	if keys.Next != nil {
		out.Continuation = EncodeContinuation(*keys.Next)
	}
	return out, nil
}

func (rt backupRoutes) restore(w http.ResponseWriter, r *http.Request) {
	q, qerr := parseQuery(r.URL.RawQuery, restoreParams)
	if qerr != nil {
		WriteError(w, qerr)
		return
	}
	wl, qerr := parseLevel(q, "w", rt.b.N())
	if qerr != nil {
		WriteError(w, qerr)
		return
	}
	pw, qerr := parseLevel(q, "pw", rt.b.N())
	if qerr != nil {
		WriteError(w, qerr)
		return
	}
	timeout, qerr := timeoutParam(q, DefaultBackupTimeout, rt.cfg.MaxTimeout)
	if qerr != nil {
		WriteError(w, qerr)
		return
	}
	keys, states, qerr := decodeRestore(w, r, rt.cfg.MaxBodyBytes)
	if qerr != nil {
		WriteError(w, qerr)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	opts := replica.WriteOptions{W: wl, PW: pw, Timeout: timeout}
	err := forEach(ctx, len(keys), func(ctx context.Context, i int) error {
		if err := rt.b.Restore(ctx, keys[i], states[i], opts); err != nil {
			return fmt.Errorf("restore %q: %w", keys[i], err)
		}
		return nil
	})
	if err != nil {
		rt.fail(w, r, err, timeout)
		return
	}
	WriteJSON(w, http.StatusOK, RestoreResult{Restored: len(keys)})
}

// decodeRestore reads and checks every record of a restore batch before
// any is restored, so a malformed batch restores nothing.
func decodeRestore(w http.ResponseWriter, r *http.Request, limit int64) ([][]byte, []*versioning.Set, *Error) {
	var batch BackupPage
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	if err := dec.Decode(&batch); err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, nil, &Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large",
				Message: fmt.Sprintf("the batch is over the limit of %s; nothing was restored: send fewer records at once", humanBytes(limit)),
				Fields:  map[string]any{"limit_bytes": limit}}
		}
		return nil, nil, badRequest(`the body is not a restore batch (%v); nothing was restored: send {"records":[{"key":…,"versions":…}]} as GET /backup gives them`, err)
	}
	keys := make([][]byte, len(batch.Records))
	states := make([]*versioning.Set, len(batch.Records))
	for i, rec := range batch.Records {
		if rec.Key == "" || len(rec.Key) > MaxKeyBytes || !utf8.ValidString(rec.Key) {
			return nil, nil, badRequest("record %d: the key is %d bytes; a key must be 1 to %d bytes of UTF-8; nothing was restored", i, len(rec.Key), MaxKeyBytes)
		}
		b, err := base64.RawURLEncoding.DecodeString(rec.Versions)
		if err == nil {
			states[i], err = versioning.DecodeClientSet(b)
		}
		if err == nil && states[i].IsEmpty() {
			err = errors.New("it holds no version")
		}
		if err != nil {
			return nil, nil, badRequest("record %d (key %q): the versions are not a backup's (%v); nothing was restored: send them as GET /backup gave them", i, rec.Key, err)
		}
		keys[i] = []byte(rec.Key)
	}
	return keys, states, nil
}

// forEach calls fn for 0..n-1, up to backupWorkers at once, and returns
// when every call ended. After the first error, which it returns, no new
// call starts and the running ones' context is cancelled; if ctx ends
// first, it returns ctx's error.
func forEach(ctx context.Context, n int, fn func(ctx context.Context, i int) error) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(backupWorkers)
	started := 0
	for ; started < n && gctx.Err() == nil; started++ {
		i := started // started is declared outside the loop: one variable for every call
		g.Go(func() error { return fn(gctx, i) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if started < n {
		return ctx.Err()
	}
	return nil
}

// fail answers a backup or restore that did not succeed.
func (rt backupRoutes) fail(w http.ResponseWriter, r *http.Request, err error, timeout time.Duration) {
	if r.Method != http.MethodPost || r.Context().Err() != nil {
		answerListing(w, r, err, timeout, rt.cfg.Logger)
		return
	}
	const again = "records of the batch may be restored already: a restore is a merge, so sending the batch again is safe"
	var e *Error
	if errors.Is(err, context.DeadlineExceeded) {
		e = &Error{Status: http.StatusGatewayTimeout, Code: "timeout",
			Message: fmt.Sprintf("the batch was not restored within %v; %s, with a longer timeout or fewer records", timeout, again)}
	} else if e = keysError(err, timeout, rt.cfg.Logger); e.Status >= 500 {
		e.Message += "; " + again
	}
	WriteError(w, e)
}
