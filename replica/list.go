package replica

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"

	"dynakv/versioning"
)

// Listing keys: a scan of every partition, each read from one replica (a
// covering set, as Riak lists keys), in pages a client follows with a
// cursor. It is an operator's and a tool's view, never the request path of
// a key, and it makes no attempt at a consistent snapshot: a key written
// only to replicas the scan did not ask, or written after the scan passed
// its place, is not listed.

// Bounds of a ListQuery, checked wherever a query arrives (peers' too).
const (
	// MaxListLimit bounds the keys one page may hold.
	MaxListLimit = 10_000
	// MaxListScan bounds the stored keys one query may examine.
	MaxListScan = 1_000_000
)

// ListQuery asks one replica for the keys it holds in one partition.
type ListQuery struct {
	After   []byte // only keys after this one; nil: from the partition's first key
	Prefix  []byte // only keys that start with it; nil: every key
	Limit   int    // at most this many keys, 1..MaxListLimit
	MaxScan int    // examine at most this many stored keys, 1..MaxListScan
}

// Validate returns an error naming the bound a query is outside of.
func (q ListQuery) Validate() error {
	switch {
	case q.Limit < 1 || q.Limit > MaxListLimit:
		return fmt.Errorf("list keys: limit %d is outside 1..%d", q.Limit, MaxListLimit)
	case q.MaxScan < 1 || q.MaxScan > MaxListScan:
		return fmt.Errorf("list keys: scan budget %d is outside 1..%d", q.MaxScan, MaxListScan)
	}
	return nil
}

// ListPage is a replica's answer to a ListQuery.
type ListPage struct {
	// Keys are the keys after the query's After, in key order, whose
	// stored state has a sibling that is not a tombstone: the keys a read
	// of this replica alone would find.
	Keys [][]byte
	// Done reports that every stored key of the partition after After that
	// could match the prefix was examined; otherwise the limit or the scan
	// budget stopped the scan, and Last is the last key examined.
	Done bool
	Last []byte
	// Scanned is how many stored keys were examined.
	Scanned int
}

// errStopScan ends a partition scan early; it never leaves ListKeys.
var errStopScan = errors.New("stop the scan")

// ListKeys lists the keys this replica holds in partition, as q asks.
func (l *Local) ListKeys(partition uint32, q ListQuery) (ListPage, error) {
	if err := q.Validate(); err != nil {
		return ListPage{}, err
	}
	// Keys with a prefix form one run in key order, starting at the prefix
	// itself: the scan starts at the later of the prefix and After, and
	// ends at the first key past the run.
	from := q.After
	if bytes.Compare(q.Prefix, from) > 0 {
		from = q.Prefix
	}
	page := ListPage{Done: true}
	var last []byte
	err := l.store.ScanPartitionFrom(partition, from, func(key, value []byte) error {
		if q.After != nil && bytes.Equal(key, q.After) {
			return nil // the scan starts at After itself
		}
		if !bytes.HasPrefix(key, q.Prefix) {
			return errStopScan
		}
		if page.Scanned == q.MaxScan || len(page.Keys) == q.Limit {
			page.Done = false
			return errStopScan
		}
		page.Scanned++
		last = append(last[:0], key...)
		s, err := versioning.DecodeSet(value)
		if err != nil {
			return fmt.Errorf("list keys of partition %d: the record of %q: %w", partition, key, err)
		}
		if s.NumVisible() > 0 {
			page.Keys = append(page.Keys, bytes.Clone(key))
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStopScan) {
		return ListPage{}, fmt.Errorf("list keys of partition %d: %w", partition, err)
	}
	if !page.Done {
		page.Last = last
	}
	return page, nil
}

// KeyLister asks another node for the keys it holds in a partition
// (transport.Client implements it).
type KeyLister interface {
	ListKeys(ctx context.Context, node string, partition uint32, q ListQuery) (ListPage, error)
}

// PartitionPlacement maps every partition to its replicas: the ring, seen
// by partition rather than by key.
type PartitionPlacement interface {
	Partitions() int
	PreferenceList(partition uint32) (primaries, fallbacks []string)
}

// ListerConfig configures NewLister.
type ListerConfig struct {
	Self      string // this node's id
	Local     *Local // this node's replica
	Placement PartitionPlacement
	Liveness  Liveness
	Peers     KeyLister
	// MaxScan bounds the stored keys one page examines over all the
	// partitions it covers, so a page whose prefix matches few keys still
	// answers in bounded time (with fewer keys and a cursor). 0 means
	// DefaultListScan.
	MaxScan int
}

// DefaultListScan is ListerConfig.MaxScan's default.
const DefaultListScan = 100_000

// Lister lists the keys of the whole cluster, page by page.
type Lister struct {
	cfg ListerConfig
}

// NewLister returns a Lister.
func NewLister(cfg ListerConfig) (*Lister, error) {
	switch {
	case cfg.Self == "" || cfg.Local == nil || cfg.Placement == nil || cfg.Liveness == nil || cfg.Peers == nil:
		return nil, errors.New("replica: ListerConfig needs Self, Local, Placement, Liveness and Peers")
	case cfg.MaxScan < 0 || cfg.MaxScan > MaxListScan:
		return nil, fmt.Errorf("replica: ListerConfig.MaxScan is %d, want 0..%d", cfg.MaxScan, MaxListScan)
	}
	if cfg.MaxScan == 0 {
		cfg.MaxScan = DefaultListScan
	}
	return &Lister{cfg: cfg}, nil
}

// ListCursor is where a listing stands: in Partition, after the key After
// (nil: at the partition's start). The zero value is the listing's start.
type ListCursor struct {
	Partition uint32
	After     []byte
}

// ListRequest asks for one page of the cluster's keys.
type ListRequest struct {
	Cursor ListCursor // where the previous page ended; zero: the start
	Prefix []byte     // only keys that start with it
	Limit  int        // at most this many keys, 1..MaxListLimit
}

// KeyPage is one page of the cluster's keys.
type KeyPage struct {
	// Keys are in partition order, and in key order within a partition.
	Keys [][]byte
	// Next is where the next page starts; nil when the listing is complete.
	// A page may hold fewer than Limit keys, even none, and still have a
	// Next: its scan budget ran out first.
	Next *ListCursor
}

// ErrBadCursor is returned for a cursor that names a partition the ring
// does not have (from another cluster, or forged).
var ErrBadCursor = errors.New("the cursor names a partition this cluster does not have")

// PartitionUnavailableError means no replica of a partition could answer:
// every primary is down or failed to.
type PartitionUnavailableError struct {
	Partition uint32
	Primaries []string
}

func (e *PartitionUnavailableError) Error() string {
	return fmt.Sprintf("no primary of partition %d (%v) could list its keys", e.Partition, e.Primaries)
}

// List returns one page of the cluster's keys. Each partition is read from
// one primary that is reachable (this node when it is one), and, while a
// ring change may still be moving the partition's data, from its previous
// owners too; a key is listed when a replica asked holds a sibling of it
// that is not a tombstone. So a key is missed only when every replica
// asked lacks it (it reached others, not yet repaired), and a deleted key
// can show up when a replica asked missed the delete (read it to know).
//
// Once this node's own disk failed, List refuses with ErrStorageFailed.
func (l *Lister) List(ctx context.Context, req ListRequest) (KeyPage, error) {
	if req.Limit < 1 || req.Limit > MaxListLimit {
		return KeyPage{}, fmt.Errorf("list keys: limit %d is outside 1..%d", req.Limit, MaxListLimit)
	}
	// A node whose disk failed serves no data, as for reads and writes
	// (see the package doc), though its peers could answer this.
	if err := l.cfg.Local.Err(); err != nil {
		return KeyPage{}, err
	}
	parts := l.cfg.Placement.Partitions()
	if int64(req.Cursor.Partition) >= int64(parts) {
		return KeyPage{}, fmt.Errorf("%w (partition %d of %d)", ErrBadCursor, req.Cursor.Partition, parts)
	}
	var out KeyPage
	budget := l.cfg.MaxScan
	after := req.Cursor.After
	for p := req.Cursor.Partition; int(p) < parts; p++ {
		page, err := l.partition(ctx, p, ListQuery{After: after, Prefix: req.Prefix, Limit: req.Limit - len(out.Keys), MaxScan: budget})
		if err != nil {
			return KeyPage{}, err
		}
		out.Keys = append(out.Keys, page.Keys...)
		budget -= page.Scanned
		if !page.Done {
			out.Next = &ListCursor{Partition: p, After: page.Last}
			return out, nil
		}
		after = nil
		if (len(out.Keys) == req.Limit || budget <= 0) && int(p)+1 < parts {
			out.Next = &ListCursor{Partition: p + 1}
			return out, nil
		}
	}
	return out, nil
}

// partition lists one partition from the replicas that cover it.
func (l *Lister) partition(ctx context.Context, p uint32, q ListQuery) (ListPage, error) {
	primaries, _ := l.cfg.Placement.PreferenceList(p)
	page, err := l.fromOnePrimary(ctx, p, primaries, q)
	if err != nil {
		return ListPage{}, err
	}
	po, ok := l.cfg.Placement.(PreviousOwners)
	if !ok {
		return page, nil
	}
	pages := []ListPage{page}
	for _, id := range po.PreviousOwners(p) {
		if id != l.cfg.Self && !l.cfg.Liveness.Alive(id) {
			continue
		}
		// A previous owner that cannot answer is skipped: it may already
		// have handed the partition over and dropped it.
		if prev, err := l.ask(ctx, id, p, q); err == nil {
			pages = append(pages, prev)
		}
	}
	return unionPages(pages, q.Limit), nil
}

// fromOnePrimary asks this node when it is a primary of p, else the
// reachable primaries in preference order, until one answers.
func (l *Lister) fromOnePrimary(ctx context.Context, p uint32, primaries []string, q ListQuery) (ListPage, error) {
	order := primaries
	if i := slices.Index(primaries, l.cfg.Self); i > 0 {
		order = append([]string{l.cfg.Self}, slices.Delete(slices.Clone(primaries), i, i+1)...)
	}
	var errs []error
	for _, id := range order {
		if id != l.cfg.Self && !l.cfg.Liveness.Alive(id) {
			continue
		}
		page, err := l.ask(ctx, id, p, q)
		if err == nil {
			return page, nil
		}
		if ctx.Err() != nil {
			return ListPage{}, fmt.Errorf("list keys of partition %d: %w", p, ctx.Err())
		}
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		l.cfg.Local.logger.Debug("no primary listed a partition", "partition", p, "err", errors.Join(errs...))
	}
	return ListPage{}, &PartitionUnavailableError{Partition: p, Primaries: primaries}
}

func (l *Lister) ask(ctx context.Context, id string, p uint32, q ListQuery) (ListPage, error) {
	if id == l.cfg.Self {
		return l.cfg.Local.ListKeys(p, q)
	}
	return l.cfg.Peers.ListKeys(ctx, id, p, q)
}

// unionPages merges the answers of several replicas of one partition to
// the same query: the union of their keys, in order, up to limit, and only
// as far as every one of them scanned.
func unionPages(pages []ListPage, limit int) ListPage {
	if len(pages) == 1 {
		return pages[0]
	}
	out := ListPage{Done: true}
	for _, pg := range pages {
		out.Scanned += pg.Scanned
		if !pg.Done && (out.Done || bytes.Compare(pg.Last, out.Last) < 0) {
			out.Done, out.Last = false, pg.Last
		}
	}
	var keys [][]byte
	for _, pg := range pages {
		for _, k := range pg.Keys {
			if out.Done || bytes.Compare(k, out.Last) <= 0 {
				keys = append(keys, k)
			}
		}
	}
	slices.SortFunc(keys, bytes.Compare)
	keys = slices.CompactFunc(keys, bytes.Equal)
	if len(keys) > limit {
		keys = keys[:limit]
		out.Done, out.Last = false, keys[limit-1]
	}
	out.Keys = keys
	return out
}
