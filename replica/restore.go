package replica

import (
	"context"
	"fmt"

	"dynakv/versioning"
)

// Restore merges state, a key's versions as a backup holds them, into the
// key's replicas, and returns once w of them (pw primaries) stored the
// merge. It mints no dot: the replicas merge state as they merge another
// replica's, so versions they hold that state lacks, newer writes among
// them, stay; versions state has and they lack come back; and restoring
// the same state twice changes nothing the second time.
//
// It is a write in every other way: a down primary is replaced by a live
// fallback that keeps a hint, a reply that fails leaves a hint here, and
// the levels fail as a write's do (UnavailableError before anything is
// sent, TimeoutError naming who acked). The coordinating node need not be
// a replica of the key: it stores nothing itself unless it is a target.
func (c *Coordinator) Restore(ctx context.Context, key []byte, state *versioning.Set, opts WriteOptions) error {
	if err := c.cfg.Local.Err(); err != nil {
		return err // no data through a node whose disk failed (see get)
	}
	if state.IsEmpty() {
		return fmt.Errorf("restore %q: the backup holds no version of it", key)
	}
	partition, primaries, fallbacks := c.cfg.Placement.Locate(key)
	targets := c.writeTargets(primaries, fallbacks)
	need := needed(opts.W, opts.PW)
	if _, err := writeAvailable("restore", targets, need, opts.PW); err != nil {
		return err
	}
	ctx, cancel := c.timeoutFor(ctx, opts.Timeout, targets)
	defer cancel()
	for _, p := range unhinted(primaries, targets) {
		c.hintHere(ctx, p, partition, key, state)
	}
	replies := c.fanOut(ctx, "write", targets, func(ctx context.Context, t target) (*versioning.Set, error) {
		switch {
		case t.node == c.cfg.Self && t.primary:
			_, err := c.cfg.Local.Merge(partition, key, state)
			return nil, err
		case t.node == c.cfg.Self:
			return nil, c.storeHint(t.hintFor, partition, key, state)
		case t.primary:
			return nil, c.cfg.Transport.Replicate(ctx, t.node, partition, key, state)
		default:
			return nil, c.cfg.Transport.StoreHint(ctx, t.node, t.hintFor, partition, key, state)
		}
	})
	t := newTally(need, opts.PW, targets, 0)
	return c.awaitAcks(ctx, "restore", &t, replies, partition, key, state)
}
